// The store's txid index (src/shard/store.ts): a commit writes its txid -> (epoch, index) rows with
// keys it prefixes itself on the root batch. Property: they are exactly the rows abstract-level's
// `txi` sublevel holds (same keys, so data written before reads the same), and txLocation finds each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ShardStore } from '../src/shard/store.js';
import type { ShardHead } from '../src/shard/records.js';
import { tempDir } from './fixtures/shard-helpers.js';

const head = (epoch: number): ShardHead => ({
  epoch, stateRoot: new Uint8Array(32), outboxRoot: new Uint8Array(32), snapshotHash: new Uint8Array(32), lamport: 0n, hlc: 0n,
  supply: 0n, committedTotal: 0n, totalOutflow: 0n, totalInflow: 0n, totalFees: 0n, outboxSeq: new Map(),
});

test('txid index rows written by a commit are the txi sublevel rows, found by txLocation after reopening', async () => {
  const t = tempDir('smt-txindex-');
  try {
    let s = await ShardStore.open(t.dir, { sync: false });
    const epochs = [0, 1, 7];
    const ids = epochs.map(() => Array.from({ length: 50 }, () => new Uint8Array(randomBytes(32))));
    for (let k = 0; k < epochs.length; k++) {
      await s.commit({ nodes: [], accounts: [], receiptRows: [], head: head(epochs[k]!), txs: { epoch: epochs[k]!, ids: ids[k]!.map((id) => ({ id })) } });
    }
    // a row written the way earlier versions did (through the sublevel) sits beside them
    const legacy = new Uint8Array(randomBytes(32));
    await s.txIndex.put(legacy, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 9]));
    await s.close();
    s = await ShardStore.open(t.dir, { sync: false });
    const keys = new Set((await s.txIndex.keys().all()).map((k) => Buffer.from(k).toString('hex')));
    assert.equal(keys.size, 3 * 50 + 1, 'every row is in the txi sublevel, nothing else is');
    for (let k = 0; k < epochs.length; k++) {
      for (let i = 0; i < ids[k]!.length; i++) assert.deepEqual(await s.txLocation(ids[k]![i]!), { epoch: epochs[k], index: i });
    }
    assert.deepEqual(await s.txLocation(legacy), { epoch: 3, index: 9 });
    assert.equal(await s.txLocation(new Uint8Array(32)), undefined);
    assert.equal((await s.db.keys().all()).length, 3 * 50 + 1 + 1, 'the database holds these rows and the head row, nothing else');
    await s.close();
  } finally {
    t.cleanup();
  }
});
