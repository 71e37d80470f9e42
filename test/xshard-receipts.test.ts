// The destination side of cross-shard transfers, adversarial cases: a batch with a bad proof, a
// forged or unsigned source snapshot, another network, a replay, a gap, or a source epoch that is
// not final yet is refused or waits, and changes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ShardId } from '../src/core/ids.js';
import { Shard } from '../src/shard/shard.js';
import { signSnapshot } from '../src/shard/snapshot.js';
import { decodeReceiptBatch, encodeReceiptBatch, ReceiptBatchError, type ReceiptBatch } from '../src/shard/receipts.js';
import { addr, makeNetwork, tempDir, transfer, usersOn, seedKey } from './fixtures/shard-helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const net = makeNetwork({ depth: 1, accounts: 12, amount: 10_000n });
const SRC = '0' as ShardId;
const DST = '1' as ShardId;

async function open(shard: ShardId): Promise<Shard> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await Shard.open({ dataDir: t.dir, genesis: net.genesis, shard, validatorKey: net.validators.get(shard)!, verifyWorkers: 0, sync: false });
  cleanups.push(() => s.close());
  return s;
}

/** A source that sent `n` transfers of 100 to a user of DST, sealed; and the fresh destination. */
async function setup(n: number): Promise<{ src: Shard; dst: Shard; batch: ReceiptBatch; to: Uint8Array }> {
  const src = await open(SRC);
  const dst = await open(DST);
  const from = usersOn(net, SRC)[0]!;
  const to = addr(usersOn(net, DST)[0]!);
  const res = await src.submit(Array.from({ length: n }, (_, i) => transfer(net, from, to, 100n, BigInt(i))));
  assert.ok(res.every((r) => r.ok));
  await src.sealEpoch();
  const batch = (await src.receiptBatch(DST, 0n))!;
  assert.equal(batch.items.length, n);
  return { src, dst, batch, to };
}

async function observe(dst: Shard, to: Uint8Array) {
  return { bal: (await dst.account(to)).balance, sum: dst.sumBalances(), pending: dst.inboxPending(), cursor: dst.inboxCursor(0) };
}

async function refused(dst: Shard, to: Uint8Array, b: ReceiptBatch, reason: string): Promise<void> {
  const before = await observe(dst, to);
  await assert.rejects(dst.receiveReceipts(b), (e: unknown) => e instanceof ReceiptBatchError && e.reason === reason);
  await dst.sealEpoch();
  assert.deepEqual(await observe(dst, to), before, `refused batch (${reason}) changed nothing`);
}

test('an honest batch is credited once at the next seal; a replay of it is a no-op', async () => {
  const { dst, batch, to } = await setup(3);
  const before = (await dst.account(to)).balance;
  assert.deepEqual(await dst.receiveReceipts(decodeReceiptBatch(encodeReceiptBatch(batch))), { queued: 3, duplicates: 0, full: 0 });
  const s0 = await dst.sealEpoch();
  assert.equal((await dst.account(to)).balance, before + 300n);
  assert.equal(s0.snapshot.inflow, 300n);
  assert.equal(s0.snapshot.totalInflow, 300n);
  assert.equal(s0.snapshot.vectorClock[0], 0, 'vector clock entry of the source = its epoch consumed');
  assert.equal(dst.inboxCursor(0).next, 3n);
  assert.deepEqual(await dst.receiveReceipts(batch), { queued: 0, duplicates: 3, full: 0 });
  const s1 = await dst.sealEpoch();
  assert.equal((await dst.account(to)).balance, before + 300n, 'replayed batch credits nothing');
  assert.equal(s1.snapshot.inflow, 0n);
  assert.equal(s1.snapshot.totalInflow, 300n);
});

test('a batch with a bad proof, a wrong recipient shard, a forged or foreign snapshot is refused and changes nothing', async () => {
  const { dst, batch, to } = await setup(2);
  // bad proof: the receipt altered (amount) no longer matches the outboxRoot
  const altered = decodeReceiptBatch(encodeReceiptBatch(batch));
  altered.items[1]!.receipt.amount += 1n;
  await refused(dst, to, altered, 'bad-proof');
  // proof of another receipt
  const swapped = decodeReceiptBatch(encodeReceiptBatch(batch));
  swapped.items[0]!.proof = swapped.items[1]!.proof;
  await refused(dst, to, swapped, 'bad-proof');
  // signature not by the source's validator (forged) / corrupted
  const forged = { ...batch, snapshot: signSnapshot(batch.snapshot.snapshot, seedKey('mallory', 1).secretKey) };
  await refused(dst, to, forged, 'bad-signature');
  const unsigned = { ...batch, snapshot: { ...batch.snapshot, signature: new Uint8Array(64) } };
  await refused(dst, to, unsigned, 'bad-signature');
  // a snapshot claiming a larger outboxRoot cannot be signed by anyone but the validator
  const fakeRoot = { ...batch, snapshot: { ...batch.snapshot, snapshot: { ...batch.snapshot.snapshot, outboxRoot: new Uint8Array(32).fill(7) } } };
  await refused(dst, to, fakeRoot, 'bad-signature');
  // another network (validly signed by the same key, for the sake of the test)
  const other = signSnapshot({ ...batch.snapshot.snapshot, network: 'other-net' }, net.validators.get(SRC)!.secretKey);
  await refused(dst, to, { ...batch, snapshot: other }, 'wrong-network');
  // delivered to the wrong shard
  const third = await open('2' as ShardId);
  await assert.rejects(third.receiveReceipts(batch), (e: unknown) => e instanceof ReceiptBatchError && e.reason === 'wrong-destination');
  // decoder fuzz: truncations throw DecodeError only
  const bytes = encodeReceiptBatch(batch);
  for (let n = 0; n < bytes.length; n += 37) assert.throws(() => decodeReceiptBatch(bytes.subarray(0, n)), { name: 'DecodeError' });
});

test('a gap waits: receipts after a missing seq are held until it arrives, then credited in seq order', async () => {
  const { dst, batch, to } = await setup(4);
  const before = (await dst.account(to)).balance;
  const tail = { ...batch, items: batch.items.slice(2) };
  assert.equal((await dst.receiveReceipts(tail)).queued, 2);
  const s0 = await dst.sealEpoch();
  assert.equal((await dst.account(to)).balance, before, 'nothing credited across the gap');
  assert.equal(s0.snapshot.inflow, 0n);
  assert.equal(dst.inboxCursor(0).next, 0n);
  assert.equal((await dst.receiveReceipts({ ...batch, items: batch.items.slice(0, 2) })).queued, 2);
  const s1 = await dst.sealEpoch();
  assert.equal(s1.snapshot.inflow, 400n);
  assert.equal(dst.inboxCursor(0).next, 4n);
  assert.equal((await dst.account(to)).balance, before + 400n);
});

test('the finality predicate holds back receipts of a source epoch that is not final', async () => {
  const { dst, batch, to } = await setup(1);
  let final = false;
  dst.setReceiptFinality(() => final);
  await refused(dst, to, batch, 'not-final');
  final = true;
  assert.equal((await dst.receiveReceipts(batch)).queued, 1);
  await dst.sealEpoch();
  assert.equal(dst.inboxCursor(0).next, 1n);
});

test('the inbox cursor is state: it survives a restart and stateRoot commits to it', async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const { batch } = await setup(2);
  let dst = await Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: DST, validatorKey: net.validators.get(DST)!, verifyWorkers: 0, sync: false });
  const e0 = await dst.sealEpoch();
  await dst.receiveReceipts(batch);
  const e1 = await dst.sealEpoch();
  assert.notDeepEqual(e1.snapshot.stateRoot, e0.snapshot.stateRoot, 'crediting changes stateRoot');
  await dst.close();
  dst = await Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: DST, validatorKey: net.validators.get(DST)!, verifyWorkers: 0, sync: false });
  cleanups.push(() => dst.close());
  assert.deepEqual(dst.inboxCursor(0), { next: 2n, epoch: 0 });
  assert.deepEqual(await dst.receiveReceipts(batch), { queued: 0, duplicates: 2, full: 0 }, 'replay after restart is a no-op');
  const e2 = await dst.sealEpoch();
  assert.equal(e2.snapshot.inflow, 0n);
  assert.deepEqual(e2.snapshot.stateRoot, e1.snapshot.stateRoot);
  assert.ok(await dst.creditStatus(batch.items[0]!.receipt.txid));
});

test('the receipt-batch, inbox-state, cursor and credit-record decoders throw only DecodeError, whatever the input', async () => {
  const { default: fc } = await import('fast-check');
  const { decodeInboxState, decodeCursorValue, decodeCreditRecord, encodeInboxState } = await import('../src/shard/inbox.js');
  const { batch } = await setup(2);
  const good = encodeReceiptBatch(batch);
  const onlyDecodeError = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.equal((e as Error).name, 'DecodeError', `threw ${(e as Error).name}: ${(e as Error).message}`);
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (junk, pos, byte) => {
    onlyDecodeError(() => decodeReceiptBatch(junk));
    const mutated = Uint8Array.from(good);
    mutated[pos] = byte;
    onlyDecodeError(() => decodeReceiptBatch(mutated));
    onlyDecodeError(() => decodeInboxState(junk));
    onlyDecodeError(() => decodeCursorValue(junk));
    onlyDecodeError(() => decodeCreditRecord(junk));
  }), { numRuns: 300 });
  const st = new Map([[0, { next: 3n, epoch: 2 }], [4, { next: 1n, epoch: 7 }]]);
  assert.deepEqual(decodeInboxState(encodeInboxState(st)), st);
});
