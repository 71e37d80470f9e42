// The epoch clock: epoch e is sealed at genesisTime + (e + 1) * epochMs. A node that was down (or is
// behind) seals the missed epochs back to back at once, then follows the wall clock again.
import type { Logger } from './logger.js';
import { SealDeclined } from '../replica/replica.js';

/** Wall-clock time (unix ms) at which epoch `epoch` is due to be sealed. */
export function sealDueAt(genesisTime: number, epochMs: number, epoch: number): number {
  return genesisTime + (epoch + 1) * epochMs;
}

export interface EpochTimerOptions {
  genesisTime: number;
  epochMs: number;
  /** Latest sealed epoch (-1 before the first seal). */
  latestEpoch: () => number;
  /** Seals the next epoch (latestEpoch() + 1). */
  seal: () => Promise<void>;
  logger?: Logger;
  now?: () => number;
}

export class EpochTimer {
  private readonly o: EpochTimerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private failures = 0;

  constructor(o: EpochTimerOptions) {
    this.o = o;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const behind = this.epochsBehind();
    // A node with nothing sealed yet on a network whose genesis has passed (every node of a devnet
    // created just before its start) has missed nothing it ever held: that is no warning.
    if (behind > 1 && this.o.latestEpoch() < 0) this.o.logger?.info({ behind }, 'first start: sealing the epochs since genesis now');
    else if (behind > 1) this.o.logger?.warn({ behind }, 'catching up: sealing missed epochs now');
    this.schedule();
  }

  /** Epochs whose seal time has passed but which are not sealed yet. */
  epochsBehind(): number {
    const now = (this.o.now ?? Date.now)();
    const next = this.o.latestEpoch() + 1;
    const due = Math.floor((now - this.o.genesisTime) / this.o.epochMs) - 1; // last epoch whose seal time passed
    return Math.max(0, due - next + 1);
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = (this.o.now ?? Date.now)();
    const due = sealDueAt(this.o.genesisTime, this.o.epochMs, this.o.latestEpoch() + 1);
    // Back-off after a failed seal so a broken disk does not turn into a busy loop.
    const backoff = this.failures > 0 ? Math.min(5_000, 50 * 2 ** (this.failures - 1)) : 0;
    const delay = Math.max(0, due - now, backoff);
    // setTimeout(0) even when catching up: the API keeps serving between two catch-up seals.
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.running = this.o.seal().then(
      () => {
        this.failures = 0;
      },
      (e: unknown) => {
        this.failures++;
        if (e instanceof SealDeclined) this.o.logger?.warn({ why: e.message }, 'seal declined; stepping down');
        else this.o.logger?.error({ err: e, failures: this.failures }, 'seal failed; will retry');
      },
    ).finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  /** Stops the clock; waits for a seal in progress to finish (a seal is never cut in half). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
