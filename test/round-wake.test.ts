// The round machine driven by events and by the deadlines it asks for (`wake`), not by a fixed
// 50 ms tick: what a round can do at once happens at once, and the machine asks to be ticked
// exactly when a timeout, fetch wait or lease turn falls due (src/hierarchy/round.ts, settle());
// and its signing records pruned in steps (one fsync'd low-water write per step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardId, TriadPath } from '../src/core/ids.js';
import { PRUNE_SIGNS_EVERY, RoundMachine, type RoundAction, type RoundTiming } from '../src/hierarchy/round.js';
import { signAggregate, type FinalAggregate } from '../src/hierarchy/finality.js';
import { computeAggregate, type ChildInput, type TriadAggregate } from '../src/hierarchy/aggregate.js';
import { publisherOrder, signerFor } from '../src/hierarchy/rotation.js';
import { makeSignedSnapshot, makeSnapshot, makeTestNet, type TestNet } from './hierarchy-fixtures.js';

const timing: RoundTiming = { childTimeoutMs: 500, leaseMs: 250, fetchWaitMs: 250, syncIntervalMs: 0 };

function rig(net: TestNet, shard: ShardId, withWake = true) {
  const actions: RoundAction[] = [];
  const wakes: number[] = [];
  const now = { t: 10_000 };
  const m = new RoundMachine({
    genesis: net.genesis, shard, secretKey: net.keys.get(shard)!.secretKey, guard: { check: () => 'new', lowWaterEpoch: -1 },
    now: () => now.t, out: (a) => actions.push(a), timing, ...(withWake ? { wake: (at: number) => wakes.push(at) } : {}),
  });
  return { m, actions, wakes, now };
}

/** Signs the pending record-sign actions (the sign guard made them durable) and returns the signed aggregates. */
function signPending(r: ReturnType<typeof rig>): TriadAggregate[] {
  const out: TriadAggregate[] = [];
  for (const a of r.actions.splice(0)) {
    if (a.type === 'record-sign') r.m.signRecorded(a.id);
  }
  for (const a of r.actions) if (a.type === 'publish' && a.message.kind === 'aggregateSig') out.push(a.message.aggregate);
  return out;
}

const finalsPublished = (actions: RoundAction[]): FinalAggregate[] =>
  actions.flatMap((a) => (a.type === 'publish' && a.message.kind === 'final' ? [a.message.final] : []));

/** The shard that publishes the apex final of `epoch` on the first turn (depth 1: a shard signs for itself). */
function firstPublisher(net: TestNet, epoch: number): ShardId {
  return signerFor(String(publisherOrder('', epoch)[0]), epoch, net.genesis.depth, 0);
}

test('the first turn\'s publisher puts a final out as soon as it forms, without waiting for a tick', () => {
  const net = makeTestNet(1);
  const me = firstPublisher(net, 0);
  const r = rig(net, me);
  for (const s of ['0', '1', '2'] as ShardId[]) {
    if (s === me) r.m.ownSnapshot(makeSignedSnapshot(net, s, 0));
    else r.m.snapshot(makeSignedSnapshot(net, s, 0));
  }
  const [agg] = signPending(r);
  assert.ok(agg, 'this member signed the round');
  const other = (['0', '1', '2'] as ShardId[]).find((s) => s !== me)!;
  r.m.signature('' as TriadPath, agg, signAggregate(agg, Number(other), 0, net.keys.get(other)!.secretKey));
  const finals = finalsPublished(r.actions);
  assert.equal(finals.length, 1, 'published at the second signature, no tick in between');
  assert.equal(finals[0]!.aggregate.epoch, 0);
  assert.equal(r.m.latestGlobalEpoch(), 0);
  r.m.tick();
  assert.equal(finalsPublished(r.actions).length, 1, 'and not a second time at the next tick');
});

test('a round waiting only for its previous final computes as soon as that final is recorded, without a tick', () => {
  const net = makeTestNet(1);
  const me = '1' as ShardId;
  const r = rig(net, me);
  // epoch 1's three snapshots arrive before epoch 0's final is known here
  r.m.ownSnapshot(makeSignedSnapshot(net, me, 1));
  for (const s of ['0', '2'] as ShardId[]) r.m.snapshot(makeSignedSnapshot(net, s, 1));
  assert.ok(!r.actions.some((a) => a.type === 'record-sign'), 'nothing computed without the previous final');
  // epoch 0 goes final elsewhere: its final arrives by gossip
  const peer = rig(net, '0' as ShardId);
  for (const s of ['0', '1', '2'] as ShardId[]) peer.m.snapshot(makeSignedSnapshot(net, s, 0));
  const [agg0] = signPending(peer);
  const fa: FinalAggregate = {
    aggregate: agg0!, children: null,
    signatures: [signAggregate(agg0!, 0, 0, net.keys.get('0' as ShardId)!.secretKey), signAggregate(agg0!, 2, 0, net.keys.get('2' as ShardId)!.secretKey)],
  };
  r.m.final(fa);
  const signs = r.actions.filter((a) => a.type === 'record-sign');
  assert.deepEqual(signs.map((a) => a.type === 'record-sign' && a.epoch), [1], 'epoch 1 computed and signing at once');
});

test('the machine asks to be ticked when a round times out and when its fetch wait ends, and not at all once everything is final', () => {
  const net = makeTestNet(1);
  const me = firstPublisher(net, 0);
  const r = rig(net, me);
  const t0 = r.now.t;
  const others = (['0', '1', '2'] as ShardId[]).filter((s) => s !== me);
  r.m.ownSnapshot(makeSignedSnapshot(net, me, 0));
  r.m.snapshot(makeSignedSnapshot(net, others[0]!, 0));
  assert.equal(r.wakes.at(-1), t0 + timing.childTimeoutMs, 'woken at the round timeout from the first input');
  r.now.t = t0 + timing.childTimeoutMs;
  r.m.tick();
  const fetches = r.actions.filter((a) => a.type === 'fetch');
  assert.equal(fetches.length, 1, 'at the timeout: the missing snapshot is asked for');
  assert.equal(r.wakes.at(-1), r.now.t + timing.fetchWaitMs, 'woken again when the fetch wait ends');
  // the third snapshot comes by gossip meanwhile: computed, signed, and final with a second signature
  r.now.t += 10;
  r.m.snapshot(makeSignedSnapshot(net, others[1]!, 0));
  const [agg] = signPending(r);
  assert.ok(agg);
  r.m.signature('' as TriadPath, agg, signAggregate(agg, Number(others[0]), 0, net.keys.get(others[0]!)!.secretKey));
  assert.equal(finalsPublished(r.actions).length, 1);
  assert.equal(r.wakes.at(-1), Infinity, 'nothing left that time alone moves: no tick asked for');
});

test('a later turn\'s publisher is woken at its lease turn, and publishes then if nobody did', () => {
  const net = makeTestNet(1);
  const order = publisherOrder('', 0);
  const second = signerFor(String(order[1]), 0, 1, 0);
  const r = rig(net, second);
  // the final forms here (this node's and the first publisher's signatures); the first publisher's
  // own copy of it never arrives (as if lost or the publisher crashed)
  for (const s of ['0', '1', '2'] as ShardId[]) {
    if (s === second) r.m.ownSnapshot(makeSignedSnapshot(net, s, 0));
    else r.m.snapshot(makeSignedSnapshot(net, s, 0));
  }
  const [agg] = signPending(r);
  const first = signerFor(String(order[0]), 0, 1, 0);
  r.m.signature('' as TriadPath, agg!, signAggregate(agg!, Number(first), 0, net.keys.get(first)!.secretKey));
  const finalAt = r.now.t;
  assert.equal(finalsPublished(r.actions).length, 0, 'not this node\'s turn yet');
  assert.equal(r.wakes.at(-1), finalAt + timing.leaseMs, 'woken at the start of its turn');
  r.now.t = finalAt + timing.leaseMs;
  r.m.tick();
  assert.equal(finalsPublished(r.actions).length, 1, 'nobody published it: this node does on its turn');
  assert.equal(r.wakes.at(-1), Infinity);
});

test('without `wake` the machine still works from periodic ticks alone (the simulator and other drivers)', () => {
  const net = makeTestNet(1);
  const me = firstPublisher(net, 0);
  const r = rig(net, me, false);
  for (const s of ['0', '1', '2'] as ShardId[]) {
    if (s === me) r.m.ownSnapshot(makeSignedSnapshot(net, s, 0));
    else r.m.snapshot(makeSignedSnapshot(net, s, 0));
  }
  const [agg] = signPending(r);
  const other = (['0', '1', '2'] as ShardId[]).find((s) => s !== me)!;
  r.m.signature('' as TriadPath, agg!, signAggregate(agg!, Number(other), 0, net.keys.get(other)!.secretKey));
  r.m.tick();
  assert.equal(finalsPublished(r.actions).length, 1);
  assert.equal(r.wakes.length, 0);
});

test('signing records are pruned 16 epochs at a time: one fsync\'d low-water write per 16 global epochs, not one per epoch', () => {
  const net = makeTestNet(1);
  const guard = { check: () => 'new' as const, lowWaterEpoch: 0 };
  const actions: RoundAction[] = [];
  const m = new RoundMachine({
    genesis: net.genesis, shard: '0' as ShardId, secretKey: net.keys.get('0' as ShardId)!.secretKey, guard,
    now: () => 0, out: (a) => actions.push(a), timing, keepEpochs: 8,
  });
  const prunes: number[] = [];
  for (let e = 0; e < 100; e++) {
    const child = (i: number): ChildInput => ({ kind: 'snapshot', snapshot: makeSnapshot(net, String(i) as ShardId, e) });
    const agg = computeAggregate({ network: net.genesis.networkId, path: '' as TriadPath, epoch: e, prev: null, children: [child(0), child(1), child(2)] });
    m.final({ aggregate: agg, children: null, signatures: [1, 2].map((i) => signAggregate(agg, i, 0, net.keys.get(String(i) as ShardId)!.secretKey)) });
    for (const a of actions.splice(0)) if (a.type === 'prune-signs') { prunes.push(a.below); guard.lowWaterEpoch = a.below; }
  }
  assert.equal(PRUNE_SIGNS_EVERY, 16);
  assert.deepEqual(prunes.slice(0, 3), [16, 32, 48], 'the mark moves in steps of 16 epochs');
  assert.equal(prunes.length, Math.floor((99 - 8 - 1) / 16), 'one prune per 16 epochs');
  assert.ok(prunes.at(-1)! >= 99 - 8 - 1 - 16, 'never more than 16 epochs behind the stale edge');
});

/** The aggregate of epoch `e` as every member of the depth-1 apex computes it (signed by `who`'s rig). */
function aggregateOf(net: TestNet, who: ShardId, e: number): TriadAggregate {
  const peer = rig(net, who);
  for (const s of ['0', '1', '2'] as ShardId[]) peer.m.snapshot(makeSignedSnapshot(net, s, e));
  return signPending(peer)[0]!;
}

const sigsPublished = (actions: RoundAction[]): number => actions.filter((a) => a.type === 'publish' && a.message.kind === 'aggregateSig').length;

test('an own signature that makes the round final here, where this node publishes the final at once, is not published on its own: the final carries it', () => {
  const net = makeTestNet(1);
  const me = firstPublisher(net, 0);
  const other = (['0', '1', '2'] as ShardId[]).find((s) => s !== me)!;
  const agg = aggregateOf(net, other, 0);
  const r = rig(net, me);
  for (const s of ['0', '1', '2'] as ShardId[]) {
    if (s === me) r.m.ownSnapshot(makeSignedSnapshot(net, s, 0));
    else r.m.snapshot(makeSignedSnapshot(net, s, 0));
  }
  // the other member's signature arrives while this node's signing record is being written
  r.m.signature('' as TriadPath, agg, signAggregate(agg, Number(other), 0, net.keys.get(other)!.secretKey));
  for (const a of r.actions.splice(0)) if (a.type === 'record-sign') r.m.signRecorded(a.id);
  const finals = finalsPublished(r.actions);
  assert.equal(finals.length, 1, 'the final goes out at once');
  assert.deepEqual(finals[0]!.signatures.map((x) => x.position).sort(), [Number(me), Number(other)].sort(), 'with this node\'s signature in it');
  assert.equal(sigsPublished(r.actions), 0, 'and no separate message with that signature');
  assert.equal(r.m.signaturesWithheld, 1);
});

test('an own signature recorded after the round became final from the others\' signatures is not published; one that does not finalise anything is', () => {
  const net = makeTestNet(1);
  const order = publisherOrder('', 0);
  const me = signerFor(String(order[2]), 0, 1, 0); // the last turn's publisher: it publishes nothing at once
  const others = (['0', '1', '2'] as ShardId[]).filter((s) => s !== me);
  const agg = aggregateOf(net, others[0]!, 0);
  const r = rig(net, me);
  for (const s of ['0', '1', '2'] as ShardId[]) {
    if (s === me) r.m.ownSnapshot(makeSignedSnapshot(net, s, 0));
    else r.m.snapshot(makeSignedSnapshot(net, s, 0));
  }
  const pending = r.actions.splice(0).filter((a) => a.type === 'record-sign');
  assert.equal(pending.length, 1);
  for (const o of others) r.m.signature('' as TriadPath, agg, signAggregate(agg, Number(o), 0, net.keys.get(o)!.secretKey));
  assert.equal(r.m.latestGlobalEpoch(), 0, 'final from the two others');
  for (const a of pending) if (a.type === 'record-sign') r.m.signRecorded(a.id);
  assert.equal(sigsPublished(r.actions), 0, 'its signature adds nothing anyone needs');
  // the usual case: the first signature of a round goes out
  const q = rig(net, me);
  for (const s of ['0', '1', '2'] as ShardId[]) q.m.snapshot(makeSignedSnapshot(net, s, 0));
  assert.equal(signPending(q).length, 1, 'a signature that finalises nothing is published');
});
