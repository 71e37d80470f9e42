// A node that cannot verify proofs builds no commitment tree (nothing it does would read one: it
// neither proves nor admits proofs) and still keeps every shard's signed snapshots for its peers,
// for SNAPSHOT_WINDOW epochs behind the newest one seen; its proving layer sets no fallback timer
// (nothing for one to do, and every wake-up of an idle node costs CPU). A node of a network that pins its circuits
// keeps building them (test/security/proof-poisoning.test.ts, with the circuit artifacts).
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { allShards, type ShardId } from '../src/core/ids.js';
import { createLogger } from '../src/node/logger.js';
import { createMetrics } from '../src/node/metrics.js';
import { initNetwork, loadValidatorKey } from '../src/node/network-dir.js';
import { ProvingService } from '../src/node/proving/service.js';
import { SNAPSHOT_WINDOW } from '../src/node/proving/trees.js';
import { createP2PNode } from '../src/gossip/p2p.js';
import { Shard } from '../src/shard/shard.js';
import { signSnapshot, type SignedSnapshot } from '../src/shard/snapshot.js';
import { tempDir } from './support/tmp.js';
import { until } from './support/wait.js';

test('proofs off (genesis pins no keys): no commitment tree is built and no timer set, snapshots are kept for peers and pruned behind the newest seen', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir('smt-trees-off-');
  const { genesis } = initNetwork({ dir, depth: 1, accounts: 3, epochMs: 1000, networkId: 'treesoff', balance: 1000n, force: false, genesisTime: Date.now() - 10_000 });
  assert.equal(genesis.proofKeysHash, undefined);
  const shards = await Promise.all(allShards(1).map((s) =>
    Shard.open({ dataDir: join(dir, 'data', s), genesis, shard: s, validatorKey: loadValidatorKey(dir, genesis, s).keyPair, verifyWorkers: 0 })));
  const p2p = await createP2PNode({ peerKeyFile: join(dir, 'p2p.key'), networkId: genesis.networkId });
  const intervals = mock.method(globalThis, 'setInterval');
  const svc = await ProvingService.start({
    prove: true, proveEvery: 1, shard: shards[0]!, genesis, p2p, dataDir: join(dir, 'data', '0'),
    logger: createLogger({ level: 'silent' }), metrics: createMetrics({ labels: { network: 'treesoff', shard: '0' } }),
  });
  const timersSet = intervals.mock.callCount();
  intervals.mock.restore();
  try {
    assert.equal(svc.status().canVerify, false);
    assert.equal(timersSet, 0, 'no interval timer set by the proving layer');
    await until('proving layer booted', 30_000, () => (svc.status().ready ? true : undefined));
    const sealed: SignedSnapshot[][] = [];
    for (let e = 0; e < 3; e++) {
      const ss: SignedSnapshot[] = [];
      for (const s of shards) ss.push(await s.sealEpoch());
      for (const x of ss.slice(1)) assert.equal(svc.offerSnapshot(x).action, 'accept');
      sealed.push(ss);
    }
    // every epoch's snapshots are all here: a node that verifies proofs would have built trees 0..2
    assert.equal(svc.status().treeEpoch, -1, 'no tree built');
    for (let e = 0; e < 3; e++) assert.equal(svc.snapshotOf('1', e), sealed[e]![1], `shard 1's snapshot of epoch ${e} kept for peers`);
    // a snapshot far ahead (signed by shard 1's validator): the ones more than SNAPSHOT_WINDOW behind it go
    const far = sealed[2]![1]!.snapshot.epoch + SNAPSHOT_WINDOW;
    const ahead = signSnapshot({ ...sealed[2]![1]!.snapshot, epoch: far }, loadValidatorKey(dir, genesis, '1' as ShardId).keyPair.secretKey);
    assert.equal(svc.offerSnapshot(ahead).action, 'accept');
    assert.equal(svc.snapshotOf('1', far), ahead);
    assert.equal(svc.snapshotOf('1', 0), undefined, 'epoch 0 pruned (more than SNAPSHOT_WINDOW behind)');
    assert.equal(svc.snapshotOf('1', 2), sealed[2]![1], 'epoch 2 kept (SNAPSHOT_WINDOW behind)');
    assert.equal(svc.status().treeEpoch, -1);
  } finally {
    await svc.close();
    await p2p.close();
    for (const s of shards) await s.close();
    cleanup();
  }
});
