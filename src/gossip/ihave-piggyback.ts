// IHAVE gossip rides on the next message to its peer instead of costing an RPC of its own. Without
// a mesh (p2p.ts NO_MESH) the IHAVE/IWANT exchange is the only repair of a lost send, and it is
// almost always redundant: every peer got every message from its author. Gossipsub builds each
// peer's IHAVE at the heartbeat and sends it at once, alone, as its own RPC (a quarter of an idle
// node's RPCs); but its `sendRpc` already attaches a peer's pending IHAVE to any RPC that goes to
// that peer. So the heartbeat now keeps the IHAVE it built pending, and it goes out with the next
// message to that peer (in a validator network every node publishes to every peer every epoch);
// only an IHAVE still pending at the following heartbeat is sent alone, merged with the new one.
// The announced ids, the peers chosen and the IWANT side are the library's; an announcement is
// late by at most one heartbeat, well inside the message cache's life (mcacheLength heartbeats).
// Applied to one gossipsub instance (own properties shadow its class's methods; no library file is
// changed); if the instance lacks what this relies on, nothing is changed.

/** An RPC as gossipsub's `sendRpc` takes it (only the fields touched here). */
interface Rpc {
  control?: Record<string, unknown>;
}

interface GossipInternals {
  gossip: Map<string, unknown[]>;
  flush(): void;
  sendRpc(id: string, rpc: Rpc): boolean;
}

function internals(pubsub: object): GossipInternals | undefined {
  const g = pubsub as Partial<GossipInternals>;
  return g.gossip instanceof Map && typeof g.flush === 'function' && typeof g.sendRpc === 'function' ? (g as GossipInternals) : undefined;
}

/**
 * The IHAVE entries to send now at a heartbeat: those of peers whose previous heartbeat's entry is
 * still pending (nothing went to them since). `held` maps a peer to the first entry it was left
 * with; the library appends new entries to a pending list, so the list still starts with it.
 */
export function overdueGossip(pending: ReadonlyMap<string, readonly unknown[]>, held: ReadonlyMap<string, unknown>): string[] {
  const out: string[] = [];
  for (const [peer, list] of pending) if (held.has(peer) && list[0] === held.get(peer)) out.push(peer);
  return out;
}

/** Makes `pubsub` (a @libp2p/gossipsub instance) hold each heartbeat's IHAVE for the next RPC to its peer. False (and nothing changed) if the instance lacks the internals this relies on. */
export function piggybackIhave(pubsub: object): boolean {
  const g = internals(pubsub);
  if (!g) return false;
  const flush = g.flush;
  const sendRpc = g.sendRpc;
  let held = new Map<string, unknown>();
  g.flush = function (this: GossipInternals): void {
    const overdue = new Set(overdueGossip(g.gossip, held));
    const keep = new Map<string, unknown[]>();
    for (const [peer, list] of g.gossip) if (!overdue.has(peer)) keep.set(peer, list);
    for (const peer of keep.keys()) g.gossip.delete(peer);
    // the overdue IHAVE (old and new together) and any GRAFT/PRUNE go out now, as before
    flush.call(this);
    held = new Map();
    for (const [peer, list] of keep) {
      g.gossip.set(peer, list);
      held.set(peer, list[0]);
    }
  };
  // The library attaches a pending IHAVE by mutating the RPC it is handed, and a publish hands the
  // same RPC object to every peer: without a copy, one peer's IHAVE would go to the peers after it.
  g.sendRpc = function (this: GossipInternals, id: string, rpc: Rpc): boolean {
    if (!g.gossip.has(id)) return sendRpc.call(this, id, rpc);
    const own: Rpc = { ...rpc, ...(rpc.control ? { control: { ...rpc.control } } : {}) };
    return sendRpc.call(this, id, own);
  };
  return true;
}
