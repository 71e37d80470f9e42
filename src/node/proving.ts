// Global state proofs made by the running network, off the transaction path (docs/PROOFS.md §3).
//
// Every node (depth >= 1, with --p2p):
//  - republishes its own signed snapshot on /smt/<net>/proofs after each seal and keeps everyone
//    else's (signature-checked), so it can build the whole commitment tree of every epoch natively
//    (`buildTree`, chained from the genesis pseudo-tree at epoch -1; cheap Poseidon hashing), every
//    epoch, proved or not; the latest tree is persisted, missing snapshots are fetched from peers;
//  - for the proved epochs (e % proveEvery === 0), proves the triads it is the rotation-chosen
//    prover of: publisherOrder(path, e)[turn]'s signer, turn advancing one `leaseMs` after the
//    proof became due (leaf: tree built here; above: the 3 child proofs known here) while nobody
//    has published it. Above the lowest level the prover first verifies the three child proofs
//    (Groth16 + public-signal links, `verifyChildren`). Proofs run in a niced child process
//    (src/proof/prover.ts), one at a time;
//  - the apex proof becomes the epoch's global state proof, linked to the latest earlier global
//    proof this node holds (the previous proved epoch's; genesis hash for the first);
//  - verifies, stores (<data>/proofs) and serves every triad and global proof it sees (HTTP and
//    /smt/<net>/proof-fetch/1), and catches up missing global proofs from peers.
// Without circuit artifacts the node still shares snapshots (others need them) but neither proves
// nor accepts proofs (it cannot verify them), and says so once.
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram } from 'prom-client';
import { toHex } from '../core/bytes.js';
import { genesisHash, type Genesis } from '../core/genesis.js';
import { shardFromIndex, shardIndex, type ShardId } from '../core/ids.js';
import { publisherOrder, signerFor, turnAt } from '../hierarchy/rotation.js';
import { circuitsBuilt, artifactsDir } from '../proof/artifacts.js';
import { epochOutOfRange, futureMarginEpochs, HoldQueue, NegativeCache, proofEpoch, signalsMismatch, treeVsGlobal } from '../proof/admission.js';
import { proofKeysMismatch } from '../proof/vk-hash.js';
import type { GlobalSnapshot } from '../hierarchy/global.js';
import { getPoseidon, pathEnc, type Hasher } from '../proof/commitment.js';
import { apexKind, encodeGlobalProof as encodeGlobal, globalFromApex, globalProofHash, verifyGlobalProof, type GlobalStateProof } from '../proof/global.js';
import { Prover } from '../proof/prover.js';
import { buildTree, circuitKindOf, genesisTreeOf, triadLevels, type CommitmentTree } from '../proof/tree.js';
import { proveTriad, verifyChildren, type VerifyFn } from '../proof/tree-prover.js';
import { checkOpening, encodeTriadProof as encodeTriad, sig, type TriadProof } from '../proof/triad-proof.js';
import { closeVerifier, verify, warmVerifier } from '../proof/verifier.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, type SignedSnapshot } from '../shard/snapshot.js';
import { verifyShardSnapshot } from '../replica/keys.js';
import { globalProofJson, triadProofJson } from '../proof/proof-json.js';
import type { Shard, SealedEvent } from '../shard/shard.js';
import { decodeEnvelope, encodeEnvelope, GossipKind } from '../gossip/encoding.js';
import type { P2PNode } from '../gossip/p2p.js';
import {
  decodeProofFetchRequest, decodeProofMessage, encodeProofFetchRequest, encodeProofMessage, proofFetchProtocol, proofTopic,
  ProofFetchKind, type ProofFetchRequest,
} from '../gossip/proof-messages.js';
import { ACCEPT, ignore, makeTopicValidator, reject, RejectLog, type ValidationOutcome } from '../gossip/validation.js';
import { HttpError, type Router } from './http.js';
import type { NodeMetrics } from './metrics.js';
import { ProofStore, type StoredGlobal } from './proof-store.js';
import type { Component } from './node.js';

export interface ProvingOptions {
  /** false = --no-prove: share snapshots, verify/store/serve proofs, never prove. */
  prove: boolean;
  /** Prove epochs e with e % proveEvery === 0; undefined = automatic (autoProveEvery). */
  proveEvery?: number;
  /** Rotation lease of a proof: the next prover in turn starts after this long. */
  leaseMs?: number;
  /** Fallback scan interval (leases, late snapshots); trees built and proofs arriving trigger a scan at once. */
  tickMs?: number;
}

/**
 * Measured CPU cost of one proof on the 2-core reference machine (docs/PROOFS.md §7): warm prover,
 * single-threaded curve, witness + Groth16 (npm run bench:proof, "prove cpu").
 */
export const LEAF_PROOF_MS = 1500;
export const INNER_PROOF_MS = 850;

/**
 * Default cadence: assume the whole network runs on this machine (the local-cluster case) and let
 * proving use at most 40% of its cores: one proved epoch's tree costs (3^(D-1)) leaf + (3^(D-1)-1)/2
 * inner proofs. 9 shards, 1 s epochs, 2 cores: 3 x 1.6 + 0.9 = 5.7 s per tree => every 8th epoch.
 */
export function autoProveEvery(depth: number, epochMs: number, cores = availableParallelism()): number {
  const leaves = 3 ** (depth - 1);
  const cost = leaves * LEAF_PROOF_MS + ((leaves - 1) / 2) * INNER_PROOF_MS;
  return Math.max(1, Math.ceil(cost / (0.4 * cores * epochMs)));
}

/**
 * The shard that proves triad `path` on turn `turn` (0..2) of the `round`-th proved epoch
 * (round = epoch / proveEvery: rotating by the epoch itself would pick the same prover for ever
 * whenever proveEvery is a multiple of 3).
 */
export function proverOf(path: string, round: number, depth: number, turn: number): ShardId {
  return signerFor(path + String(publisherOrder(path, round)[turn]!), round, depth, 0);
}

const SNAPSHOT_WINDOW = 64; // epochs of others' snapshots kept in memory (served to catching-up peers)
// A lowest-level proof is started only for an epoch sealed (by the wall clock) at most
// max(proveEvery epochs, LEAF_WINDOW_MS) ago: one proved epoch in flight, so a start-up catch-up
// (many epochs sealed at once) or an overload skips whole epochs instead of piling up proofs.
const LEAF_WINDOW_MS = 5_000;
const TREE_KEEP_MS = 90_000; // trees kept this much longer: an epoch whose leaves are proved still gets its upper levels
const TIMELINE_KEEP = 12; // proved epochs whose timelines /v1/proof/status shows
const MAX_VARIANTS = 3; // re-randomised valid variants of a held global proof remembered per epoch (link targets)
const MAX_GLOBAL_HASHES = 256; // hashes of recent held global proofs (and variants): what a new proof may link to
const MAX_WANTED = 64; // proofs turned away undecided, fetched once decidable
const HOLD_MAX = { perKey: 2, total: 64 }; // proofs waiting for signed state: per (kind, path, epoch), in all
const ROUTE_FETCHES = 4; // peer fetches the HTTP routes may have in flight at once

/** What the proving layer needs of the aggregation layer: final global snapshots, and word when one becomes final. */
export interface FinalGlobals {
  globalAt(epoch: number): Promise<GlobalSnapshot | undefined>;
  onGlobal(listener: () => void): () => void;
}

interface Task {
  epoch: number;
  path: string;
}

/**
 * Per proved epoch, what happened here and when, in ms after the epoch's nominal seal time
 * (genesisTime + (e+1) * epochMs), for finding where the seal-to-global-proof latency goes.
 * Steps: sealed (own snapshot), tree (all snapshots here, tree built), `<path>@queued`,
 * `<path>@start` / `<path>@verified` (children checked) / `<path>@made` for proofs made here (with
 * the child's witness and prove ms), `<path>` = proof held (made or received; apex = "apex"),
 * global = global proof held.
 */
export type EpochTimeline = Record<string, number>;

export class ProvingService {
  readonly proveEvery: number;
  private readonly leafWindow: number; // epochs
  private readonly treeWindow: number; // epochs
  readonly canVerify: boolean;
  private readonly o: { shard: Shard; genesis: Genesis; p2p: P2PNode; net?: FinalGlobals; log: Logger; prove: boolean; leaseMs: number; tickMs: number };
  /** Why this node neither proves nor accepts proofs (no artifacts, no pin in genesis, other keys), or null. */
  readonly proofsOff: string | null;
  private readonly futureMargin: number;
  private readonly holdMs: number;
  private readonly holds = new HoldQueue(HOLD_MAX.perKey, HOLD_MAX.total);
  private readonly waiters = new Set<() => void>();
  private readonly globalHashes = new Map<string, number>(); // hex hash of a held global proof (or variant) -> epoch
  private readonly variants = new Map<number, number>();
  private readonly wanted = new Map<string, { type: 'triad' | 'global'; path: string; epoch: number }>();
  private readonly negative: NegativeCache; // route look-ups no peer could answer lately
  private readonly routeFetches = new Map<string, Promise<unknown>>();
  private readonly genesisHex: string;
  private offGlobal: (() => void) | undefined;
  private readonly depth: number;
  private readonly n: number;
  private readonly store: ProofStore;
  private H: Hasher = () => {
    throw new Error('Poseidon not built yet');
  };
  private ready = false; // Poseidon built and the head tree known (boot, off the start-up path)
  private readonly topic: string;
  private readonly snaps = new Map<number, (SignedSnapshot | undefined)[]>();
  private readonly trees = new Map<number, CommitmentTree>();
  private readonly builtAt = new Map<number, number>();
  private readonly proofs = new Map<number, Map<string, TriadProof>>(); // recent epochs, by path
  private readonly dueAt = new Map<string, number>();
  private readonly queued = new Set<string>();
  private readonly queue: Task[] = [];
  private readonly sealedAt = new Map<number, number>();
  private readonly fetchedAt = new Map<number, number>();
  private readonly firstSeenAt = new Map<number, number>();
  private readonly metrics: { made: Counter<'kind'>; seconds: Histogram<'kind'>; latency: Histogram; epoch: Gauge; head: Gauge };
  private head: CommitmentTree;
  private newestSeen = -1;
  private latestGlobal = -1;
  private prover: Prover | null = null;
  private proving = false;
  private readonly timelines = new Map<number, EpochTimeline>();
  // Proof objects verified on arrival (gossip validation, fetch) or made here: verifyChildren need not
  // re-run their pairing check.
  private readonly verified = new WeakSet<object>();
  private readonly verifyKnown: VerifyFn = (kind, signals, proof) => (this.verified.has(proof) ? Promise.resolve(true) : verify(kind, signals, proof));
  private kicked = false;
  private timer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private treeFailed = false;
  private closed = false;
  private peerCursor = 0;
  private readonly counters = { snapshotsGossiped: 0, snapshotsFetched: 0, proofsGossiped: 0, proofsFetched: 0, proofTopicRejected: 0, proofTopicIgnored: 0 };

  private constructor(o: ProvingService['o'], store: ProofStore, head: CommitmentTree, proveEvery: number, proofsOff: string | null, metrics: NodeMetrics) {
    this.o = o;
    this.proofsOff = proofsOff;
    const canVerify = proofsOff === null;
    this.futureMargin = futureMarginEpochs(o.genesis.epochMs);
    // a proof that arrives before its tree waits about as long as a late snapshot takes to be fetched
    this.holdMs = Math.min(15_000, Math.max(5_000, 3 * o.genesis.epochMs));
    this.negative = new NegativeCache(Math.max(10_000, 2 * o.genesis.epochMs));
    this.genesisHex = toHex(genesisHash(o.genesis));
    this.store = store;
    this.head = head;
    this.depth = o.genesis.depth;
    this.n = 3 ** this.depth;
    this.proveEvery = proveEvery;
    this.leafWindow = Math.max(proveEvery, Math.ceil(LEAF_WINDOW_MS / o.genesis.epochMs));
    this.treeWindow = this.leafWindow + Math.ceil(TREE_KEEP_MS / o.genesis.epochMs) + 2;
    this.canVerify = canVerify;
    this.topic = proofTopic(o.genesis.networkId);
    const registers = [metrics.registry];
    this.metrics = {
      made: new Counter({ name: 'smt_proofs_made_total', help: 'Groth16 triad proofs made by this node, by circuit', labelNames: ['kind'], registers }),
      seconds: new Histogram({ name: 'smt_prove_seconds', help: 'Time to make one triad proof (witness + Groth16, in the niced prover process)', labelNames: ['kind'], registers, buckets: [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20] }),
      latency: new Histogram({ name: 'smt_global_proof_latency_seconds', help: "Per proved epoch: time from this node's seal of the epoch to the epoch's global state proof being held here", registers, buckets: [0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60] }),
      epoch: new Gauge({ name: 'smt_global_proof_epoch', help: 'Latest epoch with a global state proof held by this node (-1 before the first)', registers }),
      head: new Gauge({ name: 'smt_commitment_tree_epoch', help: 'Latest epoch whose commitment tree this node has built', registers }),
    };
    this.metrics.epoch.set(-1);
  }

  static async start(opts: ProvingOptions & { shard: Shard; genesis: Genesis; p2p: P2PNode; net?: FinalGlobals; dataDir: string; logger: Logger; metrics: NodeMetrics }): Promise<ProvingService> {
    const { genesis } = opts;
    const log = opts.logger.child({ module: 'proving' });
    // Proofs only with the circuits genesis pins: keys of other circuits would accept other statements.
    let proofsOff: string | null = null;
    if (!circuitsBuilt()) {
      proofsOff = `circuit artifacts missing in ${artifactsDir()}`;
      log.warn({ artifacts: artifactsDir() }, 'circuit artifacts missing: this node will NOT prove or verify proofs (run `npm run build:circuits`; --no-prove silences this)');
    } else if ((proofsOff = proofKeysMismatch(genesis.proofKeysHash)) !== null) {
      if (genesis.proofKeysHash) log.error(`proofs off: ${proofsOff}`);
      else log.warn(`proofs off: ${proofsOff}`);
    }
    const canVerify = proofsOff === null;
    const store = await ProofStore.open(opts.dataDir);
    try {
      const stored = await store.tree();
      // Until boot() has built Poseidon (CPU-heavy: kept off the node's start-up path) the head is
      // the stored tree, or an empty stand-in for the genesis pseudo-tree.
      const head: CommitmentTree = stored && stored.depth === genesis.depth ? stored : { depth: genesis.depth, epoch: -1, shards: [], triads: new Map() };
      const every = opts.proveEvery ?? autoProveEvery(genesis.depth, genesis.epochMs);
      const s = new ProvingService(
        { shard: opts.shard, genesis, p2p: opts.p2p, net: opts.net, log, prove: opts.prove && canVerify, leaseMs: opts.leaseMs ?? Math.max(30_000, 4 * genesis.epochMs), tickMs: opts.tickMs ?? 500 },
        store, head, every, proofsOff, opts.metrics,
      );
      await s.init();
      void s.boot(stored !== undefined && stored.depth === genesis.depth);
      log.info({ proveEvery: every, proving: s.o.prove, tree: head.epoch }, 'proving layer started');
      return s;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  private async boot(haveTree: boolean): Promise<void> {
    try {
      this.H = await getPoseidon();
      if (!haveTree) this.head = genesisTreeOf(this.H, this.o.genesis);
      this.trees.set(this.head.epoch, this.head);
      this.ready = true;
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'cannot build Poseidon: proving layer idle');
      return;
    }
    // Warm start: the prover child loads its keys, compiles its WASM and builds its curve now, in
    // parallel with the node's first epochs, and the verifier builds its curve and prepares its
    // keys, instead of both on the first proof (a failure here shows again on the first proof).
    if (!this.canVerify || this.closed) return;
    try {
      if (this.o.prove) this.prover ??= new Prover();
      const t = Date.now();
      await warmVerifier();
      const verifierMs = Date.now() - t;
      const proverMs = this.prover ? Math.round(await this.prover.warmed) : undefined;
      this.o.log.info({ verifierMs, proverMs, threads: this.prover?.threads }, 'proving warm');
    } catch (err) {
      if (!this.closed) this.o.log.warn({ err: (err as Error).message }, 'proving warm-up failed');
    }
  }

  private async init(): Promise<void> {
    const { p2p, genesis, shard } = this.o;
    const latest = await this.store.latestGlobal();
    if (latest) this.setLatestGlobal(latest.epoch);
    const rejectLog = new RejectLog(this.o.log, 'proof-topic message rejected');
    for (const g of await this.store.recentGlobals(MAX_GLOBAL_HASHES)) this.rememberGlobal(toHex(globalProofHash(g.stored.proof)), g.epoch);
    this.offGlobal = this.o.net?.onGlobal(() => this.stateChanged());
    p2p.setTopicValidator(this.topic, makeTopicValidator(genesis.networkId, {
      [GossipKind.snapshot]: (payload) => this.checkSnapshot(decodeSignedSnapshot(payload)),
      [GossipKind.proof]: (payload) => this.admitProofMessage(payload),
    }, (o, topic, from) => {
      if (o.action === 'ignore' && o.code === 'internal') this.o.log.warn({ topic, from, msg: o.message }, 'proof-topic message not checkable');
      rejectLog.note(o, topic, from); // rate-limited: a flood of invalid proofs is one summary line per interval
      if (o.action === 'reject') this.counters.proofTopicRejected++;
      else if (o.action === 'ignore') this.counters.proofTopicIgnored++;
    }));
    p2p.subscribe(this.topic, (data) => this.onMessage(data));
    await p2p.handle(proofFetchProtocol(genesis.networkId), (req) => this.serve(req));
    shard.events.on('sealed', this.onSealed);
    this.timer = setInterval(() => this.tick(), this.o.tickMs);
    this.timer.unref();
    this.syncTimer = setInterval(() => void this.syncGlobals(), Math.max(2000, 2 * genesis.epochMs));
    this.syncTimer.unref();
  }

  get component(): Component {
    return { name: 'proving', close: () => this.close() };
  }

  // ---- snapshots and trees ----

  private readonly onSealed = (ev: SealedEvent): void => {
    const ss = ev.snapshot;
    this.sealedAt.set(ss.snapshot.epoch, Date.now());
    this.mark(ss.snapshot.epoch, 'sealed');
    this.addSnapshot(ss);
    void this.publish(GossipKind.snapshot, encodeSignedSnapshot(ss));
  };

  /**
   * The proof topic's check of a proof message (decode, then admitTriad / admitGlobal, waiting a
   * bounded time for undecided ones). Accept = gossipsub relays it and delivers it to onMessage.
   */
  async admitProofMessage(payload: Uint8Array): Promise<ValidationOutcome> {
    const m = decodeProofMessage(payload);
    if (!this.canVerify) return ignore('unknown', this.proofsOff ?? 'no verification keys here');
    return m.type === 'triad' ? this.admitTriad(m.proof, { wait: true }) : this.admitGlobal(m.proof, { wait: true });
  }

  /** A proof message as if from the proofs topic, validation and delivery: what gossip does with it, without the transport. */
  async receiveProofMessage(payload: Uint8Array): Promise<ValidationOutcome> {
    const o = await this.admitProofMessage(payload);
    if (o.action === 'accept') await this.deliverProof(payload);
    return o;
  }

  /** A signed snapshot as if from the proofs topic (checked, then added). */
  offerSnapshot(ss: SignedSnapshot): ValidationOutcome {
    const o = this.checkSnapshot(ss);
    if (o.action === 'reject') return o;
    this.addSnapshot(ss);
    this.advance();
    return o;
  }

  /** A shard's signed snapshot of `epoch`, if it came here (proofs topic, fetch or own seal): every shard's, for the last SNAPSHOT_WINDOW epochs. */
  snapshotOf(shard: string, epoch: number): SignedSnapshot | undefined {
    if (shard.length !== this.depth || !/^[012]*$/.test(shard)) return undefined;
    return this.snaps.get(epoch)?.[shardIndex(shard as ShardId)];
  }

  private checkSnapshot(ss: SignedSnapshot): ValidationOutcome {
    const s = ss.snapshot;
    if (s.network !== this.o.genesis.networkId) return reject('wrong-network');
    if (s.shard.length !== this.depth) return reject('invalid', 'not a shard of this network');
    if (!verifyShardSnapshot(this.o.genesis, ss)) return reject('bad-signature');
    return s.epoch <= this.head.epoch ? ignore('stale') : ACCEPT;
  }

  private addSnapshot(ss: SignedSnapshot): void {
    const e = ss.snapshot.epoch;
    if (e <= this.head.epoch) return;
    let a = this.snaps.get(e);
    if (!a) this.snaps.set(e, (a = new Array<SignedSnapshot | undefined>(this.n)));
    a[shardIndex(ss.snapshot.shard)] ??= ss;
    if (!this.firstSeenAt.has(e)) this.firstSeenAt.set(e, Date.now());
    if (e > this.newestSeen) this.newestSeen = e;
  }

  /** Builds every tree whose snapshots are all here, in order. */
  private advance(): void {
    if (this.treeFailed || !this.ready) return;
    for (;;) {
      const e = this.head.epoch + 1;
      const a = this.snaps.get(e);
      if (!a || a.filter(Boolean).length !== this.n) return;
      let t: CommitmentTree;
      try {
        t = buildTree(this.H, a.map((x) => x!.snapshot), this.head);
      } catch (err) {
        // The circuits could not prove this epoch (broken supply arithmetic): nothing after it can
        // be chained either. Loud, once.
        this.treeFailed = true;
        this.o.log.error({ epoch: e, err: (err as Error).message }, 'cannot build the commitment tree: proving stops here');
        return;
      }
      this.head = t;
      this.trees.set(e, t);
      this.builtAt.set(e, Date.now());
      this.mark(e, 'tree');
      this.kick();
      this.metrics.head.set(e);
      this.stateChanged(); // proofs held for this epoch can be decided now
      void this.store.putTree(t).catch((err) => this.o.log.warn({ err }, 'cannot store tree'));
      // trees stay as long as their epoch may still be proved (a proof needs its tree and the previous one)
      for (const k of [...this.trees.keys()]) if (k < e - this.treeWindow) this.trees.delete(k);
      for (const k of [...this.proofs.keys()]) if (k < e - this.treeWindow) this.proofs.delete(k);
      for (const k of [...this.variants.keys()]) if (k < e - this.treeWindow) this.variants.delete(k);
      // others' snapshots stay a while for peers that catch up
      for (const k of [...this.snaps.keys()]) if (k < e - SNAPSHOT_WINDOW) this.snaps.delete(k);
      for (const m of [this.firstSeenAt, this.fetchedAt, this.builtAt, this.sealedAt]) for (const k of [...m.keys()]) if (k < e - Math.max(SNAPSHOT_WINDOW, this.treeWindow)) m.delete(k);
    }
  }

  /** Fetches the snapshots the next tree is waiting for, once behind (later epochs seen) or late. */
  private async fetchMissingSnapshots(): Promise<void> {
    const e = this.head.epoch + 1;
    const local = this.o.shard.latestEpoch();
    if (e > Math.max(this.newestSeen, local)) return;
    const lateMs = this.o.genesis.epochMs;
    const last = this.fetchedAt.get(e) ?? 0;
    if (Date.now() - last < 2000) return;
    const behind = Math.max(this.newestSeen, local) > e;
    const firstSeen = this.firstSeenAt.get(e) ?? Date.now();
    if (!behind && Date.now() - firstSeen < Math.max(1000, lateMs)) return;
    this.fetchedAt.set(e, Date.now());
    const a = this.snaps.get(e) ?? [];
    await Promise.all(Array.from({ length: this.n }, async (_, i) => {
      if (a[i]) return;
      const shard = shardFromIndex(i, this.depth);
      if (shard === this.o.shard.id) {
        const own = await this.o.shard.snapshot(e);
        if (own) this.addSnapshot(own);
        return;
      }
      const ss = await this.fetchFirst({ kind: ProofFetchKind.snapshot, path: shard, epoch: e }, decodeSignedSnapshot,
        (x) => x.snapshot.shard === shard && x.snapshot.epoch === e && this.checkSnapshot(x).action !== 'reject');
      if (ss) {
        this.counters.snapshotsFetched++;
        this.addSnapshot(ss);
      }
    }));
    this.advance();
  }

  // ---- proofs in ----

  private proofsOf(e: number): Map<string, TriadProof> {
    let m = this.proofs.get(e);
    if (!m) this.proofs.set(e, (m = new Map()));
    return m;
  }

  // Admission (docs/PROOFS.md, "Accepting a proof"). The circuits check no signatures and anyone can
  // prove invented inputs with the public testnet setup, so a proof is accepted (stored, served,
  // relayed) only when its public signals are what this node computed from signed state: the
  // commitment tree it built from signature-checked snapshots, agreeing with the final global
  // snapshot for the apex, and a global proof's link to a global proof held here. Outcomes: reject =
  // invalid or contradicts signed state (the sender is penalised); ignore 'unknown' = not decidable
  // yet (held, bounded, until the state arrives; no penalty); ignore 'stale' = too old to check here.

  private async admitTriad(p: TriadProof, o: { wait: boolean; verified?: boolean }): Promise<ValidationOutcome> {
    if (p.path.length >= this.depth || p.kind !== circuitKindOf(this.depth, p.path)) return reject('invalid', 'triad path or circuit does not fit the network');
    if (sig.pathEnc(p.publicSignals) !== pathEnc(p.path)) return reject('invalid', 'public position is not the triad\'s');
    const e = proofEpoch(p.publicSignals);
    const range = epochOutOfRange(e, this.clockEpoch(), this.futureMargin);
    if (range !== null || e === undefined) return reject('invalid', range ?? 'epoch');
    const have = this.proofs.get(e)?.get(p.path);
    if (have && have.publicSignals.every((v, i) => v === p.publicSignals[i])) return ignore('duplicate');
    if (!this.ready) return ignore('unknown', 'starting');
    const b = await this.bindTriad(p, e);
    if (b.action === 'reject' || (b.action === 'ignore' && b.code === 'stale')) return b;
    // the pairing check after the cheap comparisons: what contradicts signed state costs no pairing
    if (!o.verified) {
      const why = checkOpening(this.H, p);
      if (why) return reject('invalid', why);
      if (!(await verify(p.kind, p.publicSignals, p.proof))) return reject('invalid', 'triad proof does not verify');
    }
    if (b.action === 'accept' || !o.wait) return b;
    const after = await this.hold(`t/${p.path}@${e}`, () => this.bindTriad(p, e));
    if (after.action === 'ignore') this.want({ type: 'triad', path: p.path, epoch: e });
    return after.action === 'accept' && this.proofs.get(e)?.has(p.path) ? ignore('duplicate') : after;
  }

  /** Whether triad proof p (of epoch e) is the one signed state decides. */
  private async bindTriad(p: TriadProof, e: number): Promise<ValidationOutcome> {
    const mine = this.trees.get(e)?.triads.get(p.path);
    if (mine) {
      const why = signalsMismatch(mine, p.publicSignals);
      return why ? reject('invalid', why) : ACCEPT;
    }
    if (e > this.head.epoch) return ignore('unknown', `commitment tree of epoch ${e} not built here yet (built up to ${this.head.epoch})`);
    // Older than the trees held: it must be the commitment an accepted proof above it folded
    // (checkOpening then ties every other signal to that commitment).
    const c = sig.commitment(p.publicSignals);
    if (p.path === '') {
      const g = await this.store.global(e);
      if (g) return sig.commitment(g.proof.publicSignals) === c ? ACCEPT : reject('invalid', 'differs from the accepted global proof of its epoch');
    } else {
      const up = p.path.slice(0, -1);
      const parent = this.proofs.get(e)?.get(up) ?? (await this.store.triad(up, e));
      if (parent) return parent.children[Number(p.path[p.path.length - 1])] === c ? ACCEPT : reject('invalid', 'is not the child its accepted parent proof folded');
    }
    return ignore('stale', `no commitment tree or accepted proof above it for epoch ${e} here to check it against`);
  }

  private async admitGlobal(g: GlobalStateProof, o: { wait: boolean; verified?: boolean }): Promise<ValidationOutcome> {
    if (g.depth !== this.depth) return reject('invalid', `global proof of depth ${g.depth}, the network has depth ${this.depth}`);
    if (sig.pathEnc(g.publicSignals) !== 1n) return reject('invalid', 'not the apex triad\'s signals');
    const e = proofEpoch(g.publicSignals);
    const range = epochOutOfRange(e, this.clockEpoch(), this.futureMargin);
    if (range !== null || e === undefined) return reject('invalid', range ?? 'epoch');
    if (!this.ready) return ignore('unknown', 'starting');
    const held = await this.store.global(e);
    if (held) return this.variant(g, e, held.proof);
    const b = await this.bindGlobal(g, e);
    if (b.action === 'reject' || (b.action === 'ignore' && b.code === 'stale')) return b;
    if (!o.verified && !(await verifyGlobalProof(g))) return reject('invalid', 'global proof does not verify');
    if (b.action === 'accept' || !o.wait) return b;
    const after = await this.hold(`g@${e}`, () => this.bindGlobal(g, e));
    if (after.action === 'ignore') this.want({ type: 'global', path: '', epoch: e });
    return after.action === 'accept' && (await this.store.global(e)) ? ignore('duplicate') : after;
  }

  /** Whether global proof g (of epoch e) is the one signed state decides, linked to a global proof held here. */
  private async bindGlobal(g: GlobalStateProof, e: number): Promise<ValidationOutcome> {
    const tree = this.trees.get(e);
    if (tree) {
      const why = signalsMismatch(tree.triads.get('')!, g.publicSignals);
      if (why) return reject('invalid', why);
      if (this.o.net) {
        const fg = await this.o.net.globalAt(e);
        if (!fg) return ignore('unknown', `global snapshot of epoch ${e} not final here yet`);
        const d = treeVsGlobal(tree, fg);
        if (d) {
          this.o.log.error({ epoch: e, why: d }, 'commitment tree disagrees with the final global snapshot (an equivocating validator?): its proofs are not accepted');
          return ignore('unknown', `commitment tree disagrees with the final global snapshot: ${d}`);
        }
      }
      return this.bindLink(g, e);
    }
    if (e > this.head.epoch) return ignore('unknown', `commitment tree of epoch ${e} not built here yet (built up to ${this.head.epoch})`);
    // Older than the trees held: it must be the proof an accepted later global proof links to.
    const next = await this.store.nextGlobal(e);
    if (next && toHex(next.stored.proof.prevGlobalProofHash) === toHex(globalProofHash(g))) return ACCEPT;
    return ignore('stale', `no commitment tree of epoch ${e} here, and no accepted later global proof links to it`);
  }

  /** The link: the hash of a global proof of an earlier epoch held here (or seen as a valid variant of one), or genesis when none is held. */
  private async bindLink(g: GlobalStateProof, e: number): Promise<ValidationOutcome> {
    const h = toHex(g.prevGlobalProofHash);
    const at = this.globalHashes.get(h);
    if (at !== undefined) return at < e ? ACCEPT : reject('invalid', `links to the global proof of epoch ${at}, not an earlier one`);
    const before = await this.store.latestGlobal(e - 1);
    if (h === this.genesisHex) return before ? ignore('unknown', `links to genesis, but the global proof of epoch ${before.epoch} is held here`) : ACCEPT;
    if (before && toHex(globalProofHash(before.stored.proof)) === h) return ACCEPT;
    return ignore('unknown', 'links to a global proof not held here');
  }

  /**
   * A global proof for an epoch whose proof is held: a duplicate. Groth16 proofs can be re-randomised,
   * so a different valid proof of the same signals may be what a later proof links to: its hash is
   * remembered (a few per epoch) so that link is recognised.
   */
  private async variant(g: GlobalStateProof, e: number, held: GlobalStateProof): Promise<ValidationOutcome> {
    const h = toHex(globalProofHash(g));
    if (this.globalHashes.has(h)) return ignore('duplicate');
    if (held.publicSignals.some((v, i) => v !== g.publicSignals[i])) return reject('invalid', 'differs from the accepted global proof of its epoch');
    const n = this.variants.get(e) ?? 0;
    if (n < MAX_VARIANTS && (await verifyGlobalProof(g))) {
      this.variants.set(e, n + 1);
      this.rememberGlobal(h, e);
    }
    return ignore('duplicate');
  }

  /** Waits (bounded in time and in how many wait at once) until `recheck` no longer says "not decidable yet". */
  private async hold(key: string, recheck: () => Promise<ValidationOutcome>): Promise<ValidationOutcome> {
    if (!this.holds.tryEnter(key)) return ignore('unknown', 'hold queue full');
    try {
      const deadline = Date.now() + this.holdMs;
      let last: ValidationOutcome = ignore('unknown');
      while (!this.closed) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await this.stateChange(left);
        last = await recheck();
        if (last.action !== 'ignore' || last.code !== 'unknown') return last;
      }
      return ignore('unknown', `not decidable within ${this.holdMs} ms: ${last.action === 'ignore' ? last.message : ''}`);
    } finally {
      this.holds.leave(key);
    }
  }

  /** Resolves when signed state changes here (a tree built, a global snapshot final, a global proof accepted), or after `ms`. */
  private stateChange(ms: number): Promise<void> {
    return new Promise((resolveP) => {
      const done = (): void => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolveP();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private stateChanged(): void {
    for (const w of [...this.waiters]) w();
  }

  /** A proof turned away undecided: fetched from peers once this node can decide it. */
  private want(w: { type: 'triad' | 'global'; path: string; epoch: number }): void {
    const k = `${w.type}/${w.path}@${w.epoch}`;
    if (this.wanted.has(k) || this.wanted.size >= MAX_WANTED) return;
    this.wanted.set(k, w);
  }

  private wantedBusy = false;
  private async fetchWanted(): Promise<void> {
    if (this.wantedBusy || this.wanted.size === 0 || !this.canVerify) return;
    this.wantedBusy = true;
    try {
      for (const [k, w] of [...this.wanted]) {
        if (this.closed) return;
        if (w.epoch < this.head.epoch - this.treeWindow) {
          this.wanted.delete(k);
          continue;
        }
        if (!this.trees.has(w.epoch)) continue; // not decidable here yet
        this.wanted.delete(k);
        if (w.type === 'global') {
          if (!(await this.store.global(w.epoch))) await this.fetchGlobal(w.epoch);
        } else if (!this.proofs.get(w.epoch)?.has(w.path)) await this.fetchTriad(w.path, w.epoch);
      }
    } finally {
      this.wantedBusy = false;
    }
  }

  private rememberGlobal(hashHex: string, e: number): void {
    this.globalHashes.delete(hashHex);
    this.globalHashes.set(hashHex, e);
    while (this.globalHashes.size > MAX_GLOBAL_HASHES) this.globalHashes.delete(this.globalHashes.keys().next().value!);
  }

  private onMessage(data: Uint8Array): void {
    const env = decodeEnvelope(data); // validated already
    if (env.kind === GossipKind.snapshot) {
      this.counters.snapshotsGossiped++;
      this.addSnapshot(decodeSignedSnapshot(env.payload));
      this.advance();
      return;
    }
    this.counters.proofsGossiped++;
    void this.deliverProof(env.payload);
  }

  /** A proof message the topic validator admitted (admitTriad / admitGlobal): held from now on. */
  private async deliverProof(payload: Uint8Array): Promise<void> {
    const m = decodeProofMessage(payload);
    if (m.type === 'triad') {
      this.verified.add(m.proof.proof);
      await this.acceptTriad(m.proof);
    } else await this.acceptGlobal(m.proof, Date.now());
  }

  private async acceptTriad(p: TriadProof): Promise<void> {
    const e = Number(sig.epoch(p.publicSignals));
    const m = this.proofsOf(e);
    if (m.has(p.path)) return;
    m.set(p.path, p);
    this.negative.delete(`t/${p.path}@${e}`);
    this.mark(e, p.path || 'apex');
    this.kick(); // a parent's children may all be here now
    // pruned against the tree head, never against the incoming epoch (one far ahead evicted everything)
    for (const k of [...this.proofs.keys()]) if (k < this.head.epoch - this.treeWindow) this.proofs.delete(k);
    await this.store.putTriad(e, p).catch((err) => this.o.log.warn({ err }, 'cannot store triad proof'));
  }

  private async acceptGlobal(g: GlobalStateProof, at: number): Promise<void> {
    const e = Number(sig.epoch(g.publicSignals));
    this.rememberGlobal(toHex(globalProofHash(g)), e); // a variant accepted concurrently is still a valid link target
    if (await this.store.global(e)) return;
    await this.store.putGlobal(e, { proof: g, receivedAt: at });
    this.setLatestGlobal(e);
    this.negative.delete(`g@${e}`);
    this.stateChanged();
    this.mark(e, 'global', undefined, at);
    const sealed = this.sealedAt.get(e);
    const latencyMs = sealed === undefined ? undefined : at - sealed;
    if (latencyMs !== undefined) this.metrics.latency.observe(latencyMs / 1000);
    this.o.log.info({ epoch: e, commitment: sig.commitment(g.publicSignals).toString(16).slice(0, 16), latencyMs }, 'global state proof held');
  }

  private setLatestGlobal(e: number): void {
    if (e > this.latestGlobal) {
      this.latestGlobal = e;
      this.metrics.epoch.set(e);
    }
  }

  // ---- proving ----

  private tick(): void {
    if (this.closed || !this.ready) return;
    this.advance();
    void this.fetchMissingSnapshots();
    void this.fetchWanted();
    if (!this.o.prove) return;
    const now = Date.now();
    const top = this.head.epoch;
    const first = Math.max(0, top - this.treeWindow + 2);
    for (let e = top - (top % this.proveEvery); e >= first; e -= this.proveEvery) {
      if (!this.trees.has(e) || (e !== 0 && !this.trees.has(e - 1))) continue;
      const have = this.proofsOf(e);
      for (const level of triadLevels(this.depth)) {
        for (const path of level) {
          const key = `${path}@${e}`;
          if (have.has(path) || this.queued.has(key)) continue;
          if (path.length === this.depth - 1 && e < this.clockEpoch() - this.leafWindow) continue; // too late to start this epoch
          let due = this.dueAt.get(key);
          if (due === undefined) {
            const ready = path.length === this.depth - 1 || [0, 1, 2].every((i) => have.has(path + String(i)));
            if (!ready) continue;
            due = path.length === this.depth - 1 ? (this.builtAt.get(e) ?? now) : now;
            this.dueAt.set(key, due);
          }
          const turn = turnAt(now - due, this.o.leaseMs);
          for (let k = 0; k <= turn; k++) {
            if (proverOf(path, e / this.proveEvery, this.depth, k) === this.o.shard.id) {
              this.queued.add(key);
              this.queue.push({ epoch: e, path });
              this.mark(e, `${path || 'apex'}@queued`);
              this.o.log.debug({ epoch: e, path, turn: k }, 'proof task queued');
              break;
            }
          }
        }
      }
    }
    for (const k of [...this.dueAt.keys()]) if (Number(k.split('@')[1]) < first) this.dueAt.delete(k);
    void this.runQueue();
  }

  /** Runs tick() as soon as the event loop is free (a tree was built or a proof arrived) rather than at the next interval. */
  private kick(): void {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.tick();
    });
  }

  /** Records step `name` of proved epoch e's timeline (ms after its nominal seal), first time only; `value` overrides. */
  private mark(e: number, name: string, value?: number, at = Date.now()): void {
    if (e % this.proveEvery !== 0) return;
    let t = this.timelines.get(e);
    if (!t) {
      this.timelines.set(e, (t = {}));
      for (const k of [...this.timelines.keys()].sort((a, b) => a - b).slice(0, -TIMELINE_KEEP)) this.timelines.delete(k);
    }
    if (t[name] !== undefined) return;
    if (value !== undefined) t[name] = Math.round(value);
    else t[name] = at - (this.o.genesis.genesisTime + (e + 1) * this.o.genesis.epochMs);
  }

  /** The latest epoch the wall clock has sealed (epoch e seals at genesisTime + (e+1) * epochMs). */
  private clockEpoch(): number {
    return Math.floor((Date.now() - this.o.genesis.genesisTime) / this.o.genesis.epochMs) - 1;
  }

  private async runQueue(): Promise<void> {
    if (this.proving || this.closed) return;
    this.proving = true;
    try {
      // Highest level first (it completes an epoch's global proof), then the OLDEST epoch still in
      // the window: every prover then works on the same epochs, so when proving falls behind, whole
      // epochs are skipped (they leave the window for everyone) instead of each triad proving
      // different epochs and no apex ever having its three children.
      while (this.queue.length > 0 && !this.closed) {
        this.queue.sort((a, b) => a.path.length - b.path.length || a.epoch - b.epoch);
        const t = this.queue.shift()!;
        if (t.path.length === this.depth - 1 && t.epoch < this.clockEpoch() - this.leafWindow) {
          this.queued.delete(`${t.path}@${t.epoch}`);
          continue;
        }
        try {
          await this.proveOne(t);
        } catch (err) {
          this.o.log.warn({ epoch: t.epoch, path: t.path, err: (err as Error).message }, 'triad proof failed');
        } finally {
          this.queued.delete(`${t.path}@${t.epoch}`);
        }
      }
    } finally {
      this.proving = false;
    }
  }

  private async proveOne({ epoch: e, path }: Task): Promise<void> {
    const have = this.proofsOf(e);
    if (have.has(path)) return; // someone proved it meanwhile
    const tree = this.trees.get(e);
    const prev = e === 0 ? genesisTreeOf(this.H, this.o.genesis) : this.trees.get(e - 1);
    if (!tree || !prev) {
      this.o.log.warn({ epoch: e, path }, 'proof task dropped: commitment tree no longer held');
      return;
    }
    const name = path || 'apex';
    this.mark(e, `${name}@start`);
    if (path.length < this.depth - 1) {
      await verifyChildren(this.verifyKnown, tree, have, path);
      this.mark(e, `${name}@verified`);
    }
    this.prover ??= new Prover();
    const { proof, ms, witnessMs, proveMs, cpuMs } = await proveTriad(this.prover, tree, prev, path);
    if (this.closed) return;
    this.mark(e, `${name}@made`);
    if (witnessMs !== undefined) this.mark(e, `${name}@witnessMs`, witnessMs);
    if (proveMs !== undefined) this.mark(e, `${name}@proveMs`, proveMs);
    if (cpuMs !== undefined) this.mark(e, `${name}@cpuMs`, cpuMs);
    this.verified.add(proof.proof);
    this.metrics.made.inc({ kind: proof.kind });
    this.metrics.seconds.observe({ kind: proof.kind }, ms / 1000);
    this.o.log.info({ epoch: e, path, kind: proof.kind, ms: Math.round(ms) }, 'triad proof made');
    await this.acceptTriad(proof);
    await this.publish(GossipKind.proof, encodeProofMessage({ type: 'triad', proof }));
    if (path === '') {
      const prevG = await this.previousGlobal(e);
      const g = globalFromApex(proof, this.depth, prevG ? globalProofHash(prevG) : genesisHash(this.o.genesis));
      await this.acceptGlobal(g, Date.now());
      await this.publish(GossipKind.proof, encodeProofMessage({ type: 'global', proof: g }));
    }
  }

  /** The global proof the new one links to: the latest earlier one, fetched if the previous proved epoch's is missing. */
  private async previousGlobal(e: number): Promise<GlobalStateProof | undefined> {
    const want = e - this.proveEvery;
    if (want >= 0 && !(await this.store.global(want))) await this.fetchGlobal(want);
    return (await this.store.latestGlobal(e - 1))?.stored.proof;
  }

  // ---- gossip out, fetch ----

  private async publish(kind: GossipKind, payload: Uint8Array): Promise<void> {
    if (this.closed) return;
    try {
      await this.o.p2p.publish(this.topic, encodeEnvelope({ kind, network: this.o.genesis.networkId, payload }));
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message, kind }, 'proof-topic publish failed');
    }
  }

  private async serve(req: Uint8Array): Promise<Uint8Array> {
    const q = decodeProofFetchRequest(req);
    const none = new Uint8Array();
    switch (q.kind) {
      case ProofFetchKind.snapshot: {
        if (q.path === this.o.shard.id) {
          const own = await this.o.shard.snapshot(q.epoch);
          return own ? encodeSignedSnapshot(own) : none;
        }
        const s = this.snaps.get(q.epoch)?.[shardIndexOr(q.path, this.depth)];
        return s ? encodeSignedSnapshot(s) : none;
      }
      case ProofFetchKind.triadProof: {
        const p = await this.store.triad(q.path, q.epoch);
        return p ? encodeProofMessage({ type: 'triad', proof: p }) : none;
      }
      case ProofFetchKind.globalAt: {
        const g = await this.store.global(q.epoch);
        return g ? encodeProofMessage({ type: 'global', proof: g.proof }) : none;
      }
      case ProofFetchKind.globalLatest: {
        const g = await this.store.latestGlobal();
        return g ? encodeProofMessage({ type: 'global', proof: g.stored.proof }) : none;
      }
    }
  }

  /** Asks peers in turn; `accept` says true (take it), false (invalid: next peer) or 'stop' (nothing a peer sends can be taken now). */
  private async fetchFirst<T>(q: ProofFetchRequest, decode: (b: Uint8Array) => T, accept: (x: T) => boolean | 'stop' | Promise<boolean | 'stop'>, maxPeers = 8): Promise<T | undefined> {
    const peers = this.o.p2p.connectedPeers();
    for (let i = 0; i < Math.min(maxPeers, peers.length); i++) {
      const peer = peers[(this.peerCursor++) % peers.length]!;
      try {
        const b = await this.o.p2p.request(peer, proofFetchProtocol(this.o.genesis.networkId), encodeProofFetchRequest(q), { timeoutMs: 2000 });
        if (b.length === 0) continue;
        const x = decode(b);
        const ok = await accept(x);
        if (ok === 'stop') return undefined;
        if (ok) return x;
        this.o.log.warn({ peer, kind: q.kind, path: q.path, epoch: q.epoch }, 'peer served an invalid record');
      } catch (err) {
        this.o.log.debug({ peer, err: (err as Error).message }, 'proof fetch failed');
      }
    }
    return undefined;
  }

  private async fetchGlobal(e: number | 'latest'): Promise<GlobalStateProof | undefined> {
    if (!this.canVerify) return undefined;
    const q: ProofFetchRequest = e === 'latest' ? { kind: ProofFetchKind.globalLatest, path: '', epoch: 0 } : { kind: ProofFetchKind.globalAt, path: '', epoch: e };
    const m = await this.fetchFirst(q, decodeProofMessage, async (x) => {
      if (x.type !== 'global' || (e !== 'latest' && sig.epoch(x.proof.publicSignals) !== BigInt(e))) return false;
      return fetchVerdict(await this.admitGlobal(x.proof, { wait: false }));
    }, e === 'latest' ? 2 : 4);
    if (m?.type !== 'global') return undefined;
    await this.acceptGlobal(m.proof, Date.now());
    return m.proof;
  }

  /** Fetches one triad proof from peers (verified), stores it. */
  async fetchTriad(path: string, e: number): Promise<TriadProof | undefined> {
    if (!this.canVerify) return undefined;
    const m = await this.fetchFirst({ kind: ProofFetchKind.triadProof, path, epoch: e }, decodeProofMessage, async (x) => {
      if (x.type !== 'triad' || x.proof.path !== path || sig.epoch(x.proof.publicSignals) !== BigInt(e)) return false;
      return fetchVerdict(await this.admitTriad(x.proof, { wait: false }));
    }, 4);
    if (m?.type !== 'triad') return undefined;
    this.counters.proofsFetched++;
    this.verified.add(m.proof.proof);
    await this.acceptTriad(m.proof);
    return m.proof;
  }

  /** Catch-up: the peers' latest global proof, then the proved epochs missing before it (bounded). */
  private syncing = false;
  private async syncGlobals(): Promise<void> {
    if (this.syncing || this.closed || !this.canVerify) return;
    this.syncing = true;
    try {
      const latest = await this.fetchGlobal('latest');
      const top = latest ? Number(sig.epoch(latest.publicSignals)) : this.latestGlobal;
      let budget = 4;
      for (let e = top - this.proveEvery; e >= Math.max(0, top - 8 * this.proveEvery) && budget > 0 && !this.closed; e -= this.proveEvery) {
        if (await this.store.global(e)) continue;
        budget--;
        await this.fetchGlobal(e);
      }
    } finally {
      this.syncing = false;
    }
  }

  // ---- API ----

  async globalProof(e: number | 'latest'): Promise<{ epoch: number; stored: StoredGlobal } | undefined> {
    if (e === 'latest') return this.store.latestGlobal();
    let g = await this.store.global(e);
    if (!g && (await this.askPeers(`g@${e}`, e, () => this.fetchGlobal(e)))) g = await this.store.global(e);
    return g ? { epoch: e, stored: g } : undefined;
  }

  async triadProof(path: string, e: number): Promise<TriadProof | undefined> {
    return (await this.store.triad(path, e)) ?? (await this.askPeers(`t/${path}@${e}`, e, () => this.fetchTriad(path, e)));
  }

  /**
   * A route's look-up at peers of something not held here: not for epochs no proof can exist for yet,
   * not again within the negative cache's TTL after no peer had it, one look-up per key at a time and
   * at most ROUTE_FETCHES keys at once (an HTTP client cannot make this node ask its peers without bound).
   */
  private async askPeers<T>(key: string, e: number, fetch: () => Promise<T | undefined>): Promise<T | undefined> {
    if (!this.canVerify || e > this.clockEpoch() + this.futureMargin || this.negative.has(key)) return undefined;
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

  status(): Record<string, unknown> {
    return {
      ready: this.ready, proving: this.o.prove, canVerify: this.canVerify, proveEvery: this.proveEvery, leaseMs: this.o.leaseMs,
      treeEpoch: this.head.epoch, treeStalled: this.treeFailed, latestGlobalProofEpoch: this.latestGlobal, queued: this.queue.length,
      proofsOff: this.proofsOff, held: this.holds.size, wanted: this.wanted.size, negativeCache: this.negative.size,
      proverBusy: this.proving, tasks: this.queue.map((t) => `${t.path || 'apex'}@${t.epoch}`),
      recent: Object.fromEntries([...this.proofs.entries()].filter(([, m]) => m.size > 0).map(([e, m]) => [e, [...m.keys()].map((k) => k || 'apex')])), ...this.counters,
      proverThreads: this.prover?.threads, timelines: Object.fromEntries(this.timelines),
    };
  }

  addRoutes(router: Router): void {
    const epochParam = (s: string): number => {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(s)) throw new HttpError(400, 'bad-epoch', `epoch must be a non-negative integer, got ${JSON.stringify(s)}`);
      return Number(s);
    };
    const globalJson = async (epoch: number, g: StoredGlobal): Promise<Record<string, unknown>> =>
      globalProofJson(epoch, g.proof, { proveEvery: this.proveEvery, receivedAt: g.receivedAt, prevEpoch: await this.prevEpochOf(epoch, g.proof) });
    router.add('GET', '/v1/proof/status', () => ({ json: this.status() }));
    router.add('GET', '/v1/proof/global/latest', async () => {
      const g = await this.globalProof('latest');
      if (!g) throw new HttpError(404, 'proof-not-found', `no global state proof yet (${this.proofHint()})`);
      return { json: await globalJson(g.epoch, g.stored) };
    });
    router.add('GET', '/v1/proof/global/:epoch', async (req) => {
      const e = epochParam(req.params.epoch!);
      const g = await this.globalProof(e);
      if (!g) throw new HttpError(404, 'proof-not-found', `no global state proof for epoch ${e} here or at peers (${this.proofHint()})`);
      return { json: await globalJson(e, g.stored) };
    });
    router.add('GET', '/v1/proof/triad/:path/:epoch', async (req) => {
      const raw = req.params.path!;
      const path = raw === 'apex' || raw === 'root' ? '' : raw;
      if (!/^[012]*$/.test(path) || path.length >= this.depth) throw new HttpError(400, 'bad-path', `triad path must be "apex" or ternary digits shorter than ${this.depth}, got ${JSON.stringify(raw)}`);
      const e = epochParam(req.params.epoch!);
      const p = await this.triadProof(path, e);
      if (!p) throw new HttpError(404, 'proof-not-found', `no proof of triad ${JSON.stringify(path)} for epoch ${e} here or at peers (${this.proofHint()})`);
      return { json: triadProofJson(path, e, p) };
    });
  }

  /** The epoch of the stored global proof that `g` (of epoch e) links to; null for genesis or unknown here. */
  private async prevEpochOf(e: number, g: GlobalStateProof): Promise<number | null> {
    const want = toHex(g.prevGlobalProofHash);
    let at = e - 1;
    for (let k = 0; k < 16 && at >= 0; k++) {
      const p = await this.store.latestGlobal(at);
      if (!p) return null;
      if (toHex(globalProofHash(p.stored.proof)) === want) return p.epoch;
      at = p.epoch - 1;
    }
    return null;
  }

  private proofHint(): string {
    return `epochs that are multiples of ${this.proveEvery} are proved${this.proofsOff ? `; ${this.proofsOff}` : ''}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.syncTimer);
    this.offGlobal?.();
    this.stateChanged();
    this.o.shard.events.off('sealed', this.onSealed);
    this.o.p2p.unsubscribe(this.topic);
    await this.prover?.close().catch(() => {});
    if (this.ready) await this.store.putTree(this.head).catch(() => {});
    await this.store.close();
    if (this.canVerify) await closeVerifier().catch(() => {});
  }
}

/** A fetched proof's admission as fetchFirst's answer: take it, try the next peer (invalid), or stop (held already, or not decidable here now). */
function fetchVerdict(o: ValidationOutcome): boolean | 'stop' {
  if (o.action === 'accept') return true;
  return o.action === 'reject' ? false : 'stop';
}

function shardIndexOr(path: string, depth: number): number {
  return path.length === depth && /^[012]+$/.test(path) ? shardIndex(path as ShardId) : -1;
}

export async function startProving(opts: Parameters<typeof ProvingService.start>[0]): Promise<ProvingService> {
  return ProvingService.start(opts);
}
