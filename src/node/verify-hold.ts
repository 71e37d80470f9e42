// When a networked node's signature workers yield (pure; the node wires it to its epoch clock, its
// seals and its global snapshots). Under load on shared cores the global snapshot of an epoch waits
// for the last of all the shards' seals and then for the aggregation, and signature checks of new
// transactions compete with both for the CPU. So from each seal the workers start no new slice of
// signatures (verify-pool.ts hold) until the epoch's global snapshot is final here, at most `maxMs`.
// After an epoch whose global came later than that (a slow or missing shard: then the round
// timeouts, not the CPU, decide when it forms), the next hold ends with the node's own seal, so a
// network short of a shard does not check signatures only part of each epoch.
export class VerifyHold {
  private readonly maxMs: number;
  /** The latest seal: its epoch, when it started, whether that epoch's global is final here. */
  private last: { epoch: number; start: number; global: boolean } | undefined;
  private holding = false;
  /** Whether the latest epoch whose global is known had it within maxMs of its seal. */
  private inTime = true;

  constructor(maxMs: number) {
    this.maxMs = maxMs;
  }

  /** A seal of `epoch` starts at `now`: the time until which the workers wait (undefined: no hold). */
  sealStarts(epoch: number, now: number): number | undefined {
    if (this.maxMs <= 0) return undefined;
    if (this.last && !this.last.global) this.inTime = false; // no global for the previous epoch before this seal
    this.last = { epoch, start: now, global: false };
    this.holding = true;
    return now + this.maxMs;
  }

  /** The seal of `epoch` ended: true if the workers go on now (the previous global was late). */
  sealEnds(epoch: number): boolean {
    if (!this.holding || this.last?.epoch !== epoch || this.inTime) return false;
    this.holding = false;
    return true;
  }

  /** The global snapshot of `epoch` is final here at `now`: true if the workers go on now. */
  globalFinal(epoch: number, now: number): boolean {
    const l = this.last;
    if (!l || epoch < l.epoch || l.global) return false;
    l.global = true;
    this.inTime = now - l.start <= this.maxMs;
    const release = this.holding && this.inTime; // past maxMs the hold has ended by itself
    this.holding = false;
    return release;
  }
}

/**
 * How long, at most, a networked node's signature workers wait from each seal for the epoch's
 * global snapshot: 0.75 of an epoch. The epochs that set the p99 are those whose last seal ends
 * late (0.7-1.2 s after the scheduled time in the first measurements, with a 0.6 cap); a network
 * whose globals keep coming just inside the cap still checks signatures a quarter of each epoch.
 * `SMT_VERIFY_HOLD_MS` overrides it, 0 = no hold (for measuring, back to back).
 */
export function verifyHoldMs(epochMs: number, env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SMT_VERIFY_HOLD_MS;
  if (v !== undefined && v !== '') {
    const ms = Number(v);
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`SMT_VERIFY_HOLD_MS must be a number of ms >= 0, got ${JSON.stringify(v)}`);
    return ms;
  }
  return Math.floor(0.75 * epochMs);
}
