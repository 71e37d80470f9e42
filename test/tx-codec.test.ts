// Transaction encoding: canonical round trip, strict decoding, domain-separated signatures and ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../src/core/bytes.js';
import { generateKeyPair, keyPairFromSeed, sign } from '../src/core/ed25519.js';
import { taggedHash } from '../src/core/hash.js';
import {
  decodeSignedTx, encodeSignedTx, encodeTransfer, signTransfer, txId, verifyTxSignature, verifySignedTxBytes, MAX_TX_BYTES,
  type Transfer,
} from '../src/shard/tx.js';

const U64 = (1n << 64n) - 1n;
const arbTransfer: fc.Arbitrary<Transfer> = fc.record({
  network: fc.stringMatching(/^[a-z0-9-]{1,64}$/),
  from: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  to: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  amount: fc.bigInt({ min: 0n, max: U64 }),
  fee: fc.bigInt({ min: 0n, max: U64 }),
  nonce: fc.bigInt({ min: 0n, max: U64 }),
  ts: fc.bigInt({ min: 0n, max: U64 }),
});
const arbSigned = fc.record({ tx: arbTransfer, signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) });

test('encode -> decode is the identity on every signed transfer, and the encoding is within MAX_TX_BYTES', () => {
  fc.assert(fc.property(arbSigned, (s) => {
    const b = encodeSignedTx(s);
    assert.ok(b.length <= MAX_TX_BYTES);
    const d = decodeSignedTx(b);
    assert.deepEqual(d, { tx: { ...s.tx, from: new Uint8Array(s.tx.from), to: new Uint8Array(s.tx.to) }, signature: new Uint8Array(s.signature) });
    assert.deepEqual(encodeSignedTx(d), b);
  }), { numRuns: 300 });
});

test('the decoder throws only DecodeError on arbitrary bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
    try {
      decodeSignedTx(b);
    } catch (e) {
      assert.ok(e instanceof DecodeError, `threw ${(e as Error).name}: ${(e as Error).message}`);
    }
  }), { numRuns: 2000 });
});

test('the decoder throws only DecodeError on mutations of valid encodings (bit flips, truncation, extension)', () => {
  fc.assert(fc.property(arbSigned, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: -8, max: 8 }), (s, pos, byte, dlen) => {
    const b = encodeSignedTx(s);
    const m = new Uint8Array(Math.max(0, b.length + dlen));
    m.set(b.subarray(0, Math.min(b.length, m.length)));
    if (m.length > 0) m[pos % m.length] = byte;
    try {
      const d = decodeSignedTx(m);
      assert.deepEqual(encodeSignedTx(d), m, 'whatever decodes re-encodes to the same bytes (canonical)');
    } catch (e) {
      assert.ok(e instanceof DecodeError, `threw ${(e as Error).name}`);
    }
  }), { numRuns: 2000 });
});

test('trailing bytes, a wrong version and non-canonical network ids are refused', () => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(1));
  const s = signTransfer({ network: 'net', from: kp.publicKey, to: new Uint8Array(20), amount: 5n, fee: 1n, nonce: 0n, ts: 1n }, kp.secretKey);
  const b = encodeSignedTx(s);
  assert.throws(() => decodeSignedTx(new Uint8Array([...b, 0])), DecodeError);
  const v = new Uint8Array(b); v[0] = 2;
  assert.throws(() => decodeSignedTx(v), DecodeError);
  const u = new Uint8Array(b); u[5] = 'N'.charCodeAt(0); // uppercase: not in [a-z0-9-]
  assert.throws(() => decodeSignedTx(u), DecodeError);
  assert.throws(() => decodeSignedTx(b.subarray(0, b.length - 1)), DecodeError);
});

test('txid and signing hash are domain separated and bind every field', () => {
  fc.assert(fc.property(arbTransfer, (t) => {
    const enc = encodeTransfer(t);
    assert.deepEqual(txId(t), taggedHash('tx', enc));
    assert.notDeepEqual(taggedHash('tx', enc), taggedHash('tx-sign', enc));
    const t2 = { ...t, fee: t.fee === 0n ? 1n : t.fee - 1n };
    assert.notDeepEqual(txId(t2), txId(t));
  }), { numRuns: 100 });
});

test('a signature verifies for its transfer and for no modification of it; a raw-message signature does not', () => {
  const kp = generateKeyPair();
  const t: Transfer = { network: 'smt-test', from: kp.publicKey, to: new Uint8Array(20).fill(9), amount: 10n, fee: 1n, nonce: 3n, ts: 123n };
  const s = signTransfer(t, kp.secretKey);
  assert.ok(verifyTxSignature(s));
  assert.ok(verifySignedTxBytes(encodeSignedTx(s)));
  for (const m of [{ ...t, amount: 11n }, { ...t, nonce: 4n }, { ...t, network: 'smt-tesu' }, { ...t, to: new Uint8Array(20).fill(8) }]) {
    assert.equal(verifyTxSignature({ tx: m, signature: s.signature }), false);
    assert.equal(verifySignedTxBytes(encodeSignedTx({ tx: m, signature: s.signature })), false);
  }
  // signing the plain encoding (no domain tag) must not produce a valid tx signature
  const naive = { tx: t, signature: sign(encodeTransfer(t), kp.secretKey) };
  assert.equal(verifyTxSignature(naive), false);
  assert.throws(() => signTransfer({ ...t, from: generateKeyPair().publicKey }, kp.secretKey), RangeError);
});

test('network ids decode correctly when consecutive transactions alternate between networks (id cache)', () => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(3));
  const mk = (network: string) => encodeSignedTx(signTransfer({ network, from: kp.publicKey, to: new Uint8Array(20), amount: 1n, fee: 0n, nonce: 0n, ts: 0n }, kp.secretKey));
  for (const n of ['aa', 'ab', 'ab', 'aa', 'ba', 'abc', 'aa']) assert.equal(decodeSignedTx(mk(n)).tx.network, n);
  const bad = mk('ab');
  bad[6] = 'A'.charCodeAt(0);
  assert.throws(() => decodeSignedTx(bad), DecodeError);
});
