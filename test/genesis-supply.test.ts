// A triad child that has never produced a snapshot is carried with its genesis supply, so supply is
// conserved at every global snapshot from epoch 0, also when a shard starts late (a bug the chaos
// test found: such a child counted as supply 0 and the epoch-0 global snapshot lost its supply).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allShards, type ShardId, type TriadPath } from '../src/core/ids.js';
import { homeShard } from '../src/core/address.js';
import { totalSupply } from '../src/core/genesis.js';
import { computeAggregate, type ChildInput } from '../src/hierarchy/aggregate.js';
import { globalConservation } from '../src/hierarchy/conservation.js';
import { genesisChildSupplies } from '../src/hierarchy/genesis-supply.js';
import { makeSnapshot, makeTestNet } from './hierarchy-fixtures.js';

test('a never-seen child carries its genesis supply: epoch-0 global supply = genesis supply whichever shards are missing', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.bigInt({ min: 1n, max: 10n ** 12n })), { minLength: 1, maxLength: 30 }), fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }), (allocs, present) => {
    const net = makeTestNet(2, 'gsupply');
    net.genesis.allocations = allocs.map(([address, amount]) => ({ address, amount }));
    const perShard = new Map<string, bigint>();
    for (const a of net.genesis.allocations) perShard.set(homeShard(a.address, 2), (perShard.get(homeShard(a.address, 2)) ?? 0n) + a.amount);
    // epoch 0 with no transactions: each present shard's snapshot holds its genesis allocation
    const snap = (s: ShardId) => ({ ...makeSnapshot(net, s, 0), supply: perShard.get(s) ?? 0n, outflow: 0n, inflow: 0n, fees: 0n, totalOutflow: 0n, totalInflow: 0n, totalFees: 0n });
    const lower = new Map<string, ReturnType<typeof computeAggregate>>();
    for (const t of ['0', '1', '2']) {
      const kids = [0, 1, 2].map((i) => { const s = (t + i) as ShardId; return present[allShards(2).indexOf(s)] ? { kind: 'snapshot', snapshot: snap(s) } as ChildInput : null; });
      lower.set(t, computeAggregate({ network: 'gsupply', path: t as TriadPath, epoch: 0, children: kids as never, prev: null, genesisSupply: genesisChildSupplies(net.genesis, t) }));
    }
    const apex = computeAggregate({ network: 'gsupply', path: '' as TriadPath, epoch: 0, children: ['0', '1', '2'].map((t) => ({ kind: 'aggregate', aggregate: lower.get(t)! })) as never, prev: null, genesisSupply: genesisChildSupplies(net.genesis, '') });
    assert.equal(apex.supply, totalSupply(net.genesis));
    assert.equal(globalConservation(apex, totalSupply(net.genesis)).holds, true);
    // and with a whole triad missing at the apex
    const apex2 = computeAggregate({ network: 'gsupply', path: '' as TriadPath, epoch: 0, children: [{ kind: 'aggregate', aggregate: lower.get('0')! }, null, null] as never, prev: null, genesisSupply: genesisChildSupplies(net.genesis, '') });
    assert.equal(apex2.supply, totalSupply(net.genesis));
  }), { numRuns: 200 });
});

test('genesis child supplies partition the genesis supply at every triad', () => {
  const net = makeTestNet(2, 'gsupply2');
  net.genesis.allocations = Array.from({ length: 50 }, (_, i) => ({ address: new Uint8Array(20).fill(i), amount: BigInt(i + 1) }));
  const total = totalSupply(net.genesis);
  assert.equal(genesisChildSupplies(net.genesis, '').reduce((a, b) => a + b, 0n), total);
  assert.equal(['0', '1', '2'].flatMap((t) => genesisChildSupplies(net.genesis, t)).reduce((a, b) => a + b, 0n), total);
});
