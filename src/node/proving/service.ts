// Global state proofs made by the running network, off the transaction path (docs/PROOFS.md §3).
// This module wires the proving layer's parts together and owns its life cycle:
//  - trees.ts: everyone's signed snapshots -> the commitment tree of every epoch;
//  - gossip.ts: the proofs topic (snapshots after each seal, proofs made here, admission of others');
//  - admission.ts: what makes a proof acceptable (its signals are what signed state decides);
//  - holdings.ts: the proofs held here (memory + <data>/proofs) and the global proof chain;
//  - fetch.ts: snapshots, proofs and missing global proofs from peers, and serving them;
//  - schedule.ts: cadence, rotation-chosen provers with leases, the scan that queues due proofs;
//  - execute.ts: proving them in the niced prover child, the apex into the global proof;
//  - metrics.ts: metrics and per-epoch timelines. HTTP routes: src/node/proof-api.ts.
// Without circuit artifacts the node still shares snapshots (others need them) but neither proves
// nor accepts proofs (it cannot verify them), and says so once.
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { toHex } from '../../core/bytes.js';
import { shardIndex, type ShardId } from '../../core/ids.js';
import type { Genesis } from '../../core/genesis.js';
import { circuitsBuilt, artifactsDir } from '../../proof/artifacts.js';
import { proofKeysMismatch } from '../../proof/vk-hash.js';
import { getPoseidon, poseidonName } from '../../proof/commitment.js';
import { globalProofHash, type GlobalStateProof } from '../../proof/global.js';
import { closeVerifier, verifierStats, warmVerifier } from '../../proof/verifier.js';
import { CadencePlan } from '../../proof/cadence.js';
import { FROM_TOPIC } from '../../proof/encoding.js';
import { ProverPool, type ProofPool } from '../../proof/prover-pool.js';
import { RemoteProofPool } from '../../proof/prover-service.js';
import type { CommitmentTree } from '../../proof/tree.js';
import type { TriadProof } from '../../proof/triad-proof.js';
import type { SignedSnapshot } from '../../shard/snapshot.js';
import type { SealedEvent, Shard } from '../../shard/shard.js';
import type { P2PNode } from '../../gossip/p2p.js';
import { decodeProofMessage, proofFetchProtocol } from '../../gossip/proof-messages.js';
import type { ValidationOutcome } from '../../gossip/validation.js';
import type { NodeMetrics } from '../metrics.js';
import { ProofStore, type StoredGlobal } from '../proof-store.js';
import type { Component } from '../node.js';
import { ProofAdmission } from './admission.js';
import { clockEpochOf, StateWaiters, type Cadence, type FinalGlobals, type ProvingContext } from './context.js';
import { ProofRunner } from './execute.js';
import { ProofFetch } from './fetch.js';
import { ProofGossip } from './gossip.js';
import { ProofHoldings } from './holdings.js';
import { freshnessOf, makeProvingMetrics, Timelines } from './metrics.js';
import { autoProveEvery, INNER_PROOF_MS, LEAF_PROOF_MS, leafWindowOf, ProofScheduler, treeWindowOf } from './schedule.js';
import { CommitmentTrees } from './trees.js';

export type { FinalGlobals } from './context.js';
export type { EpochTimeline } from './metrics.js';

export interface ProvingOptions {
  /** false = --no-prove: share snapshots, verify/store/serve proofs, never prove. */
  prove: boolean;
  /** Prove epochs e with e % proveEvery === 0; undefined = automatic (autoProveEvery). */
  proveEvery?: number;
  /** Rotation lease of a proof: the next prover in turn starts after this long. */
  leaseMs?: number;
  /** Fallback scan interval (leases, late snapshots); trees built and proofs arriving trigger a scan at once.
   * Default: at each gossipsub heartbeat (about 1 s, no timer of its own), else every 500 ms. */
  tickMs?: number;
  /** The machine's shared prover service (`smt prover serve`): proofs are made there and, without proveEvery, its cadence plan is followed. */
  proverUrl?: string;
}

export type ProvingStartOptions = ProvingOptions & {
  shard: Shard; genesis: Genesis; p2p: P2PNode; net?: FinalGlobals; dataDir: string; logger: Logger; metrics: NodeMetrics;
  /** This shard's snapshots as they may be shared (default: every seal; a replicated shard: its writer's committed ones). */
  ownSnapshots?: (f: (ev: SealedEvent) => void) => () => void;
  /** This shard's snapshot of an epoch as it may be shared (default: any sealed one; a replicated shard: committed ones only). */
  ownSnapshot?: (e: number) => Promise<SignedSnapshot | undefined>;
};

const PLAN_RETRY_MS = 2000; // after a failed plan request, the next one
/**
 * The head tree is stored every this many epochs (and on close), not every epoch: a node restarted
 * after a crash continues from a tree at most this many epochs old, rebuilding the rest from its
 * peers' snapshots (they keep SNAPSHOT_WINDOW epochs). Storing it (JSON + a LevelDB write) each
 * epoch was about 0.5% of nine idle nodes' CPU.
 */
export const TREE_STORE_EVERY = 8;

export class ProvingService {
  readonly canVerify: boolean;
  /** Why this node neither proves nor accepts proofs (no artifacts, no pin in genesis, other keys), or null. */
  readonly proofsOff: string | null;
  readonly depth: number;
  private readonly c: ProvingContext;
  private readonly tickMs: number | undefined;
  private offBeat: (() => void) | undefined;
  private readonly waiters = new StateWaiters();
  private readonly trees: CommitmentTrees;
  private readonly held: ProofHoldings;
  private readonly admission: ProofAdmission;
  private readonly fetch: ProofFetch;
  private readonly gossip: ProofGossip;
  private readonly scheduler: ProofScheduler;
  private readonly runner: ProofRunner;
  private offGlobal: (() => void) | undefined;
  private kicked = false;
  private timer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private planRetry: NodeJS.Timeout | undefined;
  private readonly remote: RemoteProofPool | undefined;

  private constructor(o: ProvingStartOptions & { prove: boolean; leaseMs: number }, store: ProofStore, head: CommitmentTree, cadence: Cadence, proofsOff: string | null) {
    const { genesis } = o;
    this.proofsOff = proofsOff;
    this.canVerify = proofsOff === null;
    this.depth = genesis.depth;
    this.tickMs = o.tickMs;
    this.remote = o.proverUrl ? new RemoteProofPool(o.proverUrl) : undefined;
    const maxEvery = (): number => Math.max(...cadence.plan.segments.map((x) => x.every));
    const c: ProvingContext = {
      shard: o.shard, genesis, depth: genesis.depth, n: 3 ** genesis.depth, p2p: o.p2p, net: o.net, log: o.logger,
      prove: o.prove, canVerify: this.canVerify, proofsOff, leaseMs: o.leaseMs, cadence,
      get leafWindow() {
        return leafWindowOf(cadence.plan.everyAt(clockEpochOf(genesis)), genesis.epochMs);
      },
      get treeWindow() {
        return treeWindowOf(leafWindowOf(maxEvery(), genesis.epochMs), genesis.epochMs);
      },
      metrics: makeProvingMetrics(o.metrics.registry, () => freshnessOf(genesis, this.held.latestGlobal)),
      timelines: new Timelines(genesis.genesisTime, genesis.epochMs, (e) => cadence.plan.isProved(e)),
      verified: new WeakSet<object>(),
      closed: false,
      ownSnapshots: o.ownSnapshots ?? ((f) => (o.shard.events.on('sealed', f), () => void o.shard.events.off('sealed', f))),
      ownSnapshot: o.ownSnapshot ?? ((e) => o.shard.snapshot(e)),
      clockEpoch: () => clockEpochOf(genesis),
      kick: () => this.kick(),
      stateChanged: () => this.waiters.changed(),
      stateChange: (ms) => this.waiters.next(ms),
    };
    this.c = c;
    this.trees = new CommitmentTrees(c, head);
    this.held = new ProofHoldings(c, this.trees, store);
    this.admission = new ProofAdmission(c, this.trees, this.held);
    this.fetch = new ProofFetch(c, this.trees, this.held, this.admission);
    this.gossip = new ProofGossip(c, this.trees, this.held, this.admission);
    const remote = this.remote;
    this.runner = new ProofRunner(c, this.trees, this.held, this.gossip, this.fetch, (): ProofPool => remote ?? new ProverPool({ workers: 1 }), remote ? 6 : 2);
    this.scheduler = new ProofScheduler(c, this.trees, this.held, (t) => this.runner.enqueue(t));
    this.admission.want = (w) => this.fetch.want(w);
    this.held.onHeld = (key) => this.fetch.negative.delete(key);
    this.runner.onDone = (t) => this.scheduler.queued.delete(`${t.path}@${t.epoch}`);
    this.scheduler.skipped = (e) => this.runner.isSkipped(e);
    this.scheduler.fetchChildren = (e, paths) => {
      for (const p of paths) void this.fetch.askPeers(`t/${p}@${e}`, e, () => this.fetch.triad(p, e));
    };
    this.scheduler.pruned = (first) => this.runner.forgetSkippedBefore(first);
    this.trees.onBuilt = (t) => {
      c.timelines.mark(t.epoch, 'tree');
      this.kick();
      c.metrics.head.set(t.epoch);
      c.stateChanged(); // proofs held for this epoch can be decided now
      if (t.epoch % TREE_STORE_EVERY === 0) void store.putTree(t).catch((err) => c.log.warn({ err }, 'cannot store tree'));
      this.held.prune(t.epoch);
    };
  }

  static async start(opts: ProvingStartOptions): Promise<ProvingService> {
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
      const cadence = await initialCadence(opts, log);
      const s = new ProvingService(
        { ...opts, logger: log, prove: opts.prove && canVerify, leaseMs: opts.leaseMs ?? Math.max(30_000, 4 * genesis.epochMs) },
        store, head, cadence, proofsOff,
      );
      await s.init();
      void s.boot(stored !== undefined && stored.depth === genesis.depth);
      log.info({ proveEvery: s.proveEvery, cadence: cadence.source, prover: opts.proverUrl ?? 'own', proving: s.c.prove, tree: head.epoch }, 'proving layer started');
      return s;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  private async init(): Promise<void> {
    await this.held.load();
    this.offGlobal = this.c.net?.onGlobal(() => this.c.stateChanged());
    this.gossip.start();
    await this.c.p2p.handle(proofFetchProtocol(this.c.genesis.networkId), (req) => this.fetch.serve(req));
    // A node that cannot verify proofs has nothing for these to do (no tree to build, no proof to
    // fetch or make): no fallback timers, whose wake-ups cost an idle node ~0.1-0.2 ms of CPU each.
    if (this.canVerify) {
      const syncMs = Math.max(2000, 2 * this.c.genesis.epochMs);
      // Both ride on the gossipsub heartbeat when there is one (the tick every second instead of
      // every 500 ms: what it catches up on is late by seconds anyway, e.g. a lease of >= 30 s or
      // a snapshot missing for >= 1 s); two timers of their own woke an idle node 2.5 times a second.
      const onBeat = this.tickMs === undefined ? this.c.p2p.onHeartbeat?.bind(this.c.p2p) : undefined;
      if (onBeat) {
        let syncedAt = Date.now();
        this.offBeat = onBeat(() => {
          this.tick();
          const now = Date.now();
          if (now - syncedAt < syncMs - 250) return; // every other 1 s heartbeat at 1 s epochs
          syncedAt = now;
          void this.fetch.syncGlobals();
        });
      } else {
        this.timer = setInterval(() => this.tick(), this.tickMs ?? 500);
        this.timer.unref();
        this.syncTimer = setInterval(() => void this.fetch.syncGlobals(), syncMs);
        this.syncTimer.unref();
      }
    }
    if (this.remote && this.c.cadence.source !== 'fixed') void this.followPlan(this.c.cadence.version);
  }

  /**
   * Follows the prover service's cadence plan, so every node sharing it proves the same epochs: a
   * long poll (the service answers when the plan changes, or after PLAN_HOLD_MS with the same
   * plan), so a change arrives at once and an unchanged plan costs one request per PLAN_HOLD_MS
   * instead of one every 2 s. After a failure (service restarting), again PLAN_RETRY_MS later.
   */
  private async followPlan(version: number | undefined): Promise<void> {
    if (this.c.closed) return;
    let next = version;
    try {
      const a = await this.remote!.plan(version);
      const plan = new CadencePlan(a.segments);
      const cad = this.c.cadence;
      if (JSON.stringify(plan.segments) !== JSON.stringify(cad.plan.segments)) this.c.log.info({ segments: plan.segments, why: a.choice.why }, 'proving cadence plan changed');
      cad.plan = plan;
      cad.source = 'pool';
      cad.why = a.choice.why;
      cad.expectedAgeEpochs = a.choice.expectedAgeEpochs;
      cad.version = next = Number.isSafeInteger(a.version) ? a.version : undefined;
      // a service that does not hold requests (no version): ask again after the retry interval, not at once
      if (next !== undefined) return void this.followPlan(next);
    } catch (err) {
      if (this.c.closed) return;
      this.c.log.debug({ err: (err as Error).message }, 'cannot read the prover service plan');
    }
    this.planRetry = setTimeout(() => void this.followPlan(next), PLAN_RETRY_MS);
    this.planRetry.unref();
  }

  /** The cadence in force now. */
  get proveEvery(): number {
    return this.c.cadence.plan.everyAt(this.c.clockEpoch());
  }

  private async boot(haveTree: boolean): Promise<void> {
    try {
      this.trees.start(await getPoseidon(), haveTree);
      this.c.log.info({ poseidon: poseidonName() }, 'commitment trees: Poseidon built');
    } catch (err) {
      this.c.log.error({ err: (err as Error).message }, 'cannot build Poseidon: proving layer idle');
      return;
    }
    // Warm start: the prover child loads its keys, compiles its WASM and builds its curve now, in
    // parallel with the node's first epochs, and the verifier builds its curve and prepares its
    // keys, instead of both on the first proof (a failure here shows again on the first proof).
    // A node that does not prove builds the verifier's curve at the first proof it checks instead:
    // under --no-prove (the security tests' clusters) often never (start-up built two curves: ~28% of its CPU).
    if (!this.canVerify || this.c.closed || !this.c.prove) return;
    try {
      const pool = this.c.prove ? this.runner.ensurePool() : undefined;
      const t = Date.now();
      await warmVerifier();
      const verifierMs = Date.now() - t;
      const proverMs = pool?.warmed ? Math.round(await pool.warmed) : undefined;
      this.c.log.info({ verifierMs, proverMs, prover: this.remote ? this.remote.url : 'own' }, 'proving warm');
    } catch (err) {
      if (!this.c.closed) this.c.log.warn({ err: (err as Error).message }, 'proving warm-up failed');
    }
  }

  get component(): Component {
    return { name: 'proving', close: () => this.close() };
  }

  private tick(): void {
    if (this.c.closed || !this.trees.ready) return;
    this.trees.advance();
    void this.fetch.missingSnapshots();
    void this.fetch.fetchWanted();
    if (!this.c.prove) return;
    this.scheduler.scan();
    void this.runner.run();
  }

  /** Runs tick() as soon as the event loop is free (a tree was built or a proof arrived) rather than at the next interval. */
  private kick(): void {
    if (this.kicked || this.c.closed) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.tick();
    });
  }

  // ---- what the proofs topic does, without the transport (tests) ----

  /** The proof topic's check of a proof message: admission, waiting a bounded time for undecided ones. */
  admitProofMessage(payload: Uint8Array): Promise<ValidationOutcome> {
    return this.admission.admitMessage(payload);
  }

  /** A proof message as if from the proofs topic (sent by peer `from`), validation and delivery: what gossip does with it, without the transport. */
  async receiveProofMessage(payload: Uint8Array, from?: string): Promise<ValidationOutcome> {
    const m = decodeProofMessage(payload, FROM_TOPIC);
    const o = await this.admission.admit(m, from);
    if (o.action === 'accept') await this.gossip.deliver(m);
    return o;
  }

  /** A signed snapshot as if from the proofs topic (checked, then added). */
  offerSnapshot(ss: SignedSnapshot): ValidationOutcome {
    const o = this.trees.check(ss);
    if (o.action === 'reject') return o;
    this.trees.add(ss);
    this.trees.advance();
    return o;
  }

  // ---- look-ups (HTTP routes: src/node/proof-api.ts) ----

  /** A shard's signed snapshot of `epoch`, if it came here (proofs topic, fetch or own seal): every shard's, for the last SNAPSHOT_WINDOW epochs. */
  snapshotOf(shard: string, epoch: number): SignedSnapshot | undefined {
    if (shard.length !== this.depth || !/^[012]*$/.test(shard)) return undefined;
    return this.trees.snaps.get(epoch)?.[shardIndex(shard as ShardId)];
  }

  async globalProof(e: number | 'latest'): Promise<{ epoch: number; stored: StoredGlobal } | undefined> {
    // paired before it is served (held.usableGlobal): a node may hold it unpaired (admission.ts)
    const store = this.held.store;
    if (e === 'latest') {
      for (let i = 0; i < 4; i++) {
        const l = await store.latestGlobal();
        if (!l || (await this.held.usableGlobal(l.epoch, l.stored.proof))) return l;
      }
      return undefined;
    }
    let g = await store.global(e);
    if (g && !(await this.held.usableGlobal(e, g.proof))) g = undefined;
    if (!g && (await this.fetch.askPeers(`g@${e}`, e, () => this.fetch.global(e)))) g = await store.global(e);
    return g ? { epoch: e, stored: g } : undefined;
  }

  async triadProof(path: string, e: number): Promise<TriadProof | undefined> {
    const p = await this.held.store.triad(path, e);
    if (p && (await this.held.usableTriad(e, p))) return p;
    return this.fetch.askPeers(`t/${path}@${e}`, e, () => this.fetch.triad(path, e));
  }

  /** Fetches one triad proof from peers (verified), stores it. */
  fetchTriad(path: string, e: number): Promise<TriadProof | undefined> {
    return this.fetch.triad(path, e);
  }

  /** The epoch of the stored global proof that `g` (of epoch e) links to; null for genesis or unknown here. */
  async prevEpochOf(e: number, g: GlobalStateProof): Promise<number | null> {
    const want = toHex(g.prevGlobalProofHash);
    let at = e - 1;
    for (let k = 0; k < 16 && at >= 0; k++) {
      const p = await this.held.store.latestGlobal(at);
      if (!p) return null;
      if (toHex(globalProofHash(p.stored.proof)) === want) return p.epoch;
      at = p.epoch - 1;
    }
    return null;
  }

  /** Which epochs are proved here, and why none may be, for "not found" answers. */
  proofHint(): string {
    const segs = this.c.cadence.plan.segments;
    const every1 = this.c.cadence.source === 'pool' && this.proveEvery === 1;
    const cadence = every1
      ? 'every epoch is eligible and the prover pool proves the newest one it can start, skipping the others'
      : segs.length === 1 && segs[0]!.from === 0 ? `epochs that are multiples of ${segs[0]!.every} are proved` : `epochs proved: ${segs.map((x) => `every ${x.every} from ${x.from}`).join(', then ')}`;
    // a node that does not prove must not describe a cadence as if it were proving it
    if (!this.c.prove) return `this node does not prove (${this.proofsOff ? `proofs off: ${this.proofsOff}` : 'proving is off here'}); it serves only proofs that proving nodes made`;
    return `${cadence}${every1 ? '' : '; some may be skipped when proving falls behind'}`;
  }

  status(): Record<string, unknown> {
    const { c, trees, held, runner } = this;
    return {
      ready: trees.ready, proving: c.prove, canVerify: this.canVerify, proveEvery: this.proveEvery, leaseMs: c.leaseMs,
      freshness: freshnessOf(c.genesis, held.latestGlobal),
      cadence: { every: this.proveEvery, source: c.cadence.source, why: c.cadence.why, expectedAgeEpochs: c.cadence.expectedAgeEpochs, plan: c.cadence.plan.segments },
      prover: this.remote ? { shared: this.remote.url } : { shared: null, workers: 1 }, skippedByPool: runner.counters.skipped, skippedJobsByPool: runner.counters.skippedJobs,
      treeEpoch: trees.head.epoch, treeStalled: trees.failed, latestGlobalProofEpoch: held.latestGlobal, queued: runner.queue.length,
      proofsOff: this.proofsOff, held: this.admission.holds.size, wanted: this.fetch.wantedCount, negativeCache: this.fetch.negative.size,
      proverBusy: runner.busy, tasks: runner.queue.map((t) => `${t.path || 'apex'}@${t.epoch}`),
      recent: Object.fromEntries([...held.proofs.entries()].filter(([, m]) => m.size > 0).map(([e, m]) => [e, [...m.keys()].map((k) => k || 'apex')])),
      snapshotsGossiped: this.gossip.counters.snapshotsGossiped, snapshotsFetched: this.fetch.counters.snapshotsFetched,
      proofsGossiped: this.gossip.counters.proofsGossiped, proofsFetched: this.fetch.counters.proofsFetched,
      proofTopicRejected: this.gossip.counters.proofTopicRejected, proofTopicIgnored: this.gossip.counters.proofTopicIgnored,
      spotChecks: { oneIn: this.admission.spot.oneIn, ...this.admission.spot.counters },
      fetchRequests: this.fetch.requests, verifier: verifierStats(),
      pairedOnUse: { takenUnpaired: this.admission.lazy, ...this.held.onUse },
      proverThreads: this.remote ? undefined : process.env.SMT_PROVER_THREADS === 'pool' ? 'pool' : 'single', timelines: c.timelines.toJSON(),
    };
  }

  async close(): Promise<void> {
    if (this.c.closed) return;
    this.c.closed = true;
    clearInterval(this.timer);
    clearInterval(this.syncTimer);
    this.offBeat?.();
    clearTimeout(this.planRetry);
    await this.remote?.close(); // ends a held plan request
    this.offGlobal?.();
    this.c.stateChanged();
    this.gossip.stop();
    await this.runner.close();
    if (this.trees.ready) await this.held.store.putTree(this.trees.head).catch(() => {});
    await this.held.store.close();
    if (this.canVerify) await closeVerifier().catch(() => {});
  }
}

/**
 * The cadence a node starts with: fixed (--prove-every), else its prover service's plan (measured
 * capacity; asked at start, a few tries), else automatic from the reference costs.
 */
async function initialCadence(opts: ProvingStartOptions, log: Logger): Promise<Cadence> {
  const { genesis } = opts;
  if (opts.proveEvery !== undefined) return { plan: CadencePlan.fixed(opts.proveEvery), source: 'fixed', why: `--prove-every ${opts.proveEvery}` };
  if (opts.proverUrl) {
    const client = new RemoteProofPool(opts.proverUrl);
    for (let i = 0; i < 5; i++) {
      try {
        const a = await client.plan();
        return { plan: new CadencePlan(a.segments), source: 'pool', why: a.choice.why, expectedAgeEpochs: a.choice.expectedAgeEpochs, version: a.version };
      } catch (err) {
        log.debug({ err: (err as Error).message }, 'prover service plan not available yet');
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    log.warn({ url: opts.proverUrl }, 'prover service not answering: automatic cadence until it does');
  }
  const every = autoProveEvery(genesis.depth, genesis.epochMs);
  return { plan: CadencePlan.fixed(every), source: 'assumed', why: `automatic: reference proof costs (${LEAF_PROOF_MS} ms leaf, ${INNER_PROOF_MS} ms inner CPU), 40% of ${availableParallelism()} cores => every ${every}` };
}
