// A proving layer that verifies proofs runs its fallback scan and its global-proof sync at the
// gossipsub heartbeat (P2PNode.onHeartbeat) instead of on two interval timers of its own (every
// 500 ms and every 2 s: 2.5 wake-ups a second of an idle node), and a tree built from sealed
// snapshots still comes without any timer of the proving layer. Needs the circuit artifacts.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { allShards } from '../src/core/ids.js';
import { createLogger } from '../src/node/logger.js';
import { createMetrics } from '../src/node/metrics.js';
import { initNetwork, loadValidatorKey } from '../src/node/network-dir.js';
import { ProvingService } from '../src/node/proving/service.js';
import { createP2PNode } from '../src/gossip/p2p.js';
import { Shard } from '../src/shard/shard.js';
import { artifactsDir, circuitsBuilt } from '../src/proof/artifacts.js';
import { artifactsKeysHash } from '../src/proof/vk-hash.js';
import { tempDir } from './support/tmp.js';
import { until } from './support/wait.js';

const skip = circuitsBuilt() ? false : `circuits not built in ${artifactsDir()}: run npm run build:circuits`;

test('a verifying proving layer sets no interval timer: its scan and sync ride on the heartbeat, removed at close', { skip, timeout: 60_000 }, async () => {
  const { dir, cleanup } = tempDir('smt-proving-beat-');
  const { genesis } = initNetwork({ dir, depth: 1, accounts: 3, epochMs: 1000, networkId: 'provebeat', balance: 1000n, force: false, genesisTime: Date.now() - 10_000, proofKeysHash: artifactsKeysHash() });
  const shards = await Promise.all(allShards(1).map((s) =>
    Shard.open({ dataDir: join(dir, 'data', s), genesis, shard: s, validatorKey: loadValidatorKey(dir, genesis, s).keyPair, verifyWorkers: 0 })));
  const p2p = await createP2PNode({ peerKeyFile: join(dir, 'p2p.key'), networkId: genesis.networkId });
  const beats = mock.method(p2p as { onHeartbeat(fn: () => void): () => void }, 'onHeartbeat');
  const intervals = mock.method(globalThis, 'setInterval');
  const svc = await ProvingService.start({
    prove: false, shard: shards[0]!, genesis, p2p, dataDir: join(dir, 'data', '0'),
    logger: createLogger({ level: 'silent' }), metrics: createMetrics({ labels: { network: 'provebeat', shard: '0' } }),
  });
  const timersSet = intervals.mock.callCount();
  intervals.mock.restore();
  try {
    assert.equal(svc.status().canVerify, true);
    assert.equal(timersSet, 0, 'no interval timer set by the proving layer');
    assert.equal(beats.mock.callCount(), 1, 'one task on the heartbeat');
    await until('proving layer booted', 30_000, () => (svc.status().ready ? true : undefined));
    for (const s of shards) {
      const ss = await s.sealEpoch();
      if (s !== shards[0]) svc.offerSnapshot(ss);
    }
    await until('the tree of epoch 0', 10_000, () => (Number(svc.status().treeEpoch) >= 0 ? true : undefined), 50);
  } finally {
    await svc.close();
    await p2p.close();
    for (const s of shards) await s.close();
    cleanup();
  }
});
