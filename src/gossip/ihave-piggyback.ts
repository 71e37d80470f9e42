// IHAVE gossip rides on the next message to its peer instead of costing an RPC of its own. Without
// a mesh (p2p.ts NO_MESH) the IHAVE/IWANT exchange is the only repair of a lost send, and it is
// almost always redundant: every peer got every message from its author. Gossipsub builds each
// peer's IHAVE at the heartbeat and sends it at once, alone, as its own RPC (a quarter of an idle
// node's RPCs); but its `sendRpc` already attaches a peer's pending IHAVE to any RPC that goes to
// that peer. So the heartbeat now keeps the IHAVE it built pending, and it goes out with the next
// message to that peer; only an IHAVE still pending IHAVE_HOLD heartbeats later is sent alone,
// merged with what was built since. Since a node sends most of its messages to a few peers (its
// triad's, its signing phase's: docs/NETWORK.md), an IHAVE to a random peer found no message to
// ride on within one heartbeat about half the time. The announced ids, the peers chosen and the
// IWANT side are the library's; an announcement is late by at most IHAVE_HOLD heartbeats, and the
// message cache keeps every announced message until its IWANT can come (mcacheFor).
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

/** Heartbeats a peer's IHAVE waits for a message to that peer before it goes in an RPC of its own. */
export const IHAVE_HOLD = 3;

/**
 * gossipsub's mcacheLength for a gossip window of `mcacheGossip` heartbeats when IHAVE waits up to
 * `hold` heartbeats: an id announced at heartbeat b (its message at most mcacheGossip - 1 shifts
 * old) goes out by heartbeat b + hold, after which the cache shifts once more before the IWANT is
 * answered; so the message must survive mcacheGossip + hold shifts (the library's 5 for hold 1).
 */
export function mcacheFor(mcacheGossip: number, hold: number): number {
  return mcacheGossip + hold + 1;
}

/** A peer's pending IHAVE: the first entry it was left with at a heartbeat, and how many heartbeats ago. */
export interface Held { first: unknown; age: number }

/**
 * At a heartbeat: which peers' IHAVE goes now, and what stays held. A peer whose list still starts
 * with the entry held for it (nothing went to it since: the library appends new entries, and an
 * RPC to the peer takes the whole list) ages by one heartbeat and goes once it has waited `hold`;
 * a new list starts at age 0.
 */
export function ageGossip(pending: ReadonlyMap<string, readonly unknown[]>, held: ReadonlyMap<string, Held>, hold = IHAVE_HOLD): { overdue: string[]; held: Map<string, Held> } {
  const overdue: string[] = [];
  const next = new Map<string, Held>();
  for (const [peer, list] of pending) {
    const h = held.get(peer);
    const age = h && list[0] === h.first ? h.age + 1 : 0;
    if (age >= hold) overdue.push(peer);
    else next.set(peer, { first: list[0], age });
  }
  return { overdue, held: next };
}

/** Makes `pubsub` (a @libp2p/gossipsub instance) hold each heartbeat's IHAVE for the next RPC to its peer, up to `hold` heartbeats (its mcacheLength must be at least mcacheFor(mcacheGossip, hold)). False (and nothing changed) if the instance lacks the internals this relies on. */
export function piggybackIhave(pubsub: object, hold = IHAVE_HOLD): boolean {
  const g = internals(pubsub);
  if (!g) return false;
  const flush = g.flush;
  const sendRpc = g.sendRpc;
  let held = new Map<string, Held>();
  g.flush = function (this: GossipInternals): void {
    const aged = ageGossip(g.gossip, held, hold);
    const keep = new Map<string, unknown[]>();
    for (const peer of aged.held.keys()) keep.set(peer, g.gossip.get(peer)!);
    for (const peer of keep.keys()) g.gossip.delete(peer);
    // the overdue IHAVE (old and new together) and any GRAFT/PRUNE go out now, as before
    flush.call(this);
    for (const [peer, list] of keep) g.gossip.set(peer, list);
    held = aged.held;
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
