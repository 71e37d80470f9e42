// How often a periodic catch-up runs: every interval while it brings something, and after passes
// that brought nothing, only every 2nd, 4th, ... up to every 2^maxLog2-th interval. Pure: the
// caller's timer keeps the interval and asks `due()` at each tick.

export class IdleBackoff {
  private readonly maxLog2: number;
  private idle = 0; // passes in a row that brought nothing
  private skip = 0; // ticks still to skip

  constructor(maxLog2: number) {
    if (!Number.isInteger(maxLog2) || maxLog2 < 0 || maxLog2 > 20) throw new RangeError(`maxLog2 ${maxLog2} must be an integer in 0..20`);
    this.maxLog2 = maxLog2;
  }

  /** Whether this tick runs a pass (a skipped tick counts down). */
  due(): boolean {
    if (this.skip === 0) return true;
    this.skip--;
    return false;
  }

  /** A pass ended: `progress` (it brought something) resets the pace, nothing doubles the wait. */
  done(progress: boolean): void {
    this.idle = progress ? 0 : Math.min(this.idle + 1, this.maxLog2);
    this.skip = 2 ** this.idle - 1;
  }
}
