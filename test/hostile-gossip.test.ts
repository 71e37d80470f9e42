// Hostile inputs, part 3: gossip. A real TriadNetwork (shard 00 of a depth-2 network, its real
// topic validators) on real libp2p over 127.0.0.1, and outside libp2p nodes that publish hostile
// messages on its triad topic (its triad's snapshots, member signatures) and the apex topic (lowest
// finals with the snapshots they include). Properties checked (test/gossip-p2p.test.ts covers relay suppression
// of bad-signature / wrong-network / undecodable messages with stand-in checks; this file uses the
// node's own validators and adds the missing cases):
//  - a snapshot with a bad signature, a wrong network id, an oversized message, undecodable bytes,
//    a validly signed snapshot on the apex topic or of another triad's shard (a snapshot travels on its
//    own triad's topic), an aggregate signature by a key that is not the member's, and lowest finals
//    (kind lowestFinal) whose snapshot is not the one the final includes, whose snapshot's signature
//    is bad, or whose final lacks its 2 of 3, and apex member signatures on the apex topic or on the
//    signers topic of another phase (they travel on their epoch's signers topic) are each rejected with its code, are never delivered, and lower the
//    sender's gossipsub score below zero (one sender per message: three invalid messages graylist a peer);
//  - a replayed message (the same bytes again, from another peer) is dropped as a duplicate: it is
//    delivered once and does not count as a rejection;
//  - a valid snapshot of a sibling shard is accepted and delivered, and so is a valid lowest final
//    of another triad with its three snapshots, which reach the node's snapshot listeners.
// The victim runs WITHOUT the genesis allow list a real node has (src/gossip/admission.ts), so that
// outside nodes can reach its topic validators at all: each layer checks its own inputs, whoever
// got past the layer before. The allow list itself is tested in test/gossip-p2p.test.ts and
// test/security/cheap-identities.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { ShardId, TriadPath } from '../src/core/ids.js';
import { createP2PNode, type P2PNode } from '../src/gossip/p2p.js';
import { TriadNetwork } from '../src/gossip/network.js';
import { signersTopic, triadTopic } from '../src/gossip/topics.js';
import { signerFor } from '../src/hierarchy/rotation.js';
import { decodeAggregateSig, decodeEnvelope, encodeAggregateSig, encodeEnvelope, encodeLowestFinal, GossipKind, MAX_GOSSIP_BYTES } from '../src/gossip/encoding.js';
import { encodeSignedSnapshot, type SignedSnapshot } from '../src/shard/snapshot.js';
import { computeAggregate, type ChildInput } from '../src/hierarchy/aggregate.js';
import { signAggregate, verifyMemberSignature, type FinalAggregate } from '../src/hierarchy/finality.js';
import { genesisChildSupplies } from '../src/hierarchy/genesis-supply.js';
import { makeSignedSnapshot, makeSnapshot, makeTestNet } from './hierarchy-fixtures.js';
import { waitFor, sleep } from './support/wait.js';

const net = makeTestNet(2, 'hostile-gossip');
const NET = net.genesis.networkId;
const TOPIC = triadTopic(NET, '0');
const APEX = triadTopic(NET, '');
// shard 00 signs for member "0" at the apex in the epochs of phase 2 (signerFor: 0 = (e + 1) mod 3)
const SIGNERS = signersTopic(NET, '', 2);
const dir = mkdtempSync(join(tmpdir(), 'smt-hostile-gossip-'));
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const env = (kind: number, payload: Uint8Array, network = NET): Uint8Array => encodeEnvelope({ kind: kind as never, network, payload });

test('hostile gossip on a triad topic is rejected by the node\'s own validators, never delivered, and lowers the sender\'s score; replays are dropped', { timeout: 60_000 }, async () => {
  // the victim: shard 00 with its real network layer; its warn log lines carry the reject codes
  const rejects: Array<{ code: string; from: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => { const j = JSON.parse(s); if (j.msg === 'gossip message rejected') rejects.push({ code: j.code, from: j.from }); } });
  const p2p = await createP2PNode({ peerKeyFile: join(dir, 'victim.key'), networkId: NET, scoredTopics: TriadNetwork.topicsFor(net.genesis, '00' as ShardId), heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
  closers.push(() => p2p.close());
  const victim = await TriadNetwork.start({ p2p, genesis: net.genesis, shard: '00' as ShardId, validatorKey: net.keys.get('00' as ShardId)!, logger });
  closers.push(() => victim.close());
  const delivered: Uint8Array[] = [];
  const heard: string[] = []; // the victim's snapshot listeners (the proving layer's input)
  victim.onSnapshot((ss) => heard.push(`${ss.snapshot.shard}@${ss.snapshot.epoch}`));
  // a passive listener behind the victim sees only what the victim accepted and forwarded
  const listener = await createP2PNode({ peerKeyFile: join(dir, 'listener.key'), networkId: NET, peers: p2p.multiaddrs(), heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
  closers.push(() => listener.close());
  // (the victim's own messages, e.g. its valid signature over the triad aggregate, are not what we
  // look for; gossip names no author, so they are told apart by content)
  const victimOwn = (d: Uint8Array): boolean => {
    try {
      const e = decodeEnvelope(d);
      if (e.kind !== GossipKind.aggregateSig) return false;
      const m = decodeAggregateSig(e.payload);
      return m.signature.position === 0 && verifyMemberSignature(m.aggregate, m.signature, net.genesis);
    } catch {
      return false; // anything undecodable that got through is recorded
    }
  };
  for (const t of [TOPIC, APEX]) listener.subscribe(t, (d) => { if (!victimOwn(d)) delivered.push(d); });

  const attacker = await createP2PNode({ peerKeyFile: join(dir, 'attacker.key'), networkId: NET, peers: p2p.multiaddrs(), heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
  closers.push(() => attacker.close());
  for (const t of [TOPIC, APEX]) attacker.subscribe(t, () => {});
  const replayer = await createP2PNode({ peerKeyFile: join(dir, 'replayer.key'), networkId: NET, peers: p2p.multiaddrs(), heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
  closers.push(() => replayer.close());
  for (const t of [TOPIC, APEX]) replayer.subscribe(t, () => {});
  await waitFor('everyone sees the victim on both topics', () => [TOPIC, APEX].every((t) =>
    [attacker, replayer].every((n) => n.topicPeers(t).includes(p2p.peerId)) && p2p.topicPeers(t).includes(listener.peerId) && p2p.topicPeers(t).includes(attacker.peerId)));
  assert.ok(!listener.connectedPeers().includes(attacker.peerId), 'the listener only hears the attacker through the victim');

  // a valid snapshot of a sibling shard is accepted and forwarded
  const valid = env(GossipKind.snapshot, encodeSignedSnapshot(makeSignedSnapshot(net, '01' as ShardId, 0)));
  await attacker.publish(TOPIC, valid);
  await waitFor('the valid snapshot is forwarded to the listener', () => delivered.length === 1);
  const scoreAfterValid = p2p.peerScore(attacker.peerId);

  // lowest finals of triad 1 (another triad's, as the victim's apex round takes them) with snapshots
  const triad1 = (epoch: number): { final: FinalAggregate; snaps: SignedSnapshot[] } => {
    const snaps = ['10', '11', '12'].map((sh) => makeSignedSnapshot(net, sh as ShardId, epoch));
    const aggregate = computeAggregate({ network: NET, path: '1' as TriadPath, epoch, children: snaps.map((x) => ({ kind: 'snapshot', snapshot: x.snapshot })) as never, prev: null, genesisSupply: genesisChildSupplies(net.genesis, '1') });
    const signatures = [0, 1].map((pos) => signAggregate(aggregate, pos, 0, net.keys.get(`1${pos}` as ShardId)!.secretKey));
    return { final: { aggregate, signatures, children: null }, snaps };
  };
  const good = triad1(0);
  const validFinal = env(GossipKind.lowestFinal, encodeLowestFinal({ final: good.final, snapshots: good.snaps }));
  await attacker.publish(APEX, validFinal);
  await waitFor('the valid lowest final is forwarded to the listener', () => delivered.length === 2);
  assert.deepEqual(heard, ['01@0', '10@0', '11@0', '12@0'], 'the sibling\'s snapshot and the lowest final\'s three reach the snapshot listeners');

  // hostile messages
  const forged = makeSignedSnapshot(net, '02' as ShardId, 0);
  forged.signature[5]! ^= 0x40;
  const otherTriad = makeSignedSnapshot(net, '12' as ShardId, 0); // valid signature, but of another triad's shard
  const onApex = makeSignedSnapshot(net, '02' as ShardId, 1); // valid, but a snapshot travels on its own triad's topic
  const e1 = triad1(1);
  const swapped = makeSignedSnapshot(net, '11' as ShardId, 1, 7); // validly signed, not the one the final includes
  const badSnapSig = triad1(1).snaps.map((x) => ({ ...x, signature: x.signature.slice() }));
  badSnapSig[2]!.signature[3]! ^= 1;
  const oneSig = triad1(2);
  // apex member signatures (validly signed by member 1's signer of their epoch): on the apex topic,
  // or on the signers topic of another phase
  const apexSig = (epoch: number) => {
    const aggregate = { ...agg, path: '' as TriadPath, epoch };
    return encodeAggregateSig({ aggregate, signature: signAggregate(aggregate, 1, 0, net.keys.get(signerFor('1', epoch, 2, 0))!.secretKey) });
  };
  const kids: ChildInput[] = ['00', '01', '02'].map((s) => ({ kind: 'snapshot', snapshot: makeSnapshot(net, s as ShardId, 0) }));
  const agg = computeAggregate({ network: NET, path: '0' as TriadPath, epoch: 0, children: kids as never, prev: null });
  const wrongSigner = signAggregate(agg, 1, 0, net.keys.get('22' as ShardId)!.secretKey); // member 1 of triad 0 is shard 01, not 22
  const oversized = new Uint8Array(MAX_GOSSIP_BYTES + 100).fill(1);
  const hostile: Array<[string, Uint8Array, string]> = [
    ['bad-signature', env(GossipKind.snapshot, encodeSignedSnapshot(forged)), TOPIC],
    ['wrong-network', env(GossipKind.snapshot, encodeSignedSnapshot(makeSignedSnapshot(net, '01' as ShardId, 1)), 'other-net'), TOPIC],
    ['wrong-topic', env(GossipKind.snapshot, encodeSignedSnapshot(otherTriad)), TOPIC],
    ['wrong-topic', env(GossipKind.snapshot, encodeSignedSnapshot(onApex)), APEX],
    ['invalid', env(GossipKind.lowestFinal, encodeLowestFinal({ final: e1.final, snapshots: [e1.snaps[0]!, swapped, e1.snaps[2]!] })), APEX],
    ['bad-signature', env(GossipKind.lowestFinal, encodeLowestFinal({ final: e1.final, snapshots: badSnapSig })), APEX],
    ['invalid', env(GossipKind.lowestFinal, encodeLowestFinal({ final: { ...oneSig.final, signatures: oneSig.final.signatures.slice(0, 1) }, snapshots: oneSig.snaps })), APEX],
    ['bad-signature', env(GossipKind.aggregateSig, encodeAggregateSig({ aggregate: agg, signature: wrongSigner })), TOPIC],
    ['wrong-topic', env(GossipKind.aggregateSig, apexSig(2)), APEX],
    ['wrong-topic', env(GossipKind.aggregateSig, apexSig(3)), SIGNERS],
    ['undecodable', new Uint8Array([9, 9, 9, 9]), APEX],
    ['oversized', oversized, TOPIC],
  ];
  // One attacker per message: each invalid message counts squared x -20 (p2p.ts topicScoreParams), so
  // two give exactly -80, not yet below the graylist threshold (-80), and the third graylists the peer
  // (-180, plus at most +10 banked): its further messages are dropped unread, which would hide the
  // per-message reject codes.
  const attackers: P2PNode[] = [attacker];
  for (let i = 1; i < hostile.length; i++) {
    const n = await createP2PNode({ peerKeyFile: join(dir, `attacker${i}.key`), networkId: NET, peers: p2p.multiaddrs(), heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
    closers.push(() => n.close());
    for (const t of [TOPIC, APEX, SIGNERS]) n.subscribe(t, () => {});
    attackers.push(n);
  }
  await waitFor('the attackers see the victim on the topics', () => attackers.slice(1).every((n) => [TOPIC, APEX, SIGNERS].every((t) => n.topicPeers(t).includes(p2p.peerId) && p2p.topicPeers(t).includes(n.peerId))));
  for (const [i, [, m, t]] of hostile.entries()) await attackers[i]!.publish(t, m);
  await waitFor('all hostile messages rejected', () => rejects.length >= hostile.length, 20_000);
  assert.deepEqual(rejects.map((r) => `${r.from} ${r.code}`).sort(), hostile.map(([c], i) => `${attackers[i]!.peerId} ${c}`).sort(), 'each rejected with its code, attributed to its sender');
  assert.equal(victim.stats().rejected, hostile.length);

  // a replay of the valid message by another peer: the same message id, dropped as a duplicate
  await replayer.publish(TOPIC, valid);
  // a sentinel from the victim's own side travels the same victim -> listener stream after it
  const sentinel = env(GossipKind.snapshot, encodeSignedSnapshot(makeSignedSnapshot(net, '02' as ShardId, 3)));
  await sleep(500);
  await replayer.publish(TOPIC, sentinel);
  await waitFor('the sentinel reaches the listener', () => delivered.some((d) => Buffer.compare(d, sentinel) === 0));
  const label = (d: Uint8Array): string => Buffer.compare(d, valid) === 0 ? 'valid' : Buffer.compare(d, validFinal) === 0 ? 'validFinal' : Buffer.compare(d, sentinel) === 0 ? 'sentinel' : hostile.find(([, m]) => Buffer.compare(m, d) === 0)?.[0] ?? `other(${d.length})`;
  assert.deepEqual(delivered.map(label), ['valid', 'validFinal', 'sentinel'], `listener peers ${listener.connectedPeers().join(',')}; victim ${p2p.peerId} attacker ${attacker.peerId} replayer ${replayer.peerId}`);
  assert.equal(delivered.length, 3, 'the listener got the valid messages once and the sentinel; no hostile message, no replay');
  assert.deepEqual(heard, ['01@0', '10@0', '11@0', '12@0', '02@3'], 'no hostile snapshot reached the snapshot listeners');
  assert.equal(victim.stats().rejected, hostile.length, 'a replay is not counted as a rejection (dropped as a duplicate)');

  // peer scoring: the invalid deliveries lower the attacker's score (scores refresh per heartbeat)
  await waitFor("every attacker's score at the victim drops below 0", () => attackers.every((n) => p2p.peerScore(n.peerId) < 0), 5000);
  console.log(`scores at the victim: first attacker after a valid message ${scoreAfterValid.toFixed(2)}; after one invalid message each: ${hostile.map(([c], i) => `${c} ${p2p.peerScore(attackers[i]!.peerId).toFixed(2)}`).join(', ')}; replayer ${p2p.peerScore(replayer.peerId).toFixed(2)}`);
  assert.ok(p2p.peerScore(replayer.peerId) >= 0, 'the replaying peer is not penalised as invalid');
});
