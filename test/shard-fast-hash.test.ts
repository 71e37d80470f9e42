// The libsodium hot-path hashes are byte-identical to the reference definitions in src/core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { taggedHash } from '../src/core/hash.js';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { shardIndex } from '../src/core/ids.js';
import { addressFast, addressHexAt, homeIndexAt, taggedHasher } from '../src/shard/fast-hash.js';
import { txIdOfSigned, txIdOfSignedInto } from '../src/shard/tx.js';
import { toHex } from '../src/core/bytes.js';

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

test('addressHexAt is the hex of addressFromPublicKey of the key at the offset, and writes the address at out[off, off + 20) only', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 80 }), fc.nat(48), fc.nat(40), (b, at0, off) => {
    const at = at0 % (b.length - 31);
    const out = new Uint8Array(off + 20 + 7).fill(0xee);
    const want = addressFromPublicKey(b.subarray(at, at + 32));
    assert.equal(addressHexAt(b, at, out, off), toHex(want));
    assert.deepEqual(out.subarray(off, off + 20), new Uint8Array(want));
    assert.ok(out.subarray(0, off).every((x) => x === 0xee) && out.subarray(off + 20).every((x) => x === 0xee), 'nothing else written');
  }), { numRuns: 200 });
  assert.throws(() => addressHexAt(new Uint8Array(40), 9, new Uint8Array(20), 0), RangeError);
});

test('txIdOfSignedInto writes txIdOfSigned at out[off, off + 32), and a later hash does not change it', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(299), fc.nat(64), (b, len0, off) => {
    const len = len0 % (b.length + 1);
    const out = new Uint8Array(off + 32);
    txIdOfSignedInto(b, len, out, off);
    const copy = out.slice(off);
    txIdOfSigned(new Uint8Array(5), 5); // the shared output is overwritten; the written id is not
    assert.deepEqual(out.subarray(off), copy);
    assert.deepEqual(copy, txIdOfSigned(b, len));
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

test('homeIndexAt (the API routing hot path) equals shardIndex(homeShard(address)) at every depth, in doubles and past them', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 19 }), fc.nat({ max: 40 }), (pk, depth, at) => {
    const b = new Uint8Array(at + 32 + 7);
    b.set(pk, at);
    assert.equal(homeIndexAt(b, at, depth), shardIndex(homeShard(addressFromPublicKey(pk), depth)));
  }), { numRuns: 500 });
  assert.throws(() => homeIndexAt(new Uint8Array(40), 9, 1), RangeError);
});
