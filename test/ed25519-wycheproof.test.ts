// Property: every ed25519 verifier on the transaction path (core verify on the calling thread and
// the worker pool) and the remembering verifier of the hierarchy (verifyCached) agrees with Project
// Wycheproof's `result` on all 151 cases.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex } from '../src/core/bytes.js';
import { generateKeyPair, sign, verify, verifyCached, VERIFIED_CACHE_SIZE } from '../src/core/ed25519.js';
import { VerifyPool } from '../src/shard/verify-pool.js';

interface Case { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid'; comment: string }
const suite = JSON.parse(readFileSync(new URL('./vectors/wycheproof_ed25519_test.json', import.meta.url), 'utf8')) as {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: Case[] }[];
};
const cases = suite.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: fromHex(g.publicKey.pk), msgB: fromHex(t.msg), sigB: fromHex(t.sig) })));

const pool = new VerifyPool(2);
after(() => pool.close());

test('the suite has all 151 Wycheproof cases, valid and invalid', () => {
  assert.equal(cases.length, 151);
  assert.equal(suite.numberOfTests, 151);
  assert.ok(cases.some((c) => c.result === 'valid') && cases.some((c) => c.result === 'invalid'));
});

test('core verify (libsodium) agrees with Wycheproof on every case', () => {
  for (const c of cases) {
    assert.equal(verify(c.msgB, c.sigB, c.pk), c.result === 'valid', `tcId ${c.tcId} (${c.comment})`);
  }
});

test('verifyCached agrees with Wycheproof on every case, the first time and again (a remembered verdict is the verdict)', () => {
  for (let round = 0; round < 2; round++) {
    for (const c of cases) assert.equal(verifyCached(c.msgB, c.sigB, c.pk), c.result === 'valid', `round ${round}, tcId ${c.tcId} (${c.comment})`);
  }
});

test('verifyCached: after a valid signature was remembered, one flipped bit of key, signature or message is checked in full and refused; memory stays bounded', () => {
  const kp = generateKeyPair();
  const other = generateKeyPair();
  const msg = new Uint8Array(32).fill(7);
  const sig = sign(msg, kp.secretKey);
  assert.equal(verifyCached(msg, sig, kp.publicKey), true);
  assert.equal(verifyCached(msg, sig, kp.publicKey), true, 'remembered');
  for (let bit = 0; bit < 8; bit++) {
    const m = msg.slice(); m[bit * 4]! ^= 1 << bit;
    const s = sig.slice(); s[bit * 8]! ^= 1 << bit;
    assert.equal(verifyCached(m, sig, kp.publicKey), false, `message bit ${bit}`);
    assert.equal(verifyCached(msg, s, kp.publicKey), false, `signature bit ${bit}`);
  }
  assert.equal(verifyCached(msg, sig, other.publicKey), false, 'another key');
  assert.equal(verifyCached(msg, sig.subarray(0, 63), kp.publicKey), false, 'short signature');
  assert.equal(verifyCached(msg, sig, kp.publicKey.subarray(0, 31)), false, 'short key');
  // more distinct valid signatures than it keeps: every one still verifies (the evicted are checked again)
  const many = Array.from({ length: VERIFIED_CACHE_SIZE + 50 }, (_, i) => { const m = new Uint8Array(32); new DataView(m.buffer).setUint32(0, i); return m; });
  const sigs = many.map((m) => sign(m, kp.secretKey));
  many.forEach((m, i) => assert.equal(verifyCached(m, sigs[i]!, kp.publicKey), true));
  assert.equal(verifyCached(many[0]!, sigs[0]!, kp.publicKey), true, 'evicted, verified again');
  assert.equal(verifyCached(many[0]!, sigs[1]!, kp.publicKey), false);
});

test('the worker pool agrees with Wycheproof on every case, in one batch split over workers', async () => {
  const ok = await pool.verifyRaw(cases.map((c) => ({ publicKey: c.pk, signature: c.sigB, message: c.msgB })));
  assert.equal(ok.length, cases.length);
  cases.forEach((c, i) => assert.equal(ok[i], c.result === 'valid', `tcId ${c.tcId} (${c.comment})`));
});

test('the worker pool answers small batches in order (one item per call)', async () => {
  const some = cases.slice(0, 20);
  const res = await Promise.all(some.map((c) => pool.verifyRaw([{ publicKey: c.pk, signature: c.sigB, message: c.msgB }])));
  some.forEach((c, i) => assert.equal(res[i]![0], c.result === 'valid', `tcId ${c.tcId}`));
});

test('the worker pool and the in-thread verifier agree on valid, tampered and malformed signed transfers', async () => {
  const { generateKeyPair } = await import('../src/core/ed25519.js');
  const { encodeSignedTx, signTransfer, verifySignedTxBytes } = await import('../src/shard/tx.js');
  const kp = generateKeyPair();
  const items: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    const b = encodeSignedTx(signTransfer({ network: i % 2 ? 'net-a' : 'a-much-longer-network-id-0123456789', from: kp.publicKey, to: new Uint8Array(20).fill(i), amount: BigInt(i + 1), fee: 1n, nonce: BigInt(i), ts: 0n }, kp.secretKey));
    if (i % 3 === 1) b[b.length - 1 - (i % 64)]! ^= 1; // signature bit flip
    if (i % 3 === 2) b[10 + (i % 50)]! ^= 4; // transfer bit flip (signed message changes)
    items.push(i % 11 === 0 ? b.subarray(0, b.length - 1) : b); // truncated: never valid
  }
  const ok = await pool.verifyTxs(items);
  assert.deepEqual(ok, items.map(verifySignedTxBytes));
  assert.ok(ok.filter(Boolean).length >= 10 && ok.some((x) => !x));
});

test('verifyCached remembers bytes, not arrays: a key or message array changed in place after its signature was remembered is checked in full and refused', () => {
  const kp = generateKeyPair();
  const other = generateKeyPair();
  const msg = new Uint8Array(32).fill(3);
  const key = kp.publicKey.slice();
  const sig = sign(msg, kp.secretKey);
  assert.equal(verifyCached(msg, sig, key), true);
  msg[5]! ^= 0x10;
  assert.equal(verifyCached(msg, sig, key), false, 'message changed in place');
  msg[5]! ^= 0x10;
  assert.equal(verifyCached(msg, sig, key), true, 'restored: remembered again');
  key.set(other.publicKey);
  assert.equal(verifyCached(msg, sig, key), false, 'key changed in place');
});
