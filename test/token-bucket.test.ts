// Token buckets (src/core/token-bucket.ts) with a pinned clock: capacity, refill, credit, wait,
// and a bounded number of keyed buckets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedBuckets, TokenBucket } from '../src/core/token-bucket.js';

test('a bucket gives at most its capacity at once, then refills at its rate, never above capacity', () => {
  let now = 0;
  const b = new TokenBucket({ capacity: 3, refillPerSecond: 2, now: () => now });
  assert.ok(b.take() && b.take() && b.take());
  assert.equal(b.take(), false);
  assert.equal(b.waitMs(1), 500);
  now = 500;
  assert.ok(b.take());
  assert.equal(b.take(), false);
  now = 100_000;
  assert.equal(b.available(), 3);
});

test('work on credit: taken while any token is left, the debt is waited out; debit always', () => {
  let now = 0;
  const b = new TokenBucket({ capacity: 10, refillPerSecond: 10, now: () => now });
  assert.ok(b.takeOnCredit(25));
  assert.equal(b.available(), -15);
  assert.equal(b.takeOnCredit(1), false);
  assert.equal(b.take(), false);
  now = 1600;
  assert.ok(b.take());
  b.debit(5);
  assert.ok(b.available() < 0);
});

test('keyed buckets: one per key, the least recently used forgotten past maxKeys', () => {
  const k = new KeyedBuckets({ capacity: 1, refillPerSecond: 1, now: () => 0, maxKeys: 2 });
  assert.ok(k.get('a').take());
  assert.equal(k.get('a').take(), false);
  assert.ok(k.get('b').take());
  k.get('a'); // a is now more recent than b
  assert.ok(k.get('c').take()); // forgets b
  assert.equal(k.size, 2);
  assert.equal(k.get('a').take(), false, 'a was kept (still empty)');
  assert.ok(k.get('b').take(), 'b was forgotten: a fresh bucket');
});

test('bad options are refused', () => {
  assert.throws(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }), RangeError);
  assert.throws(() => new KeyedBuckets({ capacity: 1, refillPerSecond: -1 }), RangeError);
});
