// The prover pool's queue (pure: no I/O, no clock of its own: callers pass `now`). Jobs are triad
// proofs of proved epochs, submitted by the nodes that share the pool; `next()` says which queued
// job a free worker takes and which queued jobs are skipped.
//
// Priority: the OLDEST epoch first, and within an epoch the HIGHEST level first (the apex before
// the lowest level): whatever a started epoch still needs goes before anything of a later epoch.
//
// Finishing before starting: an epoch's upper levels only become jobs once its lower levels are
// proved (and their proofs reached the node that proves the level above), so when the last leaf of
// epoch e ends, the apex of e is not queued yet; a free worker would take a leaf of a later epoch,
// and the apex, arriving a moment later, would wait a whole leaf proof (~2 s here) for a worker
// (the pool cannot preempt). So while the oldest started epoch is unfinished (its level-0 proof not
// made) and still live (a job of it queued or running, or one ended less than `holdMs` ago), jobs of
// LATER epochs may occupy at most `workers - 1` workers: one worker stays for the unfinished epoch.
// `urgent(job)` tells the pool which running jobs are that epoch's (it runs the others at a lower
// CPU priority, so a later epoch's leaf takes only the CPU the unfinished epoch leaves).
//
// Skip: an epoch none of whose jobs has started yet is skipped as soon as a job of a LATER epoch is
// queued, running or has started: its proof would land after the later one's (which is fresher),
// so its queued jobs are answered "skipped" instead of waiting, and the next global proof's chain
// link covers it (docs/PROOFS.md: skipped epochs are chained by commitment). A skipped epoch stays
// skipped: a job of it submitted later (another node's, or a re-submission) is answered "skipped"
// at once instead of starting an epoch that can no longer be finished in time. An epoch that has
// started is finished: dropping it would waste the proofs already made.

export interface PoolJob {
  id: number;
  epoch: number;
  /** Triad path length: 0 = apex; higher = lower in the tree. */
  level: number;
  /** When it was queued (ms, the caller's clock), for FIFO among equals and wait figures. */
  queuedAt: number;
  /**
   * false for a job above the lowest level: its epoch's lowest level is proved (here or on another
   * machine's pool), so it is finished, never skipped. Default true.
   */
  leaf?: boolean;
}

export interface PoolPick<J extends PoolJob> {
  /** The job a free worker should run now, if any. */
  run: J | undefined;
  /** Queued jobs to answer "skipped" (removed from the queue). */
  skipped: J[];
}

export interface PoolQueueOptions {
  /** Queued jobs at most (add() refuses beyond). */
  maxQueued?: number;
  /** Epochs remembered as started / finished. */
  maxStarted?: number;
  /** The pool's workers: with more than one, later epochs leave one to the oldest unfinished epoch. */
  workers?: number;
  /** How long after its last job ended an unfinished epoch still holds a worker for its next level (ms). */
  holdMs?: number;
}

/** Default hold: the next level's job arrives within ~0.1-0.5 s of its children (gossip, scan, verify); more under load. */
export const HOLD_MS = 3000;

/** Priority order: older epoch, then higher level (smaller path length), then first come. */
export function jobOrder(a: PoolJob, b: PoolJob): number {
  return a.epoch - b.epoch || a.level - b.level || a.queuedAt - b.queuedAt || a.id - b.id;
}

export class PoolQueue<J extends PoolJob> {
  private readonly jobs: J[] = [];
  /** Epochs with a job started (running or done), newest last; bounded. */
  private readonly started: number[] = [];
  /** Started epochs whose level-0 (apex) job has ended: nothing more of them is expected. */
  private readonly finished = new Set<number>();
  /** When a job of each started epoch last ended (or started). */
  private readonly lastActive = new Map<number, number>();
  private readonly running: J[] = [];
  /** Epochs skipped (remembered so that later jobs of them are skipped too); bounded like `started`. */
  private readonly skippedEpochs = new Set<number>();
  /** Distinct epochs skipped so far (a figure: jobs skipped count every node's submission). */
  skippedEpochCount = 0;
  private readonly maxStarted: number;
  readonly maxQueued: number;
  readonly workers: number;
  readonly holdMs: number;

  constructor(o: PoolQueueOptions = {}) {
    this.maxQueued = o.maxQueued ?? 256;
    this.maxStarted = o.maxStarted ?? 64;
    this.workers = Math.max(1, o.workers ?? 1);
    this.holdMs = o.holdMs ?? HOLD_MS;
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

  /**
   * The oldest started epoch not finished and still live at `now`: a job of it queued or running,
   * or one ended less than holdMs ago (its next level is on its way). Undefined when none.
   */
  unfinished(now: number): number | undefined {
    let u: number | undefined;
    for (const e of this.started) {
      if (this.finished.has(e) || (u !== undefined && e >= u)) continue;
      const live = this.running.some((j) => j.epoch === e) || this.jobs.some((j) => j.epoch === e) || now - (this.lastActive.get(e) ?? -Infinity) < this.holdMs;
      if (live) u = e;
    }
    return u;
  }

  /** Whether running job `j` is the oldest unfinished epoch's work (or nothing older is unfinished). */
  urgent(j: PoolJob, now: number): boolean {
    const u = this.unfinished(now);
    return u === undefined || j.epoch <= u;
  }

  /** Whether epoch e was skipped here. */
  isSkipped(e: number): boolean {
    return this.skippedEpochs.has(e);
  }

  /** Removes and returns the queued jobs of epochs that can no longer be proved in time (see the file comment). */
  skipStale(): J[] {
    const skipped: J[] = [];
    let newest = -Infinity;
    for (const j of this.jobs) newest = Math.max(newest, j.epoch);
    for (const j of this.running) newest = Math.max(newest, j.epoch);
    for (const e of this.started) newest = Math.max(newest, e);
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const j = this.jobs[i]!;
      if (this.hasStarted(j.epoch) || j.leaf === false) continue;
      if (j.epoch < newest || this.skippedEpochs.has(j.epoch)) {
        skipped.push(j);
        this.jobs.splice(i, 1);
        if (!this.skippedEpochs.has(j.epoch)) {
          this.skippedEpochs.add(j.epoch);
          this.skippedEpochCount++;
          if (this.skippedEpochs.size > 4 * this.maxStarted) this.skippedEpochs.delete(Math.min(...this.skippedEpochs));
        }
      }
    }
    return skipped.reverse();
  }

  /**
   * The job a free worker runs now (highest priority), marked started and running; call done(job)
   * when it ends. Undefined when nothing is queued, or when the best job is of an epoch later than
   * the oldest unfinished one and the workers later epochs may use are taken (see holdUntil).
   */
  take(now = 0): J | undefined {
    if (this.jobs.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.jobs.length; i++) if (jobOrder(this.jobs[i]!, this.jobs[best]!) < 0) best = i;
    const cand = this.jobs[best]!;
    if (this.workers > 1) {
      const u = this.unfinished(now);
      if (u !== undefined && cand.epoch > u && this.running.filter((j) => j.epoch > u).length >= this.workers - 1) return undefined;
    }
    this.jobs.splice(best, 1);
    if (!this.hasStarted(cand.epoch)) {
      this.started.push(cand.epoch);
      if (this.started.length > this.maxStarted) {
        const old = this.started.shift()!;
        this.finished.delete(old);
        this.lastActive.delete(old);
      }
    }
    this.lastActive.set(cand.epoch, now);
    this.running.push(cand);
    return cand;
  }

  /**
   * When the oldest unfinished epoch stops holding a worker (and being urgent) if nothing of it
   * arrives (ms, the caller's clock), or undefined when that does not depend on time alone (a job
   * of it is queued or running: done() comes first; or no epoch is unfinished).
   */
  holdUntil(now: number): number | undefined {
    const u = this.unfinished(now);
    if (u === undefined || this.running.some((j) => j.epoch === u) || this.jobs.some((j) => j.epoch === u)) return undefined;
    return (this.lastActive.get(u) ?? now) + this.holdMs;
  }

  /** skipStale() then take(): what a free worker does. */
  next(now = 0): PoolPick<J> {
    const skipped = this.skipStale();
    return { run: this.take(now), skipped };
  }

  /** A running job ended (made, failed or abandoned) at `now`. */
  done(j: J, now = 0): void {
    const i = this.running.indexOf(j);
    if (i >= 0) this.running.splice(i, 1);
    if (this.hasStarted(j.epoch)) {
      this.lastActive.set(j.epoch, now);
      if (j.level === 0) this.finished.add(j.epoch);
    }
  }
}
