// Proving execution: the queue of this node's due proofs, submitted to a bounded prover pool
// (src/proof/prover-pool.ts): the machine's shared prover service when the node has one
// (--prover-url; `smt cluster up`), else its own pool of one niced prover child. Above the lowest level the three child proofs are verified and
// linked first (`verifyChildren`); the apex proof becomes the epoch's global state proof, linked to
// the latest earlier global proof held here.
import { genesisHash } from '../../core/genesis.js';
import { globalFromApex, globalProofHash, type GlobalStateProof } from '../../proof/global.js';
import { ProofSkipped, type ProofPool } from '../../proof/prover-pool.js';
import { proveTriad, verifyChildren, type ProveBackend, type VerifyFn } from '../../proof/tree-prover.js';
import { verify } from '../../proof/verifier.js';
import type { ProvingContext } from './context.js';
import type { ProofFetch } from './fetch.js';
import type { ProofGossip } from './gossip.js';
import type { ProofHoldings } from './holdings.js';
import type { Task } from './schedule.js';
import type { CommitmentTrees } from './trees.js';

export class ProofRunner {
  private readonly c: ProvingContext;
  private readonly trees: CommitmentTrees;
  private readonly held: ProofHoldings;
  private readonly gossip: ProofGossip;
  private readonly fetch: ProofFetch;
  readonly queue: Task[] = [];
  /** Where proofs are made: the machine's shared prover service, or this node's own pool. Set at boot. */
  pool: ProofPool | null = null;
  private makePool: () => ProofPool;
  private inFlight = 0;
  /** Proofs submitted to the pool at once: the pool orders them machine-wide. */
  private readonly maxInFlight: number;
  /** skipped: distinct epochs the pool skipped (for this node's tasks); skippedJobs: its "skipped" answers. */
  readonly counters = { skipped: 0, skippedJobs: 0 };
  /** Epochs the pool skipped: none of their tasks is submitted again (the scan leaves them out). */
  private readonly skippedEpochs = new Set<number>();
  /** Whether the pool skipped epoch e (nothing of it is queued again). */
  isSkipped(e: number): boolean {
    return this.skippedEpochs.has(e);
  }

  /** Forgets the skipped epochs before `first` (the scheduler no longer scans them). */
  forgetSkippedBefore(first: number): void {
    for (const e of this.skippedEpochs) if (e < first) this.skippedEpochs.delete(e);
  }

  /** Called when a task leaves the queue (proved, failed, skipped or dropped). */
  onDone: (t: Task) => void = () => {};
  private readonly verifyKnown: VerifyFn;

  constructor(c: ProvingContext, trees: CommitmentTrees, held: ProofHoldings, gossip: ProofGossip, fetch: ProofFetch, makePool: () => ProofPool, maxInFlight: number) {
    this.c = c;
    this.trees = trees;
    this.held = held;
    this.gossip = gossip;
    this.fetch = fetch;
    this.makePool = makePool;
    this.maxInFlight = maxInFlight;
    this.verifyKnown = (kind, signals, proof) => (c.verified.has(proof) ? Promise.resolve(true) : verify(kind, signals, proof));
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  enqueue(t: Task): void {
    this.queue.push(t);
  }

  ensurePool(): ProofPool {
    this.pool ??= this.makePool();
    return this.pool;
  }

  run(): void {
    if (this.c.closed) return;
    // Highest level first (it completes an epoch's global proof), then the OLDEST epoch still in
    // the window; the pool orders what all its nodes submit the same way (pool-queue.ts) and skips
    // epochs that can no longer be proved in time.
    this.queue.sort((a, b) => a.path.length - b.path.length || a.epoch - b.epoch);
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight && !this.c.closed) {
      const t = this.queue.shift()!;
      // too late to start a lowest-level proof, or a later epoch's global proof is already here
      if ((t.path.length === this.c.depth - 1 && t.epoch < this.c.clockEpoch() - this.c.leafWindow) || t.epoch <= this.held.latestGlobal || this.skippedEpochs.has(t.epoch)) {
        this.onDone(t);
        continue;
      }
      this.inFlight++;
      void this.proveOne(t)
        .catch((err: Error) => {
          if (err instanceof ProofSkipped) {
            this.counters.skippedJobs++;
            if (!this.skippedEpochs.has(t.epoch)) {
              this.skippedEpochs.add(t.epoch);
              this.counters.skipped++;
            }
            this.c.timelines.mark(t.epoch, `${t.path || 'apex'}@skipped`);
            this.c.log.debug({ epoch: t.epoch, path: t.path, why: err.message }, 'proof skipped by the prover pool');
          } else if (this.c.closed) {
            // closing aborts what is in flight (the prover client's requests, the pool's children): not a failure
            this.c.log.debug({ epoch: t.epoch, path: t.path, err: err.message }, 'triad proof abandoned: the node is closing');
          } else this.c.log.warn({ epoch: t.epoch, path: t.path, err: err.message }, 'triad proof failed');
        })
        .finally(() => {
          this.inFlight--;
          this.onDone(t);
          this.run();
        });
    }
  }

  private async proveOne({ epoch: e, path }: Task): Promise<void> {
    const have = this.held.proofsOf(e);
    if (have.has(path)) return; // someone proved it meanwhile
    const tree = this.trees.trees.get(e);
    const prev = this.trees.previous(e);
    if (!tree || !prev) {
      this.c.log.warn({ epoch: e, path }, 'proof task dropped: commitment tree no longer held');
      return;
    }
    const name = path || 'apex';
    const mark = (step: string, v?: number): void => this.c.timelines.mark(e, `${name}@${step}`, v);
    mark('start');
    if (path.length < this.c.depth - 1) {
      await verifyChildren(this.verifyKnown, tree, have, path);
      mark('verified');
    }
    const pool = this.ensurePool();
    let waitMs: number | undefined;
    const backend: ProveBackend = {
      prove: async (kind, input) => {
        const r = await pool.prove(kind, input, { epoch: e, level: path.length });
        waitMs = r.waitMs;
        return r;
      },
    };
    const { proof, ms, witnessMs, proveMs, cpuMs } = await proveTriad(backend, tree, prev, path);
    if (this.c.closed) return;
    mark('made');
    if (waitMs !== undefined) mark('waitMs', waitMs);
    if (witnessMs !== undefined) mark('witnessMs', witnessMs);
    if (proveMs !== undefined) mark('proveMs', proveMs);
    if (cpuMs !== undefined) mark('cpuMs', cpuMs);
    this.c.verified.add(proof.proof);
    this.c.metrics.made.inc({ kind: proof.kind });
    this.c.metrics.seconds.observe({ kind: proof.kind }, ms / 1000);
    this.c.log.info({ epoch: e, path, kind: proof.kind, ms: Math.round(ms), waitMs }, 'triad proof made');
    await this.held.acceptTriad(proof);
    await this.gossip.publishProof({ type: 'triad', proof });
    if (path === '') {
      this.held.madeHere(proof);
      const prevG = await this.previousGlobal(e);
      const g = globalFromApex(proof, this.c.depth, prevG ? globalProofHash(prevG) : genesisHash(this.c.genesis));
      await this.held.acceptGlobal(g, Date.now());
      await this.gossip.publishProof({ type: 'global', proof: g });
    }
  }

  /** The global proof the new one links to: the latest earlier one, fetched if the previous proved epoch's is missing. */
  private async previousGlobal(e: number): Promise<GlobalStateProof | undefined> {
    // Fetched only when some proof of that epoch came here: an epoch the pool skipped has none, and
    // asking peers for it on every apex would only delay the global proof.
    const want = this.c.cadence.plan.previousProved(e);
    if (want >= 0 && want > this.held.latestGlobal && this.held.proofsOf(want).size > 0 && !(await this.held.store.hasGlobal(want))) await this.fetch.global(want);
    // linked to only if it pairs: a node may hold it unpaired (admission.ts); one that does not is dropped
    // (each failure drops one stored proof, so this ends)
    for (;;) {
      const g = await this.held.store.latestGlobal(e - 1);
      if (!g || (await this.held.usableGlobal(g.epoch, g.stored.proof))) return g?.stored.proof;
    }
  }

  async close(): Promise<void> {
    await this.pool?.close().catch(() => {});
  }
}
