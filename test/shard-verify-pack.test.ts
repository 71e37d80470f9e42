// The verify workers' message buffer (src/shard/verify-pool.ts packBatch): whatever the items' layout
// (views into one buffer, with gaps, out of order, or separate arrays), the worker reads back exactly
// each item's bytes at the offset and length the header gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { packBatch } from '../src/shard/verify-pool.js';

function unpack(buf: ArrayBuffer): Uint8Array[] {
  const n = new Uint32Array(buf, 0, 1)[0]!;
  const h = new Uint32Array(buf, 0, 1 + 2 * n);
  const data = new Uint8Array(buf, 4 * (1 + 2 * n));
  return Array.from({ length: n }, (_, i) => data.slice(h[1 + 2 * i]!, h[1 + 2 * i]! + h[2 + 2 * i]!));
}

test('packBatch carries each item of [start, end) byte for byte, in order, for every layout of the items', () => {
  const body = new Uint8Array(randomBytes(20_000));
  const views = Array.from({ length: 60 }, (_, i) => body.subarray(300 * i + 7, 300 * i + 7 + 150 + (i % 40))); // one buffer, gaps
  const shuffled = [...views].reverse(); // one buffer, offsets descending
  const far = [body.subarray(0, 100), body.subarray(19_900, 20_000)]; // one buffer, a gap far larger than the items
  const separate = Array.from({ length: 9 }, (_, i) => new Uint8Array(randomBytes(100 + i))); // one array each
  const mixed = [views[0]!, separate[0]!, views[1]!, new Uint8Array(0)];
  for (const items of [views, shuffled, far, separate, mixed]) {
    for (const [start, end] of [[0, items.length], [1, items.length - 1], [0, 1]] as const) {
      const got = unpack(packBatch(items, start, end));
      assert.deepEqual(got, items.slice(start, end).map((x) => x.slice()));
    }
  }
});

test('packBatch copies a span of one buffer only when the gaps are small: a far-apart pair is copied item by item', () => {
  const body = new Uint8Array(1 << 20);
  const items = [body.subarray(0, 200), body.subarray((1 << 20) - 200)];
  assert.ok(packBatch(items, 0, 2).byteLength < 1000, 'not the megabyte between them');
  const close = [body.subarray(0, 200), body.subarray(200, 400)];
  assert.equal(packBatch(close, 0, 2).byteLength, 4 * 5 + 400);
});
