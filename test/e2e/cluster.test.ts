// End to end, a 9-shard network on loopback: `smt cluster up` (a real child process that starts 9
// real `smt node start` processes with libp2p gossip). Properties checked:
//  - a transfer sent through a node that is not the sender's home shard is handed to the home shard's node
//    (which answers accepted) and commits on the home shard (the recipient's balance grows there); the forwarding node never
//    holds it and refers account queries to the home shard (421 wrong-shard);
//  - all 9 nodes report the same global root for the same epochs, and the global snapshot verifies
//    locally (`smt global --network`: the 2-of-3 chain down to the shards);
//  - an outside libp2p node (a key that is no genesis validator's) cannot connect to a shard at all;
//  - a gossip message with a bad signature (a forged snapshot and a forged aggregate signature,
//    published by a peer holding a real validator key, shard 22's, whose node is stopped meanwhile,
//    connected to one shard) is rejected by that shard and reaches no other node;
//  - a shard process killed with SIGKILL and restarted with the supervisor's arguments rejoins and
//    catches up: its global snapshots of the epochs it missed equal the others', and later global
//    snapshots include its fresh (not carried) snapshots again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { loadGenesis, type Genesis } from '../../src/core/genesis.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { generateKeyPair } from '../../src/core/ed25519.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, signSnapshot } from '../../src/shard/snapshot.js';
import { decodeFinalAggregate, signAggregate, verifyFinalAggregate } from '../../src/hierarchy/finality.js';
import { decodeAggregationPath } from '../../src/hierarchy/global.js';
import { encodeAggregateSig, encodeEnvelope, GossipKind } from '../../src/gossip/encoding.js';
import { triadTopic } from '../../src/gossip/topics.js';
import { createP2PNode, type P2PNode } from '../../src/gossip/p2p.js';
import { peerKeyFromValidator } from '../../src/gossip/identity.js';
import { loadLayout } from '../../src/cluster/cluster.js';
import { apiUrl, isAlive, findFreePortBases, readPid, startShard } from '../../src/cluster/supervisor.js';
import type { ClusterLayout, ShardProcessLayout } from '../../src/cluster/layout.js';
import { sleep, until } from '../support/wait.js';
import { getJson } from '../support/http.js';
import { smt } from '../support/process.js';
import { teardownCluster } from '../support/cluster.js';

// Proving has its own end-to-end test (proof.test.ts); here it would only compete for the cores.
process.env.SMT_NO_PROVE ??= '1';

const EPOCH_MS = 1000;
const tmp = mkdtempSync(join(tmpdir(), 'smt-e2e-cluster-'));
const netDir = join(tmp, 'net');
let layout: ClusterLayout;
let genesis: Genesis;
let outsider: P2PNode | undefined;


const url = (s: ShardProcessLayout): string => apiUrl(s);
const byShard = (id: string): ShardProcessLayout => layout.shards.find((s) => s.shard === id)!;

async function metric(s: ShardProcessLayout, name: string): Promise<number> {
  const text = await (await fetch(`${url(s)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
  assert.ok(line, `metric ${name} served by shard ${s.shard}`);
  return Number(line.split(' ').at(-1));
}

before(async () => {
  const [apiBase, p2pBase] = await findFreePortBases(9);
  const up = await smt(['cluster', 'up', '--network', netDir, '--depth', '2', '--epoch-ms', String(EPOCH_MS), '--accounts', '40',
    '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', '60']);
  assert.equal(up.code, 0, `cluster up failed:\n${up.stdout}\n${up.stderr}`);
  assert.match(up.stdout, /global snapshot final: epoch \d+, root [0-9a-f]{64}/);
  layout = loadLayout(netDir);
  genesis = loadGenesis(join(netDir, 'genesis.json'));
});

after(async () => {
  await outsider?.close().catch(() => {});
  await teardownCluster(netDir, layout, tmp);
});

test('a transfer sent through a node that is not the sender\'s home shard is handed to its home node, accepted there and committed', { timeout: 30_000 }, async () => {
  const accounts = JSON.parse(readFileSync(join(netDir, 'accounts.json'), 'utf8')) as { index: number; address: string; shard: string; keyFile: string }[];
  // senders on distinct shards, each with a recipient homed on the same shard
  const pairs: { from: (typeof accounts)[number]; to: (typeof accounts)[number] }[] = [];
  for (const a of accounts) {
    if (pairs.some((p) => p.from.shard === a.shard || p.to.index === a.index)) continue;
    const b = accounts.find((x) => x.shard === a.shard && x.index !== a.index);
    if (b) pairs.push({ from: a, to: b });
    if (pairs.length === 3) break;
  }
  assert.ok(pairs.length >= 2, 'the devnet has at least two shards with two funded accounts');
  const sent = await Promise.all(pairs.map(async ({ from, to }, k) => {
    const home = byShard(from.shard);
    const via = layout.shards.find((s) => s.shard !== from.shard)!; // any other shard's node
    const key = loadKeyFile(join(netDir, from.keyFile));
    // Direct submission needs a connection to the home node; `cluster up` returns at the first
    // final global, which a node reaches before it has dialled all 8 others on a loaded machine
    // (unconnected, it forwards by gossip: "forwarded", correct, but not what this checks).
    await until(`shard ${via.shard}'s node connected to the 8 others`, 30_000, async () => {
      const h = await getJson(`${url(via)}/v1/health`, 3000).catch(() => undefined);
      return (h?.body?.peers ?? 0) >= layout.shards.length - 1 ? true : undefined;
    }, 250);
    const before = BigInt((await getJson(`${url(home)}/v1/account/${to.address}`)).body.balance);
    const amount = 1000n + BigInt(k);
    const t = { network: genesis.networkId, from: key.keyPair.publicKey, to: fromHex(to.address, 20), amount, fee: 1n, nonce: 0n, ts: BigInt(Date.now()) << 16n };
    const signed = encodeSignedTx(signTransfer(t, key.keyPair.secretKey));
    const r = await fetch(`${url(via)}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: toHex(signed) }) });
    assert.equal(r.status, 202);
    const body = (await r.json()) as { txid: string; status: string; shard: string };
    assert.deepEqual(body, { txid: txIdHex(t), status: 'accepted', shard: from.shard }, "the home shard's node accepted it (direct submission)");
    return { home, via, txid: body.txid, to, before, amount };
  }));
  for (const s of sent) {
    const st = await until(`commit of ${s.txid} on shard ${s.home.shard}`, 15_000, async () => {
      const { body } = await getJson(`${url(s.home)}/v1/tx/${s.txid}`);
      return body.status === 'committed' ? body : undefined;
    });
    assert.equal(typeof st.epoch, 'number');
    const after = BigInt((await getJson(`${url(s.home)}/v1/account/${s.to.address}`)).body.balance);
    assert.equal(after, s.before + s.amount, 'the recipient is credited on the home shard');
    assert.equal((await getJson(`${url(s.via)}/v1/tx/${s.txid}`)).body.status, 'unknown', 'the forwarding node did not execute it');
    const wrong = await getJson(`${url(s.via)}/v1/account/${s.to.address}`);
    assert.equal(wrong.status, 421);
    assert.deepEqual([wrong.body.error.code, wrong.body.error.shard], ['wrong-shard', s.home.shard]);
  }
  // the CLI does the same through a non-home node: nonce from the home shard (cluster.json), --wait there
  const { from, to } = pairs[0]!;
  const via = layout.shards.find((x) => x.shard !== from.shard)!;
  const cli = await smt(['tx', 'send', '--key', join(netDir, from.keyFile), '--to', to.address, '--amount', '5', '--node', url(via), '--network', netDir, '--wait', '--json', '--timeout', '20'], 30_000);
  assert.equal(cli.code, 0, cli.stderr);
  const j = JSON.parse(cli.stdout);
  assert.deepEqual([j.status, j.nonce], ['committed', '1'], 'the second transfer of this sender (nonce 1) is committed');
});

test('all 9 nodes report the same global root for the same epochs, and it verifies down to the shards', { timeout: 30_000 }, async () => {
  const latest = await Promise.all(layout.shards.map(async (s) => (await getJson(`${url(s)}/v1/global/latest`)).body.epoch as number));
  const top = Math.min(...latest);
  assert.ok(top >= 2, `a few global epochs are final everywhere (min latest ${top})`);
  for (let e = top - 2; e <= top; e++) {
    const roots = await Promise.all(layout.shards.map(async (s) => {
      const { status, body } = await getJson(`${url(s)}/v1/global/${e}`);
      assert.equal(status, 200, `shard ${s.shard} has the global snapshot of epoch ${e}`);
      return body.root as string;
    }));
    assert.equal(new Set(roots).size, 1, `one global root for epoch ${e}: ${roots.join(' ')}`);
  }
  const g = (await getJson(`${url(layout.shards[4]!)}/v1/global/${top}`)).body;
  const fa = decodeFinalAggregate(fromHex(g.encoded));
  assert.deepEqual(verifyFinalAggregate(fa, genesis), { ok: true });
  assert.equal(g.shards.length, 9);
  const cli = await smt(['global', String(top), '--network', netDir, '--node', url(layout.shards[7]!), '--json'], 20_000);
  assert.equal(cli.code, 0, cli.stderr);
  const j = JSON.parse(cli.stdout);
  assert.equal(j.root, g.root);
  assert.equal(j.verified, true);
  const path = (await getJson(`${url(layout.shards[0]!)}/v1/global/${top}/path/21`)).body;
  assert.equal(path.root, g.root);
  assert.equal(decodeAggregationPath(fromHex(path.encoded)).steps.length, 2);
});

test('an outside peer cannot connect to a shard: only genesis validators are admitted', { timeout: 30_000 }, async () => {
  const entry = byShard('00');
  outsider = await createP2PNode({ peerKeyFile: join(tmp, 'outsider.key'), networkId: genesis.networkId, peers: [`/ip4/127.0.0.1/tcp/${entry.p2pPort}`], dialBackoff: { initialMs: 100, maxMs: 500 } });
  await sleep(3000); // several dial attempts
  assert.deepEqual(outsider.connectedPeers(), [], 'the outsider holds no connection');
  assert.equal((await getJson(`${url(entry)}/v1/health`)).body.peers, 8, 'shard 00 is connected to the 8 other validators only');
  await outsider.close();
  outsider = undefined;
});

test('a gossip message with a bad signature is rejected by the receiving shard and reaches no other node', { timeout: 60_000 }, async () => {
  const entry = byShard('00');
  // a validator-keyed attacker: shard 22's key (its node stopped, so the peer id is not in use twice)
  const borrowed = byShard('22');
  const pid22 = readPid(netDir, borrowed)!;
  process.kill(pid22, 'SIGKILL');
  await until('shard 22 to die', 5000, async () => (isAlive(pid22) ? undefined : true));
  const key22 = loadKeyFile(join(netDir, 'validators', '22.key')).keyPair;
  outsider = await createP2PNode({ privateKey: await peerKeyFromValidator(key22), networkId: genesis.networkId, peers: [`/ip4/127.0.0.1/tcp/${entry.p2pPort}`] });
  const topic = triadTopic(genesis.networkId, '0');
  outsider.subscribe(topic, () => {}); // where triad 0's snapshots and signatures travel
  await until('shard 00 to be a peer on triad 0', 15_000, async () => (outsider!.topicPeers(topic).length > 0 ? true : undefined));
  assert.equal(outsider.connectedPeers().length, 1, 'the attacker is connected to shard 00 only');

  const live = layout.shards.filter((s) => s !== borrowed); // shard 22's node is down: its key is the attacker's
  const rejectedBefore = await Promise.all(live.map((s) => metric(s, 'smt_gossip_rejected_total')));
  // forged snapshot: shard 01's real latest snapshot, moved to a future epoch and signed by a key that is not 01's validator
  const snap = decodeSignedSnapshot(fromHex((await getJson(`${url(byShard('01'))}/v1/snapshot/latest`)).body.encoded));
  const forgedSnap = signSnapshot({ ...snap.snapshot, epoch: snap.snapshot.epoch + 5 }, generateKeyPair().secretKey);
  // forged aggregate signature: triad 0's real aggregate, signed as member 1 by a foreign key
  const pathJson = (await getJson(`${url(entry)}/v1/global/latest/path/00`)).body;
  const agg = decodeAggregationPath(fromHex(pathJson.encoded)).steps[0]!;
  const forgedSig = signAggregate({ ...agg, epoch: agg.epoch + 5 }, 1, 0, generateKeyPair().secretKey);
  const env = (kind: GossipKind, payload: Uint8Array): Uint8Array => encodeEnvelope({ kind, network: genesis.networkId, payload });
  assert.ok((await outsider.publish(topic, env(GossipKind.snapshot, encodeSignedSnapshot(forgedSnap)))) >= 1);
  assert.ok((await outsider.publish(topic, env(GossipKind.aggregateSig, encodeAggregateSig({ aggregate: { ...agg, epoch: agg.epoch + 5 }, signature: forgedSig })))) >= 1);

  await until('shard 00 to reject both forged messages', 10_000, async () => ((await metric(entry, 'smt_gossip_rejected_total')) >= rejectedBefore[0]! + 2 ? true : undefined));
  await sleep(1500); // time for any (wrong) relay to arrive elsewhere
  const rejectedAfter = await Promise.all(live.map((s) => metric(s, 'smt_gossip_rejected_total')));
  assert.equal(live[0], entry);
  for (let i = 1; i < live.length; i++) {
    assert.equal(rejectedAfter[i], rejectedBefore[i], `shard ${live[i]!.shard} never saw a forged message`);
  }
  // the forged future epoch never becomes anybody's global snapshot input: roots stay in agreement
  const e = (await getJson(`${url(entry)}/v1/global/latest`)).body.epoch as number;
  const roots = await Promise.all(live.map(async (s) => (await getJson(`${url(s)}/v1/global/${e}`)).body.root));
  assert.equal(new Set(roots).size, 1);
  await outsider.close();
  outsider = undefined;
  startShard(netDir, layout, borrowed); // shard 22 back, under its own identity
  await until('shard 22 healthy and connected again', 30_000, async () => ((await getJson(`${url(borrowed)}/v1/health`)).body.peers >= 8 ? true : undefined));
});

test('a shard killed with SIGKILL and restarted rejoins and catches up on the global snapshots it missed', { timeout: 60_000 }, async () => {
  const victim = byShard('12');
  const witness = byShard('00');
  const pid = readPid(netDir, victim)!;
  process.kill(pid, 'SIGKILL');
  await until('the victim to die', 5000, async () => (isAlive(pid) ? undefined : true));
  const downFrom = (await getJson(`${url(witness)}/v1/global/latest`)).body.epoch as number;
  await sleep(4 * EPOCH_MS);
  // while it is down the others still finalise, carrying its last snapshot
  const during = await until('a global epoch finalised without the victim', 10_000, async () => {
    const { status, body } = await getJson(`${url(witness)}/v1/global/latest`);
    return status === 200 && body.epoch > downFrom + 1 ? body : undefined;
  });
  const carried = during.shards.find((s: { shard: string }) => s.shard === victim.shard);
  assert.equal(carried.carried, true, 'the dead shard is carried forward and flagged');

  // restarted the operator's way: `cluster up` on the running cluster starts only the stopped process
  const again = await smt(['cluster', 'up', '--network', netDir, '--timeout', '30']);
  assert.equal(again.code, 0, `cluster up (restart of the killed shard) failed:\n${again.stdout}\n${again.stderr}`);
  assert.match(again.stdout, /8 of 9 shard processes already running: starting the stopped ones \(12\)/);
  await until('the restarted shard to be healthy', 20_000, async () => ((await getJson(`${url(victim)}/v1/health`)).body.ok ? true : undefined));
  const upAt = (await getJson(`${url(witness)}/v1/global/latest`)).body.epoch as number;
  // caught up: every epoch of its downtime, as the others have it
  for (let e = downFrom + 1; e <= Math.min(upAt, downFrom + 6); e++) {
    const theirs = (await getJson(`${url(witness)}/v1/global/${e}`)).body.root as string;
    const mine = await until(`the restarted shard to catch up on epoch ${e}`, 20_000, async () => {
      const { status, body } = await getJson(`${url(victim)}/v1/global/${e}`);
      return status === 200 ? (body.root as string) : undefined;
    });
    assert.equal(mine, theirs, `global root of epoch ${e} after catch-up`);
  }
  // rejoined: a later global snapshot includes its fresh snapshot, and it agrees on that root too
  const rejoined = await until('a global snapshot including the restarted shard again', 20_000, async () => {
    const { body } = await getJson(`${url(witness)}/v1/global/latest`);
    const mine = body.shards.find((s: { shard: string }) => s.shard === victim.shard);
    return body.epoch > upAt && !mine.carried && mine.epoch === body.epoch ? body : undefined;
  });
  const mine = await until('the restarted shard to finalise the same epoch', 15_000, async () => {
    const { status, body } = await getJson(`${url(victim)}/v1/global/${rejoined.epoch}`);
    return status === 200 ? body : undefined;
  });
  assert.equal(mine.root, rejoined.root);
  const h = (await getJson(`${url(victim)}/v1/health`)).body;
  assert.ok(h.peers >= 8, `the restarted shard is connected to every other shard (peers ${h.peers})`);
});

