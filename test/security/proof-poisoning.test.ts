// Proof poisoning (issue #22, item 1): the circuits check no signatures and the testnet setup is a
// public beacon, so anyone can prove invented inputs (test/fixtures/proof-fixtures.ts inventedTrees). Such a
// proof must never be accepted, stored, served or relayed; only proofs whose public signals are the
// commitments a node built from signed snapshots are. Properties checked:
//  in process (the ProvingService's admission, what the proofs topic runs, with no transport, so it
//  holds whoever the sender is, a validator included):
//  - an honest apex proof that arrives before its epoch's snapshots is held (not penalised) and
//    accepted once the tree is built; a global proof with the apex's signals but another proof is
//    refused; the honest global proof is accepted and served as latest; once it is held, a proof with
//    its signals whose points do not pair is Rejected (it used to be paired and Ignored: a pairing
//    per message at no cost to the sender) and a valid re-randomised variant is Ignored; past the 3
//    variants remembered per epoch, variants are spot-checked: one whose points do not pair is
//    Rejected within 640 (1 in 32 drawn); so is a triad proof with the signals of one held here
//    (a duplicate, its points otherwise unchecked);
//  - validly-paired proofs of invented inputs, for the current epoch (another supply) and for an epoch
//    beyond the clock, are rejected; latest stays the honest one;
//  - an epoch signal >= 2^53 is rejected, and a far-future triad proof evicts no held proof;
//  - a proof not decidable yet (its tree not built) that finds no room in the hold queue is turned
//    away before its pairing, but spot-checked: 40 re-randomised copies of one valid invented
//    proof cost at most the spot checks' budget of pairings (4), not 40; one whose points do not pair is caught
//    within 640; the held ones time out Ignored, never penalised;
//  - genesis pins the verification keys: keys that differ turn proofs off with a one-line reason;
//  on a real 3-node cluster, the attacker a compromised validator (shard 2's key, its node stopped:
//  genesis-bound admission lets it in, so only the proof checks stand in its way):
//  - `network init` pins the built circuits' keys in genesis.json;
//  - the forged global proofs it publishes on the proofs topic are served by no node (not accepted,
//    not relayed to node 1).
// Needs the circuit artifacts (npm run build:circuits). SMT_POISON_SMT_BIN / SMT_POISON_CIRCUITS run
// the cluster part against other nodes / forge with other artifacts (the "before" figures).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../src/core/bytes.js';
import { genesisHash, type Genesis } from '../../src/core/genesis.js';
import { allShards } from '../../src/core/ids.js';
import { createLogger } from '../../src/node/logger.js';
import { createMetrics } from '../../src/node/metrics.js';
import { initNetwork, loadValidatorKey } from '../../src/node/network-dir.js';
import { ProvingService } from '../../src/node/proving/service.js';
import { Shard } from '../../src/shard/shard.js';
import type { SignedSnapshot } from '../../src/shard/snapshot.js';
import { createP2PNode, type P2PNode } from '../../src/gossip/p2p.js';
import { encodeEnvelope, GossipKind } from '../../src/gossip/encoding.js';
import { encodeProofMessage, proofTopic, type ProofMessage } from '../../src/gossip/proof-messages.js';
import { artifactsDir, circuitsBuilt } from '../../src/proof/artifacts.js';
import { getPoseidon, type Hasher } from '../../src/proof/commitment.js';
import { inventedTrees, rerandomised } from '../fixtures/proof-fixtures.js';
import { globalFromApex, type GlobalStateProof } from '../../src/proof/global.js';
import { Prover } from '../../src/proof/prover.js';
import { buildTree, genesisTreeOf, type CommitmentTree } from '../../src/proof/tree.js';
import { proveTriad } from '../../src/proof/tree-prover.js';
import type { TriadProof } from '../../src/proof/triad-proof.js';
import { closeVerifier } from '../../src/proof/verifier.js';
import { artifactsKeysHash, proofKeysMismatch } from '../../src/proof/vk-hash.js';
import { SPOT_CHECK } from '../../src/proof/admission.js';
import { getJson, sleep, startCluster, until, validatorPeer, type SecCluster } from './harness.js';

const built = circuitsBuilt();
const FORGE_DIR = process.env.SMT_POISON_CIRCUITS ?? artifactsDir();
const E = 3; // the in-process network's honest proved epoch
const FAR = E + 1000; // far beyond any wall clock here

const tmp = mkdtempSync(join(tmpdir(), 'smt-poison-'));
let H: Hasher;
let prover: Prover;
const forged: { current?: { triad: TriadProof; global: GlobalStateProof }; near?: { triad: TriadProof; global: GlobalStateProof }; far?: { triad: TriadProof; global: GlobalStateProof } } = {};

async function prove(tree: CommitmentTree, prev: CommitmentTree, link: Uint8Array): Promise<{ triad: TriadProof; global: GlobalStateProof }> {
  const { proof } = await proveTriad(prover, tree, prev, '');
  return { triad: proof, global: globalFromApex(proof, tree.depth, link) };
}

const msg = (m: ProofMessage): Uint8Array => encodeProofMessage(m);

before(async () => {
  assert.ok(built, `circuit artifacts missing in ${artifactsDir()}: run \`npm run build:circuits\``);
  H = await getPoseidon();
  prover = new Prover({ dir: FORGE_DIR, nice: 0 });
  // What an attacker with the public prover makes: invented history, validly paired (about 2 s of CPU each).
  const link = randomBytes(32);
  const cur = inventedTrees(H, 1, E, 'attacker');
  forged.current = await prove(cur.tree, cur.prev, link);
  const far = inventedTrees(H, 1, FAR, 'attacker');
  forged.far = await prove(far.tree, far.prev, link);
  const near = inventedTrees(H, 1, E + 2, 'attacker'); // the wall-clock epoch: within range, no tree yet
  forged.near = await prove(near.tree, near.prev, link);
});

after(async () => {
  await prover?.close();
  await closeVerifier();
  rmSync(tmp, { recursive: true, force: true });
});

interface Net {
  genesis: Genesis;
  shards: Shard[];
  svc: ProvingService;
  p2p: P2PNode;
  close(): Promise<void>;
}

/** A depth-1 network in this process: three shards sealed by hand, the proving service of shard "0". */
async function inProcess(name: string, o: { pin?: Uint8Array; epochMs?: number } = {}): Promise<Net> {
  const epochMs = o.epochMs ?? 1000;
  const dir = join(tmp, name);
  const { genesis } = initNetwork({
    dir, depth: 1, accounts: 3, epochMs, networkId: 'poison', balance: 1000n, force: false,
    genesisTime: Date.now() - (E + 2) * epochMs, proofKeysHash: o.pin ?? artifactsKeysHash(),
  });
  const shards = await Promise.all(allShards(1).map((s) =>
    Shard.open({ dataDir: join(dir, 'data', s), genesis, shard: s, validatorKey: loadValidatorKey(dir, genesis, s).keyPair, verifyWorkers: 0 })));
  const p2p = await createP2PNode({ peerKeyFile: join(dir, 'p2p.key'), networkId: genesis.networkId });
  const svc = await ProvingService.start({
    prove: false, proveEvery: 1, shard: shards[0]!, genesis, p2p, dataDir: join(dir, 'data', '0'),
    logger: createLogger({ level: 'silent' }), metrics: createMetrics({ labels: { network: 'poison', shard: '0' } }),
  });
  return {
    genesis, shards, svc, p2p,
    close: async () => {
      await svc.close();
      await p2p.close();
      for (const s of shards) await s.close();
    },
  };
}

/** Seals the next epoch on every shard; the service hears shard 0's from its own seal, the others' only if `offer`. */
async function sealAll(n: Net, offer = true): Promise<SignedSnapshot[]> {
  const ss = [];
  for (const s of n.shards) ss.push(await s.sealEpoch());
  if (offer) for (const x of ss.slice(1)) n.svc.offerSnapshot(x);
  return ss;
}

test('admission in process: honest proofs held until their tree and accepted; forged ones (current epoch, far future, epoch >= 2^53) rejected; nothing evicted; latest stays honest', { timeout: 240_000 }, async () => {
  const n = await inProcess('main');
  try {
    const snaps: SignedSnapshot[][] = [];
    await until('proving service ready', 30_000, () => (n.svc.status().ready ? true : undefined));
    for (let e = 0; e < E; e++) snaps.push(await sealAll(n));
    await until(`tree of epoch ${E - 1}`, 30_000, () => (n.svc.status().treeEpoch === E - 1 ? true : undefined));
    // Epoch E sealed everywhere, but only shard 0's snapshot is here yet: its tree cannot be built.
    const last = await sealAll(n, false);
    snaps.push(last);

    // The honest apex proof of epoch E, made from the real snapshots as the network's prover would.
    let t: CommitmentTree = genesisTreeOf(H, n.genesis);
    const trees = [t];
    for (const ss of snaps) trees.push((t = buildTree(H, ss.map((x) => x.snapshot), t)));
    const honest = await prove(trees[E + 1]!, trees[E]!, genesisHash(n.genesis));

    // Early: held (not penalised), then accepted once the missing snapshots arrive and the tree is built.
    const early = n.svc.receiveProofMessage(msg({ type: 'triad', proof: honest.triad }));
    await sleep(300);
    for (const x of last.slice(1)) n.svc.offerSnapshot(x);
    assert.deepEqual(await early, { action: 'accept' }, 'an honest proof that arrives before its snapshots is held, then accepted');
    // The apex's signals with another validly-paired proof (of invented inputs): not the held apex's proof,
    // so it is paired, not given the apex's verdict, and refused.
    const mixed = await n.svc.receiveProofMessage(msg({ type: 'global', proof: { ...honest.global, proof: forged.current!.global.proof } }));
    assert.equal(mixed.action, 'reject', `the apex's signals with another proof: ${JSON.stringify(mixed)}`);
    assert.deepEqual(await n.svc.receiveProofMessage(msg({ type: 'global', proof: honest.global })), { action: 'accept' });
    // Held now: the same signals with points that do not pair cost a pairing, so they are Rejected; a
    // valid variant (anyone can re-randomise a proof) is a duplicate, never penalised.
    const badVariant = await n.svc.receiveProofMessage(msg({ type: 'global', proof: { ...honest.global, proof: forged.current!.global.proof } }));
    assert.equal(badVariant.action, 'reject', `a held epoch's signals with points that do not pair: ${JSON.stringify(badVariant)}`);
    const goodVariant = await n.svc.receiveProofMessage(msg({ type: 'global', proof: { ...honest.global, proof: rerandomised(honest.global.proof) } }));
    assert.equal(goodVariant.action === 'ignore' && goodVariant.code, 'duplicate', `a valid variant: ${JSON.stringify(goodVariant)}`);
    for (let i = 0; i < 2; i++) await n.svc.receiveProofMessage(msg({ type: 'global', proof: { ...honest.global, proof: rerandomised(honest.global.proof) } }));
    // the 3 variants remembered: further ones are not paired, except the spot-checked (1 in 32, drawn at random)
    let sent = 0;
    let verdict;
    do verdict = await n.svc.receiveProofMessage(msg({ type: 'global', proof: { ...honest.global, proof: forged.current!.global.proof, prevGlobalProofHash: randomBytes(32) } }), 'peer-x');
    while (verdict.action !== 'reject' && ++sent < 640);
    assert.equal(verdict.action, 'reject', `a spot check catches a variant that does not pair within 640 (sent ${sent})`);
    // the held apex triad proof's signals with points that do not pair: a duplicate, spot-checked
    sent = 0;
    do verdict = await n.svc.receiveProofMessage(msg({ type: 'triad', proof: { ...honest.triad, proof: forged.current!.triad.proof } }), 'peer-y');
    while (verdict.action === 'ignore' && verdict.code === 'duplicate' && ++sent < 640);
    assert.equal(verdict.action, 'reject', `a spot check catches a duplicate triad proof that does not pair within 640 (sent ${sent}, last ${JSON.stringify(verdict)})`);
    const latest = await n.svc.globalProof('latest');
    assert.equal(latest?.epoch, E);
    assert.deepEqual(latest.stored.proof.publicSignals, honest.global.publicSignals);

    // Forged, validly paired: the current epoch with invented state (another supply), and far beyond the clock.
    for (const [what, m] of [
      ['forged triad, current epoch', msg({ type: 'triad', proof: forged.current!.triad })],
      ['forged global, current epoch', msg({ type: 'global', proof: forged.current!.global })],
      ['forged triad, far future', msg({ type: 'triad', proof: forged.far!.triad })],
      ['forged global, far future', msg({ type: 'global', proof: forged.far!.global })],
    ] as const) {
      const o = await n.svc.receiveProofMessage(m);
      assert.equal(o.action, 'reject', `${what}: ${JSON.stringify(o)}`);
    }
    // An epoch signal past 2^53 (it used to sort as "latest" and spin the sync loop): refused before any pairing.
    const huge = { ...honest.global, publicSignals: honest.global.publicSignals.map((s, i) => (i === 1 ? String(2n ** 60n) : s)) };
    const o = await n.svc.receiveProofMessage(msg({ type: 'global', proof: huge }));
    assert.equal(o.action, 'reject');
    assert.match(o.action === 'reject' ? o.message ?? '' : '', /epoch/);

    // Nothing forged is held or served; the honest proofs are still held (the far-future triad evicted nothing).
    const st = n.svc.status() as { latestGlobalProofEpoch: number; recent: Record<string, string[]> };
    assert.equal(st.latestGlobalProofEpoch, E);
    assert.deepEqual(st.recent[String(E)], ['apex']);
    assert.deepEqual((await n.svc.globalProof('latest'))?.stored.proof.publicSignals, honest.global.publicSignals);
    assert.equal(await n.svc.globalProof(FAR), undefined);
    assert.deepEqual((await n.svc.triadProof('', E))?.publicSignals, honest.triad.publicSignals);
    assert.equal(await n.svc.triadProof('', FAR), undefined);
  } finally {
    await n.close();
  }
});

test('proofs not decidable yet, past the hold queue\'s room: turned away before any pairing (copies of one valid invented proof cost no pairing each), but spot-checked; the held ones are never penalised', { timeout: 120_000 }, async () => {
  // 5 s epochs: proofs wait up to 15 s for their state, longer than this test needs on a slow machine
  const n = await inProcess('hold', { epochMs: 5000 });
  try {
    await until('proving service ready', 30_000, () => (n.svc.status().ready ? true : undefined));
    const st = () => n.svc.status() as { held: number; verifier: { paired: number } };
    const near = forged.near!.global;
    const copies = Array.from({ length: 40 }, () => msg({ type: 'global', proof: { ...near, proof: rerandomised(near.proof) } }));
    const garbage = Array.from({ length: 640 }, () => msg({ type: 'global', proof: { ...near, proof: forged.current!.global.proof, prevGlobalProofHash: randomBytes(32) } }));
    // two copies wait for the tree of their epoch (2 per key), which never comes here
    const held = [0, 1].map(() => n.svc.receiveProofMessage(msg({ type: 'global', proof: { ...near, proof: rerandomised(near.proof) } }), 'peer-h'));
    await until('two proofs held', 10_000, () => (st().held === 2 ? true : undefined));
    const p0 = st().verifier.paired;
    for (const c of copies) {
      const o = await n.svc.receiveProofMessage(c, 'peer-h');
      assert.equal(o.action === 'ignore' && o.code, 'unknown', JSON.stringify(o));
    }
    const paired = st().verifier.paired - p0;
    console.log(`40 copies turned away: ${paired} pairings (spot checks)`);
    assert.ok(paired <= SPOT_CHECK.burst + 1, `only spot checks pair a turned-away proof (${paired} pairings for 40 copies; before: one each)`);
    let sent = 0;
    let verdict;
    do verdict = await n.svc.receiveProofMessage(garbage[sent]!, 'peer-g');
    while (verdict.action !== 'reject' && ++sent < garbage.length);
    assert.equal(verdict.action, 'reject', `a spot check catches a turned-away proof that does not pair within 640 (sent ${sent})`);
    assert.equal(st().held, 2, 'the two held proofs were still waiting throughout (the copies were turned away, not held)');
    for (const o of await Promise.all(held)) assert.equal(o.action, 'ignore', `a held proof whose state never comes is Ignored, not penalised: ${JSON.stringify(o)}`);
  } finally {
    await n.close();
  }
});

test('genesis pins the verification keys: other keys (or none) turn proofs off with a one-line reason, and no proof is accepted', { timeout: 60_000 }, async () => {
  const pin = randomBytes(32);
  const why = proofKeysMismatch(pin);
  assert.match(why ?? '', /genesis pins [0-9a-f]{16}.*proofs are off/);
  assert.ok(!why!.includes('\n'));
  assert.match(proofKeysMismatch(undefined) ?? '', /pins no verification keys.*proofs are off/);
  assert.equal(proofKeysMismatch(artifactsKeysHash()), null);
  const n = await inProcess('pinned-elsewhere', { pin });
  try {
    const st = n.svc.status() as { proofsOff: string | null; canVerify: boolean };
    assert.equal(st.canVerify, false);
    assert.equal(st.proofsOff, why);
    const o = await n.svc.receiveProofMessage(msg({ type: 'global', proof: forged.current!.global }));
    assert.equal(o.action, 'ignore');
    assert.equal(await n.svc.globalProof('latest'), undefined);
  } finally {
    await n.close();
  }
});

test('cluster: network init pins the keys; forged global proofs published by a validator-keyed peer on the proofs topic are served by no node', { timeout: 150_000 }, async () => {
  const c: SecCluster = await startCluster({ depth: 1, smtBin: process.env.SMT_POISON_SMT_BIN });
  let p2p: P2PNode | undefined;
  try {
    if (!process.env.SMT_POISON_SMT_BIN) assert.equal(toHex(c.genesis.proofKeysHash ?? new Uint8Array()), toHex(artifactsKeysHash()), 'network init pins the built keys');
    // node 0 holds epoch E's tree (built from all three signed snapshots) before shard 2 goes down
    await until(`node 0's tree of epoch ${E}`, 90_000, async () => ((await getJson(`${c.url('0')}/v1/proof/status`)).body.treeEpoch >= E ? true : undefined), 500);
    p2p = await validatorPeer(c, '2', '0');
    const topic = proofTopic(c.genesis.networkId);
    await until('the node\'s proofs-topic subscription', 20_000, () => (p2p!.topicPeers(topic).length > 0 ? true : undefined));
    // epoch E's tree is held by every node by now (the cluster is past it); FAR is beyond every clock
    assert.ok(c.epochNow() > E + 1 && c.epochNow() + 50 < FAR);
    for (const g of [forged.current!.global, forged.far!.global]) {
      await p2p.publish(topic, encodeEnvelope({ kind: GossipKind.proof, network: c.genesis.networkId, payload: msg({ type: 'global', proof: g }) }));
    }
    await sleep(4000);
    if (!process.env.SMT_POISON_SMT_BIN) {
      // they did reach node 0's admission (the attacker holds a validator key), and were Rejected there
      const st = await getJson(`${c.url('0')}/v1/proof/status`);
      assert.ok(st.body.proofTopicRejected >= 2, `node 0 rejected the forged proofs: ${JSON.stringify(st.body).slice(0, 300)}`);
    }
    for (const s of ['0', '1']) {
      const l = await getJson(`${c.url(s)}/v1/proof/global/latest`);
      assert.equal(l.status, 404, `shard ${s} serves a latest global proof: ${JSON.stringify(l.body).slice(0, 200)}`);
      for (const e of [E, FAR]) assert.equal((await getJson(`${c.url(s)}/v1/proof/global/${e}`)).status, 404, `shard ${s} serves a global proof of epoch ${e}`);
    }
  } finally {
    await p2p?.close();
    await c.teardown();
  }
});
