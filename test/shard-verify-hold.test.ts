// The signature workers' hold (src/shard/verify-pool.ts hold/release): while a node seals and its
// epoch aggregates, its workers start no new slice of signatures, so that work gets the core. A
// held batch is checked once released, or by itself at the hold's deadline (a missed release never
// stalls verification), with the same verdicts as unheld.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { VerifyPool } from '../src/shard/verify-pool.js';
import { makeNetwork, transfer, addr } from './fixtures/shard-helpers.js';

const net = makeNetwork({ accounts: 2 });
const [a, b] = net.users as [typeof net.users[0], typeof net.users[0]];
const txs = Array.from({ length: 70 }, (_, i) => transfer(net, a, addr(b), 1n, BigInt(i)));
const bad = txs[3]!.slice();
bad[bad.length - 1]! ^= 1;
const batch = [...txs.slice(0, 3), bad, ...txs.slice(4)];
const pool = new VerifyPool(1);
after(() => pool.close());

test('a held pool checks nothing until released, then gives the same verdicts', async () => {
  const expected = await pool.verifyTxs(batch);
  assert.equal(expected.filter((x) => !x).length, 1);
  pool.hold(Date.now() + 10_000);
  let done = false;
  const p = pool.verifyTxs(batch).then((r) => ((done = true), r));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, 'checked while held');
  const t = Date.now();
  pool.release();
  assert.deepEqual(await p, expected);
  assert.ok(Date.now() - t < 2000, 'released promptly');
});

test('a hold that is never released ends by itself at its deadline', async () => {
  const t = Date.now();
  pool.hold(t + 400);
  const r = await pool.verifyTxs(batch);
  const waited = Date.now() - t;
  assert.ok(waited >= 350, `waited ${waited} ms`);
  assert.ok(waited < 5000, `waited ${waited} ms`);
  assert.equal(r.filter((x) => !x).length, 1);
});
