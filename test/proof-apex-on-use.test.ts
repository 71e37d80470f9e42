// Proofs at the apex (the apex triad proof and the global proof) on the proofs topic
// (src/node/proving/admission.ts with schedule.ts's pairsApex, holdings.ts's usableGlobal /
// usableTriad): the apex's first prover pairs them on arrival (a held one ends its turn); every other
// node takes them unpaired once they are bound to its signed state (signals equal to its tree, the
// apex opened natively, the link held) and pairs them at first use, before it serves them or links
// to them. Properties checked, with real proofs and a real proof store:
//  - a proof at the apex with the tree's signals and points that do not pair: Rejected by the
//    apex's first prover; taken by the others with no pairing, then dropped at its first use (never
//    served, no longer latest, no longer a link target);
//  - a valid one: taken with no pairing, paired once at first use, not again at the next;
//  - a forged global proof taken first gives way to the valid one when that arrives (a variant that
//    pairs replaces a held one that does not).
// On the code before, every node paired both on arrival (the first property fails there: the
// unpairable proofs were Rejected everywhere).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allShards, type ShardId } from '../src/core/ids.js';
import { genesisHash, type Genesis } from '../src/core/genesis.js';
import { ProofStore } from '../src/node/proof-store.js';
import { CadencePlan } from '../src/proof/cadence.js';
import { artifactsDir, circuitsBuilt } from '../src/proof/artifacts.js';
import { getPoseidon, type Hasher } from '../src/proof/commitment.js';
import { encodeGlobalProof, globalFromApex, type GlobalStateProof } from '../src/proof/global.js';
import { FROM_TOPIC, PROOF_BYTES } from '../src/proof/encoding.js';
import { decodeProofMessage, encodeProofMessage } from '../src/gossip/proof-messages.js';
import { Prover } from '../src/proof/prover.js';
import { buildTree, genesisTree, type CommitmentTree } from '../src/proof/tree.js';
import { proveTriad } from '../src/proof/tree-prover.js';
import type { TriadProof } from '../src/proof/triad-proof.js';
import { closeVerifier, verifierStats } from '../src/proof/verifier.js';
import { SPOT_CHECK, SpotChecks } from '../src/proof/admission.js';
import { ProofAdmission } from '../src/node/proving/admission.js';
import type { ProvingContext } from '../src/node/proving/context.js';
import { ProofHoldings } from '../src/node/proving/holdings.js';
import { pairsApex, proverOf } from '../src/node/proving/schedule.js';
import type { CommitmentTrees } from '../src/node/proving/trees.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';

const E = 0;
const tmp = mkdtempSync(join(tmpdir(), 'smt-apex-on-use-'));
const genesis: Genesis = { networkId: 'apex-on-use', depth: 2, epochMs: 1000, genesisTime: Date.now() - 5000, allocations: [], validators: new Map(allShards(2).map((s) => [s, new Uint8Array(32)])) };
const plan = CadencePlan.fixed(1);
let H: Hasher;
let tree: CommitmentTree;
let valid: { triad: TriadProof; global: GlobalStateProof };
let forged: { triad: TriadProof; global: GlobalStateProof };

before(async () => {
  assert.ok(circuitsBuilt(), `circuit artifacts missing in ${artifactsDir()}: run \`npm run build:circuits\``);
  H = await getPoseidon();
  const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
  tree = buildTree(H, fixtureSnapshots(2, E, g.shards.map((s) => s.supply)), g);
  const prover = new Prover({ nice: 0 });
  try {
    const { proof } = await proveTriad(prover, tree, g, '');
    valid = { triad: proof, global: globalFromApex(proof, 2, genesisHash(genesis)) };
  } finally {
    await prover.close();
  }
  // the tree's signals, points that do not pair (A and C the G1 generator, B at infinity)
  const bad = { pi_a: ['1', '2', '1'], pi_b: [['0', '0'], ['1', '0'], ['0', '0']], pi_c: ['1', '2', '1'], protocol: 'groth16', curve: 'bn128' };
  forged = { triad: { ...valid.triad, proof: bad }, global: { ...valid.global, proof: bad } };
});

after(async () => {
  await closeVerifier();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
async function nodeOf(me: ShardId) {
  const c = {
    shard: { id: me }, genesis, depth: 2, prove: true, canVerify: true, cadence: { plan, source: 'fixed', why: '' }, leafWindow: 5, treeWindow: 100, leaseMs: 30_000,
    clockEpoch: () => E + 2, kick: () => {}, stateChanged: () => {}, timelines: { mark: () => {} }, log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    metrics: { latency: { observe: () => {} }, epoch: { set: () => {} } },
  } as unknown as ProvingContext;
  const trees = { ready: true, H, head: { epoch: E }, trees: new Map([[E, tree]]), sealedAt: new Map() } as unknown as CommitmentTrees;
  const store = await ProofStore.open(join(tmp, String(n++)));
  const held = new ProofHoldings(c, trees, store);
  const adm = new ProofAdmission(c, trees, held);
  Object.assign(adm, { spot: new SpotChecks({ ...SPOT_CHECK, draw: () => false }) }); // no spot check drawn: what is paired is what the rule pairs
  return { adm, held, store };
}

const paired = (): number => verifierStats().paired;
/** Verdicts the verifier gave: pairings, and verdicts kept from an earlier pairing of the same statement and proof. */
const consulted = (): number => verifierStats().paired + verifierStats().reused;

test('the apex\'s first prover pairs proofs at the apex on arrival; the other nodes take them unpaired and drop one that does not pair at its first use', async () => {
  const apex = [0, 1, 2].map((k) => proverOf('', plan.round(E), 2, k));
  const eager = allShards(2).filter((s) => pairsApex(s, plan.round(E), 2));
  assert.deepEqual(eager, [apex[0]], 'at depth 2: the apex\'s first prover');
  for (const me of allShards(2)) {
    const { adm, held, store } = await nodeOf(me);
    try {
      const t = await adm.admitTriad({ ...forged.triad }, { wait: true, fromTopic: true, from: 'peer' });
      const g = await adm.admitGlobal({ ...forged.global }, { wait: true, fromTopic: true, from: 'peer' });
      if (eager.includes(me)) {
        assert.equal(t.action, 'reject', `${me}, the apex's first prover, pairs the apex proof: ${JSON.stringify(t)}`);
        assert.equal(g.action, 'reject', `${me}, the apex's first prover, pairs the global proof: ${JSON.stringify(g)}`);
        continue;
      }
      assert.deepEqual([t.action, g.action], ['accept', 'accept'], `${me}: taken unpaired`);
      await held.acceptTriad(forged.triad);
      await held.acceptGlobal(forged.global, Date.now());
      assert.equal(held.latestGlobal, E);
      const v0 = consulted();
      assert.equal(await held.usableGlobal(E, (await store.global(E))!.proof), false, 'checked at first use: it fails');
      assert.equal(await held.usableTriad(E, (await store.triad('', E))!), false);
      assert.equal(consulted() - v0, 2, 'the verifier decided each at use (the apex\'s first prover above paired the same statement and proof: its verdict is kept)');
      assert.equal(await store.global(E), undefined, 'dropped: never served');
      assert.equal(await store.triad('', E), undefined);
      assert.equal(held.latestGlobal, -1, 'no longer the latest');
      assert.equal(held.globalHashes.size, 0, 'no longer a link target');
    } finally {
      await store.close();
    }
  }
});

test('a valid proof at the apex at a node that is not its prover: no pairing on arrival, one at first use, none at the next', async () => {
  const me = allShards(2).find((s) => !pairsApex(s, plan.round(E), 2))!;
  const { adm, held, store } = await nodeOf(me);
  try {
    const p0 = paired();
    const v0 = consulted();
    const t = structuredClone(valid.triad);
    const g = structuredClone(valid.global);
    assert.deepEqual(await adm.admitTriad(t, { wait: true, fromTopic: true }), { action: 'accept' });
    assert.deepEqual(await adm.admitGlobal(g, { wait: true, fromTopic: true }), { action: 'accept' });
    assert.equal(consulted() - v0, 0, 'taken unpaired (on the code before: paired)');
    await held.acceptTriad(t);
    await held.acceptGlobal(g, Date.now());
    const stored = (await store.global(E))!.proof;
    assert.equal(await held.usableGlobal(E, stored), true);
    assert.equal(await held.usableTriad(E, (await store.triad('', E))!), true);
    const p1 = paired();
    assert.equal(p1 - p0, 1, 'one pairing at first use (the apex triad proof is the same statement and proof: its verdict is kept)');
    assert.equal(await held.usableGlobal(E, stored), true);
    assert.equal(paired(), p1, 'no second pairing');
  } finally {
    await store.close();
  }
});

test('a forged global proof taken unpaired gives way to the valid one when it arrives', async () => {
  const me = allShards(2).find((s) => !pairsApex(s, plan.round(E), 2))!;
  const { adm, held, store } = await nodeOf(me);
  try {
    const f = { ...forged.global };
    assert.deepEqual(await adm.admitGlobal(f, { wait: true, fromTopic: true }), { action: 'accept' }, 'taken unpaired first');
    await held.acceptGlobal(f, Date.now());
    const g = structuredClone(valid.global);
    const o = await adm.admitGlobal(g, { wait: true, fromTopic: true, from: 'honest' });
    assert.deepEqual(o, { action: 'accept' }, 'the valid one (a variant that pairs) replaces the forged one held');
    await held.acceptGlobal(g, Date.now());
    const now = (await store.global(E))!.proof;
    assert.deepEqual(now.proof, valid.global.proof, 'the valid proof is held');
    assert.equal(await held.usableGlobal(E, now), true);
  } finally {
    await store.close();
  }
});

test('the apex proof made here is not paired at its use (it never was: a node trusts its own prover, as before)', async () => {
  const { held, store } = await nodeOf(proverOf('', plan.round(E), 2, 0));
  try {
    const t = structuredClone(valid.triad);
    held.madeHere(t);
    const v0 = consulted();
    assert.equal(await held.usableTriad(E, structuredClone(t)), true);
    assert.equal(await held.usableGlobal(E, globalFromApex(structuredClone(t), 2, genesisHash(genesis))), true);
    assert.equal(consulted() - v0, 0, 'no pairing, no verdict asked for');
  } finally {
    await store.close();
  }
});

test('points that do not decompress: Rejected by the apex\'s first prover; stored as received by the others (not decompressed) and dropped at first use', async () => {
  // A's x replaced by one of no curve point, in the bytes as they travel (FROM_TOPIC: points deferred)
  const { bn254 } = await import('@noble/curves/bn254.js');
  const Fp = bn254.fields.Fp;
  let x = 1n;
  for (;;) {
    try {
      Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 3n));
      x++;
    } catch {
      break;
    }
  }
  const corrupt = (b: Uint8Array, at: number): Uint8Array => {
    const c = b.slice();
    for (let i = 0; i < 32; i++) c[at + i] = Number((x >> BigInt(8 * (31 - i))) & 0xffn);
    return c;
  };
  const tBytes = encodeProofMessage({ type: 'triad', proof: valid.triad });
  const gBytes = encodeProofMessage({ type: 'global', proof: valid.global });
  const badT = corrupt(tBytes, tBytes.length - PROOF_BYTES);
  const badG = corrupt(gBytes, 1 + 2 + 8 * 32);
  for (const me of [proverOf('', plan.round(E), 2, 0), allShards(2).find((s) => !pairsApex(s, plan.round(E), 2))!]) {
    const { adm, held, store } = await nodeOf(me);
    try {
      const t = decodeProofMessage(badT, FROM_TOPIC);
      const g = decodeProofMessage(badG, FROM_TOPIC);
      assert.ok(t.type === 'triad' && g.type === 'global');
      const ot = await adm.admitTriad(t.proof, { wait: true, fromTopic: true });
      const og = await adm.admitGlobal(g.proof, { wait: true, fromTopic: true });
      if (pairsApex(me, plan.round(E), 2)) {
        assert.deepEqual([ot.action, og.action], ['reject', 'reject'], `the first prover decompresses and refuses them: ${JSON.stringify([ot, og])}`);
        continue;
      }
      assert.deepEqual([ot.action, og.action], ['accept', 'accept'], 'taken unpaired, points not decompressed');
      await held.acceptTriad(t.proof);
      await held.acceptGlobal(g.proof, Date.now());
      const stored = (await store.global(E))!;
      assert.deepEqual(encodeGlobalProof(stored.proof), badG.subarray(1), 'stored as received');
      assert.equal(await held.usableGlobal(E, stored.proof), false, 'refused at first use');
      assert.equal(await held.usableTriad(E, (await store.triad('', E))!), false);
      assert.equal(await store.global(E), undefined);
      assert.equal(await store.triad('', E), undefined);
    } finally {
      await store.close();
    }
  }
});
