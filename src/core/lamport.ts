// Lamport clock (docs/PROTOCOL.md): L = max(L, L_received) + 1 at each local event (an epoch seal).
// Received values are folded in as they arrive and take effect at the next tick.

const U64_MAX = (1n << 64n) - 1n;

export class LamportClock {
  private value: bigint;
  private observed: bigint;

  constructor(start = 0n) {
    this.value = start;
    this.observed = start;
  }

  current(): bigint {
    return this.value;
  }

  /** Receive rule: remember the largest value seen from others. */
  observe(l: bigint): void {
    if (l < 0n || l >= U64_MAX) return; // not a usable u64: ignore rather than poison the clock
    if (l > this.observed) this.observed = l;
  }

  /** What the next tick would return, without ticking. */
  peekNext(): bigint {
    return (this.observed > this.value ? this.observed : this.value) + 1n;
  }

  /** Local event: L = max(L, observed) + 1. */
  tick(): bigint {
    this.value = this.peekNext();
    return this.value;
  }

  /** Restore after a failed commit (the tick was never made durable). */
  reset(to: bigint): void {
    this.value = to;
  }
}
