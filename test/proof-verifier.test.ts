// The node's Groth16 verifier (src/proof/verifier.ts) against snarkjs's groth16.verify, on valid
// proofs and on Wycheproof-style broken ones, and its parts: the psi subgroup check of G2
// (src/proof/g2-subgroup.ts) against the textbook [r]P = 0 on points in and out of G2, and the kept
// verdicts (one pairing per statement and proof). Needs the compiled circuits (npm run
// build:circuits); skips, saying so, without them.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bn254 } from '@noble/curves/bn254.js';
import * as snarkjs from 'snarkjs';
import type { Bn128Curve, Groth16Proof, VerificationKey } from 'snarkjs';
import { artifactsDir, circuitsBuilt, type CircuitKind } from '../src/proof/artifacts.js';
import { FIELD_R, getPoseidon } from '../src/proof/commitment.js';
import { inG2, inG2BySlowCheck, psi } from '../src/proof/g2-subgroup.js';
import { Prover } from '../src/proof/prover.js';
import { buildTree, genesisTree } from '../src/proof/tree.js';
import { proveTree } from '../src/proof/tree-prover.js';
import { closeVerifier, loadVerificationKey, verifierStats, verify, verifyWithKey, verifyWithSnarkjs, VERDICTS } from '../src/proof/verifier.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';

const built = circuitsBuilt();
const skip = built ? false : `circuits not built in ${artifactsDir()}: run npm run build:circuits`;
if (!built) process.stderr.write(`verifier tests SKIPPED: ${skip}\n`);

const { Fp2 } = bn254.fields;
const B_TWIST = bn254.G2.Point.CURVE().b as { c0: bigint; c1: bigint };
type Fp2El = { c0: bigint; c1: bigint };

/** Points on the twist y^2 = x^3 + b' with x = (k, 5), k = 1.., whatever their subgroup (no cofactor clearing). */
function twistPoints(count: number): { x: Fp2El; y: Fp2El }[] {
  const out: { x: Fp2El; y: Fp2El }[] = [];
  for (let k = 1n; out.length < count; k++) {
    const x = Fp2.fromBigTuple([k, 5n]);
    try {
      out.push({ x, y: Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), B_TWIST)) });
    } catch {
      // x^3 + b' is not a square: no point with this x
    }
  }
  return out;
}

const ff2 = (curve: Bn128Curve, p: { x: Fp2El; y: Fp2El }): Uint8Array => curve.G2.fromObject([[p.x.c0, p.x.c1], [p.y.c0, p.y.c1]]);
const objB = (curve: Bn128Curve, pt: Uint8Array): string[][] => {
  const g = curve.G2 as unknown as { toAffine(a: Uint8Array): Uint8Array; toObject(a: Uint8Array): bigint[][] };
  const o = g.toObject(g.toAffine(pt));
  return o.map((c) => c.map(String));
};

describe('G2 subgroup check with the psi endomorphism', { skip }, () => {
  let curve: Bn128Curve;
  before(async () => {
    curve = await snarkjs.curves.getCurveFromName('bn128', { singleThread: true });
  });

  test('psi acts on G2 as multiplication by p mod r (its eigenvalue), so it maps G2 into G2', () => {
    const g = ff2(curve, bn254.G2.Point.BASE.toAffine());
    const p = bn254.fields.Fp.ORDER;
    assert.ok(curve.G2.eq(psi(curve, g), curve.G2.timesScalar(g, p % FIELD_R)));
  });

  test('agrees with [r]P = 0 on multiples of the generator, the identity, and twist points outside G2 (random ones, cofactor torsion, G2 + torsion)', () => {
    const G2 = curve.G2;
    const base = bn254.G2.Point.BASE.toAffine();
    const g = ff2(curve, base);
    const inside: Uint8Array[] = [G2.fromObject([[0n, 0n], [1n, 0n], [0n, 0n]]), g];
    for (const k of [2n, 3n, 12345n, FIELD_R - 1n, 2n ** 200n + 7n]) inside.push(G2.timesScalar(g, k));
    const random = twistPoints(12).map((p) => ff2(curve, p));
    const torsion = random.map((q) => G2.timesScalar(q, FIELD_R)); // order divides the cofactor
    const mixed = torsion.map((t, i) => G2.add(inside[(i % (inside.length - 1)) + 1]!, t));
    for (const p of inside) {
      assert.equal(inG2BySlowCheck(curve, p), true);
      assert.equal(inG2(curve, p), true);
    }
    let outside = 0;
    for (const p of [...random, ...torsion, ...mixed]) {
      assert.ok(G2.isValid(p), 'on the twist');
      const slow = inG2BySlowCheck(curve, p);
      assert.equal(inG2(curve, p), slow);
      if (!slow) outside++;
    }
    assert.ok(outside >= 30, `only ${outside} of the constructed points lie outside G2`);
  });
});

describe('the verifier agrees with snarkjs and pairs each proof once', { skip }, () => {
  let curve: Bn128Curve;
  const proofs: { kind: CircuitKind; publicSignals: string[]; proof: Groth16Proof }[] = [];

  before(async () => {
    if (!built) return;
    curve = await snarkjs.curves.getCurveFromName('bn128', { singleThread: true });
    const H = await getPoseidon();
    const prover = new Prover();
    try {
      const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
      const t0 = buildTree(H, fixtureSnapshots(2, 0, g.shards.map((s) => s.supply)), g);
      const pt = await proveTree(prover, (kind, s, p) => verifyWithSnarkjs(loadVerificationKey(kind), s, p), t0, g);
      for (const p of pt.proofs.values()) proofs.push({ kind: p.kind, publicSignals: p.publicSignals, proof: p.proof });
    } finally {
      await prover.close();
    }
  });
  after(async () => {
    await closeVerifier();
  });

  test('valid proofs verify, and snarkjs agrees', async () => {
    assert.equal(proofs.length, 4);
    for (const p of proofs) {
      assert.equal(await verify(p.kind, p.publicSignals, p.proof), true);
      assert.equal(await verifyWithSnarkjs(loadVerificationKey(p.kind), p.publicSignals, p.proof), true);
    }
  });

  test('broken proofs and statements fail, with the same verdict as snarkjs', async () => {
    const G2 = curve.G2;
    const torsion = G2.timesScalar(ff2(curve, twistPoints(1)[0]!), FIELD_R);
    const cases: [string, CircuitKind, string[], Groth16Proof][] = [];
    for (const [i, p] of proofs.entries()) {
      const other = proofs[(i + 1) % proofs.length]!;
      const q = p.proof;
      const b = G2.fromObject(q.pi_b.map((c) => c.map(BigInt)));
      cases.push(
        ['each signal + 1', p.kind, p.publicSignals.map((s, j) => (j === i % 8 ? (BigInt(s) + 1n).toString() : s)), q],
        ['signal + r (not canonical)', p.kind, p.publicSignals.map((s, j) => (j === 2 ? (BigInt(s) + FIELD_R).toString() : s)), q],
        ['signal with a leading zero', p.kind, p.publicSignals.map((s, j) => (j === 2 ? `0${s}` : s)), q],
        ['7 signals', p.kind, p.publicSignals.slice(0, 7), q],
        ['A and C swapped', p.kind, p.publicSignals, { ...q, pi_a: q.pi_c, pi_c: q.pi_a }],
        ['A negated', p.kind, p.publicSignals, { ...q, pi_a: [q.pi_a[0]!, (bn254.fields.Fp.ORDER - BigInt(q.pi_a[1]!)).toString(), '1'] }],
        ['A not on the curve', p.kind, p.publicSignals, { ...q, pi_a: [q.pi_a[0]!, (BigInt(q.pi_a[1]!) + 1n).toString(), '1'] }],
        ['A at infinity', p.kind, p.publicSignals, { ...q, pi_a: ['0', '1', '0'] }],
        ['B coordinates swapped (c0, c1)', p.kind, p.publicSignals, { ...q, pi_b: [[q.pi_b[0]![1]!, q.pi_b[0]![0]!], [q.pi_b[1]![1]!, q.pi_b[1]![0]!], ['1', '0']] }],
        ['B plus a cofactor-torsion point (on the twist, outside G2)', p.kind, p.publicSignals, { ...q, pi_b: [...objB(curve, G2.add(b, torsion)).slice(0, 2), ['1', '0']] }],
        ['B at infinity', p.kind, p.publicSignals, { ...q, pi_b: [['0', '0'], ['1', '0'], ['0', '0']] }],
        ['B of another proof', p.kind, p.publicSignals, { ...q, pi_b: other.proof.pi_b }],
        ['another valid proof', p.kind, p.publicSignals, other.proof],
        ['the other circuit\'s key', p.kind === 'triad_leaf' ? 'triad_inner' : 'triad_leaf', p.publicSignals, q],
      );
    }
    for (const [what, kind, signals, proof] of cases) {
      const ours = await verify(kind, signals, proof);
      const theirs = await verifyWithSnarkjs(loadVerificationKey(kind), signals, proof);
      assert.equal(ours, false, `${what}: verifies`);
      assert.equal(theirs, ours, `${what}: snarkjs says ${theirs}`);
    }
  });

  test('the same statement and proof is paired once; another proof, statement or key is paired', async () => {
    const p = proofs[3]!;
    const vk = loadVerificationKey(p.kind);
    const other: VerificationKey = { ...vk }; // equal contents, another key object: verdicts are kept per key
    const s0 = verifierStats();
    const copy = JSON.parse(JSON.stringify(p)) as typeof p; // equal strings, other objects
    assert.equal(await verifyWithKey(vk, copy.publicSignals, copy.proof), true);
    assert.equal(await verifyWithKey(vk, p.publicSignals, p.proof), true);
    const s1 = verifierStats();
    assert.equal(s1.paired - s0.paired, 0, 'verified earlier in this file: kept');
    assert.equal(s1.reused - s0.reused, 2);
    const bad = p.publicSignals.map((s, j) => (j === 7 ? (BigInt(s) + 2n).toString() : s));
    assert.equal(await verifyWithKey(vk, bad, p.proof), false);
    assert.equal(await verifyWithKey(vk, bad, p.proof), false, 'a kept false stays false');
    assert.equal(await verifyWithKey(other, p.publicSignals, p.proof), true);
    const s2 = verifierStats();
    assert.equal(s2.paired - s1.paired, 2, 'the bad statement once, the other key once');
    // a verdict is forgotten after VERDICTS others: paired again, same verdict
    for (let i = 0; i < VERDICTS; i++) await verifyWithKey(other, p.publicSignals.map((s, j) => (j === 0 ? String(i + 100) : s)), p.proof);
    const s3 = verifierStats();
    assert.equal(await verifyWithKey(other, p.publicSignals, p.proof), true);
    assert.equal(verifierStats().paired - s3.paired, 1);
  });
});
