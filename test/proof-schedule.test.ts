// The proving scheduler's scan (src/node/proving/schedule.ts) on plain stand-ins for its inputs:
// which proofs this node queues. Properties checked: an epoch the prover pool skipped is not queued
// again on later scans (before, each scan re-submitted its leaves and the pool answered "skipped"
// to each), and nothing is queued for an epoch at or before the newest global proof held (its proof
// would land after a fresher one); and which nodes take a proof from the proofs topic (pair, store,
// relay it): the apex every node, a proof below it only the first prover of the triad that folds
// it, its later-turn provers noting it unpaired and fetching it only when their turn comes; and
// that an epoch too old for its leaves still gets its parents once their child proofs are here
// (the scan passes over such epochs while they have none).
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { CadencePlan } from '../src/proof/cadence.js';
import { notesProof, ProofScheduler, proverOf, takesProof, type Task } from '../src/node/proving/schedule.js';
import { allShards, type ShardId } from '../src/core/ids.js';
import type { ProvingContext } from '../src/node/proving/context.js';
import type { CommitmentTrees } from '../src/node/proving/trees.js';
import type { ProofHoldings } from '../src/node/proving/holdings.js';

function setup(me = proverOf('0', CadencePlan.fixed(1).round(20), 2, 0), proofs = new Map<number, Map<string, unknown>>(), noted = new Map<number, Set<string>>()): { s: ProofScheduler; queued: Task[]; held: { latestGlobal: number }; trees: Map<number, object> } {
  const plan = CadencePlan.fixed(1);
  // default: the shard that proves leaf "0" of epoch 20 on turn 0
  const trees = new Map<number, object>();
  for (let e = 10; e <= 20; e++) trees.set(e, {});
  const c = {
    depth: 2, shard: { id: me }, cadence: { plan, source: 'pool', why: '' }, treeWindow: 100, leafWindow: 5, leaseMs: 30_000,
    clockEpoch: () => 20, timelines: { mark: () => {} }, log: { debug: () => {} },
  } as unknown as ProvingContext;
  const held = { latestGlobal: -1, proofsOf: (e: number) => proofs.get(e) ?? new Map(), noted, isNoted: (e: number, p: string) => noted.get(e)?.has(p) ?? false };
  const t = { head: { epoch: 20 }, trees, builtAt: new Map<number, number>() } as unknown as CommitmentTrees;
  const queued: Task[] = [];
  const s = new ProofScheduler(c, t, held as unknown as ProofHoldings, (task) => queued.push(task));
  return { s, queued, held, trees };
}

test('an epoch the pool skipped is not queued again; other epochs still are', () => {
  const { s, queued } = setup();
  s.scan();
  const mine = queued.filter((t) => t.epoch === 20 && t.path === '0');
  assert.equal(mine.length, 1, 'leaf 0 of epoch 20 queued here');
  // the pool answers "skipped" for epoch 20: the runner lets the task go and records the epoch
  const skipped = new Set([20]);
  s.skipped = (e) => skipped.has(e);
  s.queued.delete('0@20');
  queued.length = 0;
  s.scan();
  assert.deepEqual(queued.filter((t) => t.epoch === 20), [], 'not re-submitted (before: queued again on every scan)');
});

test('an epoch too old for its leaves: its apex is queued once the three leaf proofs are here, and nothing is queued while none are', () => {
  const plan = CadencePlan.fixed(1);
  const me = proverOf('', plan.round(12), 2, 0); // epoch 12 < clock 20 - leaf window 5: its leaves are too late
  const proofs = new Map<number, Map<string, unknown>>();
  const { s, queued } = setup(me, proofs);
  s.scan();
  assert.deepEqual(queued.filter((t) => t.epoch === 12), [], 'no proof of epoch 12 here: nothing of it can start');
  proofs.set(12, new Map([['0', {}], ['1', {}], ['2', {}]]));
  s.scan();
  assert.deepEqual(queued.filter((t) => t.epoch === 12), [{ epoch: 12, path: '' }], 'the apex of 12, its children held');
});

test('nothing is queued for an epoch at or before the newest global proof held', () => {
  const { s, queued, held } = setup();
  held.latestGlobal = 20;
  s.scan();
  assert.equal(queued.length, 0, `nothing queued: ${JSON.stringify(queued)}`);
  held.latestGlobal = 18;
  s.scan();
  assert.ok(queued.length > 0 && queued.every((t) => t.epoch > 18), `only epochs after 18: ${JSON.stringify(queued)}`);
});

test('a proof below the apex is taken from the topic only by the first prover of the triad above it, noted by its later turns, the apex by every node', () => {
  for (let round = 0; round < 12; round++) {
    const shards = allShards(2);
    const takers = (path: string, later = false): ShardId[] => shards.filter((s) => takesProof(s, path, round, 2, later));
    const apexProvers = [0, 1, 2].map((k) => proverOf('', round, 2, k));
    assert.equal(new Set(apexProvers).size, 3, 'three distinct apex provers');
    assert.deepEqual(takers(''), shards, 'the apex: every node');
    assert.deepEqual(shards.filter((s) => notesProof(s, '', round, 2)), [], 'the apex is never only noted');
    for (const leaf of ['0', '1', '2']) {
      assert.deepEqual(takers(leaf), [apexProvers[0]], `leaf ${leaf}: the apex's first prover, 1 of 9 (before: all three apex provers)`);
      assert.deepEqual(shards.filter((s) => notesProof(s, leaf, round, 2)).sort(), apexProvers.slice(1).sort(), `leaf ${leaf}: noted by the apex's later turns`);
      // where a later turn could start a leaf (leaf window longer than a lease), the leaf's own provers too
      const own = [0, 1, 2].map((k) => proverOf(leaf, round, 2, k));
      assert.deepEqual(takers(leaf, true).sort(), [...new Set([apexProvers[0]!, ...own])].sort());
    }
  }
  // above the lowest level and below the apex (depth 3): the triad's own provers and its parent's
  const round = 5;
  const mid = '1';
  const want = new Set([proverOf('', round, 3, 0), ...[0, 1, 2].map((k) => proverOf(mid, round, 3, k))]);
  assert.deepEqual(new Set(allShards(3).filter((s) => takesProof(s, mid, round, 3, false))), want);
});

test('a later-turn prover of the apex with the leaves only noted: nothing before its turn; at its turn it fetches the leaves, then queues the apex once they are held', () => {
  const plan = CadencePlan.fixed(1);
  const e = 12; // older than the leaf window (clock 20 - 5): only notes make it scanned
  const me = proverOf('', plan.round(e), 2, 1); // turn 1 of epoch e's apex
  const proofs = new Map<number, Map<string, unknown>>();
  const noted = new Map<number, Set<string>>([[e, new Set(['0', '1', '2'])]]);
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  try {
    const { s, queued } = setup(me, proofs, noted);
    const asked: string[][] = [];
    s.fetchChildren = (e, paths) => asked.push(paths.map((p) => `${p}@${e}`));
    s.scan();
    assert.deepEqual(queued.filter((t) => t.epoch === e && t.path === ''), [], 'turn 0 is running: nothing queued');
    assert.deepEqual(asked, [], 'and nothing fetched (before: the three leaves were paired on arrival)');
    mock.timers.tick(30_001); // one lease: turn 1
    s.scan();
    assert.deepEqual(asked, [[`0@${e}`, `1@${e}`, `2@${e}`]], 'its turn: the noted leaves are fetched');
    assert.deepEqual(queued.filter((t) => t.epoch === e && t.path === ''), [], 'not queued without the leaves held');
    proofs.set(e, new Map([['0', {}], ['1', {}], ['2', {}]])); // fetched: admitted (paired) and held
    s.scan();
    assert.deepEqual(queued.filter((t) => t.epoch === e && t.path === ''), [{ epoch: e, path: '' }]);
  } finally {
    mock.timers.reset();
  }
});
