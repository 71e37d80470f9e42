// Conservation and consistent cuts (src/hierarchy/conservation.ts) and the cumulative totals in
// triad aggregates: a carried child contributes its last totals, so a global snapshot can still
// check sum(balances) + in flight + burned fees = genesis supply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardId, TriadPath } from '../src/core/ids.js';
import { computeAggregate } from '../src/hierarchy/aggregate.js';
import { conservation, globalConservation, isConsistentCut, snapshotsConservation } from '../src/hierarchy/conservation.js';
import type { Snapshot } from '../src/shard/snapshot.js';

const Z = new Uint8Array(32);
/** A shard snapshot obeying supply = genesis - totalOutflow - totalFees + totalInflow. */
function snap(shard: string, epoch: number, genesis: bigint, out: bigint, inn: bigint, fees: bigint, vc: number[]): Snapshot {
  return {
    network: 'n', shard: shard as ShardId, epoch, stateRoot: Z, txRoot: Z, outboxRoot: Z, txCount: 0n,
    supply: genesis - out - fees + inn, outflow: 0n, inflow: 0n, fees: 0n, totalOutflow: out, totalInflow: inn, totalFees: fees,
    lamport: 0n, vectorClock: vc, hlc: 0n, prevSnapshotHash: Z,
  };
}

test('a carried child contributes its last cumulative totals, so the apex sums still conserve', () => {
  const G = 1000n;
  // epoch 1: shard 0 sent 100 to shard 1 (credited), shard 2 sent 50 to shard 0 (in flight); fees 3
  const e1 = [snap('0', 1, G, 100n, 0n, 1n, [1, 0, 0]), snap('1', 1, G, 0n, 100n, 1n, [1, 1, 0]), snap('2', 1, G, 50n, 0n, 1n, [0, 0, 1])];
  const a1 = computeAggregate({ network: 'n', path: '' as TriadPath, epoch: 1, children: e1.map((s) => ({ kind: 'snapshot' as const, snapshot: s })) as never, prev: null });
  assert.deepEqual([a1.totalOutflow, a1.totalInflow, a1.totalFees], [150n, 100n, 3n]);
  const c1 = globalConservation(a1, 3n * G);
  assert.deepEqual([c1.inFlight, c1.burnedFees, c1.holds], [50n, 3n, true]);
  // epoch 2: shard 2 missing (carried with its epoch-1 totals); shard 0 credits the 50
  const e2 = [snap('0', 2, G, 100n, 50n, 2n, [2, 1, 1]), snap('1', 2, G, 0n, 100n, 1n, [1, 2, 0])];
  const a2 = computeAggregate({ network: 'n', path: '' as TriadPath, epoch: 2, children: [{ kind: 'snapshot', snapshot: e2[0]! }, { kind: 'snapshot', snapshot: e2[1]! }, null], prev: a1 });
  assert.equal(a2.children[2].carried, true);
  assert.deepEqual([a2.children[2].totalOutflow, a2.totalOutflow, a2.totalInflow, a2.totalFees], [50n, 150n, 150n, 4n]);
  assert.equal(globalConservation(a2, 3n * G).holds, true);
  assert.equal(globalConservation(a2, 3n * G + 1n).holds, false, 'a wrong genesis supply is caught');
});

test('in flight below zero is caught, and only happens on a cut that is not consistent', () => {
  const G = 1000n;
  const src0 = snap('0', 0, G, 0n, 0n, 0n, [0, 0]); // has not sent yet (epoch 0)
  const src1 = snap('0', 1, G, 70n, 0n, 0n, [1, 0]); // sent 70 at epoch 1
  const dst = snap('1', 1, G, 0n, 70n, 0n, [1, 1]); // credited it, having seen shard 0's epoch 1
  assert.equal(isConsistentCut([{ epoch: 1, vectorClock: src1.vectorClock }, { epoch: 1, vectorClock: dst.vectorClock }]), true);
  assert.equal(snapshotsConservation([src1, dst], 2n * G).holds, true);
  assert.equal(isConsistentCut([{ epoch: 0, vectorClock: src0.vectorClock }, { epoch: 1, vectorClock: dst.vectorClock }]), false);
  const bad = snapshotsConservation([src0, dst], 2n * G);
  assert.equal(bad.inFlight, -70n);
  assert.equal(bad.holds, false);
  assert.equal(bad.supply + bad.inFlight + bad.burnedFees, 2n * G, 'the identity itself holds for any set');
  assert.equal(conservation({ supply: 10n, totalOutflow: 0n, totalInflow: 0n, totalFees: 0n }, 11n).holds, false);
});
