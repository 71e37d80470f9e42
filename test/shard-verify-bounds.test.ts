// What a submission may cost the shard before it is refused (real shard, real LevelDB, one real
// signature worker). Properties checked:
//  - refusals that admission would reach anyway (nonce beyond the window, amount above the
//    committed balance, a full mempool) are answered without a signature check;
//  - verification in flight is bounded: a batch that does not fit the queue is refused whole as
//    'overloaded' (HTTP 503) without any check, and nothing changes; once the queue drains it passes;
//  - a batch checked by the shard (as the gossip validator does) is admitted without verifying its
//    signatures again; a look-alike CheckedBatch not made by this shard is verified from scratch,
//    so a forged verdict cannot admit a badly signed transaction.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardId } from '../src/core/ids.js';
import { Shard, type CheckedBatch, type ShardOptions, type SubmitResult } from '../src/shard/shard.js';
import { httpStatusFor } from '../src/shard/errors.js';
import { addr, makeNetwork, tempDir, transfer, type TestNetwork } from './fixtures/shard-helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
const ROOT = '' as ShardId;

async function openShard(net: TestNetwork, extra: Partial<ShardOptions> = {}): Promise<Shard> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: ROOT, validatorKey: net.validators.get(ROOT)!, verifyWorkers: 1, clock: () => 1_700_000_000_000, ...extra });
  cleanups.push(() => s.close());
  return s;
}

const reasons = (rs: SubmitResult[]): string[] => rs.map((r) => (r.ok ? 'ok' : r.reason));

test('refusals admission would reach anyway cost no signature check', async () => {
  const net = makeNetwork({ accounts: 4, amount: 1000n });
  const s = await openShard(net, { mempoolMax: 2, nonceWindow: 8 });
  const [a, b, c, d] = net.users as [typeof net.users[0], typeof net.users[0], typeof net.users[0], typeof net.users[0]];
  const before = s.verifyStats().sigChecks;
  const rs = await s.submit([
    transfer(net, a, addr(b), 1n, 8n), // beyond the window
    transfer(net, a, addr(b), 1000n, 0n), // 1000 + fee 1 > balance 1000
  ]);
  assert.deepEqual(reasons(rs), ['nonce-too-far', 'insufficient-funds']);
  assert.equal(s.verifyStats().sigChecks, before, 'no signature was checked');
  // fill the pool (2), then one more is mempool-full without a check
  assert.deepEqual(reasons(await s.submit([transfer(net, a, addr(b), 1n, 0n), transfer(net, b, addr(a), 1n, 0n)])), ['ok', 'ok']);
  const full = s.verifyStats().sigChecks;
  assert.deepEqual(reasons(await s.submit([transfer(net, c, addr(d), 1n, 0n)])), ['mempool-full']);
  assert.equal(s.verifyStats().sigChecks, full, 'a full mempool answers without a signature check');
});

test('verification in flight is bounded: a batch beyond the queue is refused whole as overloaded (503), then passes once it drains', async () => {
  const net = makeNetwork({ accounts: 40, amount: 1000n });
  const s = await openShard(net, { verifyQueueMax: 30 });
  const users = net.users;
  const first = users.slice(0, 25).map((u) => transfer(net, u, addr(users[39]!), 1n, 0n));
  const second = users.slice(25, 35).map((u) => transfer(net, u, addr(users[39]!), 1n, 0n));
  const p1 = s.submit(first); // 25 in verification now
  assert.equal(s.verifyStats().verifying, 25);
  const before = s.stats();
  const r2 = await s.submit(second); // 25 + 10 > 30
  assert.deepEqual(new Set(reasons(r2)), new Set(['overloaded']));
  assert.equal(httpStatusFor('overloaded'), 503);
  assert.deepEqual(s.stats(), before, 'nothing changed');
  assert.deepEqual(new Set(reasons(await p1)), new Set(['ok']));
  assert.equal(s.verifyStats().verifying, 0, 'the queue drained');
  assert.deepEqual(new Set(reasons(await s.submit(second))), new Set(['ok']), 'accepted once there is room');
});

test('a batch checked by the shard is not verified again; a forged verdict is verified from scratch', async () => {
  const net = makeNetwork({ accounts: 4, amount: 1000n });
  const s = await openShard(net);
  const [a, b, c] = net.users as [typeof net.users[0], typeof net.users[0], typeof net.users[0]];
  const txs = [transfer(net, a, addr(b), 1n, 0n), transfer(net, b, addr(a), 1n, 0n)];
  const checked = await s.check(txs);
  assert.equal(checked.badSignatures, 0);
  const n = s.verifyStats().sigChecks;
  assert.deepEqual(reasons(await s.submit(txs, checked)), ['ok', 'ok']);
  assert.equal(s.verifyStats().sigChecks, n, 'admitted on the verdict already reached');

  const bad = transfer(net, c, addr(a), 1n, 0n);
  bad[bad.length - 1]! ^= 1;
  const real = await s.check([bad]);
  assert.equal(real.badSignatures, 1);
  const forged: CheckedBatch = { ...real, sigOk: [true], badSignatures: 0 };
  assert.deepEqual(reasons(await s.submit([bad], forged)), ['bad-signature'], 'a verdict not made by this shard is not trusted');
});
