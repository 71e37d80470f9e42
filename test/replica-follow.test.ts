// A follower re-executes its writer's epochs (docs/REPLICAS.md "Replication"): same transactions
// and credits in, byte-identical state and snapshot out, written under the writer's signature;
// a tampered or out-of-order entry is refused and changes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../src/core/bytes.js';
import type { ShardId } from '../src/core/ids.js';
import { Shard, ReplicaDivergenceError, ReplicaMismatchError } from '../src/shard/shard.js';
import { decodeEntry, encodeEntry } from '../src/replica/entry.js';
import { snapshotHash } from '../src/shard/snapshot.js';
import { verifyShardSnapshot } from '../src/replica/keys.js';
import { addr, makeNetwork, seedKey, tempDir, transfer } from './fixtures/shard-helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const ROOT = '' as ShardId;

async function open(net: ReturnType<typeof makeNetwork>, replica: number, key = replica === 0 ? net.validators.get(ROOT)! : seedKey('replica', replica)): Promise<Shard> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: ROOT, validatorKey: key, verifyWorkers: 0, replica, clock: () => 1_700_000_000_000 + replica });
  cleanups.push(() => s.close());
  return s;
}

function replicatedNet() {
  const net = makeNetwork({ accounts: 6 });
  net.genesis.replicas = new Map([[ROOT, [net.validators.get(ROOT)!.publicKey, seedKey('replica', 1).publicKey, seedKey('replica', 2).publicKey]]]);
  return net;
}

test('a follower fed the writer\'s entries holds the same state, snapshots and tx proofs; the writer\'s snapshots carry its term', async () => {
  const net = replicatedNet();
  const w = await open(net, 0);
  const f = await open(net, 1);
  w.setTerm(3n);
  let nonce = 0n;
  for (let e = 0; e < 4; e++) {
    const txs = net.users.slice(0, 4).map((u, i) => transfer(net, u, addr(net.users[(i + 1) % 6]!), 10n + BigInt(e), nonce));
    nonce++;
    const res = await w.submit(txs);
    assert.ok(res.every((r) => r.ok), JSON.stringify(res));
    const signed = await w.sealEpoch();
    assert.deepEqual(signed.snapshot.replica, { term: 3n, writer: 0 });
    assert.ok(verifyShardSnapshot(net.genesis, signed));
    const entry = decodeEntry(encodeEntry((await w.replicaEntry(e))!));
    assert.equal(entry.txs.length, 4);
    const got = await f.applyEntry(entry);
    assert.equal(toHex(snapshotHash(got.snapshot)), toHex(snapshotHash(signed.snapshot)));
  }
  assert.equal(f.latestEpoch(), 3);
  assert.equal(f.sumBalances(), w.sumBalances());
  for (const u of net.users) assert.deepEqual(await f.account(addr(u)), await w.account(addr(u)));
});

test('a tampered entry is a mismatch and a gap or fork is a divergence; neither changes the follower', async () => {
  const net = replicatedNet();
  const w = await open(net, 0);
  const f = await open(net, 2);
  await w.submit([transfer(net, net.users[0]!, addr(net.users[1]!), 5n, 0n)]);
  await w.sealEpoch();
  await w.submit([transfer(net, net.users[0]!, addr(net.users[1]!), 5n, 1n)]);
  await w.sealEpoch();
  const e0 = (await w.replicaEntry(0))!;
  const e1 = (await w.replicaEntry(1))!;
  await assert.rejects(f.applyEntry(e1), ReplicaDivergenceError, 'epoch 1 before epoch 0');
  const forged = { ...e0, txs: [] };
  await assert.rejects(f.applyEntry(forged), ReplicaMismatchError);
  assert.equal(f.latestEpoch(), -1, 'nothing written');
  await f.applyEntry(e0);
  await f.applyEntry(e1);
  assert.equal(f.sumBalances(), w.sumBalances());
});
