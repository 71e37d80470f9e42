// Hybrid Logical Clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014), packed into one
// u64: (physical ms << 16) | logical counter. Strictly increasing per node: every value handed out
// is greater than every value handed out or observed before, even if the wall clock steps back.
// Persist the last value and pass it to the constructor after a restart: it never goes backwards.

export const HLC_LOGICAL_BITS = 16n;
const LOGICAL_MASK = (1n << HLC_LOGICAL_BITS) - 1n;
const U64_MAX = (1n << 64n) - 1n;

export function packHlc(ms: bigint, logical: bigint): bigint {
  return (ms << HLC_LOGICAL_BITS) | logical;
}

export function unpackHlc(h: bigint): { ms: bigint; logical: bigint } {
  return { ms: h >> HLC_LOGICAL_BITS, logical: h & LOGICAL_MASK };
}

export class HlcError extends Error {
  override name = 'HlcError';
}

export class Hlc {
  private last: bigint;
  private readonly clock: () => number;
  /** Refuse remote timestamps further than this ahead of our wall clock (Kulkarni's epsilon). */
  private readonly maxDriftMs: bigint;

  constructor(last = 0n, opts: { clock?: () => number; maxDriftMs?: number } = {}) {
    if (last < 0n || last > U64_MAX) throw new HlcError(`HLC value out of range: ${last}`);
    this.last = last;
    this.clock = opts.clock ?? Date.now;
    this.maxDriftMs = BigInt(opts.maxDriftMs ?? 60_000);
  }

  /** The last value handed out or observed (what to persist). */
  current(): bigint {
    return this.last;
  }

  /** Send/local event: a fresh timestamp, strictly greater than any before. */
  now(): bigint {
    const pt = packHlc(BigInt(Math.floor(this.clock())), 0n);
    // max(pt, last + 1): when the wall clock is behind or equal, the logical part counts up, and a
    // logical overflow carries into the ms part, which keeps the packed value strictly increasing.
    this.last = pt > this.last ? pt : this.last + 1n;
    if (this.last > U64_MAX) throw new HlcError('HLC exhausted u64');
    return this.last;
  }

  /** Receive event: merge a remote timestamp; returns the new local value (> both). */
  update(remote: bigint): bigint {
    if (remote < 0n || remote > U64_MAX) throw new HlcError(`remote HLC out of range: ${remote}`);
    const wall = BigInt(Math.floor(this.clock()));
    if (unpackHlc(remote).ms > wall + this.maxDriftMs) {
      throw new HlcError(`remote HLC ${unpackHlc(remote).ms} ms is more than ${this.maxDriftMs} ms ahead of the local clock`);
    }
    const pt = packHlc(wall, 0n);
    let m = this.last > remote ? this.last : remote;
    m = m + 1n;
    this.last = pt > m ? pt : m;
    return this.last;
  }
}
