// Property: every ed25519 verifier on the transaction path (core verify on the calling thread and
// the worker pool) agrees with Project Wycheproof's `result` on all 151 cases.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex } from '../src/core/bytes.js';
import { verify } from '../src/core/ed25519.js';
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
