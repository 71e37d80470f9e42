// Noise frame lengths read without a new Error per read (src/gossip/noise-short-reads.ts): the same
// big-endian value as noise's own reader for whole lengths, the same RangeError (one object, built once) when
// the length is not all there yet, and connections of another shape left alone. Real connections
// use it in every libp2p test (test/gossip-p2p.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uint8ArrayList } from 'uint8arraylist';
import { frameLength, quietShortReads } from '../src/gossip/noise-short-reads.js';

test('a frame length reads as noise reads it, from bytes and from a list of chunks', () => {
  for (const b of [[0, 0], [0, 1], [1, 0], [0xff, 0xff], [0x12, 0x34, 9, 9]]) {
    const u = new Uint8Array(b);
    const want = b[0]! * 256 + b[1]!;
    assert.equal(frameLength(u), want);
    assert.equal(frameLength(new Uint8ArrayList(u.subarray(0, 1), u.subarray(1))), want);
  }
  assert.equal(frameLength.bytes, 2);
});

test('fewer than 2 bytes throw a RangeError (what the decoder waits on), the same object every time', () => {
  const errs: unknown[] = [];
  for (const b of [new Uint8Array(0), new Uint8Array(1), new Uint8ArrayList(), new Uint8ArrayList(new Uint8Array(1))]) {
    try { frameLength(b); } catch (e) { errs.push(e); }
  }
  assert.equal(errs.length, 4);
  assert.ok(errs.every((e) => e instanceof RangeError && e === errs[0]));
});

test("only a connection with noise's decoder is changed", () => {
  const noiseLike = { decoder: { lengthDecoder: (): number => 0 } };
  assert.equal(quietShortReads(noiseLike), true);
  assert.equal(noiseLike.decoder.lengthDecoder, frameLength);
  const other = { decoder: {} };
  assert.equal(quietShortReads(other), false);
  assert.deepEqual(other, { decoder: {} });
  assert.equal(quietShortReads(undefined), false);
});
