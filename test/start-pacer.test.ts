// The staggered start of `cluster up` (src/cluster/start-pacer.ts): never more than `limit` processes
// between spawn and first answer, every process spawned exactly once, 0 = all at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StartPacer } from '../src/cluster/start-pacer.js';

test('at most `limit` items are starting at once, and each is spawned once, in order', () => {
  const items = Array.from({ length: 27 }, (_, i) => i);
  const p = new StartPacer(items, 4);
  const answered = new Set<number>();
  const spawned: number[] = [];
  for (let round = 0; round < 100 && spawned.length < items.length; round++) {
    const now = p.next((x) => answered.has(x));
    spawned.push(...now);
    const starting = spawned.filter((x) => !answered.has(x));
    assert.ok(starting.length <= 4, `round ${round}: ${starting.length} starting at once`);
    // one of the starting ones answers each round (the oldest)
    if (starting.length) answered.add(starting[0]!);
  }
  assert.deepEqual(spawned, items);
  assert.equal(p.notStarted, 0);
});

test('nothing more is spawned while every starting item is still silent', () => {
  const p = new StartPacer(['a', 'b', 'c'], 2);
  assert.deepEqual(p.next(() => false), ['a', 'b']);
  assert.deepEqual(p.next(() => false), []);
  assert.deepEqual(p.inStartUp, ['a', 'b']);
  assert.deepEqual(p.next((x) => x === 'b'), ['c']);
  assert.deepEqual(p.next(() => true), []);
  assert.equal(p.notStarted, 0);
});

test('limit 0 spawns everything at once; a bad limit is refused', () => {
  assert.deepEqual(new StartPacer([1, 2, 3], 0).next(() => false), [1, 2, 3]);
  assert.throws(() => new StartPacer([1], -1), /non-negative integer/);
  assert.throws(() => new StartPacer([1], 1.5), /non-negative integer/);
});
