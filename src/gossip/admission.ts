// Who may open a connection, ask a request and author a message, how often, and what a refused
// peer is told. Pure (no I/O): the libp2p node (p2p.ts) applies it.
//
//  - connections: only genesis-bound peer ids (the validators) pass the gater, composable with the
//    operator's deny list (deny-list.ts);
//  - requests (fetch, submit, receipts, proofs): validators only, and per peer and protocol a token
//    bucket (requests/s, burst) and a cap on requests in flight;
//  - errors go back as one of a few fixed codes, never an exception's text.

import { TokenBucket } from '../core/token-bucket.js';

/** What a peer is told when its request fails. Anything else a handler throws is 'internal'. */
export const PEER_ERROR_CODES = ['bad-request', 'refused', 'not-validator', 'rate-limited', 'busy', 'internal', 'unavailable'] as const;
export type PeerErrorCode = (typeof PEER_ERROR_CODES)[number];

export function isPeerErrorCode(s: string): s is PeerErrorCode {
  return (PEER_ERROR_CODES as readonly string[]).includes(s);
}

/** Thrown by a request handler to answer with a fixed code (its message stays local: logs only). */
export class PeerRequestError extends Error {
  override name = 'PeerRequestError';
  readonly code: PeerErrorCode;
  constructor(code: PeerErrorCode, message?: string) {
    super(message ?? code);
    this.code = code;
  }
}

interface PeerLike { toString(): string }

/** The libp2p connection gater hooks we use (all optional in libp2p). */
export interface Gater {
  denyDialPeer?(peer: PeerLike): boolean | Promise<boolean>;
  denyInboundEncryptedConnection?(peer: PeerLike): boolean | Promise<boolean>;
  denyOutboundEncryptedConnection?(peer: PeerLike): boolean | Promise<boolean>;
  denyInboundUpgradedConnection?(peer: PeerLike): boolean | Promise<boolean>;
  denyOutboundUpgradedConnection?(peer: PeerLike): boolean | Promise<boolean>;
}

const HOOKS = ['denyDialPeer', 'denyInboundEncryptedConnection', 'denyOutboundEncryptedConnection', 'denyInboundUpgradedConnection', 'denyOutboundUpgradedConnection'] as const;

/** Denies every peer id outside `allowed` at every stage that knows the remote peer id. */
export function allowListGater(allowed: ReadonlySet<string>, onDeny?: (peer: string, hook: string) => void): Required<Gater> {
  const make = (hook: string) => (peer: PeerLike): boolean => {
    const id = peer.toString();
    if (allowed.has(id)) return false;
    onDeny?.(id, hook);
    return true;
  };
  return {
    denyDialPeer: make('dial'),
    denyInboundEncryptedConnection: make('inbound'),
    denyOutboundEncryptedConnection: make('outbound'),
    denyInboundUpgradedConnection: make('inbound-upgraded'),
    denyOutboundUpgradedConnection: make('outbound-upgraded'),
  };
}

/** A gater that denies what any of `gaters` denies (e.g. the allow list and the deny list). */
export function composeGaters(...gaters: (Gater | undefined)[]): Gater | undefined {
  const gs = gaters.filter((g): g is Gater => g !== undefined);
  if (gs.length <= 1) return gs[0];
  const out: Gater = {};
  for (const h of HOOKS) {
    const fns = gs.map((g) => g[h]?.bind(g)).filter((f) => f !== undefined);
    if (fns.length === 0) continue;
    out[h] = async (peer: PeerLike) => {
      for (const f of fns) if (await f(peer)) return true;
      return false;
    };
  }
  return out;
}

export interface RequestBudgetOptions {
  /** Sustained requests per second per peer (token refill rate). */
  ratePerS: number;
  /** Requests a peer may make at once after being quiet (bucket size). */
  burst: number;
  /** Requests of one peer being handled at the same time. */
  maxConcurrent: number;
  /** Peers tracked at most (idle ones are forgotten first); only validators get this far. */
  maxPeers?: number;
}

/**
 * Per-protocol defaults, sized from what an honest validator asks (docs/NETWORK.md "Admission"):
 * catch-up is at most 9 fetches per 2 epochs plus a few per round, receipt pulls one per source
 * every few epochs, proof fetches a handful per epoch; a forwarding node sends one submit request
 * per 2,000 transactions. 20/s with a burst of 60 is an order of magnitude above that at 1 s epochs.
 */
export const DEFAULT_REQUEST_BUDGET: RequestBudgetOptions = { ratePerS: 20, burst: 60, maxConcurrent: 8, maxPeers: 1024 };

export type Admission = { ok: true; release(): void } | { ok: false; code: 'rate-limited' | 'busy' };

interface PeerBudget { bucket: TokenBucket; inFlight: number }

/** Token bucket (src/core/token-bucket.ts) + concurrency cap per peer. */
export class RequestBudget {
  private readonly o: Required<RequestBudgetOptions>;
  private readonly peers = new Map<string, PeerBudget>();
  private clock = 0; // the `now` of the admit() in progress: the buckets' clock

  constructor(o: Partial<RequestBudgetOptions> = {}) {
    this.o = { ...DEFAULT_REQUEST_BUDGET, maxPeers: 1024, ...o } as Required<RequestBudgetOptions>;
    if (!(this.o.ratePerS > 0) || !(this.o.burst >= 1) || !(this.o.maxConcurrent >= 1)) throw new RangeError('request budget: rate > 0, burst >= 1, maxConcurrent >= 1');
  }

  admit(peer: string, now = Date.now()): Admission {
    this.clock = now;
    let b = this.peers.get(peer);
    if (!b) {
      if (this.peers.size >= this.o.maxPeers) this.evictIdle();
      b = { bucket: new TokenBucket({ capacity: this.o.burst, refillPerSecond: this.o.ratePerS, now: () => this.clock }), inFlight: 0 };
      this.peers.set(peer, b);
    }
    if (b.inFlight >= this.o.maxConcurrent) return { ok: false, code: 'busy' };
    if (!b.bucket.take(1)) return { ok: false, code: 'rate-limited' };
    b.inFlight++;
    let done = false;
    const held = b;
    return { ok: true, release: () => { if (!done) { done = true; held.inFlight--; } } };
  }

  /** Peers currently tracked (for tests). */
  size(): number {
    return this.peers.size;
  }

  private evictIdle(): void {
    for (const [k, b] of this.peers) {
      if (b.inFlight === 0) this.peers.delete(k);
      if (this.peers.size < this.o.maxPeers) return;
    }
  }
}
