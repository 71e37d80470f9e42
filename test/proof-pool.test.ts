// The prover pool's scheduling and the cadence choice, as pure code (src/proof/pool-queue.ts,
// src/proof/cadence.ts): no prover processes, no clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobOrder, PoolQueue, type PoolJob } from '../src/proof/pool-queue.js';
import { CadencePlan, changeLead, chooseCadence, criticalPathMs, HEADROOM, PATH_EPOCHS, proofsPerTree } from '../src/proof/cadence.js';
import { freshnessOf, Timelines } from '../src/node/proving/metrics.js';
import { latestJobEpoch } from '../src/proof/prover-service.js';

let nextId = 1;
const job = (epoch: number, level: number, queuedAt = 0): PoolJob => ({ id: nextId++, epoch, level, queuedAt });

test('pool order: an older epoch first, within an epoch the higher level (apex) first, then first come', () => {
  const jobs = [job(14, 1, 0), job(7, 1, 1), job(7, 0, 5), job(14, 1, 2)];
  const sorted = [...jobs].sort(jobOrder);
  assert.deepEqual(sorted.map((j) => [j.epoch, j.level, j.queuedAt]), [[7, 0, 5], [7, 1, 1], [14, 1, 0], [14, 1, 2]]);
});

test('the apex of a started epoch runs before leaves of a later epoch queued earlier (no starvation)', () => {
  const q = new PoolQueue<PoolJob>();
  // epoch 7's three leaves start on a 3-worker pool; then epoch 14's leaves arrive, then 7's apex
  for (let i = 0; i < 3; i++) q.add(job(7, 1, i));
  const running = [q.take()!, q.take()!, q.take()!];
  assert.deepEqual(running.map((j) => j.epoch), [7, 7, 7]);
  for (let i = 0; i < 3; i++) q.add(job(14, 1, 10 + i));
  for (const j of running) q.done(j);
  q.add(job(7, 0, 20));
  const { run, skipped } = q.next();
  assert.deepEqual(skipped, [], 'epoch 14 is the newest: nothing to skip');
  assert.equal(run?.epoch, 7);
  assert.equal(run?.level, 0, 'the apex of epoch 7 first, although epoch 14 was queued before it');
});

test('finishing an epoch beats starting a later one: with 2 workers a worker waits for the apex instead of taking a later leaf', () => {
  const q = new PoolQueue<PoolJob>({ workers: 2, holdMs: 3000 });
  const leaves7 = [job(7, 1, 0), job(7, 1, 0), job(7, 1, 0)];
  for (const j of leaves7) q.add(j);
  const [a, b] = [q.take(0)!, q.take(0)!];
  for (let i = 0; i < 3; i++) q.add(job(12, 1, 100)); // the next proved epoch's leaves arrive
  q.done(a, 1000);
  assert.equal(q.take(1000), leaves7[2], 'the rest of epoch 7 before epoch 12');
  q.done(b, 1200);
  const later = q.take(1200);
  assert.equal(later?.epoch, 12, 'one worker may start epoch 12 while epoch 7 still holds the other');
  q.done(leaves7[2]!, 2000); // 7's leaves are made; its apex is not queued yet (the node is verifying them)
  assert.equal(q.take(2000), undefined, 'the free worker is held for epoch 7\'s apex (the old order gave it a leaf of 12 and the apex waited ~2 s)');
  assert.equal(q.urgent(later!, 2000), false, 'epoch 12 runs at the lower priority while 7 is unfinished');
  assert.equal(q.unfinished(2000), 7);
  assert.equal(q.holdUntil(2000), 5000);
  const apex = job(7, 0, 2200);
  q.add(apex);
  assert.equal(q.take(2200), apex, 'the apex starts as soon as it arrives');
  q.done(apex, 3000);
  assert.equal(q.unfinished(3000), 12, 'epoch 7 is finished: epoch 12 is now the one to finish');
  assert.equal(q.urgent(later!, 3000), true);
  assert.equal(q.take(3000)?.epoch, 12);
});

test('the hold lapses when the unfinished epoch\'s next level does not come; one worker never holds', () => {
  const q = new PoolQueue<PoolJob>({ workers: 2, holdMs: 3000 });
  q.add(job(7, 1));
  const a = q.take(0)!;
  q.add(job(12, 1, 10));
  q.add(job(12, 1, 10));
  const b = q.take(10)!;
  assert.equal(b.epoch, 12);
  q.done(a, 1000);
  assert.equal(q.take(1000), undefined, 'held for epoch 7');
  assert.equal(q.take(3999), undefined);
  assert.equal(q.take(4000)?.epoch, 12, 'nothing of epoch 7 came within the hold: the worker goes on');
  assert.equal(q.unfinished(4000), 12);
  const one = new PoolQueue<PoolJob>({ workers: 1 });
  one.add(job(7, 1));
  const c = one.take(0)!;
  one.add(job(12, 1, 10));
  one.done(c, 1000);
  assert.equal(one.take(1000)?.epoch, 12, 'a single worker is never left idle');
});

test('skip: an epoch none of whose proofs started is skipped once a later epoch is waiting; a started epoch is finished', () => {
  const q = new PoolQueue<PoolJob>();
  const a = job(0, 1);
  q.add(a);
  assert.equal(q.next().run, a); // epoch 0 started, still running
  q.add(job(0, 1));
  q.add(job(5, 1));
  q.add(job(5, 1));
  q.add(job(10, 1)); // epoch 5 never started and 10 waits: 5 can no longer be proved before 10
  const first = q.next();
  assert.deepEqual(first.skipped.map((j) => j.epoch), [5, 5]);
  assert.equal(first.run?.epoch, 0, 'the rest of started epoch 0 goes first');
  const second = q.next();
  assert.deepEqual(second.skipped, []);
  assert.equal(second.run?.epoch, 10);
  assert.equal(q.size, 0);
});

test('skip also drops unstarted epochs older than a running one; nothing is skipped while one epoch is queued alone', () => {
  const q = new PoolQueue<PoolJob>();
  q.add(job(3, 1));
  q.add(job(3, 1));
  assert.deepEqual(q.skipStale(), []);
  const r = q.take()!;
  assert.equal(r.epoch, 3);
  q.add(job(1, 1)); // arrives late, older than the running epoch 3, never started
  assert.deepEqual(q.skipStale().map((j) => j.epoch), [1]);
  q.done(r);
  assert.equal(q.take()?.epoch, 3);
});

test('a skipped epoch stays skipped: its jobs submitted later (another node\'s, a re-submission) are skipped at once, counted once per epoch', () => {
  const q = new PoolQueue<PoolJob>();
  const a = job(5, 1);
  q.add(a);
  q.add(job(10, 1));
  assert.deepEqual(q.skipStale().map((j) => j.epoch), [5]);
  const r10 = q.take()!;
  assert.equal(r10.epoch, 10);
  // epoch 10 runs; epoch 5's other leaves come in (two nodes), and again after 10 is done
  q.add(job(5, 1));
  q.add(job(5, 1));
  assert.deepEqual(q.skipStale().map((j) => j.epoch), [5, 5]);
  q.done(r10);
  q.add(job(5, 1)); // nothing later queued or running now: before, this started epoch 5 after 10
  assert.deepEqual(q.skipStale().map((j) => j.epoch), [5], 'skipped, not started after the later epoch');
  assert.equal(q.take(), undefined);
  assert.equal(q.skippedEpochCount, 1, 'four jobs skipped, one epoch');
  assert.ok(q.isSkipped(5) && !q.isSkipped(10));
});

test('an unstarted epoch older than one already started (even finished) is skipped: its proof would land after the later one\'s', () => {
  const q = new PoolQueue<PoolJob>();
  q.add(job(10, 1));
  const r = q.take()!;
  q.done(r);
  q.add(job(7, 1)); // a late leaf of an older epoch, nothing else queued or running
  assert.deepEqual(q.skipStale().map((j) => j.epoch), [7]);
  assert.equal(q.skippedEpochCount, 1);
});

test('a job above the lowest level is never skipped: its epoch\'s leaves are proved (here or on another machine\'s pool)', () => {
  const q = new PoolQueue<PoolJob>();
  q.add(job(10, 1));
  q.take();
  const apex: PoolJob = { ...job(7, 0), leaf: false }; // epoch 7's leaves were proved elsewhere
  q.add(apex);
  assert.deepEqual(q.skipStale(), []);
  assert.equal(q.take(), apex);
  assert.equal(q.skippedEpochCount, 0);
});

test('a full queue refuses new jobs (bounded), remove() takes a queued job out', () => {
  const q = new PoolQueue<PoolJob>({ maxQueued: 2 });
  const a = job(1, 1);
  assert.ok(q.add(a));
  assert.ok(q.add(job(1, 1)));
  assert.equal(q.add(job(1, 1)), false);
  assert.ok(q.remove(a.id));
  assert.equal(q.remove(a.id), false);
  assert.equal(q.size, 1);
});

test('cadence choice follows capacity: tree CPU over usable cores (free cores, at most one per worker) x headroom x epoch', () => {
  assert.deepEqual(proofsPerTree(2), { leaves: 3, inners: 1 });
  assert.deepEqual(proofsPerTree(3), { leaves: 9, inners: 4 });
  const base = { depth: 2, epochMs: 3000, leafCpuMs: 1500, innerCpuMs: 850, source: 'measured' as const, workers: 2 };
  // 9 shards: 3 x 1500 + 850 = 5350 ms of CPU per proved epoch; at 3 s epochs a tree fits in 2 epochs
  const rule = (free: number, epochMs = base.epochMs): number => {
    const u = Math.min(2, free);
    return Math.max(Math.ceil(5350 / (u * epochMs * HEADROOM)), Math.ceil(criticalPathMs(2, 1500, 850, u) / epochMs));
  };
  const idle = chooseCadence({ ...base, freeCores: 2 });
  assert.equal(idle.treeCpuMs, 5350);
  assert.equal(idle.every, rule(2)); // 2 (one tree's critical path: 3.85 s)
  const busy = chooseCadence({ ...base, freeCores: 0.9 }); // nine nodes take ~1.1 cores
  assert.equal(busy.every, rule(0.9)); // 3
  assert.ok(busy.every > idle.every, 'fewer free cores -> sparser');
  assert.equal(chooseCadence({ ...base, freeCores: 8 }).every, idle.every, 'never more cores than workers');
  assert.equal(chooseCadence({ ...base, freeCores: 1.3, epochMs: 4000 }).every, 2, '4 s epochs: every 2nd');
  assert.equal(chooseCadence({ ...base, leafCpuMs: 700, innerCpuMs: 400, freeCores: 2 }).every, 1, 'faster proofs -> denser');
  assert.match(busy.why, /3 leaf x 1500 ms \+ 1 inner x 850 ms CPU \(measured\)/);
  assert.match(busy.why, /=> every 3$/);
  assert.equal(busy.expectedAgeEpochs, Math.round((3 + criticalPathMs(2, 1500, 850, 0.9) / 3000) * 10) / 10, 'worst age: the cadence plus one tree');
});

test('one tree\'s critical path: leaves in rounds of floor(cores), one inner proof per level above; under one core it stretches', () => {
  assert.equal(criticalPathMs(2, 1500, 850, 2), 2 * 1500 + 850, '3 leaves on 2 cores: 2 rounds, then the apex');
  assert.equal(criticalPathMs(2, 1500, 850, 1.7), 3 * 1500 + 850, '1.7 cores run one proof at a time');
  assert.equal(criticalPathMs(2, 1500, 850, 0.5), (3 * 1500 + 850) / 0.5);
  assert.equal(criticalPathMs(3, 1500, 850, 2), 5 * 1500 + 2 * 850, '9 leaves, 2 inner levels');
  assert.equal(criticalPathMs(1, 1500, 850, 2), 1500, 'depth 1: the single leaf proof is the apex');
});

test('cadence keeps proved epochs a critical path apart where a tree fits in 2 epochs, and pipelines them where it does not', () => {
  const base = { depth: 2, leafCpuMs: 1500, innerCpuMs: 850, source: 'measured' as const, workers: 2 };
  // 4 s epochs, 1.7 free cores: CPU alone would prove every epoch, but one tree takes 5.35 s
  const c4 = chooseCadence({ ...base, epochMs: 4000, freeCores: 1.7 });
  assert.equal(c4.every, 2, 'every 2nd epoch: each proof lands within 2 epochs instead of overlapping the next');
  assert.match(c4.why, /critical path 5350 ms => every 2/);
  assert.equal(chooseCadence({ ...base, epochMs: 4000, freeCores: 2 }).every, 1, 'two free cores: a tree takes 3.85 s, every epoch fits');
});

test('where a tree does not fit in 2 epochs, every epoch is eligible and the pool proves the newest it can start: the newest proof ages less than under any fixed cadence', () => {
  const base = { depth: 2, leafCpuMs: 1800, innerCpuMs: 900, source: 'measured' as const, workers: 2 };
  // the default devnet (1 s epochs) with about one core left by the nodes: a tree of 6.3 CPU-s
  const c = chooseCadence({ ...base, epochMs: 1000, freeCores: 1.09 });
  const pathMs = criticalPathMs(2, 1800, 900, 1.09);
  assert.ok(pathMs > PATH_EPOCHS * 1000);
  assert.equal(c.every, 1, 'every epoch eligible (before: a fixed every 7, the CPU rule)');
  assert.ok(Math.abs(c.intervalMs - 6300 / 1.09) < 1, 'proved epochs one tree\'s CPU over the usable cores apart');
  assert.equal(c.expectedAgeEpochs, Math.round(((6300 / 1.09 + pathMs) / 1000) * 10) / 10);
  const fixedEvery = Math.ceil(6300 / (1.09 * 1000 * HEADROOM)); // 7
  for (let n = 1; n <= 16; n++) {
    // a fixed cadence n: a proof every max(n epochs, one tree's CPU over the cores), each one tree late
    const worst = (Math.max(n * 1000, (n < fixedEvery ? Math.ceil(6300 / 1.09 / (n * 1000)) * n * 1000 : n * 1000)) + pathMs) / 1000;
    assert.ok(c.expectedAgeEpochs <= worst + 1e-9, `every ${n}: worst age ${worst} >= ${c.expectedAgeEpochs}`);
  }
  assert.match(c.why, /leaf .* inner .* usable cores .* => every 1: the pool starts the newest epoch whenever a worker frees/);
  assert.match(c.why, new RegExp(`against ~[\\d.]+ with a fixed every ${fixedEvery}\\)$`));
  // 2 s epochs pipeline too; 4 s epochs keep a critical path apart (the 2-epoch goal there)
  assert.equal(chooseCadence({ ...base, epochMs: 2000, freeCores: 1.3 }).every, 1);
  assert.equal(chooseCadence({ ...base, epochMs: 4000, freeCores: 1.3 }).every, 2);
  // a saturated machine: still every epoch eligible, the pool proves what it can
  const sat = chooseCadence({ ...base, epochMs: 1000, freeCores: 0 });
  assert.equal(sat.every, 1);
  assert.ok(sat.expectedAgeEpochs > 100, 'and says the newest proof will be old');
});

test('cadence plan: fixed plan = multiples of every; a change applies from the next epoch the old plan proves, at or after the lead', () => {
  const fixed = CadencePlan.fixed(5);
  assert.deepEqual([0, 1, 5, 7, 10].map((e) => fixed.isProved(e)), [true, false, true, false, true]);
  assert.equal(fixed.round(10), 2, 'fixed plan: round = e / every, as before');
  assert.equal(fixed.previousProved(10), 5);
  assert.equal(fixed.provedAtOrBefore(13), 10);
  const changed = fixed.withChange(3, 12); // next epoch the old plan proves at or after 12: 15
  assert.deepEqual(changed.segments, [{ from: 0, every: 5 }, { from: 15, every: 3 }]);
  assert.deepEqual([10, 12, 15, 16, 18, 21].map((e) => changed.isProved(e)), [true, false, true, false, true, true]);
  assert.equal(changed.previousProved(15), 10, 'the chain of proved epochs continues across the switch');
  assert.equal(changed.previousProved(18), 15);
  assert.ok(changed.round(18) !== changed.round(15) && changed.round(21) !== changed.round(18), 'successive proved epochs rotate');
  assert.equal(changed.withChange(3, 30), changed, 'no change, same plan');
  assert.throws(() => new CadencePlan([{ from: 0, every: 0 }]), RangeError);
  assert.throws(() => new CadencePlan([{ from: 5, every: 2 }, { from: 5, every: 3 }]), RangeError);
  assert.ok(changeLead(1000) >= 3 && changeLead(1000) * 1000 >= 6000, 'announced several seconds ahead');
});

test('freshness: age of the newest global proof in epochs the clock sealed since, and seconds since its seal; null before the first', () => {
  const g = { genesisTime: 1_000_000, epochMs: 1000 };
  assert.deepEqual(freshnessOf(g, -1, 1_050_000), { latestGlobalProofEpoch: -1, ageEpochs: null, ageSeconds: null });
  // at t = genesis + 50.5 s the clock has sealed epoch 48 (epoch e seals at genesis + (e+1) s)
  assert.deepEqual(freshnessOf(g, 40, 1_050_500), { latestGlobalProofEpoch: 40, ageEpochs: 9, ageSeconds: 9.5 });
});

test('timelines keep the epochs with proof work when most epochs are skipped (every epoch eligible)', () => {
  const tl = new Timelines(0, 1000, () => true);
  for (let e = 0; e < 100; e++) {
    tl.mark(e, 'sealed', undefined, (e + 1) * 1000 + 50);
    tl.mark(e, 'tree', undefined, (e + 1) * 1000 + 200);
    if (e % 5 === 0) {
      tl.mark(e, '0@start', undefined, (e + 1) * 1000 + 300);
      tl.mark(e, 'global', undefined, (e + 1) * 1000 + 6000);
    } else tl.mark(e, '0@skipped', undefined, (e + 1) * 1000 + 300);
  }
  const kept = Object.keys(tl.toJSON()).map(Number);
  const proved = kept.filter((e) => e % 5 === 0);
  assert.deepEqual(proved, [40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95], 'the last 12 proved epochs (before: only those among the last 12 epochs, 2 or 3)');
  assert.ok(kept.length <= 12 + 12 + 1 && kept.includes(99), 'and a few recent others');
});

test('the prover service refuses jobs of epochs beyond the clock + max(2 epochs, 10 s): one started would skip every earlier epoch', () => {
  assert.equal(latestJobEpoch(100, 1000), 110);
  assert.equal(latestJobEpoch(100, 4000), 103);
  assert.equal(latestJobEpoch(100, 10_000), 102);
  // what such a job would do to the queue once started: every earlier real epoch is skipped
  const q = new PoolQueue<PoolJob>();
  q.add(job(1_000_000, 1));
  q.done(q.take()!);
  q.add(job(101, 1));
  assert.deepEqual(q.skipStale().map((j) => j.epoch), [101]);
});
