// Pure tests of the proof side (no circuits needed): compressed Groth16 encoding, global/triad
// proof codecs, the commitment tree's rules and the native commitment test vectors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { bn254 } from '@noble/curves/bn254.js';
import type { Groth16Proof } from 'snarkjs';
import { DecodeError } from '../src/core/bytes.js';
import { decodeProof, encodeProof, PROOF_BYTES, VERIFIED_NEXT } from '../src/proof/encoding.js';
import { decodeGlobalProof, encodeGlobalProof, GLOBAL_PROOF_BYTES, type GlobalStateProof } from '../src/proof/global.js';
import { decodeTriadProof, encodeTriadProof } from '../src/proof/triad-proof.js';
import { epochField, FIELD_R, getPoseidon, limbs, pathEnc, referencePoseidon } from '../src/proof/commitment.js';
import { buildTree, genesisTree, triadLevels, TreeError } from '../src/proof/tree.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';
import { generateVectors } from './fixtures/proof-vectors.js';
import { circuitsBuilt } from '../src/proof/artifacts.js';
import { closeVerifier, loadVerificationKey, verifyWithKey } from '../src/proof/verifier.js';
import { sameProof } from '../src/proof/admission.js';

const { Fp, Fp2 } = bn254.fields;
const G1 = bn254.G1.Point;
const G2 = bn254.G2.Point;

function proofFromScalars(a: bigint, b: bigint, c: bigint): Groth16Proof {
  const A = G1.BASE.multiply(a).toAffine();
  const B = G2.BASE.multiply(b).toAffine();
  const C = G1.BASE.multiply(c).toAffine();
  return {
    pi_a: [A.x.toString(), A.y.toString(), '1'],
    pi_b: [[B.x.c0.toString(), B.x.c1.toString()], [B.y.c0.toString(), B.y.c1.toString()], ['1', '0']],
    pi_c: [C.x.toString(), C.y.toString(), '1'],
    protocol: 'groth16',
    curve: 'bn128',
  };
}

const isSquare = (sqrt: () => unknown): boolean => {
  try {
    sqrt();
    return true;
  } catch {
    return false;
  }
};

const scalar = fc.bigInt({ min: 1n, max: bn254.fields.Fr.ORDER - 1n });

describe('compressed Groth16 proof encoding', () => {
  test('a proof is 128 bytes and round-trips exactly', () => {
    fc.assert(fc.property(scalar, scalar, scalar, (a, b, c) => {
      const p = proofFromScalars(a, b, c);
      const enc = encodeProof(p);
      assert.equal(enc.length, PROOF_BYTES);
      assert.deepEqual(decodeProof(enc), p);
    }), { numRuns: 25 });
  });

  test('the decoder throws only DecodeError, and whatever it accepts re-encodes to the same bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 140 }), (bytes) => {
      try {
        const p = decodeProof(bytes);
        assert.deepEqual(encodeProof(p), bytes);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
      }
    }), { numRuns: 300 });
  });

  test('flipping any bit of a valid encoding gives DecodeError or a different canonical proof', () => {
    const enc = encodeProof(proofFromScalars(7n, 11n, 13n));
    fc.assert(fc.property(fc.integer({ min: 0, max: PROOF_BYTES * 8 - 1 }), (bit) => {
      const m = enc.slice();
      m[bit >> 3]! ^= 1 << (bit & 7);
      try {
        assert.deepEqual(encodeProof(decodeProof(m)), m);
      } catch (e) {
        assert.ok(e instanceof DecodeError);
      }
    }), { numRuns: 200 });
  });

  test('a G1 x with no curve point is rejected', () => {
    const enc = encodeProof(proofFromScalars(3n, 5n, 7n));
    // find an x for which x^3 + 3 is not a square
    let x = 1n;
    while (isSquare(() => Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 3n)))) x++;
    const m = enc.slice();
    for (let i = 0; i < 32; i++) m[i] = Number((x >> BigInt(8 * (31 - i))) & 0xffn);
    assert.throws(() => decodeProof(m), DecodeError);
  });

  test('a G2 point on the curve but outside the prime-order subgroup is rejected', () => {
    const b2 = G2.CURVE().b as { c0: bigint; c1: bigint };
    let x = { c0: 1n, c1: 1n };
    while (!isSquare(() => Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), b2)))) x = { c0: x.c0 + 1n, c1: 1n };
    const y = Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), b2));
    const p = proofFromScalars(3n, 5n, 7n);
    p.pi_b = [[x.c0.toString(), x.c1.toString()], [y.c0.toString(), y.c1.toString()], ['1', '0']];
    const enc = encodeProof(p); // on the curve, so it encodes
    assert.throws(() => decodeProof(enc), /invalid point/);
    // a caller that verifies next may skip the (costly) check here: the verifier makes it instead
    const lax = decodeProof(enc, { subgroupCheck: false });
    assert.deepEqual(lax.pi_b, p.pi_b);
    // decoded proofs are remembered by their bytes: the lax decode must not stand for a checked one
    assert.throws(() => decodeProof(enc), /invalid point/);
    assert.deepEqual(decodeProof(enc, { subgroupCheck: false }).pi_b, p.pi_b);
  });

  test('decoding the same bytes again (remembered) gives an equal proof in objects of its own', () => {
    const enc = encodeProof(proofFromScalars(11n, 13n, 17n));
    const a = decodeProof(enc);
    const b = decodeProof(enc);
    assert.deepEqual(b, a);
    assert.notEqual(b, a);
    assert.notEqual(b.pi_b[0], a.pi_b[0]);
    a.pi_a[0] = '0';
    a.pi_b[0]![0] = '0';
    assert.deepEqual(decodeProof(enc, VERIFIED_NEXT), b, 'a caller changing its copy changes nothing remembered');
  });

  test('the verifier refuses a B outside the subgroup that a decode without the subgroup check let through', { skip: circuitsBuilt() ? false : 'circuits not built' }, async () => {
    const b2 = G2.CURVE().b as { c0: bigint; c1: bigint };
    let x = { c0: 1n, c1: 1n };
    while (!isSquare(() => Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), b2)))) x = { c0: x.c0 + 1n, c1: 1n };
    const y = Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), b2));
    const p = proofFromScalars(3n, 5n, 7n);
    p.pi_b = [[x.c0.toString(), x.c1.toString()], [y.c0.toString(), y.c1.toString()], ['1', '0']];
    const lax = decodeProof(encodeProof(p), { subgroupCheck: false });
    const signals = ['1', '5', '123', '456', '1000', '1', '2', '3'];
    try {
      assert.equal(await verifyWithKey(loadVerificationKey('triad_leaf'), signals, lax), false);
    } finally {
      await closeVerifier();
    }
  });

  test('the encoder refuses points off the curve and non-affine points', () => {
    const p = proofFromScalars(3n, 5n, 7n);
    assert.throws(() => encodeProof({ ...p, pi_a: [p.pi_a[0]!, (BigInt(p.pi_a[1]!) + 1n).toString(), '1'] }), DecodeError);
    assert.throws(() => encodeProof({ ...p, pi_c: [p.pi_c[0]!, p.pi_c[1]!, '2'] }), DecodeError);
  });
});

describe('global and triad proof codecs', () => {
  const gp = (depth: number, a: bigint): GlobalStateProof => ({
    depth, publicSignals: ['1', '5', '123', '456', '1000', '1', '2', '3'], proof: proofFromScalars(a, a + 1n, a + 2n), prevGlobalProofHash: new Uint8Array(32).fill(9),
  });

  test('the global proof has one fixed size for every depth, at most 512 bytes, and round-trips', () => {
    for (const depth of [1, 2, 3, 4, 8]) {
      const enc = encodeGlobalProof(gp(depth, BigInt(depth)));
      assert.equal(enc.length, GLOBAL_PROOF_BYTES);
      assert.deepEqual(decodeGlobalProof(enc), gp(depth, BigInt(depth)));
    }
    assert.ok(GLOBAL_PROOF_BYTES <= 512);
  });

  test('global proof decoder throws only DecodeError on any corruption', () => {
    const enc = encodeGlobalProof(gp(2, 99n));
    fc.assert(fc.property(fc.integer({ min: 0, max: enc.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: -3, max: 3 }), (i, x, cut) => {
      const m = enc.slice(0, enc.length + Math.min(cut, 0));
      if (i < m.length) m[i]! ^= x;
      try {
        const d = decodeGlobalProof(m);
        assert.deepEqual(encodeGlobalProof(d), m);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `unexpected ${(e as Error).message}`);
      }
    }), { numRuns: 300 });
  });

  test('a triad proof round-trips and its decoder throws only DecodeError', () => {
    const tp = { path: '012', kind: 'triad_inner' as const, children: [1n, 2n, FIELD_R - 1n] as [bigint, bigint, bigint], publicSignals: ['4', '1', '2', '3', '4', '5', '6', '7'], proof: proofFromScalars(5n, 6n, 7n) };
    const enc = encodeTriadProof(tp);
    assert.deepEqual(decodeTriadProof(enc), tp);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      try {
        decodeTriadProof(b);
      } catch (e) {
        assert.ok(e instanceof DecodeError);
      }
    }), { numRuns: 200 });
  });

  test('deferPoints: the signals decode at once, the points at the first read of proof (the same proof, once; a bad point throws DecodeError there)', () => {
    const tp = { path: '01', kind: 'triad_leaf' as const, children: [1n, 2n, 3n] as [bigint, bigint, bigint], publicSignals: ['4', '1', '2', '3', '4', '5', '6', '7'], proof: proofFromScalars(19n, 23n, 29n) };
    const enc = encodeTriadProof(tp);
    const lazy = decodeTriadProof(enc, { ...VERIFIED_NEXT, deferPoints: true });
    assert.deepEqual(lazy.publicSignals, tp.publicSignals);
    assert.deepEqual(lazy.children, tp.children);
    assert.equal(lazy.proof, lazy.proof, 'decoded once: the same object on every read (it is also an identity: verified proofs)');
    assert.deepEqual(lazy, decodeTriadProof(enc));
    assert.deepEqual(decodeTriadProof(encodeTriadProof(lazy)), tp);
    // A's x replaced by one that is on no curve point: the eager decode refuses the message, the deferred one its first read of proof
    const bad = enc.slice();
    const at = enc.length - PROOF_BYTES;
    let x = 1n;
    while (isSquare(() => Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 3n)))) x++;
    for (let i = 0; i < 32; i++) bad[at + i] = Number((x >> BigInt(8 * (31 - i))) & 0xffn);
    assert.throws(() => decodeTriadProof(bad, VERIFIED_NEXT), DecodeError);
    const later = decodeTriadProof(bad, { ...VERIFIED_NEXT, deferPoints: true });
    assert.equal(later.path, '01');
    assert.deepEqual(encodeTriadProof(later), bad, 'encoded again as received, points not decompressed');
    assert.throws(() => later.proof, DecodeError);
  });

  test('deferPoints, global proofs: encoded again from the bytes received (points never decompressed, even bad ones); sameProof compares deferred proofs by those bytes; a proof assigned replaces them', () => {
    const g: GlobalStateProof = { depth: 2, publicSignals: ['1', '5', '123', '456', '1000', '1', '2', '3'], proof: proofFromScalars(31n, 37n, 41n), prevGlobalProofHash: new Uint8Array(32).fill(7) };
    const enc = encodeGlobalProof(g);
    const lazy = decodeGlobalProof(enc, { ...VERIFIED_NEXT, deferPoints: true });
    assert.deepEqual(encodeGlobalProof(lazy), enc);
    assert.deepEqual(lazy, decodeGlobalProof(enc), 'the same proof once read');
    // A's x on no curve point: still encoded as received (hashes and links of what was received), refused where it is read
    const bad = enc.slice();
    const at = 2 + 8 * 32;
    let x = 1n;
    while (isSquare(() => Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 3n)))) x++;
    for (let i = 0; i < 32; i++) bad[at + i] = Number((x >> BigInt(8 * (31 - i))) & 0xffn);
    assert.throws(() => decodeGlobalProof(bad, VERIFIED_NEXT), DecodeError);
    const later = decodeGlobalProof(bad, { ...VERIFIED_NEXT, deferPoints: true });
    assert.deepEqual(encodeGlobalProof(later), bad);
    const twin = decodeGlobalProof(bad, { ...VERIFIED_NEXT, deferPoints: true });
    assert.equal(sameProof(later, twin), true, 'the same bytes: the same proof, neither decompressed');
    assert.equal(sameProof(later, decodeGlobalProof(enc, { ...VERIFIED_NEXT, deferPoints: true })), false);
    assert.throws(() => later.proof, DecodeError);
    later.proof = g.proof;
    assert.deepEqual(encodeGlobalProof(later), enc, 'a proof assigned is encoded, not the bytes it replaced');
  });
});

describe('commitment tree (pure)', () => {
  test('field encodings: limbs split big-endian halves, pathEnc gives children 3p+i, epoch -1 is r-1', () => {
    const b = new Uint8Array(32).map((_, i) => i);
    const [hi, lo] = limbs(b);
    assert.equal(hi, BigInt('0x000102030405060708090a0b0c0d0e0f'));
    assert.equal(lo, BigInt('0x101112131415161718191a1b1c1d1e1f'));
    fc.assert(fc.property(fc.stringMatching(/^[012]{0,7}$/), fc.integer({ min: 0, max: 2 }), (p, i) => {
      assert.equal(pathEnc(p + String(i)), 3n * pathEnc(p) + BigInt(i));
    }));
    assert.equal(pathEnc(''), 1n);
    assert.equal(epochField(-1), FIELD_R - 1n);
  });

  test('levels run bottom-up and cover every triad once', () => {
    assert.deepEqual(triadLevels(2), [['0', '1', '2'], ['']]);
    assert.equal(triadLevels(3).flat().length, 9 + 3 + 1);
  });

  test('a snapshot that breaks supply arithmetic, the epoch sequence or shard order is refused', async () => {
    const H = await getPoseidon();
    const g = genesisTree(H, 1, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(1));
    const snaps = fixtureSnapshots(1, 0, g.shards.map((s) => s.supply));
    buildTree(H, snaps, g);
    assert.throws(() => buildTree(H, snaps.map((s, i) => (i === 1 ? { ...s, supply: s.supply + 1n } : s)), g), TreeError);
    assert.throws(() => buildTree(H, snaps.map((s) => ({ ...s, epoch: 1 })), g), TreeError);
    assert.throws(() => buildTree(H, [snaps[1]!, snaps[0]!, snaps[2]!], g), TreeError);
  });

  test('the apex commitment changes with any shard field and chains to the previous epoch', async () => {
    const H = await getPoseidon();
    const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
    const snaps = fixtureSnapshots(2, 0, g.shards.map((s) => s.supply));
    const t0 = buildTree(H, snaps, g);
    const apex = t0.triads.get('')!;
    assert.equal(apex.opening.prev, g.triads.get('')!.commitment);
    const changed = snaps.map((s, i) => (i === 4 ? { ...s, txRoot: new Uint8Array(32) } : s));
    assert.notEqual(buildTree(H, changed, g).triads.get('')!.commitment, apex.commitment);
    const t1 = buildTree(H, fixtureSnapshots(2, 1, t0.shards.map((s) => s.supply)), t0);
    assert.equal(t1.triads.get('')!.opening.prev, apex.commitment);
    assert.equal(t1.shards[3]!.prev, t0.shards[3]!.commitment);
  });

  test('test/vectors/poseidon-commitments.json equals a fresh generation, and Poseidon([1,2]) is the circomlib value', async () => {
    const H = await getPoseidon();
    assert.equal(H([1n, 2n]), 7853200120776062878684798364095072458815029376092732009249414926327459813530n);
    const file = JSON.parse(readFileSync(new URL('./vectors/poseidon-commitments.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(JSON.parse(JSON.stringify(generateVectors(H))), file);
  });

  test("the node's Poseidon (inputs written straight into the wasm memory) equals circomlibjs's own calls for every arity 1..16, edge values and values reduced mod r", async () => {
    const H = await getPoseidon();
    const ref = await referencePoseidon();
    const edge = [0n, 1n, FIELD_R - 1n, (1n << 128n) - 1n, (1n << 64n) - 1n, 1n << 192n];
    for (let n = 1; n <= 16; n++) {
      const a = Array.from({ length: n }, (_, i) => edge[(i + n) % edge.length]!);
      assert.equal(H(a), ref(a), `arity ${n}`);
    }
    assert.equal(H([FIELD_R, FIELD_R + 5n, -1n]), ref([0n, 5n, FIELD_R - 1n]), 'values outside 0..r-1 are taken mod r');
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: FIELD_R - 1n }), { minLength: 1, maxLength: 16 }), (a) => H(a) === ref(a)), { numRuns: 300 });
    assert.throws(() => H([]), RangeError);
    assert.throws(() => H(new Array<bigint>(17).fill(0n)), RangeError);
  });
});
