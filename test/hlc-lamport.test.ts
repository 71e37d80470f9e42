// Clocks: the HLC is strictly increasing whatever the wall clock does and after a restart from its
// persisted value; the Lamport clock follows L = max(L, received) + 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Hlc, HlcError, packHlc, unpackHlc } from '../src/core/hlc.js';
import { LamportClock } from '../src/core/lamport.js';

test('HLC values are strictly increasing under any wall clock (jumps back, stalls) and any received values', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.option(fc.integer({ min: 0, max: 10_000 }))), { minLength: 1, maxLength: 300 }),
    (steps) => {
      let wall = 0;
      const h = new Hlc(0n, { clock: () => wall, maxDriftMs: 1e9 });
      let last = -1n;
      for (const [w, remote] of steps) {
        wall = w;
        const v = remote === null ? h.now() : h.update(packHlc(BigInt(remote), 3n));
        assert.ok(v > last, `${v} > ${last}`);
        if (remote !== null) assert.ok(v > packHlc(BigInt(remote), 3n), 'greater than the received value');
        assert.ok(unpackHlc(v).ms >= BigInt(w), 'never behind the wall clock');
        last = v;
      }
    }), { numRuns: 200 });
});

test('HLC tracks the wall clock when it moves forward (logical part resets to 0)', () => {
  let wall = 1000;
  const h = new Hlc(0n, { clock: () => wall });
  assert.equal(h.now(), packHlc(1000n, 0n));
  assert.equal(h.now(), packHlc(1000n, 1n));
  wall = 1005;
  assert.equal(h.now(), packHlc(1005n, 0n));
});

test('HLC logical overflow carries into the ms part and stays strictly increasing', () => {
  const wall = 7;
  const h = new Hlc(packHlc(7n, 0xfffen), { clock: () => wall });
  const a = h.now();
  const b = h.now();
  assert.deepEqual(unpackHlc(a), { ms: 7n, logical: 0xffffn });
  assert.deepEqual(unpackHlc(b), { ms: 8n, logical: 0n });
  assert.ok(b > a);
});

test('HLC restarted from its persisted value never goes backwards, even with the wall clock set back', () => {
  let wall = 50_000;
  const h1 = new Hlc(0n, { clock: () => wall });
  let v = 0n;
  for (let i = 0; i < 10; i++) v = h1.now();
  wall = 10; // the machine's clock went back while we were down
  const h2 = new Hlc(v, { clock: () => wall });
  assert.ok(h2.now() > v);
});

test('HLC refuses a remote timestamp too far ahead of the wall clock and stays unchanged', () => {
  const h = new Hlc(0n, { clock: () => 1000, maxDriftMs: 500 });
  const before = h.now();
  assert.throws(() => h.update(packHlc(2000n, 0n)), HlcError);
  assert.equal(h.current(), before);
});

test('Lamport: tick = max(L, max observed) + 1; observations never move it backwards', () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.constant<'tick'>('tick'), fc.bigInt({ min: 0n, max: 1n << 40n })), { maxLength: 100 }), (ops) => {
    const l = new LamportClock(5n);
    let model = 5n;
    let seen = 5n;
    for (const op of ops) {
      if (op === 'tick') {
        const before = l.current();
        model = (seen > model ? seen : model) + 1n;
        assert.equal(l.tick(), model);
        assert.ok(l.current() > before);
      } else {
        l.observe(op);
        if (op > seen) seen = op;
      }
    }
  }), { numRuns: 200 });
});
