// The destination's safety-net pull (src/node/xshard.ts), in process: real shards over LevelDB, the
// source's own CrossShardDelivery serving the pulls, and a stand-in for the network that only hands
// out a final global snapshot built from the shards' latest snapshots and passes pulls to the source.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardId, TriadPath } from '../src/core/ids.js';
import type { Scheduler } from '../src/core/scheduler.js';
import { Shard } from '../src/shard/shard.js';
import { decodeReceiptBatch } from '../src/shard/receipts.js';
import { computeAggregate } from '../src/hierarchy/aggregate.js';
import type { GlobalSnapshot } from '../src/hierarchy/global.js';
import type { TriadNetwork } from '../src/gossip/network.js';
import { CrossShardDelivery } from '../src/node/xshard.js';
import { addr, makeNetwork, openTempShard, transfer, usersOn } from './fixtures/shard-helpers.js';
import { waitFor } from './support/wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const net = makeNetwork({ depth: 1, accounts: 12, amount: 10_000n });
const SRC = '0' as ShardId;
const DST = '1' as ShardId;
const OTHER = '2' as ShardId;

const open = (shard: ShardId): Promise<Shard> => openTempShard(net, shard, cleanups);

// timers never fire on their own: the test runs each pull round itself
const manual: Scheduler = { now: () => Date.now(), every: () => () => {}, after: () => () => {} };

/** A final global that includes both shards at their snapshots of `epoch` (shard 2 never seen). */
async function globalOf(src: Shard, dst: Shard, epoch: number): Promise<GlobalSnapshot> {
  const snap = async (s: Shard) => ({ kind: 'snapshot' as const, snapshot: (await s.snapshot(epoch))!.snapshot });
  return { aggregate: computeAggregate({ network: net.genesis.networkId, path: '' as TriadPath, epoch, children: [await snap(src), await snap(dst), null], prev: null }), signatures: [], children: null };
}

/** Both shards seal `n` epochs; then the global of their newest. */
async function sealBoth(src: Shard, dst: Shard, n: number): Promise<GlobalSnapshot> {
  for (let i = 0; i < n; i++) {
    await src.sealEpoch();
    await dst.sealEpoch();
  }
  return globalOf(src, dst, src.latestEpoch());
}

/** A stand-in network: hands out the current global, passes pulls to the source's delivery (counted by `asked`), and takes onGlobal listeners. */
function standIn(srcX: CrossShardDelivery, o: { global: () => GlobalSnapshot | undefined; asked: (from: ShardId) => void; onGlobal?: (f: () => void) => void }): TriadNetwork {
  return {
    onGlobal: (f: () => void) => (o.onGlobal?.(f), () => {}),
    latestGlobalSnapshot: o.global,
    publishReceipts: async () => {},
    fetchReceipts: async (from: ShardId, to: ShardId, cursor: bigint | { next: bigint }) => {
      o.asked(from);
      const b = await srcX.serve(to, typeof cursor === 'bigint' ? cursor : cursor.next);
      return b ? decodeReceiptBatch(b) : undefined;
    },
  } as unknown as TriadNetwork;
}

test('the safety-net pull skips a source that sent nothing since a pull left nothing to take, and pulls it again once its outflow grows', async () => {
  const src = await open(SRC);
  const dst = await open(DST);
  let global: GlobalSnapshot | undefined;
  let asked = 0;
  const srcX = new CrossShardDelivery({ shard: src, genesis: net.genesis, scheduler: manual });
  const dstX = new CrossShardDelivery({ shard: dst, genesis: net.genesis, scheduler: manual });
  const network = standIn(srcX, { global: () => global, asked: (from) => (assert.equal(from, SRC), asked++) });
  srcX.attach(network);
  dstX.attach(network);
  const seal = async (n: number): Promise<void> => void (global = await sealBoth(src, dst, n));

  const from = usersOn(net, SRC)[0]!;
  const to = addr(usersOn(net, DST)[0]!);
  assert.ok((await src.submit([transfer(net, from, to, 100n, 0n)]))[0]!.ok);
  await seal(1);
  await dstX.pull(); // first round: every source is pulled once
  assert.equal(asked, 1);
  assert.equal(dstX.counters.queued, 1, 'the receipt came with the first pull');

  await seal(5);
  await dstX.pull(); // 5 final epochs later: pulled, nothing left to take
  assert.equal(asked, 2);

  await seal(5);
  await dstX.pull(); // the source's outflow is unchanged: not asked
  assert.equal(asked, 2, 'an unchanged source is not pulled');
  assert.equal(dstX.counters.pullsSkipped, 1);

  // value leaves the source for another shard: the safety net asks again
  assert.ok((await src.submit([transfer(net, from, addr(usersOn(net, OTHER)[0]!), 100n, 1n)]))[0]!.ok);
  await seal(5);
  await dstX.pull();
  assert.equal(asked, 3, 'a source whose outflow grew is pulled');
  await seal(1);
  assert.equal((await dst.account(to)).balance, 10_000n + 100n, 'the receipt was credited once');
  srcX.close();
  dstX.close();
});

test('a source that never sent value to another shard is never pulled, not even once at start', async () => {
  const src = await open(SRC);
  const dst = await open(DST);
  let global: GlobalSnapshot | undefined;
  let asked = 0;
  const dstX = new CrossShardDelivery({ shard: dst, genesis: net.genesis, scheduler: manual });
  const network = {
    onGlobal: () => () => {},
    latestGlobalSnapshot: () => global,
    publishReceipts: async () => {},
    fetchReceipts: async () => void asked++,
  } as unknown as TriadNetwork;
  dstX.attach(network);
  const seal = async (n: number): Promise<void> => void (global = await sealBoth(src, dst, n));
  // a transfer inside the source moves no value out of it
  const [a, b] = usersOn(net, SRC);
  assert.ok((await src.submit([transfer(net, a!, addr(b!), 100n, 0n)]))[0]!.ok);
  for (let round = 0; round < 3; round++) {
    await seal(5);
    await dstX.pull();
  }
  assert.equal(asked, 0, 'no pull of a source with outflow 0');
  assert.equal(dstX.counters.pullsSkipped, 3);
  dstX.close();
});

test('held receipt batches are offered once when globals arrive in a burst (two retries at once used to take one queue head twice and crash the node)', async () => {
  const src = await open(SRC);
  const dst = await open(DST);
  let global: GlobalSnapshot | undefined;
  const listeners: (() => void)[] = [];
  const dstX = new CrossShardDelivery({ shard: dst, genesis: net.genesis, scheduler: manual });
  const network = {
    onGlobal: (f: () => void) => (listeners.push(f), () => {}),
    latestGlobalSnapshot: () => global,
    publishReceipts: async () => {},
    fetchReceipts: async () => undefined,
  } as unknown as TriadNetwork;
  dstX.attach(network);
  const crashes: unknown[] = [];
  const onRejection = (e: unknown): void => void crashes.push(e);
  process.on('unhandledRejection', onRejection);
  try {
    const to = addr(usersOn(net, DST)[0]!);
    assert.ok((await src.submit([transfer(net, usersOn(net, SRC)[0]!, to, 100n, 0n)]))[0]!.ok);
    await src.sealEpoch();
    await dst.sealEpoch();
    const b = await src.receiptBatchBytes(DST, 0n);
    assert.ok(b, 'the source has a batch for the destination');
    // pushed before any global makes the source's epoch final: held
    dstX.onPushed(decodeReceiptBatch(b.bytes), 'test');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(dstX.counters.queued, 0, 'not credited before final');
    global = await globalOf(src, dst, 0);
    // a burst of globals: every listener fires several times before any retry finishes
    for (let i = 0; i < 4; i++) for (const f of listeners) f();
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(crashes.map(String), [], 'no retry crashed');
    assert.equal(dstX.counters.queued, 1, 'the held batch was queued exactly once');
    await dst.sealEpoch();
    assert.equal((await dst.account(to)).balance, 10_000n + 100n, 'credited once');
  } finally {
    process.off('unhandledRejection', onRejection);
    dstX.close();
  }
});

test('a source builds no receipt batch on a global while its outflow is unchanged since a push round left nothing unpushed, and pushes again once it grows', async () => {
  const src = await open(SRC);
  const dst = await open(DST);
  let global: GlobalSnapshot | undefined;
  const listeners: (() => void)[] = [];
  const published: ShardId[] = [];
  const srcX = new CrossShardDelivery({ shard: src, genesis: net.genesis, scheduler: manual });
  const network = {
    onGlobal: (f: () => void) => (listeners.push(f), () => {}),
    latestGlobalSnapshot: () => global,
    publishReceipts: async (to: ShardId) => void published.push(to),
    fetchReceipts: async () => undefined,
  } as unknown as TriadNetwork;
  srcX.attach(network);
  // the batches the push rounds build (a snapshot read and an outbox proof each), counted on the real shard
  let built = 0;
  const build = src.receiptBatchBytes.bind(src);
  src.receiptBatchBytes = (...a: Parameters<Shard['receiptBatchBytes']>) => (built++, build(...a));
  const global_ = async (n: number): Promise<void> => {
    global = await sealBoth(src, dst, n);
    for (const f of listeners) f();
    await new Promise((r) => setTimeout(r, 100));
  };
  const from = usersOn(net, SRC)[0]!;
  assert.ok((await src.submit([transfer(net, from, addr(usersOn(net, DST)[0]!), 100n, 0n)]))[0]!.ok);
  await global_(1);
  assert.deepEqual(published, [DST], 'the receipt is pushed');
  const afterFirst = built;
  assert.ok(afterFirst >= 2, 'one batch per destination built');
  await global_(1);
  await global_(3);
  assert.equal(built, afterFirst, 'no batch built while nothing left the source');
  assert.deepEqual(published, [DST]);
  assert.ok((await src.submit([transfer(net, from, addr(usersOn(net, OTHER)[0]!), 100n, 1n)]))[0]!.ok);
  await global_(1);
  assert.deepEqual(published, [DST, OTHER], 'value left again: pushed');
  assert.ok(built > afterFirst);
  srcX.close();
});

test('no timer runs while no source is wanted: a pull round runs with each new final global instead', async () => {
  const src = await open(SRC);
  const dst = await open(DST);
  let global: GlobalSnapshot | undefined;
  let asked = 0;
  const onGlobals: (() => void)[] = [];
  const timers = { every: 0, after: 0 };
  const counting: Scheduler = { now: () => Date.now(), every: () => (timers.every++, () => {}), after: () => (timers.after++, () => {}) };
  const srcX = new CrossShardDelivery({ shard: src, genesis: net.genesis, scheduler: manual });
  const dstX = new CrossShardDelivery({ shard: dst, genesis: net.genesis, scheduler: counting });
  const network = standIn(srcX, { global: () => global, asked: () => asked++, onGlobal: (f) => onGlobals.push(f) });
  srcX.attach(network);
  dstX.attach(network);
  assert.deepEqual(timers, { every: 0, after: 0 }, 'attaching arms no timer');
  const from = usersOn(net, SRC)[0]!;
  assert.ok((await src.submit([transfer(net, from, addr(usersOn(net, DST)[0]!), 100n, 0n)]))[0]!.ok);
  global = await sealBoth(src, dst, 1);
  for (const f of onGlobals) f(); // the global becomes final here
  await waitFor('the pull round of that global', () => dstX.counters.queued === 1, 10_000);
  assert.equal(asked, 1, 'the source was pulled once, at the global');
  assert.deepEqual(timers, { every: 0, after: 0 }, 'nothing is left waiting: no timer');
  srcX.close();
  dstX.close();
});
