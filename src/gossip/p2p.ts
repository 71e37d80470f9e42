// The libp2p node: libp2p 3 + @libp2p/gossipsub (the maintained successor of
// @chainsafe/libp2p-gossipsub, whose v14 only runs on libp2p 2), TCP, noise, yamux, identify.
// Peer identity: a given private key (a validator node passes its validator key, src/gossip/identity.ts)
// or a key file (0600; tests and tools). Content-hash message ids, unsigned gossipsub messages
// (StrictNoSign: every payload carries its own validator signature), peer scoring, and a dialer that
// keeps configured peers connected (retry with capped exponential backoff, re-dial after disconnects),
// so nodes may start in any order and come back after restarts. With `allowedPeers` (the genesis
// validators) only those peers may connect, ask requests or send gossip (admission.ts).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify, type Identify } from '@libp2p/identify';
import { gossipsub, StrictNoSign, TopicValidatorResult, type GossipSub, type TopicValidatorFn } from '@libp2p/gossipsub';
import type { TopicScoreParams } from '@libp2p/gossipsub/score';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import { DecodeError } from '../core/bytes.js';
import { MAX_GOSSIP_BYTES, messageId } from './encoding.js';
import type { PeerDenyList } from './deny-list.js';
import { coalescingEncrypter } from './write-coalescing.js';
import { quietShortReadsEncrypter } from './noise-short-reads.js';
import { lazyWindowUpdates } from './yamux-window.js';
import { IHAVE_HOLD, mcacheFor, piggybackIhave } from './ihave-piggyback.js';
import { skipRequestProtocolMerges, type MergingPeerStore } from './peer-store-writes.js';
import { libp2pLogger } from './libp2p-logger.js';
import { freshScoreOnInvalid } from './fresh-score.js';
import { runOnHeartbeat } from './heartbeat-tasks.js';
import { allowListGater, composeGaters, isPeerErrorCode, PeerRequestError, RequestBudget, type PeerErrorCode, type RequestBudgetOptions } from './admission.js';
import { PeerKeyError } from './identity.js';

export { PeerKeyError } from './identity.js';
export { PeerRequestError } from './admission.js';

// Types derived from the installed packages' own signatures (@libp2p/interface is only a transitive dependency).
type PrivateKey = ReturnType<typeof privateKeyFromProtobuf>;
type Stream = Awaited<ReturnType<Libp2p['dialProtocol']>>;

/** Loads a libp2p identity from a key file, creating it (mode 0600, atomically) if the file is missing.
 * Validator nodes do not use this (their identity is the validator key); tests and tools do. */
export async function loadOrCreatePeerKey(path: string): Promise<PrivateKey> {
  let bytes: Uint8Array | undefined;
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0) throw new PeerKeyError(`peer key file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    bytes = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (e instanceof PeerKeyError) throw e;
      throw new PeerKeyError(`cannot read peer key file ${path}: ${(e as Error).message}`);
    }
  }
  if (bytes) {
    try {
      return privateKeyFromProtobuf(bytes);
    } catch (e) {
      throw new PeerKeyError(`peer key file ${path} is not a protobuf private key: ${(e as Error).message}`);
    }
  }
  const key = await generateKeyPair('Ed25519');
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600); // in case of a permissive umask on an existing directory
  renameSync(tmp, path);
  return key;
}

/** Inbound connections per second per remote host (libp2p's default is 5; every node of a loopback
 * cluster dials from 127.0.0.1, and a 9-node cluster opens 8 per node at start plus redials). */
export const INBOUND_CONNECTIONS_PER_HOST_PER_S = 20;

export interface P2POptions {
  /** The identity (a validator node: its validator key, identity.ts `peerKeyFromValidator`). */
  privateKey?: PrivateKey;
  /** Or a key file, created if missing (used when `privateKey` is absent). */
  peerKeyFile?: string;
  /** The only peer ids admitted (connections, requests, gossip senders); everyone when absent. */
  allowedPeers?: ReadonlySet<string>;
  /** Peers refused and disconnected even if allowed (the operator's --deny-peers list, deny-list.ts). */
  denyList?: PeerDenyList;
  /** Per peer and protocol request budget (admission.ts DEFAULT_REQUEST_BUDGET when absent). */
  requestBudget?: Partial<RequestBudgetOptions>;
  /** Inbound connections per second per host; default INBOUND_CONNECTIONS_PER_HOST_PER_S. */
  inboundConnectionsPerHostPerS?: number;
  /** Listen multiaddrs; default /ip4/127.0.0.1/tcp/0. */
  listen?: string | string[];
  /** Peers to keep connected: multiaddrs, ideally ending in /p2p/<peer id>. */
  peers?: string[];
  networkId: string;
  logger?: Logger;
  /** Topics with gossipsub topic score parameters (invalid messages on them lower the sender's score). */
  scoredTopics?: string[];
  /** Dial retry backoff (ms): first retry after `initialMs`, doubling up to `maxMs`. */
  dialBackoff?: { initialMs?: number; maxMs?: number };
  /** Gossipsub heartbeat (ms); default DEFAULT_HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** Connection monitor ping interval (ms); default PING_INTERVAL_MS. */
  pingIntervalMs?: number;
}

export type MessageHandler = (data: Uint8Array, info: { topic: string; from: string }) => void;
/** Throw `PeerRequestError(code)` to answer with a fixed code; any other error answers 'internal'
 * (or 'bad-request' for a DecodeError) and its text stays in this node's log. */
export type RequestHandler = (request: Uint8Array, from: string) => Promise<Uint8Array>;

/** A request that failed at the remote end: the fixed code it answered. */
export class RemoteRequestError extends Error {
  override name = 'RemoteRequestError';
  readonly code: PeerErrorCode | 'unknown';
  constructor(protocol: string, code: PeerErrorCode | 'unknown') {
    super(`${protocol}: remote error: ${code}`);
    this.code = code;
  }
}

export interface AdmissionStats {
  /** Connections refused by the allow list (not the deny list). */
  deniedConnections: number;
  /** Gossip messages Rejected because the peer that sent them is not admitted. */
  rejectedSenders: number;
  /** Requests refused: not admitted, over budget or busy. */
  refusedRequests: number;
}

export interface P2PNode {
  readonly peerId: string;
  readonly libp2p: Libp2p<{ identify: Identify; pubsub: GossipSub }>;
  multiaddrs(): string[];
  subscribe(topic: string, handler: MessageHandler): void;
  unsubscribe(topic: string): void;
  /** Publishes; resolves to the number of peers it was sent to (0 is not an error). */
  publish(topic: string, data: Uint8Array): Promise<number>;
  setTopicValidator(topic: string, fn: TopicValidatorFn): void;
  addPeer(addr: string): void;
  connectedPeers(): string[];
  /** Peers known (from subscriptions) to be subscribed to `topic`. */
  topicPeers(topic: string): string[];
  /** Peers in our gossipsub mesh for `topic` (the ones we forward to). */
  meshPeers(topic: string): string[];
  /** Gossipsub score of a peer (negative after invalid messages). */
  peerScore(peer: string): number;
  /** Serves `protocol`: admitted peers only, within `budget` per peer (defaults: the node's budget). */
  handle(protocol: string, handler: RequestHandler, maxRequestBytes?: number, budget?: Partial<RequestBudgetOptions>): Promise<void>;
  request(peer: string, protocol: string, request: Uint8Array, opts?: { timeoutMs?: number; maxResponseBytes?: number }): Promise<Uint8Array>;
  /** Whether `peer` is admitted (always true without an allow list). */
  isAllowed(peer: string): boolean;
  admissionStats(): AdmissionStats;
  /**
   * Runs `fn` at the start of each gossipsub heartbeat (about once a second; heartbeat-tasks.ts):
   * periodic housekeeping that then needs no timer, and no wake-up, of its own. Returns its removal.
   */
  onHeartbeat?(fn: () => void): () => void;
  close(): Promise<void>;
}

function errorResponse(code: PeerErrorCode): Uint8Array {
  const m = new TextEncoder().encode(code);
  const res = new Uint8Array(m.length + 1);
  res[0] = 1;
  res.set(m, 1);
  return res;
}

/** Topic score parameters: reward first deliveries a little, punish invalid messages hard.
 * Mesh-delivery deficits are off: triad topics carry a handful of messages per epoch, too few for
 * a delivery-rate expectation that would not also punish honest peers.
 * Invalid messages count squared (x -20): with the positive part capped at topicScoreCap (10), three
 * of them put a peer below the graylist threshold (-80), where all its RPCs are dropped unread.
 * The count decays by 1% a second (half-life about 70 s), so a slow trickle of invalid messages
 * (one every two seconds holds the count near 50) graylists its sender too, and a peer that sent a
 * few by mistake is heard again within a minute; after a flood of hundreds, only after minutes. */
export function topicScoreParams(): Partial<TopicScoreParams> {
  return {
    topicWeight: 1,
    timeInMeshWeight: 0.03, timeInMeshQuantum: 1000, timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.5, firstMessageDeliveriesDecay: 0.9, firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0, meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20, invalidMessageDeliveriesDecay: 0.99,
  };
}

/** Gossipsub mesh degrees for a small, fully connected validator network (see createP2PNode): no
 * mesh, so no eager relays (an author's floodPublish reaches every peer), and IHAVE gossip to 2
 * peers per topic and heartbeat to repair a lost send. */
/** Heartbeats of messages each IHAVE announces (gossipsub's default history_gossip). */
const MCACHE_GOSSIP = 3;

export const NO_MESH = { D: 0, Dlo: 0, Dhi: 0, Dout: 0, Dscore: 0, Dlazy: 2 } as const;

/** Gossipsub heartbeat (mesh upkeep, IHAVE gossip, score decay): once per second, about an epoch. */
export const DEFAULT_HEARTBEAT_MS = 1000;

/** How often libp2p's connection monitor pings each connection (its default is 10 s); a ping that
 * fails or times out closes the connection, and the dialer reconnects. Each ping is a stream of its
 * own (open, protocol negotiation, close: about 7 writes on the two sides; our nodes do not speak
 * the ping protocol, so it ends in a refused negotiation, which proves the peer alive all the same),
 * and at 10 s they were about a third of an idle node's network CPU and syscalls (nine nodes in one
 * process: 134 -> 81 writes a second without them). A connection that drops cleanly is seen at
 * once (peer:disconnect); only a peer that vanished without a word waits up to this long. */
export const PING_INTERVAL_MS = 60_000;

/** Gossip score thresholds: below -10 no gossip to/from the peer, below -50 none of our publishes, below -80 graylisted. */
export const SCORE_THRESHOLDS = { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80 } as const;

export async function createP2PNode(opts: P2POptions): Promise<P2PNode> {
  const log = opts.logger;
  if (!opts.privateKey && !opts.peerKeyFile) throw new PeerKeyError('createP2PNode needs privateKey or peerKeyFile');
  const privateKey = opts.privateKey ?? await loadOrCreatePeerKey(opts.peerKeyFile!);
  const allowed = opts.allowedPeers;
  const admission: AdmissionStats = { deniedConnections: 0, rejectedSenders: 0, refusedRequests: 0 };
  const isAllowed = (peer: string): boolean => !allowed || allowed.has(peer);
  const listen = opts.listen === undefined ? ['/ip4/127.0.0.1/tcp/0'] : Array.isArray(opts.listen) ? opts.listen : [opts.listen];
  const topics: Record<string, Partial<TopicScoreParams>> = {};
  for (const t of opts.scoredTopics ?? []) topics[t] = topicScoreParams();
  let lastDenyLog = 0;
  const allowGater = allowed ? allowListGater(allowed, (peer, hook) => {
    admission.deniedConnections++;
    const now = Date.now();
    if (now - lastDenyLog > 10_000) { lastDenyLog = now; log?.info({ peer, hook, denied: admission.deniedConnections }, 'connection refused: peer is not a genesis validator'); }
  }) : undefined;
  const gater = composeGaters(allowGater, opts.denyList?.gater);
  const quiet = libp2pLogger();
  // a yamux window update per half window, not per frame received (yamux-window.ts)
  if (!lazyWindowUpdates()) log?.warn('yamux stream class changed: window updates stay per frame');
  const node = await createLibp2p({
    privateKey,
    ...(quiet ? { logger: quiet } : {}),
    ...(gater ? { connectionGater: gater } : {}),
    addresses: { listen },
    transports: [tcp()],
    // one writev per burst per connection instead of a write per buffer (write-coalescing.ts), and
    // no new Error per read (noise-short-reads.ts)
    connectionEncrypters: [quietShortReadsEncrypter(coalescingEncrypter(noise()))],
    // yamux's keep-alive only timed a ping frame per connection and side every 30 s (it closes
    // nothing when one goes unanswered); the connection monitor below is what finds dead peers
    streamMuxers: [yamux({ enableKeepAlive: false })],
    // libp2p pings every connection to find dead ones; see PING_INTERVAL_MS
    connectionMonitor: { pingInterval: opts.pingIntervalMs ?? PING_INTERVAL_MS },
    connectionManager: {
      inboundConnectionThreshold: opts.inboundConnectionsPerHostPerS ?? INBOUND_CONNECTIONS_PER_HOST_PER_S,
      maxIncomingPendingConnections: 32,
      dialTimeout: 5000,
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // No gossipsub signature (nor from / seqno / key fields): the sender of every RPC is the noise-
        // authenticated peer of its connection, admitted only if a genesis validator (gater, and
        // sourceGate below), and every payload carries its own validator signature that our topic
        // validators check (snapshots, member signatures, finals, proofs, transactions, receipt
        // batches' source snapshots). A publisher's ed25519 signature over the libp2p message and
        // every receiver's check of it added nothing to that and cost a sign per publish, a verify
        // (and a public key object) per message received, and ~150 bytes per send.
        globalSignaturePolicy: StrictNoSign,
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        // Every message goes straight from its author to every subscribed peer (floodPublish), and
        // nobody relays it eagerly: the mesh is empty (NO_MESH). A validator network is small, fully
        // connected and fixed in genesis, so a relay only ever reached peers that had the message
        // from its author already: with 9 nodes and a mesh of 1..2, each message cost its 8 sends and
        // ~10 duplicate relays (each a send, a receive, a decrypt and a duplicate check), plus an
        // IDONTWANT to each mesh peer for every message over 512 bytes. A send that did not arrive (a link down, a
        // partition) is repaired by IHAVE gossip: every heartbeat each node tells Dlazy (2) random
        // peers per topic the ids of what it got in the last 3 heartbeats, and a peer missing one
        // asks for it (IWANT). Validation and scoring are unchanged; the round machine's fetches
        // still fill what gossip did not bring in time.
        floodPublish: true,
        ...NO_MESH,
        heartbeatInterval: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
        // IHAVE announces the last 3 heartbeats' messages (the library's default) and may wait up to
        // IHAVE_HOLD heartbeats for a message to ride on (ihave-piggyback.ts): the cache keeps each
        // message until its IWANT can come (the library's 5 heartbeats were enough for a wait of 1)
        mcacheGossip: MCACHE_GOSSIP,
        mcacheLength: mcacheFor(MCACHE_GOSSIP, IHAVE_HOLD),
        msgIdFn: (msg) => messageId(msg.topic, msg.data),
        // No fast message id: it served to drop duplicates before computing the message id, but it
        // was a SHA-256 as well, and without a mesh duplicates are rare (an IWANT answer racing the
        // author's send). A duplicate is still dropped before any payload check, by its message id.
        // oversized messages still reach our validator (and are Rejected, lowering the score) up to 2x the cap
        maxInboundDataLength: 2 * MAX_GOSSIP_BYTES + 1024,
        scoreParams: {
          topics: topics as never,
          // validators of one testnet often share a host (a loopback cluster); the validator set
          // is fixed in genesis, so IP colocation is no sybil signal here
          IPColocationFactorWeight: 0,
          topicScoreCap: 10, // positive score a peer can bank across all topics (the library default, pinned)
        },
        scoreThresholds: { ...SCORE_THRESHOLDS },
      }),
    },
  });

  // our request/response protocols: no peer-store write per stream (peer-store-writes.ts)
  const requestProtocols = new Set<string>();
  skipRequestProtocolMerges(node.peerStore as unknown as MergingPeerStore, node.peerId.toString(), requestProtocols);
  const detachDenyList = opts.denyList?.attach(node);
  const pubsub = node.services.pubsub;
  // a peer's third invalid message graylists it at once, not at the next score-cache refresh (fresh-score.ts)
  if (!freshScoreOnInvalid(pubsub)) log?.warn('gossipsub score internals changed: an invalid sender is graylisted only at the next score refresh (1 s)');
  // a heartbeat's IHAVE rides on the next message to its peer (ihave-piggyback.ts)
  if (!piggybackIhave(pubsub)) log?.warn('gossipsub internals changed: IHAVE gossip goes out in RPCs of its own');
  const handlers = new Map<string, MessageHandler>();
  // 'gossipsub:message' (not 'message'): it names the peer the message came from
  pubsub.addEventListener('gossipsub:message', (evt) => {
    const { msg, propagationSource } = evt.detail;
    const h = handlers.get(msg.topic);
    if (!h) return;
    try {
      h(msg.data, { topic: msg.topic, from: propagationSource.toString() });
    } catch (e) {
      log?.warn({ err: e, topic: msg.topic }, 'gossip handler failed');
    }
  });

  // Keep configured peers connected.
  const initialMs = opts.dialBackoff?.initialMs ?? 250;
  const maxMs = opts.dialBackoff?.maxMs ?? 10_000;
  interface Target { addr: Multiaddr; text: string; peerId?: string; failures: number; nextAt: number; dialing: boolean }
  const targets: Target[] = [];
  let closed = false;
  // parsed once per peer (a base58 and multihash decode each): the dial check asks about every
  // target every second, and requests go to the same few validators (bounded: cleared when large)
  const parsedIds = new Map<string, ReturnType<typeof peerIdFromString>>();
  const parsedId = (id: string): ReturnType<typeof peerIdFromString> => {
    let p = parsedIds.get(id);
    if (!p) {
      if (parsedIds.size >= 1024) parsedIds.clear();
      parsedIds.set(id, (p = peerIdFromString(id)));
    }
    return p;
  };
  const isConnected = (t: Target): boolean => t.peerId !== undefined && node.getConnections(parsedId(t.peerId)).length > 0;
  const dialOne = async (t: Target): Promise<void> => {
    if (t.dialing || closed) return;
    t.dialing = true;
    try {
      const conn = await node.dial(t.addr, { signal: AbortSignal.timeout(5000) });
      t.peerId = conn.remotePeer.toString();
      t.failures = 0;
      log?.debug({ peer: t.peerId, addr: t.text }, 'connected');
    } catch (e) {
      t.failures++;
      const delay = Math.min(maxMs, initialMs * 2 ** Math.min(t.failures - 1, 20));
      t.nextAt = Date.now() + delay * (0.75 + Math.random() * 0.5); // jitter: avoid dial storms in lockstep
      tickAt(t.nextAt);
      if (t.failures === 1 || t.failures % 10 === 0) log?.debug({ addr: t.text, failures: t.failures, err: (e as Error).message }, 'dial failed');
    } finally {
      t.dialing = false;
    }
  };
  const tick = (): void => {
    if (closed) return;
    const now = Date.now();
    for (const t of targets) if (!t.dialing && now >= t.nextAt && !isConnected(t)) void dialOne(t);
  };
  // A retry runs when it is due (a one-shot timer per retry), and a check at every gossipsub
  // heartbeat (with the gossipsub heal below) redials whatever that missed: an idle node connected
  // to all its peers wakes for this only with the heartbeat.
  const retryTimers = new Set<ReturnType<typeof setTimeout>>();
  const tickAt = (at: number): void => {
    if (closed) return;
    const r = setTimeout(() => { retryTimers.delete(r); tick(); }, Math.max(0, at - Date.now()));
    r.unref();
    retryTimers.add(r);
  };

  // Gossipsub heal. Gossipsub opens one outbound stream per peer and skips it if it believes one
  // exists; when a peer restarts with the same id and reconnects while the old stream is not yet
  // reaped (or its first stream attempt fails), subscriptions are never exchanged on the new
  // connection and the peer stays invisible on every topic. If a connected gossipsub peer lacks an
  // open stream in either direction for a while, hang up: the dialers reconnect with clean state.
  // This reads gossipsub internals defensively; if they change, the check simply does nothing.
  const internals = pubsub as unknown as { peers?: Map<string, unknown>; streamsOutbound?: Map<string, { rawStream?: { status?: string } }>; streamsInbound?: Map<string, unknown> };
  const unhealthySince = new Map<string, number>();
  const lastHeal = new Map<string, number>();
  const HEAL_AFTER_MS = 3000;
  const speaksGossipsub = async (id: string): Promise<boolean> => {
    try {
      const p = await node.peerStore.get(peerIdFromString(id));
      return p.protocols.some((x) => pubsub.protocols.includes(x));
    } catch {
      return false; // unknown to the peer store (identify not done yet)
    }
  };
  let healing = false;
  const heal = async (): Promise<void> => {
    if (closed || healing || !(internals.peers instanceof Map) || !(internals.streamsOutbound instanceof Map) || !(internals.streamsInbound instanceof Map)) return;
    healing = true;
    try { await healOnce(); } finally { healing = false; }
  };
  const healOnce = async (): Promise<void> => {
    const now = Date.now();
    const connected = new Set(node.getConnections().filter((c) => c.status === 'open').map((c) => c.remotePeer.toString()));
    for (const id of [...unhealthySince.keys()]) if (!connected.has(id)) unhealthySince.delete(id);
    for (const id of connected) {
      // a connected peer that speaks gossipsub but that gossipsub dropped (e.g. after a stream error) is broken too
      if (!internals.peers!.has(id) && !(await speaksGossipsub(id))) continue;
      const out = internals.streamsOutbound!.get(id);
      const healthy = internals.peers!.has(id) && out !== undefined && (out.rawStream?.status ?? 'open') === 'open' && internals.streamsInbound!.has(id);
      if (healthy) { unhealthySince.delete(id); continue; }
      const since = unhealthySince.get(id) ?? now;
      unhealthySince.set(id, since);
      if (now - since < HEAL_AFTER_MS || now - (lastHeal.get(id) ?? 0) < 4 * HEAL_AFTER_MS) continue;
      lastHeal.set(id, now);
      unhealthySince.delete(id);
      log?.info({ peer: id }, 'gossipsub streams incomplete on a live connection: reconnecting');
      void node.hangUp(peerIdFromString(id)).catch(() => {});
    }
  };
  // at the start of each gossipsub heartbeat (heartbeat-tasks.ts), with the node's other
  // housekeeping (onHeartbeat), or on a timer of their own
  const beatTasks = new Set<() => void>();
  const housekeeping = (): void => {
    tick();
    void heal();
    for (const f of beatTasks) {
      try {
        f();
      } catch (err) {
        log?.warn({ err }, 'heartbeat task failed');
      }
    }
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  if (!runOnHeartbeat(pubsub, housekeeping)) {
    log?.warn('gossipsub internals changed: the dialer and the score refresh wake the node on timers of their own');
    timer = setInterval(housekeeping, 1000);
    timer.unref();
  }
  node.addEventListener('peer:disconnect', (evt) => {
    const id = evt.detail.toString();
    for (const t of targets) if (t.peerId === id) { t.nextAt = Date.now() + initialMs; t.failures = 0; tickAt(t.nextAt); }
  });
  const addPeer = (text: string): void => {
    const addr = multiaddr(text);
    const pid = addr.getComponents().find((c) => c.name === 'p2p')?.value;
    if (pid === node.peerId.toString()) return; // never dial ourselves
    if (targets.some((t) => t.text === text)) return;
    const t: Target = { addr, text, peerId: pid, failures: 0, nextAt: 0, dialing: false };
    targets.push(t);
    void dialOne(t);
  };
  for (const p of opts.peers ?? []) addPeer(p);

  const readAll = async (stream: Stream, max: number, what: string): Promise<Uint8Array> => {
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of stream) {
      const b = c instanceof Uint8Array ? c : c.subarray();
      n += b.length;
      if (n > max) {
        stream.abort(new Error(`${what} exceeds ${max} bytes`));
        throw new Error(`${what} exceeds ${max} bytes`);
      }
      chunks.push(b);
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  };
  const sendAll = async (stream: Stream, data: Uint8Array): Promise<void> => {
    if (!stream.send(data)) await stream.onDrain();
    await stream.close();
  };

  // Defence in depth behind the gater: a message sent by a peer outside the allow list (the peer of
  // the connection it came on, authenticated by noise) is Rejected before any payload check.
  const sourceGate = (fn: TopicValidatorFn | undefined): TopicValidatorFn => async (peer, msg) => {
    if (!isAllowed(peer.toString())) {
      admission.rejectedSenders++;
      log?.debug({ topic: msg.topic, from: peer.toString() }, 'gossip rejected: sender is not a genesis validator');
      return TopicValidatorResult.Reject;
    }
    return fn ? fn(peer, msg) : TopicValidatorResult.Accept;
  };

  return {
    peerId: node.peerId.toString(),
    libp2p: node,
    multiaddrs: () => node.getMultiaddrs().map((m) => m.toString()),
    subscribe(topic, handler) {
      handlers.set(topic, handler);
      // a topic without a validator of its own still checks senders
      if (allowed && !pubsub.topicValidators.has(topic)) pubsub.topicValidators.set(topic, sourceGate(undefined));
      pubsub.subscribe(topic);
    },
    unsubscribe(topic) {
      handlers.delete(topic);
      pubsub.unsubscribe(topic);
    },
    async publish(topic, data) {
      const r = await pubsub.publish(topic, data);
      return r.recipients.length;
    },
    setTopicValidator(topic, fn) {
      pubsub.topicValidators.set(topic, allowed ? sourceGate(fn) : fn);
    },
    addPeer,
    connectedPeers: () => [...new Set(node.getConnections().map((c) => c.remotePeer.toString()))],
    topicPeers: (topic) => pubsub.getSubscribers(topic).map((p) => p.toString()),
    // both exist on the gossipsub implementation but not on its exported interface
    meshPeers: (topic) => (pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(topic),
    peerScore: (peer) => (pubsub as unknown as { getScore(p: string): number }).getScore(peer),
    async handle(protocol, handler, maxRequestBytes = 64 * 1024, budgetOpts) {
      const budget = new RequestBudget({ ...opts.requestBudget, ...budgetOpts });
      requestProtocols.add(protocol);
      await node.handle(protocol, async (stream, connection) => {
        const from = connection.remotePeer.toString();
        const refuse = async (code: PeerErrorCode): Promise<void> => {
          admission.refusedRequests++;
          // read (not decode) the request first: an answer sent before it is consumed never reaches the asker
          await readAll(stream, maxRequestBytes, 'request');
          await sendAll(stream, errorResponse(code));
        };
        try {
          // decided before decoding the request: a refused peer costs a stream read, not a decode
          if (!isAllowed(from)) return await refuse('not-validator');
          const a = budget.admit(from);
          if (!a.ok) return await refuse(a.code);
          try {
            const req = await readAll(stream, maxRequestBytes, 'request');
            let res: Uint8Array;
            try {
              const body = await handler(req, from);
              res = new Uint8Array(body.length + 1);
              res[0] = 0;
              res.set(body, 1);
            } catch (e) {
              const code: PeerErrorCode = e instanceof PeerRequestError ? e.code : e instanceof DecodeError ? 'bad-request' : 'internal';
              if (code === 'internal') log?.warn({ err: (e as Error).message, protocol, peer: from }, 'request handler failed');
              else log?.debug({ err: (e as Error).message, protocol, peer: from, code }, 'request refused');
              res = errorResponse(code);
            }
            await sendAll(stream, res);
          } finally {
            a.release();
          }
        } catch (e) {
          log?.debug({ err: (e as Error).message, protocol }, 'request stream failed');
          stream.abort(e as Error);
        }
      });
    },
    async request(peer, protocol, request, ropts = {}) {
      requestProtocols.add(protocol);
      // a timer cleared when the request ends: AbortSignal.timeout's fires (and wakes the node) even
      // after an answer, once per request
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error('request timed out')), ropts.timeoutMs ?? 5000);
      const signal = ac.signal;
      let onAbort: (() => void) | undefined;
      try {
        const stream = await node.dialProtocol(parsedId(peer), protocol, { signal });
        onAbort = (): void => stream.abort(new Error('request timed out'));
        signal.addEventListener('abort', onAbort, { once: true });
        await sendAll(stream, request);
        const res = await readAll(stream, (ropts.maxResponseBytes ?? MAX_GOSSIP_BYTES * 4) + 1, 'response');
        if (res.length === 0) throw new Error(`${protocol}: empty response`);
        if (res[0] !== 0) {
          const code = new TextDecoder().decode(res.subarray(1, 1 + 32));
          throw new RemoteRequestError(protocol, isPeerErrorCode(code) ? code : 'unknown');
        }
        return res.subarray(1);
      } finally {
        clearTimeout(timer);
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    },
    isAllowed,
    admissionStats: () => ({ ...admission }),
    onHeartbeat(fn) {
      const f = (): void => fn(); // one entry per call, even for the same function
      beatTasks.add(f);
      return () => void beatTasks.delete(f);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      beatTasks.clear();
      for (const r of retryTimers) clearTimeout(r);
      detachDenyList?.();
      await node.stop();
    },
  };
}
