// Nine in-process "shards" (signed synthetic snapshots; no Shard class) over real libp2p on
// 127.0.0.1 run the triad aggregation up to the apex. Each node's libp2p identity is its validator
// key and only the genesis validators are admitted, as in a real node. Bounded in time.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { toHex } from '../src/core/bytes.js';
import { allShards, type ShardId } from '../src/core/ids.js';
import { createP2PNode, type P2PNode } from '../src/gossip/p2p.js';
import { peerKeyFromValidator, validatorPeers } from '../src/gossip/identity.js';
import { TriadNetwork, type GlobalStore } from '../src/gossip/network.js';
import { decodeEnvelope, GossipKind, kindName } from '../src/gossip/encoding.js';
import { triadTopic } from '../src/gossip/topics.js';
import { aggregateHash, type TriadAggregate } from '../src/hierarchy/aggregate.js';
import { verifyFinalAggregate } from '../src/hierarchy/finality.js';
import { publisherOrder, signerFor } from '../src/hierarchy/rotation.js';
import { SignGuard } from '../src/hierarchy/sign-guard.js';
import { aggregationPath, globalRoot, shardCommitments, verifyAggregationPath } from '../src/hierarchy/global.js';
import { snapshotHash, type Snapshot } from '../src/shard/snapshot.js';
import { expectedAggregates, makeSignedSnapshot, makeTestNet } from './hierarchy-fixtures.js';
import { waitFor, sleep } from './support/wait.js';
import { freePort } from './support/ports.js';

const net = makeTestNet(2, 'ninenet', 1000);
const G = net.genesis;
const SHARDS = allShards(2);
const dir = mkdtempSync(join(tmpdir(), 'smt-net-'));
const timing = { childTimeoutMs: 1200, leaseMs: 300, tickMs: 40, syncIntervalMs: 0, fetchTimeoutMs: 1000 };

const PEERS = validatorPeers(G);

interface Member { shard: ShardId; port: number; addr: string; p2p?: P2PNode; net?: TriadNetwork; db?: Level<string, Uint8Array> }
const members = new Map<ShardId, Member>();

after(async () => {
  for (const m of members.values()) await stop(m);
  rmSync(dir, { recursive: true, force: true });
});

async function launch(m: Member, syncIntervalMs = 0): Promise<void> {
  const peers = [...members.values()].filter((x) => x.shard !== m.shard).map((x) => x.addr);
  m.p2p = await createP2PNode({
    privateKey: await peerKeyFromValidator(net.keys.get(m.shard)!), allowedPeers: PEERS.ids, listen: `/ip4/127.0.0.1/tcp/${m.port}`, peers, networkId: G.networkId,
    scoredTopics: TriadNetwork.topicsFor(G, m.shard), dialBackoff: { initialMs: 100, maxMs: 1000 }, heartbeatMs: 200,
  });
  const subscribe = m.p2p.subscribe.bind(m.p2p);
  m.p2p.subscribe = (topic, handler) => subscribe(topic, (data, info) => {
    const got = received.get(m.shard);
    if (got) {
      const k = kindName(decodeEnvelope(data).kind);
      got.set(k, (got.get(k) ?? 0) + 1);
    }
    handler(data, info);
  });
  m.db = new Level<string, Uint8Array>(join(dir, `db-${m.shard}`), { valueEncoding: 'view' });
  const store: GlobalStore = m.db.sublevel<string, Uint8Array>('global', { valueEncoding: 'view' });
  const signStore = m.db.sublevel<string, Uint8Array>('signed', { valueEncoding: 'view' });
  m.net = await TriadNetwork.start({ p2p: m.p2p, genesis: G, shard: m.shard, validatorKey: net.keys.get(m.shard)!, store, signStore, timing: { ...timing, syncIntervalMs } });
}

async function stop(m: Member): Promise<void> {
  await m.net?.close();
  await m.p2p?.close();
  await m.db?.close();
  m.net = undefined; m.p2p = undefined; m.db = undefined;
}

/** Per node: gossip messages delivered to it, by envelope kind (counted while the node's entry exists). */
const received = new Map<ShardId, Map<string, number>>();

const live = () => [...members.values()].filter((m) => m.net);
const snapsOf = (epoch: number, missing: ShardId[] = []) =>
  new Map<ShardId, Snapshot | null>(SHARDS.map((s) => [s, missing.includes(s) ? null : makeSignedSnapshot(net, s, epoch).snapshot]));

async function runEpoch(epoch: number, missing: ShardId[] = []): Promise<void> {
  await Promise.all(live().filter((m) => !missing.includes(m.shard)).map((m) => m.net!.publishSnapshot(makeSignedSnapshot(net, m.shard, epoch))));
  await waitFor(`global snapshot ${epoch} at every live node`, () => live().every((m) => m.net!.latestGlobalEpoch() >= epoch));
}

describe('triad aggregation over libp2p, 9 shards', { timeout: 120_000 }, () => {
  const prev = new Map<string, TriadAggregate>();
  const latencies: number[] = [];

  test('all 9 nodes reach the same global root for the same epochs, the one the pure rule computes; each snapshot is one message to its triad, and every node hears every snapshot', async (t) => {
    for (const s of SHARDS) {
      const pid = PEERS.byShard.get(s)!;
      const port = await freePort();
      members.set(s, { shard: s, port, addr: `/ip4/127.0.0.1/tcp/${port}/p2p/${pid}` });
    }
    await Promise.all([...members.values()].map(launch));
    for (const m of members.values()) m.net!.onGlobal((ev) => { if (ev.latencyMs !== undefined) latencies.push(ev.latencyMs); });
    // every snapshot is one message, on its lowest triad's topic (round input for its siblings);
    // the other nodes get it inside the triad's final (commitment-tree input for everyone)
    const published: string[] = [];
    const heard = new Map<ShardId, Set<string>>();
    for (const m of members.values()) {
      const p2p = m.p2p!;
      const publish = p2p.publish.bind(p2p);
      p2p.publish = (topic, data) => {
        if (decodeEnvelope(data).kind === GossipKind.snapshot) published.push(topic);
        return publish(topic, data);
      };
      heard.set(m.shard, new Set());
      received.set(m.shard, new Map());
      m.net!.onSnapshot((ss) => heard.get(m.shard)!.add(`${ss.snapshot.shard}@${ss.snapshot.epoch}`));
    }
    await waitFor('every node connected to the 8 others', () => live().every((m) => m.p2p!.connectedPeers().length === 8));
    await waitFor('apex subscriptions known', () => live().every((m) => m.p2p!.topicPeers(m.net!.topics.triads.at(-1)!).length === 8));
    for (let e = 0; e < 3; e++) {
      await runEpoch(e);
      const expected = expectedAggregates(net, e, snapsOf(e), prev).get('')!;
      for (const m of live()) {
        const g = (await m.net!.globalAt(e))!;
        assert.equal(toHex(globalRoot(g)), toHex(aggregateHash(expected)), `shard ${m.shard} epoch ${e}`);
        assert.deepEqual(verifyFinalAggregate(g, G), { ok: true });
      }
    }
    assert.deepEqual(published.sort(), SHARDS.flatMap((s) => Array(3).fill(triadTopic(G.networkId, s[0]!))).sort(), 'one snapshot message per shard and epoch, on its lowest triad\'s topic');
    for (const [shard, got] of heard) {
      await waitFor(`shard ${shard} heard every other shard's snapshots`, () => got.size === 3 * 8);
      assert.ok(![...got].some((k) => k.startsWith(`${shard}@`)), 'not its own');
    }
    // what a node receives per epoch: its 2 siblings' snapshots, not the 8 others' (the 6 outside its
    // triad come inside the 3 lowest finals, of which it publishes at most one itself)
    for (const [shard, got] of received) {
      assert.equal(got.get('snapshot'), 2 * 3, `shard ${shard}: snapshot messages in 3 epochs (${JSON.stringify([...got])})`);
      assert.ok((got.get('lowestFinal') ?? 0) >= 2 * 3 && (got.get('lowestFinal') ?? 0) <= 3 * 3, `shard ${shard}: lowest finals in 3 epochs (${JSON.stringify([...got])})`);
    }
    // member signatures: its triad siblings' (2 an epoch), and the apex's only in the epochs whose
    // phase (epoch mod 3) makes it one of the three apex signers (1 of the 3 epochs here), from the 2 others
    for (const [shard, got] of received) {
      assert.ok((got.get('aggregateSig') ?? 0) <= 2 * 3 + 2, `shard ${shard}: member signatures in 3 epochs (${JSON.stringify([...got])})`);
    }
    const all = [...received.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0));
    t.diagnostic(`gossip messages received per node per epoch: ${(all.reduce((a, b) => a + b) / all.length / 3).toFixed(1)} (${JSON.stringify([...received.values()].reduce((acc, m) => { for (const [k, v] of m) acc[k] = (acc[k] ?? 0) + v; return acc; }, {} as Record<string, number>))} over 9 nodes, 3 epochs)`);
    const sorted = [...latencies].sort((a, b) => a - b);
    const out = live().map((m) => m.net!.stats().gossipBytesOut), inn = live().map((m) => m.net!.stats().gossipBytesIn);
    t.diagnostic(`seal-to-global latency over ${sorted.length} node-epochs: p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`);
    t.diagnostic(`gossip bytes per node per epoch: out ${Math.round(out.reduce((a, b) => a + b) / out.length / 3)}, in ${Math.round(inn.reduce((a, b) => a + b) / inn.length / 3)}`);
    const g = live()[0]!.net!.latestGlobalSnapshot()!;
    for (const s of SHARDS) {
      assert.ok(verifyAggregationPath(aggregationPath(g, s), snapshotHash(makeSignedSnapshot(net, s, 2).snapshot), globalRoot(g)));
    }
  });

  test('a crashed shard is carried forward and flagged; the others still agree (leases take over)', async () => {
    // the shard the rotation picks, in epoch 3, to sign for subtree "1" at the apex and to publish
    // triad "1"'s final: its turns must pass to the next in line after a lease
    const dead = signerFor('1', 3, 2, 0);
    assert.equal(dead, signerFor('1' + publisherOrder('1', 3)[0], 3, 2, 0));
    await stop(members.get(dead)!);
    for (const e of [3, 4]) {
      await runEpoch(e, [dead]);
      const expected = expectedAggregates(net, e, snapsOf(e, [dead]), prev).get('')!;
      for (const m of live()) {
        const g = (await m.net!.globalAt(e))!;
        assert.equal(toHex(globalRoot(g)), toHex(aggregateHash(expected)), `shard ${m.shard} epoch ${e}`);
        const c = shardCommitments(g, 2).find((x) => x.shard === dead)!;
        assert.equal(c.carried, true);
        assert.equal(c.epoch, 2, 'still its last included epoch');
      }
    }
    // let gossipsub's message cache (5 heartbeats of 200 ms) forget these epochs: the restarted
    // node must fetch them
    await sleep(1500);
  });

  test('the crashed shard restarts with the same key and store, catches up, and agrees again', async () => {
    const m = members.get(signerFor('1', 3, 2, 0))!;
    await launch(m, 500); // with periodic catch-up on
    assert.equal(m.net!.latestGlobalEpoch(), 2, 'its store kept the global snapshots it had');
    await waitFor('reconnected', () => m.p2p!.connectedPeers().length === 8);
    await waitFor('catch-up fetched the epochs it missed', () => m.net!.latestGlobalEpoch() === 4, 10_000);
    await waitFor('and the one before', () => m.net!.finalAggregate('', 3) !== undefined, 5000);
    assert.ok(m.net!.stats().fetchesMade > 0);
    await waitFor('apex subscriptions known', () => live().every((x) => x.p2p!.topicPeers(x.net!.topics.triads.at(-1)!).length === 8));
    for (const e of [5, 6]) {
      await runEpoch(e);
      const expected = expectedAggregates(net, e, snapsOf(e), prev).get('')!;
      const roots = new Set<string>();
      for (const x of live()) roots.add(toHex(globalRoot((await x.net!.globalAt(e))!)));
      assert.deepEqual([...roots], [toHex(aggregateHash(expected))], `epoch ${e}`);
    }
    const st = live().map((x) => x.net!.stats());
    assert.equal(st.reduce((n, s) => n + s.rejected, 0), 0, 'no honest message was rejected');
  });

  test('a validator that signed another aggregate for a round before its restart does not sign that round again; the other two finalise it', async () => {
    const m = members.get('00' as ShardId)!;
    await stop(m);
    // What a crash right after signing a different view of triad "0" at epoch 7 leaves in its store.
    const db = new Level<string, Uint8Array>(join(dir, `db-${m.shard}`), { valueEncoding: 'view' });
    const guard = await SignGuard.open(db.sublevel<string, Uint8Array>('signed', { valueEncoding: 'view' }));
    await guard.record('0', 7, new Uint8Array(32).fill(0xee));
    await db.close();
    await launch(m, 500);
    await waitFor('reconnected', () => m.p2p!.connectedPeers().length === 8);
    await waitFor('apex subscriptions known', () => live().every((x) => x.p2p!.topicPeers(x.net!.topics.triads.at(-1)!).length === 8));
    await runEpoch(7);
    assert.ok(m.net!.stats().signaturesRefused >= 1, 'the restarted validator refused to sign triad 0 at epoch 7');
    const f = m.net!.finalAggregate('0', 7)!;
    assert.ok(!f.signatures.some((s) => s.position === 0), 'its position signed nothing for that round');
    assert.equal(f.signatures.length, 2, 'the two other members finalised it');
    const roots = new Set<string>();
    for (const x of live()) roots.add(toHex(globalRoot((await x.net!.globalAt(7))!)));
    assert.equal(roots.size, 1, 'one global root at every node');
  });
});
