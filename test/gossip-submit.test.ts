// The direct-submission reply codec (src/gossip/submit.ts): every verdict list round-trips, and the
// decoder throws only DecodeError on any other input (random bytes, mutations, wrong counts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../src/core/bytes.js';
import { REJECT_REASONS } from '../src/shard/errors.js';
import type { SubmitResult } from '../src/shard/shard.js';
import { decodeSubmitResults, encodeSubmitResults } from '../src/gossip/submit.js';

const txid = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const verdict: fc.Arbitrary<SubmitResult> = fc.oneof(
  txid.map((t) => ({ ok: true as const, txid: t })),
  fc.record({ ok: fc.constant(false as const), txid, reason: fc.constantFrom(...REJECT_REASONS), message: fc.string({ maxLength: 80 }) }).map((r) => ({ ...r })),
  fc.record({ ok: fc.constant(false as const), reason: fc.constantFrom(...REJECT_REASONS), message: fc.string({ maxLength: 80 }) }).map((r) => ({ ...r })),
);

function onlyDecodeError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DecodeError, `threw ${String(e)}`);
  }
}

test('verdict lists round-trip byte-exactly', () => {
  fc.assert(fc.property(fc.array(verdict, { maxLength: 20 }), (rs) => {
    const b = encodeSubmitResults(rs);
    assert.deepEqual(decodeSubmitResults(b, rs.length), rs);
  }), { numRuns: 300, seed: 5 });
});

test('a reply with another count than the transactions sent is refused', () => {
  const b = encodeSubmitResults([{ ok: true, txid: 'ab'.repeat(32) }]);
  assert.throws(() => decodeSubmitResults(b, 2), DecodeError);
});

test('the decoder throws only DecodeError on random bytes and on mutated replies', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(5), (b, n) => onlyDecodeError(() => decodeSubmitResults(b, n))), { numRuns: 500, seed: 6 });
  fc.assert(fc.property(fc.array(verdict, { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (rs, i, x) => {
    const b = encodeSubmitResults(rs);
    b[i % b.length]! ^= x;
    onlyDecodeError(() => decodeSubmitResults(b, rs.length));
  }), { numRuns: 500, seed: 7 });
});
