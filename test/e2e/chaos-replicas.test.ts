// The chaos bank test with replicated shards, bounded for the suite: 3 shards x 3 replicas (9
// processes), cross-shard transfers, and a nemesis that also kills a shard's writer, kills or wipes a
// follower and cuts a writer off from its followers (besides kills, pauses and gossip partitions of
// any process). Same checker as chaos.test.ts: acknowledged commits survive in their epoch; every
// committed transaction is present once with a verifying proof; balances equal a replay of the
// committed set; nonces strictly increase per sender; supply is conserved at every final global
// snapshot; all nodes agree on every global root; every fault heals. Longer seeds:
// `npm run test:chaos -- --replicas 3 --cross-shard --seed N --duration 120`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from '../../scripts/chaos-lib.js';

process.env.SMT_NO_PROVE ??= '1';

const SEED = Number(process.env.SMT_CHAOS_SEED ?? 11);

test(`chaos with 3 replicas per shard (seed ${SEED}): writer and follower kills and a writer cut off lose or double nothing`, { timeout: 240_000 }, async () => {
  const lines: string[] = [];
  const r = await runChaos({ seed: SEED, durationS: 40, depth: 1, clients: 3, accounts: 18, epochMs: 1000, gapS: [1, 2], holdS: [1.5, 3], recoverTimeoutS: 45, crossShard: true, replicas: 3, print: (l) => { lines.push(l); console.log(l); } });
  assert.deepEqual(r.anomalies, [], lines.join('\n'));
  assert.deepEqual(r.inconclusive, [], 'the checker could check everything');
  assert.ok(r.ops.committed > 30, `transactions committed under faults: ${r.ops.committed}`);
  assert.ok(r.ops.ackedCommitted > 5, `clients acknowledged commits: ${r.ops.ackedCommitted}`);
  assert.ok(r.faults.some((f) => f.kind === 'kill-writer' || f.kind === 'partition-writer'), 'a writer was killed or cut off');
  assert.ok(r.faults.every((f) => f.recoveryS !== null), 'every fault recovered');
});
