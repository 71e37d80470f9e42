// Bounded receipt serving (Shard.receiptBatchBytes with ServeBounds, what a remote pull gets): after a
// restart every old group must be rebuilt from its epoch's tx records, and a bounded reply loads at
// most `maxLoads` epochs (and at most `maxGroups` groups), ends at its last group's epoch with a proof
// the destination accepts, and the destination gets the rest by asking again from there. An empty
// budget serves nothing that needs a load; groups rebuilt once are served again without one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ShardId } from '../src/core/ids.js';
import { TokenBucket } from '../src/core/token-bucket.js';
import { Shard } from '../src/shard/shard.js';
import { decodeReceiptBatch, verifyReceiptBatch } from '../src/shard/receipts.js';
import { addr, makeNetwork, tempDir, transfer, usersOn } from './fixtures/shard-helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const net = makeNetwork({ depth: 1, accounts: 12, amount: 10_000n });
const SRC = '0' as ShardId;
const DST = '1' as ShardId;

/** A source shard with one transfer to DST sealed in each of `epochs` epochs, closed (so its recent
 * groups are gone from memory); returns how to reopen it. */
async function sourceWithHistory(epochs: number): Promise<() => Promise<Shard>> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const open = () => Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: SRC, validatorKey: net.validators.get(SRC)!, verifyWorkers: 0, sync: false });
  const src = await open();
  const from = usersOn(net, SRC)[0]!;
  const to = addr(usersOn(net, DST)[0]!);
  for (let e = 0; e < epochs; e++) {
    assert.ok((await src.submit([transfer(net, from, to, 1n, BigInt(e))])).every((r) => r.ok));
    await src.sealEpoch();
  }
  await src.close();
  return open;
}

test('a bounded reply loads at most maxLoads epochs, is proven at its last group, and pulling on from there gets every receipt once', async () => {
  const EPOCHS = 10;
  const open = await sourceWithHistory(EPOCHS);
  let src = await open(); // no group in memory
  cleanups.push(() => src.close());
  const bounds = { maxGroups: 256, maxBytes: 1 << 20, maxLoads: 3 };
  let seq = 0n;
  const replies: number[] = [];
  while (seq < BigInt(EPOCHS)) {
    const b = decodeReceiptBatch((await src.receiptBatchBytes(DST, seq, 4096, undefined, bounds))!.bytes);
    verifyReceiptBatch(b, net.genesis, DST);
    assert.equal(b.groups[0]!.first, seq);
    assert.equal(b.snapshot.snapshot.epoch, b.groups.at(-1)!.epoch, 'proven against its last group\'s epoch');
    replies.push(b.groups.length);
    seq = b.count;
  }
  assert.deepEqual(replies, [3, 3, 3, 1]);
  // rebuilt once: served again from the cache, with no budget left for loads
  const empty = new TokenBucket({ capacity: 1, refillPerSecond: 0.001 });
  empty.debit(10);
  const again = decodeReceiptBatch((await src.receiptBatchBytes(DST, 0n, 4096, undefined, { ...bounds, maxLoads: 0, budget: empty }))!.bytes);
  assert.equal(again.count, BigInt(EPOCHS), 'every group came from the rebuild cache');
  const capped = decodeReceiptBatch((await src.receiptBatchBytes(DST, 0n, 4096, undefined, { ...bounds, maxGroups: 2 }))!.bytes);
  assert.equal(capped.groups.length, 2);
});

test('with the budget spent, a reply that needs a load is not served (undefined), and nothing changes', async () => {
  const open = await sourceWithHistory(3);
  let src = await open();
  cleanups.push(() => src.close());
  const spent = new TokenBucket({ capacity: 1, refillPerSecond: 0.001 });
  spent.debit(10);
  assert.equal(await src.receiptBatchBytes(DST, 0n, 4096, undefined, { maxGroups: 256, maxBytes: 1 << 20, maxLoads: 4, budget: spent }), undefined);
  const full = decodeReceiptBatch((await src.receiptBatchBytes(DST, 0n))!.bytes);
  assert.equal(full.count, 3n, 'unbounded (local use) still serves everything');
});
