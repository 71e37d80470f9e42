// A bounded pool of prover children (prover.ts), shared by whoever submits proofs to it: the nodes
// of a local cluster through the prover service (prover-service.ts), or one standalone node. At
// most `workers` proofs run at once (default: one per core); queued jobs are ordered, held back and
// skipped by PoolQueue (pool-queue.ts). A running job of the oldest unfinished epoch runs at the
// provers' usual priority (nice 10), a job of a later epoch at nice 19, so the later one takes only
// the CPU the unfinished epoch leaves (the pool cannot preempt a proof; this is the next best). It
// measures what each proof costs, for the cadence (cadence.ts).
import { availableParallelism } from 'node:os';
import type { CircuitKind } from './artifacts.js';
import { PoolQueue, type PoolJob } from './pool-queue.js';
import { Prover, ProverError, PROVER_NICE, type ProofResult } from './prover.js';
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
  /** Jobs answered "skipped" (every node's submission of a skipped epoch counts). */
  skipped: number;
  /** Distinct epochs skipped. */
  skippedEpochs: number;
  failed: number;
  /** The oldest started epoch not yet finished (its apex not made), which later epochs leave a worker to; null if none. */
  finishing: number | null;
  /** Whether later epochs' running jobs get a lower CPU priority (needs the privilege to raise it back). */
  priorities: boolean;
  /** Times a free worker was held for an unfinished epoch instead of starting a later one's job. */
  held: number;
  /** Exponentially weighted mean of the last proofs, per circuit: CPU ms (the child's, all threads) and wall ms. */
  cost: Partial<Record<CircuitKind, { cpuMs: number; wallMs: number; samples: number }>>;
}

const EWMA = 0.3; // weight of the newest proof in the cost figures
/** Priority of a running job of an epoch later than the oldest unfinished one (the lowest there is). */
export const LATER_NICE = 19;

export class ProverPool implements ProofPool {
  readonly workers: number;
  private readonly idle: Prover[] = [];
  private readonly all: Prover[] = [];
  private readonly queue: PoolQueue<Job>;
  /** Which job each busy worker runs. */
  private readonly busy = new Map<Prover, Job>();
  private holdTimer: NodeJS.Timeout | undefined;
  private holding = false;
  /** Whether later epochs' jobs run at a lower priority (see prioritise). */
  readonly priorities: boolean;
  private nextId = 1;
  private closed = false;
  private readonly counts = { proved: 0, skipped: 0, failed: 0, held: 0 };
  private readonly cost: PoolStatus['cost'] = {};
  readonly warmed: Promise<number>;
  /** Called with each proof's figures (the service's capacity measurement). */
  onProof: (kind: CircuitKind, r: ProofResult) => void = () => {};

  constructor(o: { workers?: number; dir?: string; holdMs?: number } = {}) {
    this.workers = Math.max(1, Math.min(o.workers ?? availableParallelism(), availableParallelism()));
    this.queue = new PoolQueue<Job>({ workers: this.workers, holdMs: o.holdMs });
    for (let i = 0; i < this.workers; i++) {
      const p = new Prover({ dir: o.dir });
      this.all.push(p);
      this.idle.push(p);
    }
    // Per-job priorities need to raise a worker's priority back after lowering it (privileged):
    // probe once; without it every worker keeps the provers' priority.
    const w0 = this.all[0]!;
    this.priorities = this.workers > 1 && w0.setNice(PROVER_NICE + 1) && w0.setNice(PROVER_NICE);
    this.warmed = Promise.all(this.all.map((p) => p.warmed)).then((ms) => Math.max(...ms));
    this.warmed.catch(() => {});
  }

  prove(kind: CircuitKind, input: CircuitInput, meta: { epoch: number; level: number }): Promise<PoolResult> {
    if (this.closed) return Promise.reject(new ProverError('prover pool is closed'));
    return new Promise<PoolResult>((resolve, reject) => {
      const job: Job = { id: this.nextId++, epoch: meta.epoch, level: meta.level, leaf: kind === 'triad_leaf', queuedAt: Date.now(), kind, input, resolve, reject };
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
    const now = Date.now();
    while (!this.closed && this.idle.length > 0) {
      const run = this.queue.take(now);
      if (!run) break;
      const p = this.idle.pop()!;
      this.busy.set(p, run);
      void this.run(p, run);
    }
    this.prioritise(now);
    // when the unfinished epoch's hold lapses (nothing of it came), a held worker is released and
    // later epochs' running jobs get their priority back
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const holding = !this.closed && this.idle.length > 0 && this.queue.size > 0;
    if (holding && !this.holding) this.counts.held++;
    this.holding = holding;
    const until = this.queue.holdUntil(now);
    if (!this.closed && until !== undefined) {
      this.holdTimer = setTimeout(() => this.dispatch(), Math.max(1, until - now + 1));
      this.holdTimer.unref();
    }
  }

  /** The oldest unfinished epoch's running jobs at the provers' priority, later epochs' at the lowest. */
  private prioritise(now: number): void {
    if (!this.priorities) return;
    for (const [p, j] of this.busy) p.setNice(this.queue.urgent(j, now) ? PROVER_NICE : LATER_NICE);
  }

  private skip(j: Job): void {
    this.counts.skipped++;
    j.reject(new ProofSkipped(`epoch ${j.epoch} skipped: a later epoch is already waiting for the pool or started, and none of epoch ${j.epoch}'s proofs had started`));
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
      this.queue.done(j, Date.now());
      this.busy.delete(p);
      this.idle.push(p);
      this.dispatch();
    }
  }

  childPids(): (number | undefined)[] {
    return this.all.map((p) => p.pid);
  }

  status(): PoolStatus {
    return { workers: this.workers, running: this.workers - this.idle.length, queued: this.queue.size, ...this.counts, skippedEpochs: this.queue.skippedEpochCount, priorities: this.priorities, finishing: this.queue.unfinished(Date.now()) ?? null, cost: { ...this.cost } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.holdTimer);
    for (const j of [...this.queue.queued()]) {
      this.queue.remove(j.id);
      j.reject(new ProverError('prover pool is closed'));
    }
    await Promise.all(this.all.map((p) => p.close().catch(() => {})));
  }
}
