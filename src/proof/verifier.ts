// Groth16 verification with cached, prepared verification keys. Same equation as snarkjs's
// groth16.verify -- e(-A, B) * e(cpub, gamma) * e(C, delta) * e(alpha, beta) = 1 -- but computed on
// the calling thread with the key's G2 points prepared and e(alpha, beta)'s Miller loop cached, so
// one verification is 3 Miller loops and 1 final exponentiation without thread-pool round trips
// (about 7 ms here, against about 16 ms for snarkjs.groth16.verify under the same load). Equality
// with snarkjs's verdict is tested. The curve is a single-threaded ffjavascript bn128 (everything
// here runs on the calling thread, so a worker-thread pool would only cost memory and start-up),
// built once per process; warmVerifier() builds it and prepares the keys ahead of the first
// verification. snarkjs's own curve (a thread pool, used by verifyWithSnarkjs) is released by
// closeVerifier() so a process can exit.
import { readFileSync } from 'node:fs';
import * as snarkjs from 'snarkjs';
import type { Bn128Curve, Groth16Proof, VerificationKey } from 'snarkjs';
import { artifactsDir, CIRCUIT_KINDS, circuitFiles, type CircuitKind } from './artifacts.js';
import { FIELD_R } from './commitment.js';

export const PUBLIC_SIGNALS = 8;

const vkeys = new Map<string, VerificationKey>();

let curveP: Promise<Bn128Curve> | null = null;
function getCurve(): Promise<Bn128Curve> {
  curveP ??= snarkjs.curves.getCurveFromName('bn128', { singleThread: true });
  return curveP;
}

/** Builds the curve and prepares both circuits' keys now, so the first verification is warm. */
export async function warmVerifier(dir?: string): Promise<void> {
  const curve = await getCurve();
  for (const kind of CIRCUIT_KINDS) prepare(curve, loadVerificationKey(kind, dir));
}

export function loadVerificationKey(kind: CircuitKind, dir = artifactsDir()): VerificationKey {
  const path = circuitFiles(kind, dir).vkey;
  let vk = vkeys.get(path);
  if (!vk) {
    vk = JSON.parse(readFileSync(path, 'utf8')) as VerificationKey;
    vkeys.set(path, vk);
  }
  return vk;
}

interface PreparedKey {
  ic: Uint8Array[];
  preGamma: Uint8Array;
  preDelta: Uint8Array;
  mlAlphaBeta: Uint8Array;
}

// Prepared buffers are plain data (not WASM pointers), valid across curve instances.
const preparedKeys = new WeakMap<VerificationKey, PreparedKey>();

const big = (v: unknown): bigint[] => (v as string[]).map((x) => BigInt(x));
const big2 = (v: unknown): bigint[][] => (v as string[][]).map((p) => p.map((x) => BigInt(x)));

function prepare(curve: Bn128Curve, vk: VerificationKey): PreparedKey {
  let p = preparedKeys.get(vk);
  if (!p) {
    const { G1, G2 } = curve;
    const ic = (vk.IC as string[][]).map((pt) => G1.fromObject(big(pt)));
    if (ic.length !== vk.nPublic + 1) throw new Error('verification key: IC does not match nPublic');
    p = {
      ic,
      preGamma: curve.prepareG2(G2.toJacobian(G2.fromObject(big2(vk.vk_gamma_2)))),
      preDelta: curve.prepareG2(G2.toJacobian(G2.fromObject(big2(vk.vk_delta_2)))),
      mlAlphaBeta: curve.millerLoop(curve.prepareG1(G1.toJacobian(G1.fromObject(big(vk.vk_alpha_1)))), curve.prepareG2(G2.toJacobian(G2.fromObject(big2(vk.vk_beta_2))))),
    };
    preparedKeys.set(vk, p);
  }
  return p;
}

function canonicalSignals(signals: readonly string[]): boolean {
  return signals.every((s) => typeof s === 'string' && /^(0|[1-9]\d*)$/.test(s) && BigInt(s) < FIELD_R);
}

/**
 * True iff `proof` is a valid Groth16 proof of `publicSignals` under `vk`. Malformed input gives
 * false, never an exception. Signals must be canonical decimal field elements, exactly nPublic;
 * proof points must be on their curves, and B in the prime-order subgroup of G2.
 */
export async function verifyWithKey(vk: VerificationKey, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
  if (!Array.isArray(publicSignals) || publicSignals.length !== vk.nPublic || !canonicalSignals(publicSignals)) return false;
  try {
    const curve = await getCurve();
    const { G1, G2, Gt } = curve;
    const k = prepare(curve, vk);
    const a = G1.fromObject(big(proof.pi_a));
    const b = G2.fromObject(big2(proof.pi_b));
    const c = G1.fromObject(big(proof.pi_c));
    if (!G1.isValid(a) || !G2.isValid(b) || !G1.isValid(c)) return false;
    if (!G2.isZero(G2.timesScalar(b, FIELD_R))) return false;
    let cpub = k.ic[0]!;
    for (let i = 0; i < publicSignals.length; i++) cpub = G1.add(cpub, G1.timesScalar(k.ic[i + 1]!, BigInt(publicSignals[i]!)));
    let m = curve.millerLoop(curve.prepareG1(G1.toJacobian(G1.neg(a))), curve.prepareG2(G2.toJacobian(b)));
    m = Gt.mul(m, curve.millerLoop(curve.prepareG1(G1.toJacobian(cpub)), k.preGamma));
    m = Gt.mul(m, curve.millerLoop(curve.prepareG1(G1.toJacobian(c)), k.preDelta));
    m = Gt.mul(m, k.mlAlphaBeta);
    return Gt.eq(curve.finalExponentiation(m), Gt.one);
  } catch {
    return false;
  }
}

/** snarkjs's own verifier, for cross-checking (slower: thread-pool pairing). */
export async function verifyWithSnarkjs(vk: VerificationKey, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
  if (!Array.isArray(publicSignals) || publicSignals.length !== vk.nPublic || !canonicalSignals(publicSignals)) return false;
  try {
    return await snarkjs.groth16.verify(vk, [...publicSignals], proof);
  } catch {
    return false;
  }
}

export function verify(kind: CircuitKind, publicSignals: readonly string[], proof: Groth16Proof, dir?: string): Promise<boolean> {
  return verifyWithKey(loadVerificationKey(kind, dir), publicSignals, proof);
}

/** Terminates snarkjs's cached curve (its worker threads keep the process alive otherwise). */
export async function closeVerifier(): Promise<void> {
  curveP = null; // single-threaded: nothing to terminate
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  if (g.curve_bn128) await g.curve_bn128.terminate();
}
