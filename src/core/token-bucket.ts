// Token buckets: how much work a caller may still ask for. A bucket holds up to `capacity` tokens
// and regains `refillPerSecond`; a request takes some. Keyed buckets (one per client) stay bounded
// in number: the oldest is forgotten first (a forgotten client starts again with a full bucket).
// Pure apart from the injectable clock.

export interface TokenBucketOptions {
  capacity: number;
  refillPerSecond: number;
  /** Milliseconds (default Date.now); tests pin it. */
  now?: () => number;
}

export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(o: TokenBucketOptions) {
    if (!(o.capacity > 0) || !(o.refillPerSecond > 0)) throw new RangeError('token bucket: capacity and refill must be positive');
    this.capacity = o.capacity;
    this.refillPerSecond = o.refillPerSecond;
    this.now = o.now ?? Date.now;
    this.tokens = o.capacity;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.refillPerSecond);
    this.last = t;
  }

  /** Tokens available now (may be negative after takeOnCredit). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes `n` tokens if that many are there. */
  take(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Takes `n` tokens if any are left, going below zero if `n` is more: work of a size not known in
   * advance (or larger than the bucket) still gets done, and pays for itself in the wait that follows.
   */
  takeOnCredit(n: number): boolean {
    this.refill();
    if (this.tokens <= 0) return false;
    this.tokens -= n;
    return true;
  }

  /** Takes `n` tokens whatever is left (going below zero): work already done, paid in the wait that follows. */
  debit(n: number): void {
    this.refill();
    this.tokens -= n;
  }

  /** Milliseconds until `n` tokens are available (0 if they are now). */
  waitMs(n = 1): number {
    this.refill();
    return this.tokens >= n ? 0 : Math.ceil(((n - this.tokens) / this.refillPerSecond) * 1000);
  }
}

/** One bucket per key (e.g. a client's IP address), at most `maxKeys` of them. */
export class KeyedBuckets {
  private readonly o: TokenBucketOptions;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(o: TokenBucketOptions & { maxKeys?: number }) {
    this.o = { capacity: o.capacity, refillPerSecond: o.refillPerSecond, now: o.now };
    new TokenBucket(this.o); // validates the options
    this.maxKeys = o.maxKeys ?? 10_000;
  }

  get(key: string): TokenBucket {
    let b = this.buckets.get(key);
    if (b) {
      // most recently used last: the first key is the one to forget
      this.buckets.delete(key);
      this.buckets.set(key, b);
      return b;
    }
    b = new TokenBucket(this.o);
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    return b;
  }

  get size(): number {
    return this.buckets.size;
  }
}
