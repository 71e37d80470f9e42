// The round machine's catch-up (src/hierarchy/round.ts startSync / syncNeeded): a node that gossip
// keeps up to date asks its peers for global snapshots rarely; one that hears nothing new, or has
// holes below its latest global, asks at the full rate. Pure: a virtual clock, fetches answered
// "nothing" (or with a given global) by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardId } from '../src/core/ids.js';
import { RoundMachine, SYNC_IDLE_FACTOR, type RoundAction, type RoundFetch } from '../src/hierarchy/round.js';
import { signAggregate, type FinalAggregate } from '../src/hierarchy/finality.js';
import type { TriadAggregate } from '../src/hierarchy/aggregate.js';
import { expectedAggregates, makeSnapshot, makeTestNet } from './hierarchy-fixtures.js';

const SYNC_MS = 2000;
const TICK_MS = 50;
const net = makeTestNet(1);

/** The apex finals (global snapshots) of epochs 0..n-1 of a depth-1 net, signed by members 0 and 1. */
function globals(n: number): FinalAggregate[] {
  const prev = new Map<string, TriadAggregate>();
  const out: FinalAggregate[] = [];
  for (let e = 0; e < n; e++) {
    const snaps = new Map((['0', '1', '2'] as ShardId[]).map((s) => [s, makeSnapshot(net, s, e)]));
    const agg = expectedAggregates(net, e, snaps, prev).get('')!;
    const sigs = [0, 1].map((p) => signAggregate(agg, p, 0, net.keys.get(String(p) as ShardId)!.secretKey));
    out.push({ aggregate: agg, signatures: sigs, children: null });
  }
  return out;
}

interface Rig { m: RoundMachine; now: { t: number }; asked: RoundFetch[]; answer?: (q: RoundFetch, id: number) => void; drain: () => void }

function rig(): Rig {
  const now = { t: 0 };
  const pending: RoundAction[] = [];
  const r: Rig = {
    now, asked: [], drain: () => {},
    m: new RoundMachine({
      genesis: net.genesis, shard: '0' as ShardId, secretKey: net.keys.get('0' as ShardId)!.secretKey, guard: { check: () => 'new', lowWaterEpoch: -1 },
      now: () => now.t, out: (a) => pending.push(a), timing: { syncIntervalMs: SYNC_MS },
    }),
  };
  // every fetch is over at once: answered by `answer` if set, else by nobody
  r.drain = (): void => {
    while (pending.length) {
      const a = pending.shift()!;
      if (a.type !== 'fetch') continue;
      r.asked.push(a.request);
      r.answer?.(a.request, a.id);
      r.m.fetchDone(a.id);
    }
  };
  return r;
}

/** Runs the clock from now to `until` ms, ticking every TICK_MS; `each` runs before each tick. */
function run(r: Rig, until: number, each?: (t: number) => void): void {
  for (; r.now.t < until; r.now.t += TICK_MS) {
    each?.(r.now.t);
    r.m.tick();
    r.drain();
  }
}

const latestAsks = (r: Rig): number => r.asked.filter((q) => q.kind === 'globalLatest').length;

test('a node that gossip brings a new global snapshot every epoch asks its peers for the latest only every SYNC_IDLE_FACTOR sync intervals', () => {
  const gs = globals(60);
  const r = rig();
  // epoch e's global arrives by gossip at (e + 1) s
  run(r, 60_000, (t) => { if (t % 1000 === 0 && t >= 1000) r.m.final(gs[t / 1000 - 1]!); });
  assert.equal(r.m.latestGlobalEpoch(), 58);
  const passes = latestAsks(r);
  // the first pass at start (nothing heard yet), then one safety-net pass per SYNC_IDLE_FACTOR intervals
  assert.ok(passes >= 1 && passes <= 1 + Math.ceil(60_000 / (SYNC_IDLE_FACTOR * SYNC_MS)), `${passes} passes in 60 s (every ${SYNC_MS} ms would be ${60_000 / SYNC_MS})`);
  assert.equal(r.asked.filter((q) => q.kind === 'globalAt').length, 0, 'no holes, none asked for');
});

test('a node that hears no new global snapshot asks for the latest every sync interval', () => {
  const gs = globals(5);
  const r = rig();
  for (const g of gs) r.m.final(g); // held since start, then nothing new for 30 s
  run(r, 30_000);
  const passes = latestAsks(r);
  assert.ok(passes >= 30_000 / SYNC_MS - 2 && passes <= 30_000 / SYNC_MS + 1, `${passes} passes in 30 s`);
});

test('a hole below the latest global snapshot keeps passes at the full rate until it is filled', () => {
  const gs = globals(40);
  const r = rig();
  let filled = false;
  // epoch 5's global is never gossiped; a peer has it
  r.answer = (q, id) => {
    if (q.kind === 'globalAt' && q.epoch === 5) filled = r.m.answer(id, { kind: 'final', final: gs[5]! });
  };
  run(r, 40_000, (t) => {
    const e = t / 1000 - 1;
    if (t % 1000 === 0 && e >= 0 && e !== 5) r.m.final(gs[e]!);
  });
  assert.ok(filled, 'the hole was asked for and filled');
  assert.ok(r.m.globalInMemory(5), 'epoch 5 held');
  const holeAsks = r.asked.filter((q) => q.kind === 'globalAt');
  assert.deepEqual(holeAsks.map((q) => (q as { epoch: number }).epoch), [5], 'asked once, answered');
});

test('a hole nobody can fill is asked for a bounded number of times, then passes back off', () => {
  const gs = globals(80);
  const r = rig();
  run(r, 80_000, (t) => {
    const e = t / 1000 - 1;
    if (t % 1000 === 0 && e >= 0 && e !== 5) r.m.final(gs[e]!);
  });
  const holeAsks = r.asked.filter((q) => q.kind === 'globalAt' && q.epoch === 5).length;
  assert.ok(holeAsks >= 1 && holeAsks <= 3, `epoch 5 asked ${holeAsks} times`);
  // after the hole's attempts (and once it leaves the window) only safety-net passes remain
  const passes = latestAsks(r);
  assert.ok(passes <= 1 + 3 + Math.ceil(80_000 / (SYNC_IDLE_FACTOR * SYNC_MS)), `${passes} passes in 80 s`);
});

test('an answer with the global snapshot this node holds for that epoch is taken without checking it again', () => {
  const gs = globals(3);
  const r = rig();
  for (const g of gs) r.m.final(g);
  let taken: boolean | undefined;
  // same aggregate, signatures that would not verify: nothing new to record, so nothing to check
  const garbled: FinalAggregate = { ...gs[2]!, signatures: gs[2]!.signatures.map((s) => ({ ...s, signature: new Uint8Array(64) })) };
  r.answer = (q, id) => { if (q.kind === 'globalLatest') taken = r.m.answer(id, { kind: 'final', final: garbled }); };
  r.m.startSync();
  r.drain();
  assert.equal(taken, true, 'the asker stops: it holds that epoch already');
  assert.equal(r.m.latestGlobalSnapshot(), gs[2], 'what it holds is unchanged');
  // a different aggregate of a held epoch (or of a new one) is still verified, and a forged one refused
  const other = globals(4)[3]!;
  const forged: FinalAggregate = { ...other, signatures: other.signatures.map((s) => ({ ...s, signature: new Uint8Array(64) })) };
  r.answer = (q, id) => { if (q.kind === 'globalLatest') taken = r.m.answer(id, { kind: 'final', final: forged }); };
  r.m.startSync();
  r.drain();
  assert.equal(taken, false, 'a forged global of a new epoch is refused');
  assert.equal(r.m.latestGlobalEpoch(), 2);
});
