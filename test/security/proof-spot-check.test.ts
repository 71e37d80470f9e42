// Spot checks on the proofs topic (docs/PROOFS.md "Spot checks"): a node that does not fold a triad
// proof checks it by its public signals only and Ignores it, its points never decoded; so a peer
// could send proofs with the right signals and garbage points without penalty, each costing the
// node the signal checks. A random 1 in 32 of them is paired all the same (within a per-sender
// budget) and a failure is Rejected. Real libp2p on 127.0.0.1: the victim is the proving layer of
// shard 00 of a depth-2 network (prove off, so it folds no triad below the apex: every leaf proof is
// one it leaves unpaired), its tree of epoch E built from the nine shards' signed snapshots; outside
// peers publish on its proofs topic. Properties checked:
//  - a peer sending leaf proofs with the signals and children of epoch E's tree and garbage points
//    (random bytes, or valid curve points that do not pair) is graylisted after three spot-check
//    failures: within N = 640 messages (3 drawn in 640 at 1 in 32 fails with probability 5e-7;
//    96 expected), and what it sends afterwards is dropped unread;
//  - an honest peer sending valid proofs of the same triad (the honest proof re-randomised, 600
//    of them) is never penalised: its spot-checked proofs pass, its score stays >= 0, and the
//    pairings it costs stay within the per-sender budget (4, then one per 4 s).
// The victim runs without the genesis allow list a real node has, so that outside peers reach its
// topic validator (each layer checks its own inputs). Needs the circuit artifacts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bn254 } from '@noble/curves/bn254.js';
import { allShards } from '../../src/core/ids.js';
import { createLogger } from '../../src/node/logger.js';
import { createMetrics } from '../../src/node/metrics.js';
import { initNetwork, loadValidatorKey } from '../../src/node/network-dir.js';
import { ProvingService } from '../../src/node/proving/service.js';
import { Shard } from '../../src/shard/shard.js';
import { createP2PNode, SCORE_THRESHOLDS, type P2PNode } from '../../src/gossip/p2p.js';
import { encodeEnvelope, GossipKind } from '../../src/gossip/encoding.js';
import { encodeProofMessage, proofTopic } from '../../src/gossip/proof-messages.js';
import { SPOT_CHECK } from '../../src/proof/admission.js';
import { artifactsDir, circuitsBuilt } from '../../src/proof/artifacts.js';
import { artifactsKeysHash } from '../../src/proof/vk-hash.js';
import { getPoseidon } from '../../src/proof/commitment.js';
import { encodeProof, PROOF_BYTES } from '../../src/proof/encoding.js';
import { Prover } from '../../src/proof/prover.js';
import { buildTree, genesisTreeOf, type CommitmentTree } from '../../src/proof/tree.js';
import { proveTriad } from '../../src/proof/tree-prover.js';
import { encodeTriadProof, type TriadProof } from '../../src/proof/triad-proof.js';
import { closeVerifier } from '../../src/proof/verifier.js';
import { rerandomised } from '../fixtures/proof-fixtures.js';
import { sleep, waitFor } from '../support/wait.js';

const E = 3; // the proved epoch
const PATH = '1'; // a leaf triad (shards 10, 11, 12): shard 00 with prove off does not fold it
/** Messages within which a garbage sender is cut off: P(fewer than 3 of 640 drawn at 1 in 32) < 1e-6. */
const N = 640;
const HONEST = 600;
const GRAYLIST = SCORE_THRESHOLDS.graylistThreshold;

const tmp = mkdtempSync(join(tmpdir(), 'smt-spot-'));
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await closeVerifier();
  rmSync(tmp, { recursive: true, force: true });
});

interface SpotStatus { drawn: number; paired: number; overBudget: number; failed: number; oneIn: number }
let svc: ProvingService;
let victim: P2PNode;
let honest: TriadProof;
const TOPIC = () => proofTopic('spot');
const status = () => svc.status() as { proofTopicRejected: number; proofTopicIgnored: number; treeEpoch: number; ready: boolean; spotChecks: SpotStatus };
const verdicts = (): number => status().proofTopicRejected + status().proofTopicIgnored;

before(async () => {
  assert.ok(circuitsBuilt(), `circuit artifacts missing in ${artifactsDir()}: run \`npm run build:circuits\``);
  const H = await getPoseidon();
  const dir = join(tmp, 'net');
  const { genesis } = initNetwork({
    dir, depth: 2, accounts: 9, epochMs: 1000, networkId: 'spot', balance: 1000n, force: false,
    genesisTime: Date.now() - (E + 2) * 1000, proofKeysHash: artifactsKeysHash(),
  });
  const shards = await Promise.all(allShards(2).map((s) =>
    Shard.open({ dataDir: join(dir, 'data', s), genesis, shard: s, validatorKey: loadValidatorKey(dir, genesis, s).keyPair, verifyWorkers: 0 })));
  closers.push(async () => { for (const s of shards) await s.close(); });
  victim = await createP2PNode({ peerKeyFile: join(tmp, 'victim.key'), networkId: 'spot', scoredTopics: [TOPIC()], heartbeatMs: 200 });
  closers.push(() => victim.close());
  svc = await ProvingService.start({
    prove: false, proveEvery: 1, shard: shards[0]!, genesis, p2p: victim, dataDir: join(dir, 'data', '00'),
    logger: createLogger({ level: 'silent' }), metrics: createMetrics({ labels: { network: 'spot', shard: '00' } }),
  });
  closers.push(() => svc.close());
  await waitFor('proving service ready', () => status().ready, 30_000);
  // epochs 0..E sealed on every shard; the others' snapshots offered as the apex topic would
  let t: CommitmentTree = genesisTreeOf(H, genesis);
  const trees = [t];
  for (let e = 0; e <= E; e++) {
    const ss = [];
    for (const s of shards) ss.push(await s.sealEpoch());
    for (const x of ss.slice(1)) svc.offerSnapshot(x);
    trees.push((t = buildTree(H, ss.map((x) => x.snapshot), t)));
  }
  await waitFor(`tree of epoch ${E} built`, () => status().treeEpoch === E, 30_000);
  // the honest proof of leaf triad PATH at epoch E, as its prover makes it
  const prover = new Prover({ nice: 0 });
  try {
    honest = (await proveTriad(prover, trees[E + 1]!, trees[E]!, PATH)).proof;
  } finally {
    await prover.close();
  }
});

/** A peer on the victim's proofs topic. */
async function peer(name: string): Promise<P2PNode> {
  const n = await createP2PNode({ peerKeyFile: join(tmp, `${name}.key`), networkId: 'spot', peers: victim.multiaddrs(), heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
  closers.push(() => n.close());
  n.subscribe(TOPIC(), () => {});
  await waitFor(`${name} and the victim see each other on the proofs topic`, () => n.topicPeers(TOPIC()).includes(victim.peerId) && victim.topicPeers(TOPIC()).includes(n.peerId), 20_000);
  return n;
}

const G1 = bn254.G1.Point;
const G2 = bn254.G2.Point;
const FR = bn254.fields.Fr;
const g1 = (p: InstanceType<typeof G1>): string[] => { const a = p.toAffine(); return [a.x.toString(), a.y.toString(), '1']; };
const g2 = (p: InstanceType<typeof G2>): string[][] => { const a = p.toAffine(); return [[a.x.c0.toString(), a.x.c1.toString()], [a.y.c0.toString(), a.y.c1.toString()], ['1', '0']]; };
const randomScalar = (): bigint => FR.create(BigInt('0x' + randomBytes(32).toString('hex'))) || 1n;

/** A proof message with the honest proof's signals and children and the Groth16 proof bytes `points`. */
function withPoints(points: Uint8Array): Uint8Array {
  const body = encodeTriadProof({ ...honest, proof: { pi_a: ['0', '1', '0'], pi_b: [['0', '0'], ['1', '0'], ['0', '0']], pi_c: ['0', '1', '0'], protocol: 'groth16', curve: 'bn128' } as never });
  body.set(points, body.length - PROOF_BYTES);
  return encodeEnvelope({ kind: GossipKind.proof, network: 'spot', payload: Uint8Array.from([1, ...body]) });
}

/** Garbage points, alternately random bytes (mostly not decodable) and valid curve points that do not pair. */
function garbage(i: number): Uint8Array {
  if (i % 2 === 0) return withPoints(randomBytes(PROOF_BYTES));
  return withPoints(encodeProof({ pi_a: g1(G1.BASE.multiply(randomScalar())), pi_b: g2(G2.BASE.multiply(randomScalar())), pi_c: g1(G1.BASE.multiply(randomScalar())), protocol: 'groth16', curve: 'bn128' } as never));
}

/** Publishes `m` from `from` and waits for the victim's verdict on it; false if none came (dropped unread). */
async function sendOne(from: P2PNode, m: Uint8Array, waitMs: number): Promise<boolean> {
  const before = verdicts();
  await from.publish(TOPIC(), m);
  const end = Date.now() + waitMs;
  while (Date.now() < end) {
    if (verdicts() > before) return true;
    await sleep(2);
  }
  return false;
}

test('honest leaf proofs (600 valid variants) are never penalised by a node that spot-checks them; its pairings stay within the sender\'s budget', { timeout: 120_000 }, async () => {
  assert.equal(status().spotChecks.oneIn, SPOT_CHECK.oneIn);
  const h = await peer('honest');
  const s0 = status().spotChecks;
  const rejected0 = status().proofTopicRejected;
  const t0 = Date.now();
  for (let i = 0; i < HONEST; i++) {
    const m = encodeEnvelope({ kind: GossipKind.proof, network: 'spot', payload: encodeProofMessage({ type: 'triad', proof: { ...honest, proof: rerandomised(honest.proof) } }) });
    assert.ok(await sendOne(h, m, 10_000), `a verdict on honest proof ${i}`);
  }
  const secs = (Date.now() - t0) / 1000;
  const s = status().spotChecks;
  const d = { drawn: s.drawn - s0.drawn, paired: s.paired - s0.paired, overBudget: s.overBudget - s0.overBudget, failed: s.failed - s0.failed };
  console.log(`honest: ${HONEST} valid proofs in ${secs.toFixed(1)} s: drawn ${d.drawn}, paired ${d.paired}, over budget ${d.overBudget}, failed ${d.failed}; score ${victim.peerScore(h.peerId).toFixed(1)}`);
  assert.equal(status().proofTopicRejected, rejected0, 'no honest proof Rejected');
  assert.equal(d.failed, 0);
  assert.ok(d.paired >= 1, `some honest proofs were spot-checked (drawn ${d.drawn})`);
  assert.ok(d.paired <= SPOT_CHECK.burst + Math.ceil(secs * SPOT_CHECK.perSecond) + 1, `pairings within the sender's budget (${d.paired} in ${secs.toFixed(1)} s)`);
  assert.ok(victim.peerScore(h.peerId) >= 0, `the honest sender's score stays >= 0 (${victim.peerScore(h.peerId)})`);
});

test(`a peer sending leaf proofs with the right signals and garbage points is graylisted within ${N} messages, then dropped unread`, { timeout: 120_000 }, async () => {
  const a = await peer('attacker');
  const s0 = status().spotChecks;
  let read = 0;
  let sent = 0;
  while (sent < N && victim.peerScore(a.peerId) >= GRAYLIST) {
    if (await sendOne(a, garbage(sent++), 10_000)) read++;
  }
  const s = status().spotChecks;
  const score = victim.peerScore(a.peerId);
  console.log(`garbage: graylisted after ${sent} sent (${read} read), score ${score.toFixed(1)}; spot checks drawn ${s.drawn - s0.drawn}, paired ${s.paired - s0.paired}, failed ${s.failed - s0.failed}`);
  assert.ok(score < GRAYLIST, `the sender is graylisted within ${N} messages (score ${score} after ${sent})`);
  assert.equal(s.failed - s0.failed, 3, 'three failed spot checks graylist it');
  // cut off: what it sends now is dropped before validation
  const v = verdicts();
  for (let i = 0; i < 50; i++) await a.publish(TOPIC(), garbage(sent + i));
  await sleep(1000);
  assert.equal(verdicts(), v, 'nothing a graylisted sender sends is validated');
});
