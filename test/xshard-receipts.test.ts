// The destination side of cross-shard transfers, adversarial cases: a batch with a bad proof, a
// forged or unsigned source snapshot, another network, a replay, a gap, or a source epoch that is
// not final yet is refused or waits, and changes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ShardId } from '../src/core/ids.js';
import { toHex } from '../src/core/bytes.js';
import { Shard } from '../src/shard/shard.js';
import { signSnapshot } from '../src/shard/snapshot.js';
import { batchReceipts, batchSize, decodeReceiptBatch, encodeReceiptBatch, MAX_BATCH_RECEIPTS, ReceiptBatchError, type ReceiptBatch } from '../src/shard/receipts.js';
import { groupAmount } from '../src/shard/inbox.js';
import { decodeReceiptRow, groupReceipts, RECEIPT_ENTRY_BYTES } from '../src/shard/records.js';
import { addr, makeNetwork, openTempShard, tempDir, transfer, usersOn, seedKey } from './fixtures/shard-helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const net = makeNetwork({ depth: 1, accounts: 12, amount: 10_000n });
const SRC = '0' as ShardId;
const DST = '1' as ShardId;

const open = (shard: ShardId): Promise<Shard> => openTempShard(net, shard, cleanups);

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
  assert.equal(batchSize(batch), n);
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
  assert.deepEqual(await dst.receiveReceipts(decodeReceiptBatch(encodeReceiptBatch(batch))), { queued: 3, duplicates: 0, full: 0, gap: 0 });
  const s0 = await dst.sealEpoch();
  assert.equal((await dst.account(to)).balance, before + 300n);
  assert.equal(s0.snapshot.inflow, 300n);
  assert.equal(s0.snapshot.totalInflow, 300n);
  assert.equal(s0.snapshot.vectorClock[0], 0, 'vector clock entry of the source = its epoch consumed');
  assert.equal(dst.inboxCursor(0).next, 3n);
  assert.deepEqual(await dst.receiveReceipts(batch), { queued: 0, duplicates: 3, full: 0, gap: 0 });
  // a batch that ends at or below the frontier is a no-op whatever it holds (it is not even verified)
  const forgedReplay = { ...batch, snapshot: signSnapshot(batch.snapshot.snapshot, seedKey('mallory', 2).secretKey) };
  assert.deepEqual(await dst.receiveReceipts(forgedReplay), { queued: 0, duplicates: 3, full: 0, gap: 0 });
  const s1 = await dst.sealEpoch();
  assert.equal((await dst.account(to)).balance, before + 300n, 'replayed batch credits nothing');
  assert.equal(s1.snapshot.inflow, 0n);
  assert.equal(s1.snapshot.totalInflow, 300n);
});

test('a batch with a bad proof, a wrong recipient shard, a forged or foreign snapshot is refused and changes nothing', async () => {
  const { dst, batch, to } = await setup(2);
  // a copy of the batch with its (one) row edited in place
  const edited = (edit: (row: Uint8Array, body: number) => void): ReceiptBatch => {
    const c = decodeReceiptBatch(Uint8Array.from(encodeReceiptBatch(batch)));
    edit(c.groups[0]!.row, c.groups[0]!.body);
    return c;
  };
  // bad chain: a receipt altered (amount + 1) no longer chains to the proven head
  const altered = edited((row, body) => { row[body + RECEIPT_ENTRY_BYTES + RECEIPT_ENTRY_BYTES - 1]! ^= 1; });
  assert.notEqual(batchReceipts(altered)[1]!.amount, batchReceipts(batch)[1]!.amount);
  await refused(dst, to, altered, 'bad-proof');
  // receipts reordered (seqs follow the position, so the run still looks consecutive)
  const swapped = edited((row, body) => {
    const a = row.slice(body, body + RECEIPT_ENTRY_BYTES);
    row.copyWithin(body, body + RECEIPT_ENTRY_BYTES, body + 2 * RECEIPT_ENTRY_BYTES);
    row.set(a, body + RECEIPT_ENTRY_BYTES);
  });
  await refused(dst, to, swapped, 'bad-proof');
  // a recipient that is not homed on the destination (and has no account there)
  const elsewhere = addr(usersOn(net, SRC)[1]!);
  await refused(dst, to, edited((row, body) => row.set(elsewhere, body + 32)), 'wrong-destination');
  // a leaf (count, head) that the outboxRoot does not commit to
  await refused(dst, to, { ...batch, head: new Uint8Array(32).fill(9) }, 'bad-proof');
  await refused(dst, to, { ...batch, count: batch.count + 1n }, 'malformed');
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

test('a gap waits: a run above a missing seq is held until the run before it arrives, then credited in seq order', async () => {
  const src = await open(SRC);
  const dst = await open(DST);
  const from = usersOn(net, SRC)[0]!;
  const to = addr(usersOn(net, DST)[0]!);
  const before = (await dst.account(to)).balance;
  // epoch 0 emits seqs 0..1, epoch 1 seqs 2..3: two batches, the second one proven at epoch 1 from seq 2
  assert.ok((await src.submit([0, 1].map((i) => transfer(net, from, to, 100n, BigInt(i))))).every((r) => r.ok));
  await src.sealEpoch();
  const first = (await src.receiptBatch(DST, 0n))!;
  assert.ok((await src.submit([2, 3].map((i) => transfer(net, from, to, 100n, BigInt(i))))).every((r) => r.ok));
  await src.sealEpoch();
  const tail = (await src.receiptBatch(DST, 2n))!;
  assert.deepEqual([first.count, tail.count, batchSize(tail)], [2n, 4n, 2]);
  assert.deepEqual(await dst.receiveReceipts(tail), { queued: 0, duplicates: 0, full: 0, gap: 2 });
  const s0 = await dst.sealEpoch();
  assert.equal((await dst.account(to)).balance, before, 'nothing credited across the gap');
  assert.equal(s0.snapshot.inflow, 0n);
  assert.equal(dst.inboxCursor(0).next, 0n);
  // the missing run arrives: it and the held one are chained in and credited together
  assert.equal((await dst.receiveReceipts(first)).queued, 2);
  assert.equal(dst.inboxPending(), 4, 'the held run was chained in once the gap filled');
  const s1 = await dst.sealEpoch();
  assert.equal(s1.snapshot.inflow, 400n);
  assert.equal(dst.inboxCursor(0).next, 4n);
  assert.equal((await dst.account(to)).balance, before + 400n);
  // a batch asked from seq 1 starts at the group holding it (seq 0: the chain links whole groups);
  // everything in it is credited already
  const again = (await src.receiptBatch(DST, 1n))!;
  assert.equal(again.groups[0]!.first, 0n);
  assert.deepEqual(await dst.receiveReceipts(again), { queued: 0, duplicates: 4, full: 0, gap: 0 });
});

test('a batch is bounded: a far-behind destination is served epoch by epoch, each batch ending at an epoch\'s leaf count', async () => {
  const src = await open(SRC);
  const dst = await open(DST);
  const from = usersOn(net, SRC)[0]!;
  const to = addr(usersOn(net, DST)[0]!);
  for (let e = 0; e < 3; e++) {
    assert.ok((await src.submit([0, 1, 2].map((i) => transfer(net, from, to, 10n, BigInt(3 * e + i))))).every((r) => r.ok));
    await src.sealEpoch();
  }
  const counts: bigint[] = [];
  for (let k = 0; k < 10 && dst.inboxCursor(0).next < 9n; k++) {
    const b = (await src.receiptBatch(DST, dst.inboxCursor(0).next, 4))!;
    assert.ok(batchSize(b) <= 4, 'limit honoured (an epoch holds 3)');
    counts.push(b.count);
    assert.equal((await dst.receiveReceipts(decodeReceiptBatch(encodeReceiptBatch(b)))).queued, batchSize(b));
    await dst.sealEpoch();
  }
  assert.deepEqual(counts, [3n, 6n, 9n]);
  assert.equal(dst.inboxCursor(0).next, 9n);
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
  assert.deepEqual([dst.inboxCursor(0).next, dst.inboxCursor(0).epoch, toHex(dst.inboxCursor(0).head)], [2n, 0, toHex(batch.head)], 'the cursor keeps the chain head');
  assert.deepEqual(await dst.receiveReceipts(batch), { queued: 0, duplicates: 2, full: 0, gap: 0 }, 'replay after restart is a no-op');
  const e2 = await dst.sealEpoch();
  assert.equal(e2.snapshot.inflow, 0n);
  assert.deepEqual(e2.snapshot.stateRoot, e1.snapshot.stateRoot);
  // the credit half, found by (source, seq) from the stored credit row of its group
  const [r0, r1] = batchReceipts(batch);
  const c = await dst.creditStatus(SRC, 1n, r1!.txid);
  assert.deepEqual(c && [c.epoch, c.src, c.seq, c.srcEpoch, toHex(c.txid)], [e1.snapshot.epoch, 0, 1n, batch.snapshot.snapshot.epoch, toHex(r1!.txid)]);
  assert.equal(await dst.creditStatus(SRC, 1n, r0!.txid), undefined, 'another transfer\'s receipt is not its credit');
  assert.equal(await dst.creditStatus(SRC, 2n), undefined, 'seq 2 was never credited');
  assert.equal(await dst.creditStatus('2' as ShardId, 0n), undefined, 'nothing credited from shard 2');
});

test('the receipt-batch, inbox-state, cursor and credit-record decoders throw only DecodeError, whatever the input', async () => {
  const { default: fc } = await import('fast-check');
  const { decodeInboxState, decodeCursorValue, decodeCreditRow, encodeCreditRow, creditRowOf, encodeInboxState } = await import('../src/shard/inbox.js');
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
    onlyDecodeError(() => decodeCreditRow(junk));
    onlyDecodeError(() => decodeReceiptRow(junk));
    onlyDecodeError(() => decodeReceiptRow(mutated.subarray(good.length - batch.groups[0]!.row.length))); // the row, mutated
  }), { numRuns: 300 });
  // a credit row built from a group (the seal's fast path) is the canonical encoding of what it decodes to
  const g = batch.groups[0]!;
  const cr = decodeCreditRow(creditRowOf(7, g));
  assert.deepEqual([cr.epoch, cr.srcEpoch, cr.first, cr.n, Buffer.from(cr.txids)], [7, g.epoch, g.first, g.n, Buffer.concat(batchReceipts(batch).map((r) => r.txid))]);
  assert.deepEqual(Buffer.from(encodeCreditRow(cr)), Buffer.from(creditRowOf(7, g)));
  const st = new Map([[0, { next: 3n, epoch: 2, head: new Uint8Array(32).fill(1) }], [4, { next: 1n, epoch: 7, head: new Uint8Array(32).fill(2) }]]);
  assert.deepEqual(decodeInboxState(encodeInboxState(st)), st);
});

test('the hand-written receipt row codec is byte-identical to the ByteWriter reference form and round-trips; groupAmount sums its u64 amounts exactly', async () => {
  const { default: fc } = await import('fast-check');
  const { ByteWriter } = await import('../src/core/bytes.js');
  const { encodeReceiptRow } = await import('../src/shard/records.js');
  const reference = (src: string, dst: string, epoch: number, first: bigint, es: { txid: Uint8Array; to: Uint8Array; amount: bigint }[]) => {
    const w = new ByteWriter(64).u8(2).string(src).string(dst).u64(BigInt(epoch)).u64(first).u32(es.length);
    for (const e of es) w.fixed(e.txid, 32).fixed(e.to, 20).u64(e.amount);
    return w.finish();
  };
  const entry = fc.record({ txid: fc.uint8Array({ minLength: 32, maxLength: 32 }), to: fc.uint8Array({ minLength: 20, maxLength: 20 }), amount: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) });
  fc.assert(fc.property(
    fc.stringMatching(/^[012]{0,8}$/), fc.stringMatching(/^[012]{0,8}$/), fc.nat(), fc.bigInt({ min: 0n, max: (1n << 63n) }), fc.array(entry, { minLength: 1, maxLength: 6 }),
    (src, dst, epoch, first, es) => {
      const rs = es.map((e, i) => ({ ...e, src: src as ShardId, dst: dst as ShardId, seq: first + BigInt(i), epoch }));
      const bytes = encodeReceiptRow(rs);
      assert.deepEqual(Buffer.from(bytes), Buffer.from(reference(src, dst, epoch, first, es)));
      assert.deepEqual(groupReceipts(decodeReceiptRow(bytes)), rs);
      assert.equal(groupAmount(decodeReceiptRow(bytes)), es.reduce((a, e) => a + e.amount, 0n));
    },
  ), { numRuns: 500 });
  // the largest amounts, many of them: the halves' sums carry far past 2^32
  const max = (1n << 64n) - 1n;
  const big = Array.from({ length: MAX_BATCH_RECEIPTS }, (_, i) => ({ txid: new Uint8Array(32), to: new Uint8Array(20), amount: i % 3 === 0 ? max : max - BigInt(i), src: '0' as ShardId, dst: '1' as ShardId, seq: BigInt(i), epoch: 0 }));
  assert.equal(groupAmount(decodeReceiptRow(encodeReceiptRow(big))), big.reduce((a, r) => a + r.amount, 0n));
});

test('a batch served as bytes straight from the stored rows is byte-identical to encoding the decoded batch, from memory and from the store', async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const open2 = () => Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: SRC, validatorKey: net.validators.get(SRC)!, verifyWorkers: 0, sync: false });
  let src = await open2();
  const from = usersOn(net, SRC)[0]!;
  const to = addr(usersOn(net, DST)[0]!);
  for (let e = 0; e < 3; e++) {
    assert.ok((await src.submit([0, 1].map((i) => transfer(net, from, to, 5n, BigInt(2 * e + i))))).every((r) => r.ok));
    await src.sealEpoch();
  }
  const check = async (s: Shard, fromSeq: bigint, limit: number, at?: number) => {
    const obj = (await s.receiptBatch(DST, fromSeq, limit, at))!;
    const bytes = (await s.receiptBatchBytes(DST, fromSeq, limit, at))!;
    assert.deepEqual(Buffer.from(bytes.bytes), Buffer.from(encodeReceiptBatch(obj)));
    assert.deepEqual([bytes.count, bytes.receipts, bytes.epoch], [obj.count, batchSize(obj), obj.snapshot.snapshot.epoch]);
  };
  for (const [f, l, at] of [[0n, 4096, undefined], [0n, 3, undefined], [3n, 2, undefined], [1n, 4096, 1], [6n, 4096, undefined]] as const) await check(src, f, l, at);
  await src.close();
  src = await open2(); // nothing in memory: served from the store
  cleanups.push(() => src.close());
  for (const [f, l, at] of [[0n, 4096, undefined], [0n, 3, undefined], [3n, 2, undefined], [1n, 4096, 1]] as const) await check(src, f, l, at);
});

test('the engine caps receipts per destination per epoch: the excess and every later nonce of its sender wait, in order, and nothing is lost', async () => {
  const { default: fc } = await import('fast-check');
  const { applyEpoch, txRecordAt } = await import('../src/shard/engine.js');
  const { decodeTxRecord } = await import('../src/shard/records.js');
  const { homeShard } = await import('../src/core/address.js');
  const { decodeSignedTxFull, encodeSignedTx, txIdOfTransferBytes } = await import('../src/shard/tx.js');
  const addrOf = (i: number): Uint8Array => {
    const a = new Uint8Array(20);
    new DataView(a.buffer).setUint32(0, (i * 2654435761) >>> 0);
    a[19] = i;
    return a;
  };
  const here = '0' as ShardId;
  const mk = (sender: Uint8Array, to: Uint8Array, nonce: bigint) => {
    const d = decodeSignedTxFull(encodeSignedTx({ tx: { network: 'n', from: new Uint8Array(32).fill(sender[19]!), to, amount: 2n, fee: 1n, nonce, ts: 0n }, signature: new Uint8Array(64) }));
    return { id: txIdOfTransferBytes(d.transferBytes), senderHex: toHex(sender), bytes: d.bytes, toAt: d.bytes.length - 64 - 52, amount: 2n, nonce, cost: 3n };
  };
  const ids = Array.from({ length: 120 }, (_, i) => i);
  const senders = ids.map(addrOf).filter((a) => homeShard(a, 1) === here).slice(0, 8);
  const remote = ids.map(addrOf).filter((a) => homeShard(a, 1) !== here);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(senders.length - 1), fc.nat(remote.length - 1)), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (plan, cap) => {
    const nonces = new Map<number, bigint>();
    const txs = plan.map(([s, r]) => {
      const n = nonces.get(s) ?? 0n;
      nonces.set(s, n + 1n);
      return mk(senders[s]!, remote[r]!, n);
    });
    const accounts = new Map(senders.map((a) => [toHex(a), { address: a, balance: 1000n, nonce: 0n }]));
    const fx = applyEpoch({ shard: here, depth: 1, epoch: 0, txs, account: (h) => accounts.get(h), nextSeq: () => 0n, maxReceiptsPerDst: cap });
    const perDst = new Map<string, number>();
    for (const r of fx.groups.flatMap(groupReceipts)) perDst.set(r.dst, (perDst.get(r.dst) ?? 0) + 1);
    for (const g of fx.groups) {
      assert.deepEqual([g.src, g.epoch, g.first], [here, 0, 0n], 'one row per destination: this shard, this epoch, from the committed next seq');
      const d = decodeReceiptRow(g.row); // the engine writes rows in place: they decode to what it says
      assert.deepEqual([d.src, d.dst, d.epoch, d.first, d.n, d.body, d.row.length], [g.src, g.dst, g.epoch, g.first, g.n, g.body, g.row.length]);
    }
    for (const n of perDst.values()) assert.ok(n <= cap, `at most ${cap} receipts per destination`);
    // every applied sender's run is a prefix of its nonces (a deferred tx defers all later ones)
    const applied = new Map<string, bigint[]>();
    for (const t of fx.ordered) applied.set(t.senderHex, [...(applied.get(t.senderHex) ?? []), t.nonce]);
    for (const ns of applied.values()) ns.forEach((n, i) => assert.equal(n, BigInt(i)));
    assert.equal(fx.records.ends.length, fx.ordered.length);
    fx.ordered.forEach((t, i) => assert.equal(decodeTxRecord(txRecordAt(fx.records, i)).index, i, `record ${i} is the tx at ${i}`));
    fx.ordered.forEach((t, i) => assert.deepEqual(decodeTxRecord(txRecordAt(fx.records, i)).signedTx, t.bytes));
    // value: debits = outflow + fees, only for what was applied
    const debited = [...fx.accounts.values()].reduce((a, x) => a + (1000n - x.balance), 0n);
    assert.equal(debited, fx.outflow + fx.fees);
    assert.equal(fx.fees, BigInt(fx.ordered.length));
    if (txs.length > 0 && fx.ordered.length < txs.length) assert.ok([...perDst.values()].some((n) => n === cap), 'only the cap defers');
  }), { numRuns: 200 });
});

test('cross-shard transfers past the per-destination cap wait in the mempool for the next epochs and are all credited once', async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const src = await Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: SRC, validatorKey: net.validators.get(SRC)!, verifyWorkers: 0, sync: false, receiptCap: 2 });
  cleanups.push(() => src.close());
  const dst = await open(DST);
  const from = usersOn(net, SRC)[0]!;
  const to = addr(usersOn(net, DST)[0]!);
  const before = (await dst.account(to)).balance;
  assert.ok((await src.submit([0, 1, 2, 3, 4].map((i) => transfer(net, from, to, 10n, BigInt(i))))).every((r) => r.ok));
  const counts: bigint[] = [];
  for (let e = 0; e < 3; e++) {
    const s = await src.sealEpoch();
    counts.push(s.snapshot.txCount);
    const b = (await src.receiptBatchBytes(DST, dst.inboxCursor(0).next))!;
    await dst.receiveReceipts(decodeReceiptBatch(b.bytes));
    await dst.sealEpoch();
  }
  assert.deepEqual(counts, [2n, 2n, 1n], 'two per epoch, the rest waits');
  assert.equal(src.stats().mempool, 0);
  assert.equal(dst.inboxCursor(0).next, 5n);
  assert.equal((await dst.account(to)).balance, before + 50n);
});

test('a source stores no receipt rows: after a restart each group is rebuilt from its epoch\'s tx records, byte-identical to the row it emitted, and a fresh destination credits it once; a row stored by an earlier version is still served', async () => {
  const { ShardStore, receiptKey } = await import('../src/shard/store.js');
  const t = tempDir();
  cleanups.push(t.cleanup);
  const open2 = () => Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: SRC, validatorKey: net.validators.get(SRC)!, verifyWorkers: 0, sync: false });
  let src = await open2();
  const senders = usersOn(net, SRC);
  const DST2 = '2' as ShardId;
  const toDst = addr(usersOn(net, DST)[0]!);
  const toDst2 = addr(usersOn(net, DST2)[0]!);
  const toLocal = addr(senders[1]!);
  // mixed epochs: local transfers and transfers to two destinations interleave in the epoch order
  const nonces = senders.map(() => 0n);
  for (let e = 0; e < 3; e++) {
    const txs: Uint8Array[] = [];
    for (let k = 0; k < 3; k++) {
      for (const [si, to, amount] of [[0, toDst, 7n + BigInt(k)], [1, toDst2, 3n], [2, toLocal, 1n], [0, toDst2, 2n]] as const) {
        txs.push(transfer(net, senders[si]!, to, amount, nonces[si]!++));
      }
    }
    assert.ok((await src.submit(txs)).every((r) => r.ok));
    await src.sealEpoch();
  }
  const rows = async (s: Shard, dst: ShardId) => (await s.receiptBatch(dst, 0n))!.groups.map((g) => Buffer.from(g.row));
  const before = { [DST]: await rows(src, DST), [DST2]: await rows(src, DST2) };
  assert.equal(before[DST].length, 3);
  assert.equal(before[DST2].length, 3);
  await src.close();
  const store = await ShardStore.open(t.dir);
  const stored: Uint8Array[] = [];
  for await (const [, v] of store.receipts.iterator()) stored.push(v);
  assert.equal(stored.length, 6);
  assert.ok(stored.every((v) => v.length === 12), 'only (epoch, n) is stored per group');
  await store.close();

  src = await open2(); // nothing in memory: every group rebuilt
  for (const dst of [DST, DST2]) assert.deepEqual(await rows(src, dst), before[dst], `rows to ${dst} rebuilt byte for byte`);
  const dstShard = await open(DST);
  const bal0 = (await dstShard.account(toDst)).balance;
  const batch = decodeReceiptBatch((await src.receiptBatchBytes(DST, 0n))!.bytes);
  assert.deepEqual(await dstShard.receiveReceipts(batch), { queued: 9, duplicates: 0, full: 0, gap: 0 });
  await dstShard.sealEpoch();
  assert.equal((await dstShard.account(toDst)).balance, bal0 + 3n * (7n + 8n + 9n));
  await src.close();

  // a store of an earlier version holds the row itself: still served as is
  const legacy = await ShardStore.open(t.dir);
  await legacy.receipts.put(receiptKey(DST, 3n), new Uint8Array(before[DST][1]!));
  await legacy.close();
  src = await open2();
  cleanups.push(() => src.close());
  assert.deepEqual(await rows(src, DST), before[DST]);
});
