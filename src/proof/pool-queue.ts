// The prover pool's queue (pure: no I/O, no clock of its own). Jobs are triad proofs of proved
// epochs, submitted by the nodes that share the pool; `next()` says which queued job a free worker
// takes and which queued jobs are skipped.
//
// Priority: the OLDEST epoch first, and within an epoch the HIGHEST level first (the apex before
// the lowest level). An epoch's upper levels only become jobs once its lower levels are proved, so
// "oldest epoch first" is what keeps an epoch's apex from waiting behind leaves of later epochs:
// whatever a started epoch still needs goes before anything of a later epoch.
//
// Skip: an epoch none of whose jobs has started yet is skipped as soon as a job of a LATER epoch is
// queued or running: it could no longer be proved before the later one (which is fresher), so its
// queued jobs are answered "skipped" instead of waiting, and the next global proof's chain link
// covers it (docs/PROOFS.md: skipped epochs are chained by commitment). An epoch that has started is
// finished: dropping it would waste the proofs already made.

export interface PoolJob {
  id: number;
  epoch: number;
  /** Triad path length: 0 = apex; higher = lower in the tree. */
  level: number;
  /** When it was queued (ms, the caller's clock), for FIFO among equals and wait figures. */
  queuedAt: number;
}

export interface PoolPick<J extends PoolJob> {
  /** The job a free worker should run now, if any. */
  run: J | undefined;
  /** Queued jobs to answer "skipped" (removed from the queue). */
  skipped: J[];
}

/** Priority order: older epoch, then higher level (smaller path length), then first come. */
export function jobOrder(a: PoolJob, b: PoolJob): number {
  return a.epoch - b.epoch || a.level - b.level || a.queuedAt - b.queuedAt || a.id - b.id;
}

export class PoolQueue<J extends PoolJob> {
  private readonly jobs: J[] = [];
  /** Epochs with a job started (running or done), newest last; bounded. */
  private readonly started: number[] = [];
  private readonly running = new Set<number>(); // epochs of running jobs, with counts below
  private readonly runningCount = new Map<number, number>();
  private readonly maxStarted: number;
  readonly maxQueued: number;

  constructor(maxQueued = 256, maxStarted = 64) {
    this.maxQueued = maxQueued;
    this.maxStarted = maxStarted;
  }

  get size(): number {
    return this.jobs.length;
  }

  queued(): readonly J[] {
    return this.jobs;
  }

  /** Adds a job; false when the queue is full (the caller answers "busy"). */
  add(j: J): boolean {
    if (this.jobs.length >= this.maxQueued) return false;
    this.jobs.push(j);
    return true;
  }

  /** Removes a queued job (its submitter went away); true if it was queued. */
  remove(id: number): boolean {
    const i = this.jobs.findIndex((j) => j.id === id);
    if (i < 0) return false;
    this.jobs.splice(i, 1);
    return true;
  }

  private hasStarted(e: number): boolean {
    return this.started.includes(e);
  }

  /** Removes and returns the queued jobs of epochs that can no longer be proved in time (see the file comment). */
  skipStale(): J[] {
    const skipped: J[] = [];
    let newest = -Infinity;
    for (const j of this.jobs) newest = Math.max(newest, j.epoch);
    for (const e of this.running) newest = Math.max(newest, e);
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const j = this.jobs[i]!;
      if (j.epoch < newest && !this.hasStarted(j.epoch)) {
        skipped.push(j);
        this.jobs.splice(i, 1);
      }
    }
    return skipped.reverse();
  }

  /** The job a free worker runs now (highest priority), marked started and running; call done(job) when it ends. */
  take(): J | undefined {
    if (this.jobs.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.jobs.length; i++) if (jobOrder(this.jobs[i]!, this.jobs[best]!) < 0) best = i;
    const run = this.jobs.splice(best, 1)[0]!;
    if (!this.hasStarted(run.epoch)) {
      this.started.push(run.epoch);
      if (this.started.length > this.maxStarted) this.started.shift();
    }
    this.running.add(run.epoch);
    this.runningCount.set(run.epoch, (this.runningCount.get(run.epoch) ?? 0) + 1);
    return run;
  }

  /** skipStale() then take(): what a free worker does. */
  next(): PoolPick<J> {
    const skipped = this.skipStale();
    return { run: this.take(), skipped };
  }

  done(j: J): void {
    const n = (this.runningCount.get(j.epoch) ?? 1) - 1;
    if (n <= 0) {
      this.runningCount.delete(j.epoch);
      this.running.delete(j.epoch);
    } else this.runningCount.set(j.epoch, n);
  }
}
