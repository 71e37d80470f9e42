// Replicated shards in the triad network (docs/REPLICAS.md), the pure parts: the cluster layout of
// replica processes, picking a shard's writer from its replicas' status answers, the round
// machine's term fence on child snapshots and its signing gate, and 2-of-3 counted per member slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../src/core/ed25519.js';
import type { Genesis } from '../src/core/genesis.js';
import type { ShardId, TriadPath } from '../src/core/ids.js';
import { makeLayout, parseLayout, peersOf, processName, replicasOf } from '../src/cluster/layout.js';
import { pickWriter } from '../src/cluster/discover.js';
import { RoundMachine, type RoundAction } from '../src/hierarchy/round.js';
import { computeAggregate, type ChildInput } from '../src/hierarchy/aggregate.js';
import { signAggregate, validMembers } from '../src/hierarchy/finality.js';
import { signSnapshot, type Snapshot } from '../src/shard/snapshot.js';
import { makeSnapshot, makeTestNet } from './hierarchy-fixtures.js';

test('layout with 3 replicas: one process per replica, distinct ports, replica 0 on the single-replica ports, each dials every other process', () => {
  const one = makeLayout(1, { apiBasePort: 9100, p2pBasePort: 9200 });
  const l = makeLayout(1, { apiBasePort: 9100, p2pBasePort: 9200, replicas: 3 });
  assert.equal(l.shards.length, 9);
  const ports = l.shards.flatMap((s) => [s.apiPort, s.p2pPort]);
  assert.equal(new Set(ports).size, ports.length, 'no port used twice');
  assert.equal(new Set(l.shards.map((s) => s.dataDir)).size, 9, 'a data dir per replica');
  for (const s of one.shards) {
    const r0 = replicasOf(l, s.shard)[0]!;
    assert.deepEqual([r0.replica, r0.apiPort, r0.p2pPort], [0, s.apiPort, s.p2pPort]);
  }
  assert.deepEqual(replicasOf(l, '1' as ShardId).map(processName), ['1', '1.r1', '1.r2']);
  for (const s of l.shards) {
    const peers = peersOf(l, s.shard, s.replica);
    assert.equal(peers.length, 8, 'every other process, its own shard\'s other replicas included');
    assert.ok(!peers.includes(`/ip4/${s.p2pHost}/tcp/${s.p2pPort}`));
  }
  assert.deepEqual(parseLayout(JSON.parse(JSON.stringify(l))), l);
  assert.throws(() => parseLayout({ ...l, shards: [{ ...l.shards[0]!, replica: 9 }] }), /bad replica/);
  assert.throws(() => makeLayout(1, { apiBasePort: 9100, p2pBasePort: 9105, replicas: 3 }), /overlap/);
});

test('the writer is the replica that says so in the highest term, else the one the others name, else any that answered', () => {
  const urls = ['a', 'b', 'c'];
  assert.equal(pickWriter(urls, [{ role: 'follower', term: '3', writer: 2 }, { role: 'writer', term: '2' }, { role: 'writer', term: '3' }]), 'c', 'a deposed writer of term 2 loses to the writer of term 3');
  assert.equal(pickWriter(urls, [{ role: 'follower', term: '4', writer: 1 }, { role: 'follower', term: '4', writer: 1 }, undefined]), 'b');
  assert.equal(pickWriter(urls, [undefined, { role: 'candidate', term: '5', writer: null }, undefined]), 'b', 'no writer known: any replica that answers (it forwards)');
  assert.equal(pickWriter(urls, [{ role: 'follower', term: '4', writer: 2 }, undefined, undefined]), 'a', 'a named writer that does not answer is not picked');
  assert.equal(pickWriter(urls, [undefined, undefined, undefined]), undefined);
});

function replicated(): { net: ReturnType<typeof makeTestNet>; g: Genesis; keys: ReturnType<typeof generateKeyPair>[] } {
  const net = makeTestNet(1);
  const keys = [net.keys.get('1' as ShardId)!, generateKeyPair(), generateKeyPair()];
  return { net, g: { ...net.genesis, replicas: new Map([['1' as ShardId, keys.map((k) => k.publicKey)]]) }, keys };
}

function machine(g: Genesis, shard: string, canSign?: (e: number) => boolean): { m: RoundMachine; actions: RoundAction[]; now: { t: number } } {
  const actions: RoundAction[] = [];
  const now = { t: 1000 };
  const m = new RoundMachine({
    genesis: g, shard: shard as ShardId, secretKey: generateKeyPair().secretKey, guard: { check: () => 'new', lowWaterEpoch: -1 },
    now: () => now.t, out: (a) => actions.push(a), ...(canSign ? { canSign } : {}),
  });
  return { m, actions, now };
}

test('the round machine takes no snapshot of a deposed term after a newer term sealed, and never two of one (shard, epoch)', () => {
  const { net, g, keys } = replicated();
  const { m } = machine(g, '0');
  const v2 = (epoch: number, term: bigint, writer: number, salt = 0): Snapshot => ({ ...makeSnapshot(net, '1' as ShardId, epoch, salt), replica: { term, writer } });
  m.snapshot(signSnapshot(v2(5, 2n, 1), keys[1]!.secretKey));
  assert.ok(m.snapshotOf('1', 5), 'term 2 at epoch 5 taken');
  m.snapshot(signSnapshot(v2(6, 1n, 0), keys[0]!.secretKey));
  assert.equal(m.snapshotOf('1', 6), undefined, 'term 1 at epoch 6, after term 2 sealed epoch 5: refused');
  m.snapshot(signSnapshot(v2(5, 2n, 1, 9), keys[1]!.secretKey));
  assert.notEqual(m.snapshotOf('1', 5)!.snapshot.stateRoot, makeSnapshot(net, '1' as ShardId, 5, 9).stateRoot, 'a second snapshot of epoch 5: refused');
  assert.equal(m.snapshotsFenced, 2);
  m.snapshot(signSnapshot(v2(6, 3n, 2), keys[2]!.secretKey));
  assert.ok(m.snapshotOf('1', 6), 'a newer term at the next epoch is taken');
});

test('a replica signs a round only when its gate says so (a follower, or a new writer for rounds an earlier one may have signed, never does)', () => {
  const net = makeTestNet(1);
  for (const allowed of [false, true]) {
    const asked: number[] = [];
    const { m, actions } = machine(net.genesis, '0', (e) => (asked.push(e), allowed));
    for (const s of ['0', '1', '2'] as ShardId[]) m.snapshot(signSnapshot(makeSnapshot(net, s, 0), net.keys.get(s)!.secretKey));
    m.tick();
    assert.ok(asked.includes(0), 'the gate is asked for the round\'s epoch');
    assert.equal(actions.some((a) => a.type === 'record-sign'), allowed, `gate ${allowed}: signing ${allowed ? 'started' : 'never started'}`);
  }
});

test('two replicas of one shard signing the same aggregate count as one member of the triad', () => {
  const { net, g, keys } = replicated();
  const child = (s: string): ChildInput => ({ kind: 'snapshot', snapshot: makeSnapshot(net, s as ShardId, 0) });
  const agg = computeAggregate({ network: g.networkId, path: '' as TriadPath, epoch: 0, children: [child('0'), child('1'), child('2')], prev: null });
  const byReplica = keys.map((k) => signAggregate(agg, 1, 0, k.secretKey));
  assert.deepEqual([...validMembers(agg, byReplica, g)], [1], 'three replica signatures of slot 1: one member');
  assert.deepEqual([...validMembers(agg, [...byReplica, signAggregate(agg, 0, 0, net.keys.get('0' as ShardId)!.secretKey)], g)].sort(), [0, 1]);
});
