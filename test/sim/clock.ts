// The simulator's virtual time: one event queue for the whole network, ordered by (time, insertion),
// and one `Scheduler` per simulated process. A paused process's events wait for its resume (in their
// order); a crashed process's events are dropped (its generation changed). After each event the
// queue waits until every promise chain it started has settled (the code under test does no real
// I/O here: everything settles in microtasks), so a run depends on nothing but its seed.
import type { Scheduler } from '../../src/core/scheduler.js';

export class SimProcess {
  readonly name: string;
  /** Bumped by each crash: events of an older generation never run. */
  gen = 0;
  state: 'up' | 'down' = 'up';
  /** Paused (SIGSTOP) until this time: its events wait, in order, and run from then on. */
  resumeAt = 0;
  paused(now: number): boolean {
    return this.state === 'up' && now < this.resumeAt;
  }
  constructor(name: string) {
    this.name = name;
  }
}

interface Event {
  at: number;
  seq: number;
  fn: () => void;
  proc?: SimProcess;
  gen: number;
  cancelled: boolean;
}

export class VirtualClock {
  now = 0;
  private seq = 0;
  private readonly heap: Event[] = [];
  steps = 0;
  /** A run that takes more events than this is stuck in an event storm: it stops with an error. */
  maxSteps = 400_000;
  /** An event's callback threw (in a real process: an uncaught exception); default: rethrow. */
  onError: ((err: unknown) => void) | undefined;

  /** Runs `fn` at time `at` on behalf of `proc` (if given). Returns a cancel function. */
  at(at: number, fn: () => void, proc?: SimProcess): () => void {
    const e: Event = { at: Math.max(at, this.now), seq: this.seq++, fn, proc, gen: proc?.gen ?? 0, cancelled: false };
    this.push(e);
    return () => { e.cancelled = true; };
  }

  /** A Scheduler for code running in `proc`. */
  schedulerFor(proc: SimProcess): Scheduler {
    return {
      now: () => this.now,
      every: (ms, fn) => {
        let stop = false;
        const loop = (): void => {
          if (stop) return;
          this.at(this.now + ms, () => { if (!stop) { fn(); loop(); } }, proc);
        };
        loop();
        return () => { stop = true; };
      },
      after: (ms, fn) => this.at(this.now + ms, fn, proc),
    };
  }

  /** Runs events up to time `until` (inclusive); `each` runs between events (checks). */
  async runUntil(until: number, each?: () => void): Promise<void> {
    for (;;) {
      const e = this.heap[0];
      if (!e || e.at > until) break;
      this.pop();
      if (e.cancelled) continue;
      const p = e.proc;
      if (p) {
        if (p.gen !== e.gen || p.state === 'down') continue;
        if (p.paused(e.at)) {
          // keep the event's place among its process's events: same seq, at the resume time
          e.at = p.resumeAt;
          this.push(e);
          continue;
        }
      }
      this.now = e.at;
      if (++this.steps > this.maxSteps) throw new Error(`event storm: more than ${this.maxSteps} events by t=${this.now}`);
      try {
        e.fn();
      } catch (err) {
        if (!this.onError) throw err;
        this.onError(err);
      }
      await settle();
      each?.();
    }
    this.now = Math.max(this.now, until);
  }

  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Event | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Resolves once every microtask and nextTick chain started so far has settled. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
