// A bounded pool of prover children (prover.ts), shared by whoever submits proofs to it: the nodes
// of a local cluster through the prover service (prover-service.ts), or one standalone node. At
// most `workers` proofs run at once (default: one per core); queued jobs are ordered and skipped by
// PoolQueue (pool-queue.ts). It measures what each proof costs, for the cadence (cadence.ts).
import { availableParallelism } from 'node:os';
import type { CircuitKind } from './artifacts.js';
import { PoolQueue, type PoolJob } from './pool-queue.js';
import { Prover, ProverError, type ProofResult } from './prover.js';
import type { CircuitInput } from './tree.js';

export class ProofSkipped extends Error {
  override name = 'ProofSkipped';
}

export class PoolBusy extends Error {
  override name = 'PoolBusy';
}

export interface PoolResult extends ProofResult {
  /** ms the job waited in the pool's queue. */
  waitMs: number;
}

/** What a node's proving layer needs of a prover: a proof of one triad of one epoch, or a "skipped" (ProofSkipped). */
export interface ProofPool {
  prove(kind: CircuitKind, input: CircuitInput, meta: { epoch: number; level: number }): Promise<PoolResult>;
  /** Warm-up of the workers (ms), when this process runs them. */
  readonly warmed?: Promise<number>;
  status(): Promise<PoolStatus> | PoolStatus;
  close(): Promise<void>;
}

interface Job extends PoolJob {
  kind: CircuitKind;
  input: CircuitInput;
  resolve: (r: PoolResult) => void;
  reject: (e: Error) => void;
}

export interface PoolStatus {
  workers: number;
  running: number;
  queued: number;
  proved: number;
  skipped: number;
  failed: number;
  /** Exponentially weighted mean of the last proofs, per circuit: CPU ms (the child's, all threads) and wall ms. */
  cost: Partial<Record<CircuitKind, { cpuMs: number; wallMs: number; samples: number }>>;
}

const EWMA = 0.3; // weight of the newest proof in the cost figures

export class ProverPool implements ProofPool {
  readonly workers: number;
  private readonly idle: Prover[] = [];
  private readonly all: Prover[] = [];
  private readonly queue = new PoolQueue<Job>();
  private nextId = 1;
  private closed = false;
  private readonly counts = { proved: 0, skipped: 0, failed: 0 };
  private readonly cost: PoolStatus['cost'] = {};
  readonly warmed: Promise<number>;
  /** Called with each proof's figures (the service's capacity measurement). */
  onProof: (kind: CircuitKind, r: ProofResult) => void = () => {};

  constructor(o: { workers?: number; dir?: string } = {}) {
    this.workers = Math.max(1, Math.min(o.workers ?? availableParallelism(), availableParallelism()));
    for (let i = 0; i < this.workers; i++) {
      const p = new Prover({ dir: o.dir });
      this.all.push(p);
      this.idle.push(p);
    }
    this.warmed = Promise.all(this.all.map((p) => p.warmed)).then((ms) => Math.max(...ms));
    this.warmed.catch(() => {});
  }

  prove(kind: CircuitKind, input: CircuitInput, meta: { epoch: number; level: number }): Promise<PoolResult> {
    if (this.closed) return Promise.reject(new ProverError('prover pool is closed'));
    return new Promise<PoolResult>((resolve, reject) => {
      const job: Job = { id: this.nextId++, epoch: meta.epoch, level: meta.level, queuedAt: Date.now(), kind, input, resolve, reject };
      if (!this.queue.add(job)) {
        reject(new PoolBusy(`prover pool queue full (${this.queue.maxQueued} jobs)`));
        return;
      }
      this.dispatch();
    });
  }

  private dispatch(): void {
    // skipped jobs are answered at once, even while every worker is busy: their submitters move on
    for (const j of this.queue.skipStale()) this.skip(j);
    while (!this.closed && this.idle.length > 0) {
      const run = this.queue.take();
      if (!run) return;
      void this.run(this.idle.pop()!, run);
    }
  }

  private skip(j: Job): void {
    this.counts.skipped++;
    j.reject(new ProofSkipped(`epoch ${j.epoch} skipped: a later epoch is already waiting for the pool and none of epoch ${j.epoch}'s proofs had started`));
  }

  private async run(p: Prover, j: Job): Promise<void> {
    const waitMs = Date.now() - j.queuedAt;
    try {
      const r = await p.prove(j.kind, j.input);
      this.counts.proved++;
      const c = this.cost[j.kind];
      const cpu = r.cpuMs ?? r.ms;
      this.cost[j.kind] = c
        ? { cpuMs: c.cpuMs + EWMA * (cpu - c.cpuMs), wallMs: c.wallMs + EWMA * (r.ms - c.wallMs), samples: c.samples + 1 }
        : { cpuMs: cpu, wallMs: r.ms, samples: 1 };
      this.onProof(j.kind, r);
      j.resolve({ ...r, waitMs });
    } catch (e) {
      this.counts.failed++;
      j.reject(e as Error);
    } finally {
      this.queue.done(j);
      this.idle.push(p);
      this.dispatch();
    }
  }

  childPids(): (number | undefined)[] {
    return this.all.map((p) => p.pid);
  }

  status(): PoolStatus {
    return { workers: this.workers, running: this.workers - this.idle.length, queued: this.queue.size, ...this.counts, cost: { ...this.cost } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const j of [...this.queue.queued()]) {
      this.queue.remove(j.id);
      j.reject(new ProverError('prover pool is closed'));
    }
    await Promise.all(this.all.map((p) => p.close().catch(() => {})));
  }
}
