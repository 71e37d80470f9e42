// The chaos bank test, bounded for the suite: a 3-shard cluster of real processes on loopback,
// 3 concurrent clients making local and cross-shard transfers, a seeded nemesis (SIGKILL + restart, SIGSTOP/SIGCONT, gossip partitions),
// then the checker (scripts/chaos-lib.ts). Properties: acknowledged commits survive; every committed
// transaction is present once with a verifying proof; balances equal a replay of the committed set
// (none applied twice, none negative); nonces strictly increase per sender; supply is conserved at
// every final global snapshot; all nodes agree on the global root of every epoch; every fault heals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from '../../scripts/chaos-lib.js';

// Proving has its own end-to-end test (proof.test.ts); here it would only compete for the cores.
process.env.SMT_NO_PROVE ??= '1';

const SEED = Number(process.env.SMT_CHAOS_SEED ?? 7);

test(`chaos (seed ${SEED}): with local and cross-shard transfers under kills, pauses and partitions no acknowledged transaction is lost or applied twice, supply is conserved and the nodes converge`, { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const r = await runChaos({ seed: SEED, durationS: 35, depth: 1, clients: 3, accounts: 18, epochMs: 1000, gapS: [1, 2], holdS: [1, 2.5], recoverTimeoutS: 25, crossShard: true, print: (l) => { lines.push(l); console.log(l); } });
  assert.deepEqual(r.anomalies, [], lines.join('\n'));
  assert.deepEqual(r.inconclusive, [], 'the checker could check everything');
  assert.ok(r.ops.committed > 50, `transactions committed under faults: ${r.ops.committed}`);
  assert.ok(r.ops.ackedCommitted > 10, `clients acknowledged commits: ${r.ops.ackedCommitted}`);
  for (const k of ['kill', 'pause', 'partition']) assert.ok(r.faults.some((f) => f.kind === k), `a ${k} fault was injected`);
  assert.ok(r.faults.every((f) => f.recoveryS !== null), 'every fault recovered');
  assert.ok(r.globalEpochs.compared > 5, 'global snapshots compared across nodes');
});
