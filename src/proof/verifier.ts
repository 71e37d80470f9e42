// Groth16 verification with cached, prepared verification keys. Same equation as snarkjs's
// groth16.verify -- e(-A, B) * e(cpub, gamma) * e(C, delta) * e(alpha, beta) = 1 -- but computed on
// the calling thread with the key's G2 points prepared and e(alpha, beta)'s Miller loop cached, so
// one verification is 3 Miller loops and 1 final exponentiation without thread-pool round trips
// (about 6 ms here, against about 16-20 ms for snarkjs.groth16.verify under the same load). Equality
// with snarkjs's verdict is tested. The public inputs are combined by one multi-exponentiation and
// B's subgroup is checked with the psi endomorphism (g2-subgroup.ts), each about half the cost of
// the per-point scalar multiplications they replace. A verdict is kept for the last VERDICTS
// statements and proofs verified (it is a pure function of them), so the same proof is never paired
// twice in a process: a node meets the apex proof as a triad proof and again inside the global
// proof, and fetched proofs it already saw on the topic. The curve is a single-threaded ffjavascript
// bn128 (everything here runs on the calling thread, so a worker-thread pool would only cost memory
// and start-up), built once per process; warmVerifier() builds it and prepares the keys ahead of
// the first verification. snarkjs's own curve (a thread pool, used by verifyWithSnarkjs) is released
// by closeVerifier() so a process can exit.
import { readFileSync } from 'node:fs';
import * as snarkjs from 'snarkjs';
import type { Bn128Curve, Groth16Proof, VerificationKey } from 'snarkjs';
import { artifactsDir, CIRCUIT_KINDS, circuitFiles, type CircuitKind } from './artifacts.js';
import { FIELD_R } from './commitment.js';
import { inG2 } from './g2-subgroup.js';

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
  /** IC[1..n] affine, concatenated: the bases of the public inputs' multi-exponentiation. */
  icBases: Uint8Array;
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
    const icBases = new Uint8Array(vk.nPublic * 2 * G1.F.n8);
    ic.slice(1).forEach((pt, i) => icBases.set(pt, i * pt.length));
    p = {
      ic,
      icBases,
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
 * What this process paired (wall ms, and CPU ms of the calling thread: on a loaded machine the wall
 * time is mostly waiting for a core), and how often a kept verdict spared a pairing (/v1/proof/status).
 */
export interface VerifierStats {
  paired: number;
  pairedMs: number;
  pairedCpuMs: number;
  reused: number;
}
const stats: VerifierStats = { paired: 0, pairedMs: 0, pairedCpuMs: 0, reused: 0 };
export function verifierStats(): VerifierStats {
  return { ...stats, pairedMs: Math.round(stats.pairedMs), pairedCpuMs: Math.round(stats.pairedCpuMs) };
}
const threadCpuMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/** Verdicts kept per key: recent statements and proofs (an in-flight verification is shared too). */
export const VERDICTS = 256;
const verdicts = new WeakMap<VerificationKey, Map<string, Promise<boolean>>>();

// The exact strings verified: equal keys are equal inputs, so equal verdicts. Any other spelling of
// the same points or signals is a different key and is paired (correct, only not spared).
function verdictKey(publicSignals: readonly string[], proof: Groth16Proof): string {
  return JSON.stringify([publicSignals, proof.pi_a, proof.pi_b, proof.pi_c]);
}

/**
 * True iff `proof` is a valid Groth16 proof of `publicSignals` under `vk`. Malformed input gives
 * false, never an exception. Signals must be canonical decimal field elements, exactly nPublic;
 * proof points must be on their curves, and B in the prime-order subgroup of G2. The same
 * statement and proof under the same key is paired once: later calls get the kept verdict.
 */
export function verifyWithKey(vk: VerificationKey, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
  let key: string;
  try {
    key = verdictKey(publicSignals, proof);
  } catch {
    return Promise.resolve(false); // not serialisable: not a proof
  }
  let kept = verdicts.get(vk);
  if (!kept) verdicts.set(vk, (kept = new Map()));
  const hit = kept.get(key);
  if (hit) {
    stats.reused++;
    kept.delete(key); // most recently used last
    kept.set(key, hit);
    return hit;
  }
  const v = pairingCheck(vk, publicSignals, proof);
  kept.set(key, v);
  while (kept.size > VERDICTS) kept.delete(kept.keys().next().value!);
  return v;
}

// One multi-exponentiation of the key's IC[1..n] by the signals (the curve's wasm Pippenger), then + IC[0].
interface MsmScratch {
  bases: number;
  scalars: number;
  out: number;
}
const msmScratch = new WeakMap<Bn128Curve, MsmScratch>();

function publicInputs(curve: Bn128Curve, k: PreparedKey, signals: readonly string[]): Uint8Array {
  const { G1, tm } = curve;
  const n = signals.length;
  let m = msmScratch.get(curve);
  if (!m) {
    m = { bases: tm.alloc(k.icBases.length), scalars: tm.alloc(32 * n), out: tm.alloc(3 * G1.F.n8) };
    msmScratch.set(curve, m);
  }
  const scalars = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) {
    let v = BigInt(signals[i]!); // canonical: < r < 2^254
    for (let j = 0; j < 32; j++, v >>= 8n) scalars[32 * i + j] = Number(v & 0xffn);
  }
  tm.setBuff(m.bases, k.icBases);
  tm.setBuff(m.scalars, scalars);
  tm.instance.exports.g1m_multiexpAffine!(m.bases, m.scalars, 32, n, m.out);
  return G1.add(k.ic[0]!, tm.getBuff(m.out, 3 * G1.F.n8));
}

/** verifyWithKey without kept verdicts: always pairs (benchmarks time this). */
export async function pairingCheck(vk: VerificationKey, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
  if (!Array.isArray(publicSignals) || publicSignals.length !== vk.nPublic || !canonicalSignals(publicSignals)) return false;
  try {
    const curve = await getCurve();
    const t = performance.now();
    const cpu = threadCpuMs();
    stats.paired++;
    try {
      const { G1, G2, Gt } = curve;
      const k = prepare(curve, vk);
      const a = G1.fromObject(big(proof.pi_a));
      const b = G2.fromObject(big2(proof.pi_b));
      const c = G1.fromObject(big(proof.pi_c));
      if (!G1.isValid(a) || !G2.isValid(b) || !G1.isValid(c)) return false;
      // B at infinity was refused before (the affine [r]B check misread it); no honest proof has it
      if (G2.isZero(b) || !inG2(curve, b)) return false;
      const cpub = publicInputs(curve, k, publicSignals);
      let m = curve.millerLoop(curve.prepareG1(G1.toJacobian(G1.neg(a))), curve.prepareG2(G2.toJacobian(b)));
      m = Gt.mul(m, curve.millerLoop(curve.prepareG1(G1.toJacobian(cpub)), k.preGamma));
      m = Gt.mul(m, curve.millerLoop(curve.prepareG1(G1.toJacobian(c)), k.preDelta));
      m = Gt.mul(m, k.mlAlphaBeta);
      return Gt.eq(curve.finalExponentiation(m), Gt.one);
    } finally {
      stats.pairedMs += performance.now() - t;
      stats.pairedCpuMs += threadCpuMs() - cpu;
    }
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
