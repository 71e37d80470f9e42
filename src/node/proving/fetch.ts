// Fetching from peers and serving them (/smt/<net>/proof-fetch/1): snapshots a tree waits for,
// proofs turned away undecided, a restarted node's missing global proofs, and proofs asked for over
// HTTP that are not held here (bounded: a client cannot make this node ask its peers without bound).
// Everything fetched goes through the same admission as gossip.
import { shardFromIndex, shardIndex, type ShardId } from '../../core/ids.js';
import { NegativeCache } from '../../proof/admission.js';
import { VERIFIED_NEXT } from '../../proof/encoding.js';
import { toHex } from '../../core/bytes.js';
import { genesisHash } from '../../core/genesis.js';
import { globalProofHash, type GlobalStateProof } from '../../proof/global.js';
import { sig, type TriadProof } from '../../proof/triad-proof.js';
import { decodeSignedSnapshot, encodeSignedSnapshot } from '../../shard/snapshot.js';
import {
  decodeProofFetchRequest, decodeProofMessage, encodeProofFetchRequest, encodeProofMessage, proofFetchProtocol, ProofFetchKind, type ProofFetchRequest, type ProofMessage,
} from '../../gossip/proof-messages.js';
import type { ValidationOutcome } from '../../gossip/validation.js';
import type { ProofAdmission, Wanted } from './admission.js';
import { firstGap, type ChainLink } from './chain.js';
import type { ProvingContext } from './context.js';
import { IdleBackoff } from './idle-backoff.js';
import type { ProofHoldings } from './holdings.js';
import type { CommitmentTrees } from './trees.js';

const MAX_WANTED = 64; // proofs turned away undecided, fetched once decidable
const ROUTE_FETCHES = 4; // peer fetches the HTTP routes may have in flight at once
const MAX_SYNC_BACKOFF_LOG2 = 4; // an idle global sync runs every 16th interval at least (32 s at 1 s epochs)

export class ProofFetch {
  private readonly c: ProvingContext;
  private readonly trees: CommitmentTrees;
  private readonly held: ProofHoldings;
  private readonly admission: ProofAdmission;
  private readonly wanted = new Map<string, Wanted>();
  readonly negative: NegativeCache; // route look-ups no peer could answer lately
  private readonly routeFetches = new Map<string, Promise<unknown>>();
  private peerCursor = 0;
  private syncing = false;
  private readonly syncPace = new IdleBackoff(MAX_SYNC_BACKOFF_LOG2);
  private wantedBusy = false;
  private readonly genesisHex: string;
  readonly counters = { snapshotsFetched: 0, proofsFetched: 0 };
  /** Requests (a stream each) this node made and served, by kind, and how many were answered empty. */
  readonly requests = { made: kindCounts(), madeEmpty: 0, served: kindCounts(), servedEmpty: 0 };

  constructor(c: ProvingContext, trees: CommitmentTrees, held: ProofHoldings, admission: ProofAdmission) {
    this.c = c;
    this.trees = trees;
    this.held = held;
    this.admission = admission;
    this.negative = new NegativeCache(Math.max(10_000, 2 * c.genesis.epochMs));
    this.genesisHex = toHex(genesisHash(c.genesis));
  }

  get wantedCount(): number {
    return this.wanted.size;
  }

  async serve(req: Uint8Array): Promise<Uint8Array> {
    const q = decodeProofFetchRequest(req);
    this.requests.served[KIND_NAMES[q.kind]]++;
    const b = await this.answer(q);
    if (b.length === 0) this.requests.servedEmpty++;
    return b;
  }

  private async answer(q: ProofFetchRequest): Promise<Uint8Array> {
    const none = new Uint8Array();
    switch (q.kind) {
      case ProofFetchKind.snapshot: {
        if (q.path === this.c.shard.id) {
          const own = await this.c.ownSnapshot(q.epoch);
          return own ? encodeSignedSnapshot(own) : none;
        }
        const s = this.trees.snaps.get(q.epoch)?.[shardIndexOr(q.path, this.c.depth)];
        return s ? encodeSignedSnapshot(s) : none;
      }
      // Served as held: proofs at the apex may be held unpaired here (admission.ts), and a peer pairs
      // whatever it fetches (its admission) before it holds, serves or links to it. Pairing them here
      // as well would pair each twice: the catch-up asks each node's peers for their latest about
      // twice a minute.
      case ProofFetchKind.triadProof: {
        const p = await this.held.store.triad(q.path, q.epoch);
        return p ? encodeProofMessage({ type: 'triad', proof: p }) : none;
      }
      case ProofFetchKind.globalAt: {
        const g = await this.held.store.global(q.epoch);
        return g ? encodeProofMessage({ type: 'global', proof: g.proof }) : none;
      }
      case ProofFetchKind.globalLatest: {
        const g = await this.held.store.latestGlobal();
        return g ? encodeProofMessage({ type: 'global', proof: g.stored.proof }) : none;
      }
    }
  }

  /** Asks peers in turn; `accept` says true (take it), false (invalid: next peer) or 'stop' (nothing a peer sends can be taken now). */
  private async fetchFirst<T>(q: ProofFetchRequest, decode: (b: Uint8Array) => T, accept: (x: T) => boolean | 'stop' | Promise<boolean | 'stop'>, maxPeers = 8): Promise<T | undefined> {
    const peers = this.c.p2p.connectedPeers();
    for (let i = 0; i < Math.min(maxPeers, peers.length); i++) {
      const peer = peers[(this.peerCursor++) % peers.length]!;
      try {
        this.requests.made[KIND_NAMES[q.kind]]++;
        const b = await this.c.p2p.request(peer, proofFetchProtocol(this.c.genesis.networkId), encodeProofFetchRequest(q), { timeoutMs: 2000 });
        if (b.length === 0) {
          this.requests.madeEmpty++;
          continue;
        }
        const x = decode(b);
        const ok = await accept(x);
        if (ok === 'stop') return undefined;
        if (ok) return x;
        this.c.log.warn({ peer, kind: q.kind, path: q.path, epoch: q.epoch }, 'peer served an invalid record');
      } catch (err) {
        this.c.log.debug({ peer, err: (err as Error).message }, 'proof fetch failed');
      }
    }
    return undefined;
  }

  /** Fetches the snapshots the next tree is waiting for, once behind (later epochs seen) or late. */
  async missingSnapshots(): Promise<void> {
    if (!this.c.canVerify) return; // no tree is built here (CommitmentTrees.advance)
    const e = this.trees.head.epoch + 1;
    const local = this.c.shard.latestEpoch();
    if (e > Math.max(this.trees.newestSeen, local)) return;
    const lateMs = this.c.genesis.epochMs;
    const last = this.trees.fetchedAt.get(e) ?? 0;
    if (Date.now() - last < 2000) return;
    const behind = Math.max(this.trees.newestSeen, local) > e;
    const firstSeen = this.trees.firstSeenAt.get(e) ?? Date.now();
    if (!behind && Date.now() - firstSeen < Math.max(1000, lateMs)) return;
    this.trees.fetchedAt.set(e, Date.now());
    const a = this.trees.snaps.get(e) ?? [];
    await Promise.all(Array.from({ length: this.c.n }, async (_, i) => {
      if (a[i]) return;
      const shard = shardFromIndex(i, this.c.depth);
      if (shard === this.c.shard.id) {
        const own = await this.c.ownSnapshot(e);
        if (own) this.trees.add(own);
        return;
      }
      const ss = await this.fetchFirst({ kind: ProofFetchKind.snapshot, path: shard, epoch: e }, decodeSignedSnapshot,
        (x) => x.snapshot.shard === shard && x.snapshot.epoch === e && this.trees.check(x).action !== 'reject');
      if (ss) {
        this.counters.snapshotsFetched++;
        this.trees.add(ss);
      }
    }));
    this.trees.advance();
  }

  async global(e: number | 'latest'): Promise<GlobalStateProof | undefined> {
    if (!this.c.canVerify) return undefined;
    const q: ProofFetchRequest = e === 'latest' ? { kind: ProofFetchKind.globalLatest, path: '', epoch: 0 } : { kind: ProofFetchKind.globalAt, path: '', epoch: e };
    const m = await this.fetchFirst(q, decodeLax, async (x) => {
      if (x.type !== 'global' || (e !== 'latest' && sig.epoch(x.proof.publicSignals) !== BigInt(e))) return false;
      return fetchVerdict(await this.admission.admitGlobal(x.proof, { wait: false }));
    }, e === 'latest' ? 2 : 4);
    if (m?.type !== 'global') return undefined;
    await this.held.acceptGlobal(m.proof, Date.now());
    return m.proof;
  }

  /**
   * Fetches one triad proof from peers (verified), stores it. A proof below the apex is held by few
   * nodes (its prover and the first prover of its parent: takesProof), so up to 8 peers are asked
   * (every peer at 9 shards); an empty answer is cheap.
   */
  async triad(path: string, e: number): Promise<TriadProof | undefined> {
    if (!this.c.canVerify) return undefined;
    const m = await this.fetchFirst({ kind: ProofFetchKind.triadProof, path, epoch: e }, decodeLax, async (x) => {
      if (x.type !== 'triad' || x.proof.path !== path || sig.epoch(x.proof.publicSignals) !== BigInt(e)) return false;
      return fetchVerdict(await this.admission.admitTriad(x.proof, { wait: false }));
    }, 8);
    if (m?.type !== 'triad') return undefined;
    this.counters.proofsFetched++;
    this.c.verified.add(m.proof.proof);
    await this.held.acceptTriad(m.proof);
    return m.proof;
  }

  /**
   * Catch-up: the peers' latest global proof, then the proofs missing from the chain before it
   * (bounded). Called every sync interval; a pass that brought nothing new doubles the wait before the next
   * one (up to 2^MAX_SYNC_BACKOFF_LOG2 intervals) and one that brought a proof resets it: a node kept up
   * to date by gossip asks its peers rarely instead of every 2 s, a restarted or partitioned one
   * catches up at the full rate, and one that missed a gossiped proof still gets it within a minute.
   */
  async syncGlobals(): Promise<void> {
    if (this.syncing || this.c.closed || !this.c.canVerify) return;
    if (!this.syncPace.due()) return;
    this.syncing = true;
    let got = false;
    try {
      const latest = await this.global('latest');
      got = latest !== undefined;
      if (await this.fillChain()) got = true;
    } finally {
      this.syncing = false;
      this.syncPace.done(got);
    }
  }

  /**
   * Fetches the global proof the held chain lacks first (chain.ts: walking back from the newest by
   * the links, each names the previous proof's hash), asking for the proved epochs before the break
   * in turn (at most 4 look-ups, 8 epochs) until the linked proof comes. A chain held whole costs no
   * request: before, every pass asked peers for the 4 proved epochs before the newest not held here,
   * which with every epoch eligible (most skipped by the pool) were 16 requests answered empty.
   */
  private async fillChain(): Promise<boolean> {
    const store = this.held.store;
    const link = (e: number, g: GlobalStateProof): ChainLink => ({ epoch: e, hash: toHex(globalProofHash(g)), prevHash: toHex(g.prevGlobalProofHash) });
    const gap = await firstGap(this.held.latestGlobal, this.genesisHex, {
      at: async (e) => {
        const g = await store.global(e);
        return g ? link(e, g.proof) : undefined;
      },
      latestAtOrBefore: async (e) => {
        const g = e >= 0 ? await store.latestGlobal(e) : undefined;
        return g ? link(g.epoch, g.stored.proof) : undefined;
      },
      epochOf: (h) => this.held.globalHashes.get(h),
    });
    if (!gap) return false;
    const plan = this.c.cadence.plan;
    let got = false;
    let budget = 4;
    let steps = 0;
    for (let e = plan.previousProved(gap.after); e >= 0 && steps++ < 8 && budget > 0 && !this.c.closed; e = plan.previousProved(e)) {
      if (await store.hasGlobal(e)) continue;
      budget--;
      const g = await this.global(e);
      if (!g) continue;
      got = true;
      if (toHex(globalProofHash(g)) === gap.wantHash) break;
    }
    return got;
  }

  /** A proof turned away undecided: fetched from peers once this node can decide it. */
  want(w: Wanted): void {
    const k = `${w.type}/${w.path}@${w.epoch}`;
    if (this.wanted.has(k) || this.wanted.size >= MAX_WANTED) return;
    this.wanted.set(k, w);
  }

  async fetchWanted(): Promise<void> {
    if (this.wantedBusy || this.wanted.size === 0 || !this.c.canVerify) return;
    this.wantedBusy = true;
    try {
      for (const [k, w] of [...this.wanted]) {
        if (this.c.closed) return;
        if (w.epoch < this.trees.head.epoch - this.c.treeWindow) {
          this.wanted.delete(k);
          continue;
        }
        if (!this.trees.trees.has(w.epoch)) continue; // not decidable here yet
        this.wanted.delete(k);
        if (w.type === 'global') {
          if (!(await this.held.store.hasGlobal(w.epoch))) await this.global(w.epoch);
        } else if (!this.held.proofs.get(w.epoch)?.has(w.path)) await this.triad(w.path, w.epoch);
      }
    } finally {
      this.wantedBusy = false;
    }
  }

  /**
   * A route's look-up at peers of something not held here: not for epochs no proof can exist for yet,
   * not again within the negative cache's TTL after no peer had it, one look-up per key at a time and
   * at most ROUTE_FETCHES keys at once (an HTTP client cannot make this node ask its peers without bound).
   */
  async askPeers<T>(key: string, e: number, fetch: () => Promise<T | undefined>): Promise<T | undefined> {
    if (!this.c.canVerify || e > this.c.clockEpoch() + this.admission.futureMargin || this.negative.has(key)) return undefined;
    const running = this.routeFetches.get(key) as Promise<T | undefined> | undefined;
    if (running) return running;
    if (this.routeFetches.size >= ROUTE_FETCHES) return undefined;
    const p = fetch().then((x) => {
      if (x === undefined) this.negative.add(key);
      return x;
    }).finally(() => this.routeFetches.delete(key));
    this.routeFetches.set(key, p);
    return p;
  }
}

const KIND_NAMES = { [ProofFetchKind.snapshot]: 'snapshot', [ProofFetchKind.triadProof]: 'triadProof', [ProofFetchKind.globalAt]: 'globalAt', [ProofFetchKind.globalLatest]: 'globalLatest' } as const;
type KindName = (typeof KIND_NAMES)[ProofFetchKind];
function kindCounts(): Record<KindName, number> {
  return { snapshot: 0, triadProof: 0, globalAt: 0, globalLatest: 0 };
}

/** A fetched proof's admission as fetchFirst's answer: take it, try the next peer (invalid), or stop (held already, or not decidable here now). */
function fetchVerdict(o: ValidationOutcome): boolean | 'stop' {
  if (o.action === 'accept') return true;
  return o.action === 'reject' ? false : 'stop';
}

/** Fetched proofs go through admission, which pairs them: the decoder need not check B's subgroup too. */
const decodeLax = (b: Uint8Array): ProofMessage => decodeProofMessage(b, VERIFIED_NEXT);

function shardIndexOr(path: string, depth: number): number {
  return path.length === depth && /^[012]+$/.test(path) ? shardIndex(path as ShardId) : -1;
}
