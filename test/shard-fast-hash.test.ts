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
