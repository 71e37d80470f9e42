// Closing a node's proving layer while a proof is in flight is a clean stop, not a failure: the
// abort it causes (the prover pool closed under the job; with a prover service, the HTTP request
// aborted: "This operation was aborted") is logged at debug as abandoned, never as the warning
// "triad proof failed", which stays for real failures. In process: a depth-1 network whose shards
// are sealed by hand, the proving layer of shard 0 proving with its own pool of one prover
// process, closed as soon as a proof is submitted. Needs the circuit artifacts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { allShards } from '../src/core/ids.js';
import { createMetrics } from '../src/node/metrics.js';
import { initNetwork, loadValidatorKey } from '../src/node/network-dir.js';
import { ProvingService } from '../src/node/proving/service.js';
import { Shard } from '../src/shard/shard.js';
import { createP2PNode } from '../src/gossip/p2p.js';
import { artifactsDir, circuitsBuilt } from '../src/proof/artifacts.js';
import { artifactsKeysHash } from '../src/proof/vk-hash.js';
import { waitFor } from './support/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-proving-close-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('closing the proving layer with a proof in flight logs no warning (debug: abandoned)', { timeout: 90_000 }, async () => {
  assert.ok(circuitsBuilt(), `circuit artifacts missing in ${artifactsDir()}: run \`npm run build:circuits\``);
  const dir = join(tmp, 'net');
  const { genesis } = initNetwork({ dir, depth: 1, accounts: 3, epochMs: 1000, networkId: 'close', balance: 1000n, force: false, genesisTime: Date.now() - 4000, proofKeysHash: artifactsKeysHash() });
  const shards = await Promise.all(allShards(1).map((s) =>
    Shard.open({ dataDir: join(dir, 'data', s), genesis, shard: s, validatorKey: loadValidatorKey(dir, genesis, s).keyPair, verifyWorkers: 0 })));
  const p2p = await createP2PNode({ peerKeyFile: join(tmp, 'p2p.key'), networkId: 'close' });
  const lines: { level: number; msg: string; err?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
  // a short lease: the rotation reaches shard 0's turn for the apex within a fraction of a second
  const svc = await ProvingService.start({ prove: true, proveEvery: 1, leaseMs: 100, tickMs: 50, shard: shards[0]!, genesis, p2p, dataDir: join(dir, 'data', '0'), logger, metrics: createMetrics({ labels: { network: 'close', shard: '0' } }) });
  try {
    await waitFor('proving service ready', () => (svc.status() as { ready: boolean }).ready, 30_000);
    // four epochs: proofs queue up, so one is still in flight when the close comes however fast the prover
    for (let e = 0; e < 4; e++) {
      const ss = [];
      for (const s of shards) ss.push(await s.sealEpoch());
      for (const x of ss.slice(1)) svc.offerSnapshot(x);
    }
    await waitFor('a proof submitted to the prover pool', () => (svc.status() as { proverBusy: boolean }).proverBusy, 30_000, 10);
  } finally {
    await svc.close();
    await p2p.close();
    for (const s of shards) await s.close();
  }
  const warned = lines.filter((l) => l.level >= 40).map((l) => `${l.msg}${l.err ? `: ${l.err}` : ''}`);
  assert.deepEqual(warned, [], 'no warning or error on a clean close');
  assert.ok(lines.some((l) => l.msg === 'triad proof abandoned: the node is closing'), `the proof in flight was abandoned (debug); lines: ${lines.map((l) => l.msg).join(' | ')}`);
});
