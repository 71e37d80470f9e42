// The libsodium hot-path hashes are byte-identical to the reference definitions in src/core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { taggedHash } from '../src/core/hash.js';
import { addressFromPublicKey } from '../src/core/address.js';
import { addressFast, taggedHasher } from '../src/shard/fast-hash.js';

test('taggedHasher(tag)(data) equals taggedHash(tag, data) for any tag and data (including > scratch size)', () => {
  fc.assert(fc.property(fc.constantFrom('tx', 'tx-sign', 'account-key', 'x'), fc.uint8Array({ maxLength: 2000 }), (tag, data) => {
    assert.deepEqual(taggedHasher(tag)(data), taggedHash(tag, data));
  }), { numRuns: 300 });
});

test('addressFast equals addressFromPublicKey', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (pk) => {
    assert.deepEqual(new Uint8Array(addressFast(pk)), new Uint8Array(addressFromPublicKey(pk)));
  }), { numRuns: 200 });
});

test('hex equals core toHex on any bytes, including views into larger buffers', async () => {
  const { toHex } = await import('../src/core/bytes.js');
  const { hex } = await import('../src/shard/fast-hash.js');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(10), fc.nat(10), (b, s, e) => {
    const v = b.subarray(Math.min(s, b.length), Math.max(Math.min(s, b.length), b.length - e));
    assert.equal(hex(v), toHex(v));
  }));
});
