// Attack 5 of issue #22: cheap identities. Properties checked, against a real 3-node cluster and,
// for the answer-trust cases, an in-process TriadNetwork on that cluster's genesis and keys:
//  - an outside peer (a key that is no genesis validator's) cannot hold a connection to a node;
//  - many fresh peer ids, each dialling and asking a fetch, neither connect nor get an answer;
//  - a receipt batch pushed on a node's tx topic whose source snapshot is not signed by the source
//    validator is Rejected by the topic validator (smt_gossip_rejected_total grows), so it is never
//    delivered and never kept as "not final yet" (before: decodable + addressed here = Accepted,
//    then queued as not final);
//  - catch-up given a forged global snapshot by one validator peer still records the verified one
//    another serves (before: the latest global was asked of one peer only);
//  - a receipt pull answered with a forged batch by one validator peer (the source itself) returns
//    the verified batch another serves (before: the first non-empty answer was returned unverified).
// SMT_SEC_BIN=<checkout>/bin/smt.mjs runs the nodes of another checkout (the "before" run).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairFromSeed, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { generateKeyPair, type KeyPair } from '../../src/core/ed25519.js';
import type { ShardId } from '../../src/core/ids.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { homeShard } from '../../src/core/address.js';
import { createP2PNode, type P2PNode } from '../../src/gossip/p2p.js';
import { TriadNetwork } from '../../src/gossip/network.js';
import { decodeFetchRequest, encodeFetchRequest, FetchKind, fetchProtocol } from '../../src/gossip/fetch.js';
import { encodeEnvelope, GossipKind } from '../../src/gossip/encoding.js';
import { txTopic } from '../../src/gossip/topics.js';
import { decodeSignedSnapshot, signSnapshot } from '../../src/shard/snapshot.js';
import { decodeReceiptBatch, encodeReceiptBatch } from '../../src/shard/receipts.js';
import { chainGenesis } from '../../src/shard/receipt-chain.js';
import { Shard } from '../../src/shard/shard.js';
import { encodeSignedTx, signTransfer } from '../../src/shard/tx.js';
import { getJson, outsider, sleep, startCluster, until, type SecCluster } from './harness.js';

let c: SecCluster;
const closers: (() => Promise<unknown>)[] = [];
before(async () => {
  c = await startCluster({ depth: 1, smtBin: process.env.SMT_SEC_BIN });
});
after(async () => {
  for (const f of closers.reverse()) await f().catch(() => {});
  await c?.teardown();
});

const NET = () => c.genesis.networkId;
const validatorKey = (shard: string): KeyPair => loadKeyFile(join(c.netDir, 'validators', `${shard}.key`)).keyPair;
/** A libp2p key file holding a validator's key (so old and new createP2PNode both take it). */
async function validatorKeyFile(shard: string): Promise<string> {
  const f = join(c.tmp, `peer-${shard}-${Math.random().toString(36).slice(2)}.key`);
  writeFileSync(f, privateKeyToProtobuf(await generateKeyPairFromSeed('Ed25519', validatorKey(shard).secretKey.subarray(0, 32))), { mode: 0o600 });
  return f;
}
async function metric(shard: string, name: string): Promise<number> {
  const text = await (await fetch(`${c.url(shard)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

test("an outsider's connections are refused", { timeout: 30_000 }, async () => {
  const x = await outsider(c, '0');
  closers.push(() => x.close());
  // over 4 s of redials (backoff 100 ms .. 1 s), the node's own view: which peers it holds
  let maxPeers = 0;
  for (const t0 = Date.now(); Date.now() - t0 < 4000;) {
    try { maxPeers = Math.max(maxPeers, (await getJson(`${c.url('0')}/v1/health`, 3000)).body.peers); } catch { /* busy */ }
    await sleep(100);
  }
  // and what the outsider can do with whatever its side believes it has: ask a fetch
  const s0 = c.byShard('0');
  const conn = await x.libp2p.dial(multiaddr(`/ip4/${s0.p2pHost}/tcp/${s0.p2pPort}`), { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
  const answer = conn ? await x.request(conn.remotePeer.toString(), fetchProtocol(NET()), encodeFetchRequest({ kind: FetchKind.globalLatest, path: '', epoch: 0 }), { timeoutMs: 3000 }).catch(() => undefined) : undefined;
  console.log(`node 0 held at most ${maxPeers} peers while the outsider dialled; the outsider's fetch ${answer ? `was answered (${answer.length} bytes)` : 'failed'}`);
  assert.equal(maxPeers, 2, 'node 0 never holds a connection beyond its two validators');
  assert.equal(answer, undefined, 'the outsider gets no answer');
});

test('many fresh peer ids can neither connect nor get a fetch answered', { timeout: 60_000 }, async () => {
  const s = c.byShard('0');
  const addr = multiaddr(`/ip4/${s.p2pHost}/tcp/${s.p2pPort}`);
  const N = 30;
  let answered = 0, maxPeers = 0;
  let churning = true;
  // the node's own view: how many peers it holds while the fresh ids knock (2 = its validators)
  const watch = (async () => {
    while (churning) {
      try { maxPeers = Math.max(maxPeers, (await getJson(`${c.url('0')}/v1/health`, 3000)).body.peers); } catch { /* busy */ }
      await sleep(100);
    }
  })();
  const t0 = Date.now();
  for (let i = 0; i < N; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, N - i) }, async (_, k) => {
      const n = await createP2PNode({ peerKeyFile: join(c.tmp, `churn-${i + k}.key`), networkId: NET() });
      try {
        const conn = await n.libp2p.dial(addr, { signal: AbortSignal.timeout(3000) });
        const peer = conn.remotePeer.toString();
        const b = await n.request(peer, fetchProtocol(NET()), encodeFetchRequest({ kind: FetchKind.globalLatest, path: '', epoch: 0 }), { timeoutMs: 3000 });
        if (b.length > 0) answered++;
      } catch {
        // refused: what the property wants
      } finally {
        await n.close();
      }
    }));
  }
  churning = false;
  await watch;
  console.log(`${N} fresh peer ids in ${Date.now() - t0} ms: node 0 held at most ${maxPeers} peers meanwhile; ${answered} got a fetch answered`);
  assert.equal(maxPeers, 2, 'node 0 never holds a connection beyond its two validators');
  assert.equal(answered, 0, 'no fresh peer id gets an answer');
});

test('a forged receipt batch pushed by a validator-keyed peer is Rejected before it can be queued', { timeout: 60_000 }, async () => {
  // a validator-keyed attacker: shard 2's key, its node stopped so the peer id is not in use twice
  const pid2 = c.pidOf('2');
  process.kill(pid2, 'SIGKILL');
  const s0 = c.byShard('0');
  const a = await createP2PNode({ peerKeyFile: await validatorKeyFile('2'), networkId: NET(), peers: [`/ip4/${s0.p2pHost}/tcp/${s0.p2pPort}`], heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
  closers.push(() => a.close());
  const topic = txTopic(NET(), '0' as ShardId);
  a.subscribe(topic, () => {});
  await until('node 0 seen on its tx topic', 20_000, () => (a.topicPeers(topic).length > 0 ? true : undefined));
  // shard 1's real latest snapshot, far in the future (never final), signed by a key that is not 1's
  const snap = decodeSignedSnapshot(fromHex((await getJson(`${c.url('1')}/v1/snapshot/latest`)).body.encoded));
  const forged = signSnapshot({ ...snap.snapshot, epoch: snap.snapshot.epoch + 1000 }, generateKeyPair().secretKey);
  const to = c.accounts().find((x) => x.home === '0')!.address;
  const batch = encodeReceiptBatch({
    snapshot: forged, proof: { steps: [], end: { kind: 'leaf' } }, count: 1n, head: new Uint8Array(32).fill(7),
    receipts: [{ txid: new Uint8Array(32).fill(1), src: '1' as ShardId, dst: '0' as ShardId, seq: 0n, to: fromHex(to, 20), amount: 1_000n, epoch: forged.snapshot.epoch }],
  });
  const before = await metric('0', 'smt_gossip_rejected_total');
  const sent = await a.publish(topic, encodeEnvelope({ kind: GossipKind.receipts, network: NET(), payload: batch }));
  assert.ok(sent >= 1, 'published to node 0');
  const rejected = await until('node 0 to reject the forged batch', 10_000, async () => ((await metric('0', 'smt_gossip_rejected_total')) > before ? true : undefined)).catch(() => false);
  console.log(`smt_gossip_rejected_total at node 0: ${before} -> ${await metric('0', 'smt_gossip_rejected_total')}`);
  assert.equal(rejected, true, 'the forged batch is Rejected by the topic validator (never delivered, never queued)');
});

test('catch-up and receipt pulls: a forged answer from one validator peer does not stop the verified answer of another', { timeout: 90_000 }, async (t) => {
  // In process, on the cluster's genesis: the node under test holds shard 0's key; peer F holds
  // shard 1's and forges every answer; peer H holds shard 2's and serves genuine records. These three
  // only talk to each other (not to the cluster).
  const g = (await getJson(`${c.url('0')}/v1/global/latest`)).body;
  const genuineGlobal = fromHex(g.encoded as string);
  const forgedGlobal = Uint8Array.from(genuineGlobal);
  forgedGlobal[forgedGlobal.length - 10]! ^= 0xff; // inside the last member signature: fails verification

  // a genuine receipt batch of source 1 for destination 0: a scratch shard 1 (its key, the genesis
  // allocations) sends a transfer to an account of shard 0 and seals
  const tmp = mkdtempSync(join(c.tmp, 'scratch-shard-1-'));
  const src = await Shard.open({ dataDir: tmp, genesis: c.genesis, shard: '1' as ShardId, validatorKey: validatorKey('1'), verifyWorkers: 0, sync: false });
  closers.push(() => src.close());
  const from = c.accounts().find((x) => x.home === '1')!;
  const fk = loadKeyFile(from.file).keyPair;
  const toAddr = fromHex(c.accounts().find((x) => x.home === '0')!.address, 20);
  assert.equal(homeShard(toAddr, c.genesis.depth), '0');
  const res = await src.submit([encodeSignedTx(signTransfer({ network: NET(), from: fk.publicKey, to: toAddr, amount: 5n, fee: 1n, nonce: 0n, ts: 0n }, fk.secretKey))]);
  assert.ok(res[0]!.ok, JSON.stringify(res[0]));
  await src.sealEpoch();
  const genuineBatch = encodeReceiptBatch((await src.receiptBatch('0' as ShardId, 0n))!);
  // forgery 1: the source snapshot's signature damaged (any stateless check sees it)
  const sigForged = decodeReceiptBatch(genuineBatch);
  const badSig = Uint8Array.from(sigForged.snapshot.signature);
  badSig[0]! ^= 0xff;
  const forgedBatch = encodeReceiptBatch({ ...sigForged, snapshot: { ...sigForged.snapshot, signature: badSig } });
  // forgery 2: an amount in the rows changed; signature and outbox proof still verify, only the
  // receipt chain from the destination's frontier to the proven head does not
  const amountForged = Uint8Array.from(genuineBatch);
  amountForged[amountForged.length - 1]! ^= 0x01;
  let forgery = forgedBatch;

  const asked = { F: 0, H: 0 };
  const serve = (who: 'F' | 'H') => async (req: Uint8Array): Promise<Uint8Array> => {
    asked[who]++;
    const q = decodeFetchRequest(req);
    if (q.kind === FetchKind.globalLatest) return who === 'F' ? forgedGlobal : genuineGlobal;
    if (q.kind === FetchKind.receipts) return who === 'F' ? forgery : genuineBatch;
    return new Uint8Array();
  };
  const F = await createP2PNode({ peerKeyFile: await validatorKeyFile('1'), networkId: NET() });
  const H = await createP2PNode({ peerKeyFile: await validatorKeyFile('2'), networkId: NET() });
  closers.push(() => F.close(), () => H.close());
  await F.handle(fetchProtocol(NET()), serve('F'));
  await H.handle(fetchProtocol(NET()), serve('H'));
  const p2p: P2PNode = await createP2PNode({ peerKeyFile: await validatorKeyFile('0'), networkId: NET(), peers: [F.multiaddrs()[0]!] });
  closers.push(() => p2p.close());
  await until('connected to F', 10_000, () => (p2p.connectedPeers().includes(F.peerId) ? true : undefined));
  p2p.addPeer(H.multiaddrs()[0]!); // F first: the one asked first
  await until('connected to H', 10_000, () => (p2p.connectedPeers().includes(H.peerId) ? true : undefined));
  const net = await TriadNetwork.start({ p2p, genesis: c.genesis, shard: '0' as ShardId, validatorKey: validatorKey('0'), timing: { syncIntervalMs: 0 } });
  closers.push(() => net.close());

  await t.test('catch-up: the forged latest global snapshot is refused and the verified one recorded', async () => {
    await net.syncNow();
    console.log(`catch-up: latest global recorded ${net.latestGlobalEpoch()} (genuine ${g.epoch}); asked F ${asked.F}, H ${asked.H}`);
    assert.equal(net.latestGlobalEpoch(), g.epoch, 'the verified global snapshot is recorded despite the forged answer');
  });

  await t.test('receipt pull: the forged batches are refused and the verified one returned', async () => {

  const pulled = await net.fetchReceipts('1' as ShardId, '0' as ShardId, 0n);
  const got = pulled && encodeReceiptBatch(pulled); // canonical: the bytes served
  console.log(`receipt pull: got ${got ? (toHex(got) === toHex(genuineBatch) ? 'the genuine batch' : toHex(got) === toHex(forgedBatch) ? 'the FORGED batch' : 'other bytes') : 'nothing'}; asked F ${asked.F}, H ${asked.H}`);
  assert.ok(got && toHex(got) === toHex(genuineBatch), 'the pull returns the verified batch, not the forged one');

  forgery = amountForged;
  const front = { next: 0n, head: chainGenesis(NET(), '1' as ShardId, '0' as ShardId) }; // a fresh destination's frontier
  const pulled2 = await net.fetchReceipts('1' as ShardId, '0' as ShardId, front);
  const got2 = pulled2 && encodeReceiptBatch(pulled2);
  console.log(`receipt pull (amount changed in the rows): got ${got2 ? (toHex(got2) === toHex(genuineBatch) ? 'the genuine batch' : 'the FORGED batch') : 'nothing'}`);
  assert.ok(got2 && toHex(got2) === toHex(genuineBatch), 'a batch that does not chain from the frontier is refused and the next peer asked');
  });
});
