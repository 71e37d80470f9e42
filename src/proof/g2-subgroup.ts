// Membership of a point of BN254's twist E'(Fp2) in G2, the prime-order subgroup, on ffjavascript's
// wasm curve. The twist has a large cofactor, so a point on the curve need not be in G2. The
// textbook check [r]P = 0 is a 254-bit scalar multiplication; for BN curves P is in G2 iff
// psi(P) = [6u^2]P (El Housni, Guillevic, Piellard, "Co-factor clearing and subgroup membership
// testing on pairing-friendly curves", 2022; the check @noble/curves uses for bn254), where psi is
// the untwist-Frobenius-twist endomorphism (a conjugation and two Fp2 multiplications) and 6u^2
// has 127 bits: about half the cost (0.45 against 0.9 ms here). test/proof-g2-subgroup.test.ts
// checks it against [r]P = 0 on points in and out of G2.
import { bn254 } from '@noble/curves/bn254.js';
import type { Bn128Curve } from 'snarkjs';
import { FIELD_R } from './commitment.js';

/** BN254's curve parameter u (the "x" of the BN family). */
export const BN_U = 4965661367192848881n;
const SIX_U2 = 6n * BN_U * BN_U;

function le(v: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError('scalar does not fit');
  return out;
}

const SIX_U2_LE = le(SIX_U2, 16);
const R_LE = le(FIELD_R, 32);

// psi(x, y) = (conj(x) * xi^((p-1)/3), conj(y) * xi^((p-1)/2)) on affine points, xi = 9 + u the
// twist's non-residue; on Jacobian (X, Y, Z) the same with Z conjugated (the constants absorb Z's powers).
const { Fp, Fp2 } = bn254.fields;
const XI = Fp2.fromBigTuple([9n, 1n]);
const PSI_X = Fp2.pow(XI, (Fp.ORDER - 1n) / 3n);
const PSI_Y = Fp2.pow(XI, (Fp.ORDER - 1n) / 2n);

interface PsiConstants {
  x: Uint8Array;
  y: Uint8Array;
}
const constants = new WeakMap<Bn128Curve, PsiConstants>();

function psiConstants(curve: Bn128Curve): PsiConstants {
  let k = constants.get(curve);
  if (!k) {
    const F2 = curve.G2.F;
    k = { x: F2.fromObject([PSI_X.c0, PSI_X.c1]), y: F2.fromObject([PSI_Y.c0, PSI_Y.c1]) };
    constants.set(curve, k);
  }
  return k;
}

/** psi of a G2 point in ffjavascript's Jacobian form (3 x Fp2, Montgomery). */
export function psi(curve: Bn128Curve, p: Uint8Array): Uint8Array {
  const F2 = curve.G2.F;
  const n = F2.n8;
  const j = curve.G2.toJacobian(p);
  const conj = (a: Uint8Array): Uint8Array => {
    const o = new Uint8Array(n);
    o.set(a.subarray(0, n / 2));
    o.set(F2.F.neg(a.subarray(n / 2, n)), n / 2);
    return o;
  };
  const k = psiConstants(curve);
  const out = new Uint8Array(3 * n);
  out.set(F2.mul(conj(j.subarray(0, n)), k.x), 0);
  out.set(F2.mul(conj(j.subarray(n, 2 * n)), k.y), n);
  out.set(conj(j.subarray(2 * n, 3 * n)), 2 * n);
  return out;
}

// Both take Jacobian points: ffjavascript's affine scalar multiplication mistakes its affine
// identity (0, 0) for a point and returns garbage.

/** Whether a point already known to be on the twist is in G2: psi(P) = [6u^2]P. */
export function inG2(curve: Bn128Curve, p: Uint8Array): boolean {
  const j = curve.G2.toJacobian(p);
  return curve.G2.eq(psi(curve, j), curve.G2.timesScalar(j, SIX_U2_LE));
}

/** The textbook check [r]P = 0 (twice the cost): the reference inG2 is tested against. */
export function inG2BySlowCheck(curve: Bn128Curve, p: Uint8Array): boolean {
  return curve.G2.isZero(curve.G2.timesScalar(curve.G2.toJacobian(p), R_LE));
}
