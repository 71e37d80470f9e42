// libp2p end to end on 127.0.0.1: real TCP, noise, yamux, gossipsub. Bounded in time.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { ShardId } from '../src/core/ids.js';
import { createP2PNode, loadOrCreatePeerKey, PeerKeyError, PeerRequestError, RemoteRequestError, type P2PNode, type P2POptions } from '../src/gossip/p2p.js';
import { triadTopic } from '../src/gossip/topics.js';
import { encodeEnvelope, GossipKind } from '../src/gossip/encoding.js';
import { ACCEPT, makeTopicValidator, reject, type PayloadChecks, type ValidationOutcome } from '../src/gossip/validation.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, verifySnapshotSignature } from '../src/shard/snapshot.js';
import { makeSignedSnapshot, makeTestNet } from './hierarchy-fixtures.js';
import { waitFor, sleep } from './support/wait.js';
import { freePort } from './support/ports.js';

const net = makeTestNet(2);
const NET = net.genesis.networkId;
const TOPIC = triadTopic(NET, '0');
const dir = mkdtempSync(join(tmpdir(), 'smt-gossip-'));
const nodes: P2PNode[] = [];
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.close()));
  rmSync(dir, { recursive: true, force: true });
});

interface Planned { name: string; keyFile: string; port: number; peerId: string; addr: string }
async function plan(name: string): Promise<Planned> {
  const keyFile = join(dir, `${name}.key`);
  const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(keyFile)).toString();
  const port = await freePort();
  return { name, keyFile, port, peerId, addr: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}` };
}

async function start(p: Planned, peers: Planned[], checks?: PayloadChecks, onOutcome?: (o: ValidationOutcome) => void, extra: Partial<P2POptions> = {}): Promise<P2PNode> {
  const n = await createP2PNode({
    peerKeyFile: p.keyFile, listen: `/ip4/127.0.0.1/tcp/${p.port}`, peers: peers.map((x) => x.addr), networkId: NET,
    scoredTopics: [TOPIC], dialBackoff: { initialMs: 100, maxMs: 1000 }, heartbeatMs: 200, ...extra,
  });
  nodes.push(n);
  if (checks) n.setTopicValidator(TOPIC, makeTopicValidator(NET, checks, (o) => onOutcome?.(o)));
  return n;
}

const snapshotChecks: PayloadChecks = {
  [GossipKind.snapshot]: (payload) => {
    const ss = decodeSignedSnapshot(payload);
    const key = net.genesis.validators.get(ss.snapshot.shard);
    return key && verifySnapshotSignature(ss, key) ? ACCEPT : reject('bad-signature');
  },
};
const snapshotMsg = (shard: string, epoch: number, network = NET) =>
  encodeEnvelope({ kind: GossipKind.snapshot, network, payload: encodeSignedSnapshot(makeSignedSnapshot(net, shard as ShardId, epoch)) });

describe('peer key file', () => {
  test('is created with mode 0600, reloaded to the same identity, and refused when exposed or damaged', async () => {
    const f = join(dir, 'k1.key');
    const k1 = await loadOrCreatePeerKey(f);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.equal(peerIdFromPrivateKey(await loadOrCreatePeerKey(f)).toString(), peerIdFromPrivateKey(k1).toString());
    chmodSync(f, 0o644);
    await assert.rejects(loadOrCreatePeerKey(f), PeerKeyError);
    const g = join(dir, 'k2.key');
    writeFileSync(g, 'not a key', { mode: 0o600 });
    await assert.rejects(loadOrCreatePeerKey(g), PeerKeyError);
  });
});

describe('libp2p gossip on loopback', { timeout: 60_000 }, () => {
  test('three nodes started in any order connect, and a message published by one reaches the others', async () => {
    const [a, b, c] = [await plan('a'), await plan('b'), await plan('c')];
    // C first, dialing peers that do not exist yet; then B; then A.
    const nc = await start(c, [a, b], snapshotChecks);
    await sleep(300);
    const nb = await start(b, [a, c], snapshotChecks);
    const na = await start(a, [b, c], snapshotChecks);
    assert.equal(na.peerId, a.peerId);
    const got = new Map<string, Uint8Array[]>([['b', []], ['c', []]]);
    nb.subscribe(TOPIC, (d) => got.get('b')!.push(d));
    nc.subscribe(TOPIC, (d) => got.get('c')!.push(d));
    na.subscribe(TOPIC, () => {});
    await waitFor('full connectivity', () => [na, nb, nc].every((n) => n.connectedPeers().length === 2));
    await waitFor('subscriptions known to A', () => na.topicPeers(TOPIC).length === 2);
    const msg = snapshotMsg('00', 1);
    await na.publish(TOPIC, msg);
    await waitFor('delivery to B and C', () => got.get('b')!.length === 1 && got.get('c')!.length === 1, 10_000);
    assert.equal(Buffer.compare(got.get('b')![0]!, msg), 0);
    assert.equal(Buffer.compare(got.get('c')![0]!, msg), 0);
    await Promise.all([na.close(), nb.close(), nc.close()]);
  });

  test('nine connected nodes: every message reaches each subscribed peer once, from its author (nobody relays a duplicate)', async () => {
    const ps = await Promise.all(Array.from({ length: 9 }, (_, i) => plan(`n${i}`)));
    const ns = await Promise.all(ps.map((p) => start(p, ps.filter((q) => q !== p))));
    const got = ns.map(() => 0);
    const copies = ns.map(() => 0); // message copies in the RPCs a node receives, duplicates included
    ns.forEach((n, i) => {
      n.subscribe(TOPIC, () => { got[i]!++; });
      const gs = n.libp2p.services.pubsub as unknown as { handleReceivedRpc(from: unknown, rpc: { messages?: unknown[] }): unknown };
      const handle = gs.handleReceivedRpc.bind(gs);
      gs.handleReceivedRpc = (from, rpc) => { copies[i]! += rpc.messages?.length ?? 0; return handle(from, rpc); };
    });
    await waitFor('every node knows the 8 others subscribe', () => ns.every((n) => n.topicPeers(TOPIC).length === 8), 30_000);
    for (let k = 0; k < 2; k++) await Promise.all(ns.map((n, i) => n.publish(TOPIC, new Uint8Array([7, i, k]))));
    await waitFor('every message at every other node', () => got.every((g) => g === 16), 10_000);
    await sleep(1000); // 5 heartbeats: time for relays and IHAVE/IWANT exchanges to show
    assert.deepEqual(copies, ns.map(() => 16), 'each node received each of the 16 messages once');
    await Promise.all(ns.map((n) => n.close()));
  });

  test('a lost send is repaired: a message its author never delivered to a peer reaches it through the IHAVE/IWANT of the peers that got it, with or without other traffic', async () => {
    const ps = await Promise.all(Array.from({ length: 5 }, (_, i) => plan(`lost${i}`)));
    const ns = await Promise.all(ps.map((p) => start(p, ps.filter((q) => q !== p))));
    const [author, victim] = [ns[0]!, ns[1]!];
    const atVictim: { data: Uint8Array; from: string }[] = [];
    ns.forEach((n, i) => n.subscribe(TOPIC, i === 1 ? (data, info) => atVictim.push({ data, from: info.from }) : () => {}));
    // the author's sends of messages to the victim are lost (its IHAVE, with no message in it, still goes)
    let dropped = 0;
    const gs = author.libp2p.services.pubsub as unknown as { sendRpc(id: string, rpc: { messages?: unknown[] }): boolean };
    const send = gs.sendRpc.bind(gs);
    gs.sendRpc = (id, rpc) => {
      if (id === victim.peerId && (rpc.messages?.length ?? 0) > 0) { dropped++; return true; }
      return send(id, rpc);
    };
    await waitFor('every node knows the 4 others subscribe', () => ns.every((n) => n.topicPeers(TOPIC).length === 4), 30_000);
    // 1: no other traffic, so the IHAVE of the peers that got it goes out at a heartbeat of its own
    const quiet = new Uint8Array([9, 1]);
    await author.publish(TOPIC, quiet);
    await waitFor('the lost message at the victim', () => atVictim.length === 1, 10_000);
    // 2: every other node keeps publishing, so their IHAVE rides on their messages to the victim
    const busy = new Uint8Array([9, 2]);
    await author.publish(TOPIC, busy);
    for (let k = 0; atVictim.every((m) => Buffer.compare(m.data, busy) !== 0); k++) {
      if (k > 50) throw new Error('the second lost message never reached the victim');
      await Promise.all(ns.slice(2).map((n, i) => n.publish(TOPIC, new Uint8Array([9, 3, i, k]))));
      await sleep(100);
    }
    assert.ok(dropped >= 2, `the author's sends of both messages to the victim were lost (${dropped} sends, IWANT answers included)`);
    const repaired = atVictim.filter((m) => m.data[1] === 1 || m.data[1] === 2);
    assert.equal(repaired.length, 2, 'each lost message reached the victim once');
    assert.ok(repaired.every((m) => m.from !== author.peerId), 'and from a peer other than its author');
    await Promise.all(ns.map((n) => n.close()));
  });

  test('IHAVE gossip rides on messages: while every node publishes, an IHAVE is almost never an RPC of its own', async () => {
    const ps = await Promise.all(Array.from({ length: 9 }, (_, i) => plan(`ride${i}`)));
    const ns = await Promise.all(ps.map((p) => start(p, ps.filter((q) => q !== p))));
    let alone = 0; // RPCs received with IHAVE and no message, while the nodes publish
    let riding = 0; // RPCs received with IHAVE and messages
    let counting = true;
    ns.forEach((n) => {
      n.subscribe(TOPIC, () => {});
      const gs = n.libp2p.services.pubsub as unknown as { handleReceivedRpc(from: unknown, rpc: { messages?: unknown[]; control?: { ihave?: unknown[] } }): unknown };
      const handle = gs.handleReceivedRpc.bind(gs);
      gs.handleReceivedRpc = (from, rpc) => {
        if (counting && (rpc.control?.ihave?.length ?? 0) > 0) { if ((rpc.messages?.length ?? 0) > 0) riding++; else alone++; }
        return handle(from, rpc);
      };
    });
    await waitFor('every node knows the 8 others subscribe', () => ns.every((n) => n.topicPeers(TOPIC).length === 8), 30_000);
    // every node publishes more often than a heartbeat (200 ms), as validators publish a few
    // messages an epoch; once they stop, what is still held goes out alone (not counted)
    for (let k = 0; k < 30; k++) {
      await Promise.all(ns.map((n, i) => n.publish(TOPIC, new Uint8Array([8, i, k]))));
      await sleep(100);
    }
    counting = false;
    assert.ok(riding + alone > 50, `IHAVE gossip was sent (${riding} riding, ${alone} alone)`);
    // all of them went alone before (IHAVE was sent at the heartbeat, in an RPC of its own)
    assert.ok(alone <= 0.2 * (riding + alone), `at most a fifth of the RPCs with IHAVE carry nothing else (${alone} of ${riding + alone})`);
    await Promise.all(ns.map((n) => n.close()));
  });

  test('in a line A-B-C, a valid message from A reaches C through B; messages B rejects (bad signature, wrong network, undecodable) never reach C', async () => {
    const [a, b, c] = [await plan('la'), await plan('lb'), await plan('lc')];
    const outcomes: ValidationOutcome[] = [];
    const nb = await start(b, [], snapshotChecks, (o) => outcomes.push(o));
    const na = await start(a, [b]);
    const nc = await start(c, [b], snapshotChecks);
    const atC: Uint8Array[] = [];
    na.subscribe(TOPIC, () => {});
    nb.subscribe(TOPIC, () => {});
    nc.subscribe(TOPIC, (d) => atC.push(d));
    await waitFor('subscriptions known along the line', () => nb.topicPeers(TOPIC).includes(c.peerId) && na.topicPeers(TOPIC).includes(b.peerId));
    assert.deepEqual(na.connectedPeers(), [b.peerId], 'A is only connected to B');
    assert.deepEqual(nc.connectedPeers(), [b.peerId], 'C is only connected to B');

    const valid = snapshotMsg('01', 2);
    await na.publish(TOPIC, valid);
    // B does not relay eagerly (no mesh): its next heartbeats' IHAVE tells C, which asks for it (IWANT)
    await waitFor('a valid message from A relayed by B to C', () => atC.length === 1);

    const forgedSig = makeSignedSnapshot(net, '02' as ShardId, 2);
    forgedSig.signature[0]! ^= 0xff;
    const bad = [
      encodeEnvelope({ kind: GossipKind.snapshot, network: NET, payload: encodeSignedSnapshot(forgedSig) }),
      snapshotMsg('02', 3, 'othernet'),
      new Uint8Array([1, 2, 3, 4, 5]),
    ];
    for (const m of bad) await na.publish(TOPIC, m);
    await waitFor('B rejected all three', () => outcomes.filter((o) => o.action === 'reject').length === 3);
    assert.deepEqual(outcomes.filter((o) => o.action === 'reject').map((o) => o.action === 'reject' && o.code).sort(), ['bad-signature', 'undecodable', 'wrong-network']);
    // B's own message after the rejections travels the same B->C stream: once C has it, anything
    // B had forwarded before would have arrived first; anything B advertised (IHAVE) would have
    // been asked for and delivered within the next few heartbeats (200 ms each).
    const sentinel = snapshotMsg('10', 4);
    await nb.publish(TOPIC, sentinel);
    await waitFor('sentinel at C', () => atC.some((d) => Buffer.compare(d, sentinel) === 0));
    await sleep(1000);
    assert.equal(atC.length, 2, 'C received only the valid message and the sentinel');
    // peer scoring is on: the rejected messages lower A's score at B (scores are cached per heartbeat)
    await waitFor("A's score at B to drop below 0", () => nb.peerScore(a.peerId) < 0, 5000);
    await Promise.all([na.close(), nb.close(), nc.close()]);
  });

  test('a node restarted with the same key file keeps its peer id and its peers reconnect to it', async () => {
    const [a, b] = [await plan('ra'), await plan('rb')];
    assert.equal(statSync(a.keyFile).mode & 0o777, 0o600);
    let na = await start(a, [b]);
    const nb = await start(b, [a]);
    const atB: Uint8Array[] = [];
    nb.subscribe(TOPIC, (d) => atB.push(d));
    na.subscribe(TOPIC, () => {});
    await waitFor('first connection', () => nb.connectedPeers().includes(a.peerId));
    await na.close();
    await waitFor('disconnect seen by B', () => !nb.connectedPeers().includes(a.peerId));
    na = await start(a, []); // A restarts knowing no peers: B must re-dial it
    assert.equal(na.peerId, a.peerId);
    na.subscribe(TOPIC, () => {});
    await waitFor('B reconnects to restarted A', () => nb.connectedPeers().includes(a.peerId));
    await waitFor('A sees B subscribed', () => na.topicPeers(TOPIC).includes(b.peerId));
    const msg = snapshotMsg('11', 9);
    await na.publish(TOPIC, msg);
    await waitFor('message after restart', () => atB.length === 1);
    await Promise.all([na.close(), nb.close()]);
  });

  test('a live connection whose gossipsub stream broke is healed by reconnecting, and messages flow again', async () => {
    const [a, b] = [await plan('ha'), await plan('hb')];
    const na = await start(a, [b]);
    const nb = await start(b, [a]);
    const atA: Uint8Array[] = [];
    na.subscribe(TOPIC, (d) => atA.push(d));
    nb.subscribe(TOPIC, () => {});
    await waitFor('B sees A subscribed', () => nb.topicPeers(TOPIC).includes(a.peerId));
    // break B's outbound gossipsub stream to A behind gossipsub's back (what a restart race leaves)
    const internals = nb.libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, { rawStream: { abort(e: Error): void } }> };
    const out = internals.streamsOutbound.get(a.peerId)!;
    internals.streamsOutbound.delete(a.peerId);
    out.rawStream.abort(new Error('simulated stale stream'));
    const t0 = Date.now();
    const sent: Uint8Array[] = [];
    while (atA.length === 0) {
      if (Date.now() - t0 > 15_000) throw new Error('timed out waiting for delivery after heal');
      const msg = snapshotMsg('20', sent.length); // a new message each time: repeats would be duplicates
      sent.push(msg);
      await nb.publish(TOPIC, msg);
      await sleep(250);
    }
    assert.ok(sent.some((m) => Buffer.compare(atA[0]!, m) === 0));
    assert.ok(sent.length > 1, 'the first message, sent while broken, did not arrive');
    await Promise.all([na.close(), nb.close()]);
  });

  test('an idle connection is silent for 11 s (the connection monitor of the library pinged every 10 s)', async () => {
    const [a, b] = [await plan('sa'), await plan('sb')];
    const na = await start(a, [b]);
    const nb = await start(b, [a]);
    await waitFor('connected', () => na.connectedPeers().includes(b.peerId) && nb.connectedPeers().includes(a.peerId));
    await sleep(1500); // identify and gossipsub's opening exchange
    const socketBytes = (): number => [na, nb].reduce((sum, n) => sum + n.libp2p.getConnections().reduce((x, c) => {
      const sock = (c as unknown as { maConn?: { socket?: { bytesWritten?: number } } }).maConn?.socket;
      assert.ok(typeof sock?.bytesWritten === 'number', 'a TCP socket under the connection');
      return x + sock.bytesWritten;
    }, 0), 0);
    const before = socketBytes();
    await sleep(11_000); // libp2p's default ping interval is 10 s; ours is PING_INTERVAL_MS
    assert.equal(socketBytes(), before, 'nothing was written on the idle connection');
    await Promise.all([na.close(), nb.close()]);
  });

  test('request/response: a handler answers; a handler error comes back as a fixed code, never its text', async () => {
    const [a, b] = [await plan('qa'), await plan('qb')];
    const na = await start(a, [b]);
    const nb = await start(b, []);
    await nb.handle('/smt/testnet/echo/1', async (req) => {
      if (req[0] === 0) throw new Error('nope: /secret/internal/path');
      if (req[0] === 1) throw new PeerRequestError('refused', 'why it was refused, for our log only');
      return Uint8Array.from([...req].reverse());
    });
    await waitFor('connection', () => na.connectedPeers().includes(b.peerId));
    assert.deepEqual(await na.request(b.peerId, '/smt/testnet/echo/1', new Uint8Array([3, 2, 3])), new Uint8Array([3, 2, 3]));
    const err = (p: Promise<unknown>) => p.then(() => assert.fail('no error'), (e: unknown) => e as RemoteRequestError);
    const internal = await err(na.request(b.peerId, '/smt/testnet/echo/1', new Uint8Array([0])));
    assert.equal(internal.code, 'internal');
    assert.doesNotMatch(internal.message, /nope|secret/, 'the exception text stays on the serving node');
    assert.equal((await err(na.request(b.peerId, '/smt/testnet/echo/1', new Uint8Array([1])))).code, 'refused');
    await assert.rejects(na.request(b.peerId, '/smt/testnet/echo/1', new Uint8Array(200_000).fill(9), { timeoutMs: 3000 }));
    await Promise.all([na.close(), nb.close()]);
  });

  test('a request budget per peer: over the rate a peer gets rate-limited, over the concurrency busy; others are unaffected', async () => {
    const [a, b, c] = [await plan('ra'), await plan('rb'), await plan('rc')];
    const nb = await start(b, []);
    const na = await start(a, [b]);
    const nc = await start(c, [b]);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => { release = r; });
    await nb.handle('/smt/testnet/budget/1', async (req) => {
      if (req[0] === 9) await gate; // held until released: occupies the peer's one concurrent slot
      return req;
    }, undefined, { ratePerS: 0.5, burst: 3, maxConcurrent: 1 });
    await waitFor('connections', () => nb.connectedPeers().includes(a.peerId) && nb.connectedPeers().includes(c.peerId));
    const held = na.request(b.peerId, '/smt/testnet/budget/1', new Uint8Array([9]), { timeoutMs: 10_000 });
    await sleep(300);
    const busy = await na.request(b.peerId, '/smt/testnet/budget/1', new Uint8Array([1])).catch((e: RemoteRequestError) => e);
    assert.equal((busy as RemoteRequestError).code, 'busy', 'a second request while one is in flight');
    release();
    assert.deepEqual(await held, new Uint8Array([9]));
    // the bucket held 3: one used by the held request, one refused as busy (tokens are taken only
    // when admitted), so two more pass and the next is over the rate
    assert.deepEqual(await na.request(b.peerId, '/smt/testnet/budget/1', new Uint8Array([2])), new Uint8Array([2]));
    assert.deepEqual(await na.request(b.peerId, '/smt/testnet/budget/1', new Uint8Array([3])), new Uint8Array([3]));
    const limited = await na.request(b.peerId, '/smt/testnet/budget/1', new Uint8Array([4])).catch((e: RemoteRequestError) => e);
    assert.equal((limited as RemoteRequestError).code, 'rate-limited');
    assert.deepEqual(await nc.request(b.peerId, '/smt/testnet/budget/1', new Uint8Array([5])), new Uint8Array([5]), 'another peer has its own budget');
    assert.ok(nb.admissionStats().refusedRequests >= 2);
    await Promise.all([na.close(), nb.close(), nc.close()]);
  });
});

describe('admission: an allow list of peer ids', () => {
  test("an outsider's connections are refused in both directions; listed peers connect", async () => {
    const [v1, v2, x] = [await plan('v1'), await plan('v2'), await plan('x')];
    const allowedPeers = new Set([v1.peerId, v2.peerId]);
    const n1 = await start(v1, [], undefined, undefined, { allowedPeers });
    const n2 = await start(v2, [v1], undefined, undefined, { allowedPeers });
    const nx = await start(x, [v1]); // the outsider keeps dialling v1
    n1.addPeer(x.addr); // and v1 is even told to dial the outsider
    await waitFor('the validators connect', () => n1.connectedPeers().includes(v2.peerId) && n2.connectedPeers().includes(v1.peerId));
    await sleep(2000); // several dial attempts both ways
    assert.ok(!n1.connectedPeers().includes(x.peerId), 'v1 holds no connection to the outsider');
    // the outsider keeps dialling: its own end may count a connection as open between its half of the
    // handshake and v1's reset (seen at up to ~120 ms on a loaded machine), never one that lasts
    const lasting = nx.libp2p.getConnections().filter((c) => c.remotePeer.toString() === v1.peerId && Date.now() - c.timeline.open > 1000);
    assert.equal(lasting.length, 0, 'the outsider holds no lasting connection to v1');
    assert.ok(n1.admissionStats().deniedConnections >= 1, `denied ${n1.admissionStats().deniedConnections}`);
    await Promise.all([n1.close(), n2.close(), nx.close()]);
  });

  test('gossip sent by a connected peer outside the list is Rejected before any payload check; a listed sender is admitted and its payload checked', async () => {
    // X connects to V while listed, then leaves the list (the gater only checks new connections):
    // what X sends on the live connection meets the sender check, which runs before any payload check.
    const [v, r, x] = [await plan('av'), await plan('ar'), await plan('ax')];
    const outcomes: ValidationOutcome[] = [];
    const allowedPeers = new Set([v.peerId, r.peerId, x.peerId]);
    const nv = await start(v, [], snapshotChecks, (o) => outcomes.push(o), { allowedPeers });
    const nr = await start(r, [v]);
    const nx = await start(x, [v]);
    const atV: string[] = [];
    nv.subscribe(TOPIC, (_d, info) => atV.push(info.from));
    nr.subscribe(TOPIC, () => {});
    nx.subscribe(TOPIC, () => {});
    await waitFor('subscriptions known', () => nx.topicPeers(TOPIC).includes(v.peerId) && nr.topicPeers(TOPIC).includes(v.peerId));
    allowedPeers.delete(x.peerId);
    await nx.publish(TOPIC, snapshotMsg('00', 1)); // validly signed content, sender no longer listed
    await waitFor('V refused X', () => nv.admissionStats().rejectedSenders === 1);
    await nr.publish(TOPIC, snapshotMsg('01', 1));
    await waitFor('the listed sender\'s message arrives', () => atV.includes(r.peerId));
    await sleep(300);
    assert.deepEqual(atV, [r.peerId], "only the listed sender's message is delivered");
    assert.equal(outcomes.length, 1, 'the payload check ran only for the listed sender');
    await Promise.all([nv.close(), nr.close(), nx.close()]);
  });

  test('gossip messages carry no libp2p signature, author or sequence number (every payload is signed by its own validator)', async () => {
    const [a, b] = [await plan('sa'), await plan('sb')];
    const na = await start(a, []);
    const nb = await start(b, [a]);
    const seen: string[] = [];
    nb.libp2p.services.pubsub.addEventListener('gossipsub:message', (e) => { seen.push(e.detail.msg.type); });
    na.subscribe(TOPIC, () => {});
    nb.subscribe(TOPIC, () => {});
    await waitFor('A knows B subscribes', () => na.topicPeers(TOPIC).includes(b.peerId));
    await na.publish(TOPIC, snapshotMsg('00', 5));
    await waitFor('delivered', () => seen.length === 1);
    assert.deepEqual(seen, ['unsigned']);
    await Promise.all([na.close(), nb.close()]);
  });
});
