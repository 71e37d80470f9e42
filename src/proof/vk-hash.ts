// The hash that pins a network's circuits: genesis carries it (`proofKeysHash`), and a node proves
// and accepts proofs only when its own verification keys hash to it. Hashed is a canonical binary
// encoding of both circuits' Groth16 verification keys (never their JSON): per circuit, in
// CIRCUIT_KINDS order,
//   string kind | u8 nPublic | alpha (G1) | beta, gamma, delta (G2) | u16 #IC | IC (G1 each)
// with every coordinate a 32-byte big-endian field element, G1 as x | y and G2 as x.c0 | x.c1 |
// y.c0 | y.c1 (affine: snarkjs exports z = 1). e(alpha, beta) is derived from the key, so it is not
// hashed. Tag "smt/v1/proof-keys".
import { readFileSync } from 'node:fs';
import type { VerificationKey } from 'snarkjs';
import { ByteWriter, toHex } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import { artifactsDir, CIRCUIT_KINDS, circuitFiles, type CircuitKind } from './artifacts.js';

export class VerificationKeyError extends Error {
  override name = 'VerificationKeyError';
}

const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n; // BN254 base field

function coord(w: ByteWriter, v: unknown, what: string): void {
  if (typeof v !== 'string' || !/^(0|[1-9]\d*)$/.test(v) || BigInt(v) >= P) throw new VerificationKeyError(`verification key: ${what} is not a base-field element`);
  let x = BigInt(v);
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  w.fixed(out, 32);
}

function g1(w: ByteWriter, p: unknown, what: string): void {
  if (!Array.isArray(p) || p.length !== 3 || p[2] !== '1') throw new VerificationKeyError(`verification key: ${what} is not an affine G1 point`);
  coord(w, p[0], `${what}.x`);
  coord(w, p[1], `${what}.y`);
}

function g2(w: ByteWriter, p: unknown, what: string): void {
  const ok = Array.isArray(p) && p.length === 3 && p.every((c) => Array.isArray(c) && c.length === 2) && p[2][0] === '1' && p[2][1] === '0';
  if (!ok) throw new VerificationKeyError(`verification key: ${what} is not an affine G2 point`);
  coord(w, p[0][0], `${what}.x.c0`);
  coord(w, p[0][1], `${what}.x.c1`);
  coord(w, p[1][0], `${what}.y.c0`);
  coord(w, p[1][1], `${what}.y.c1`);
}

/** Canonical bytes of one verification key (see the file comment). */
export function encodeVerificationKey(kind: CircuitKind, vk: VerificationKey): Uint8Array {
  if (vk.protocol !== 'groth16' || vk.curve !== 'bn128') throw new VerificationKeyError(`verification key of ${kind}: not a groth16/bn128 key`);
  const ic = vk.IC;
  if (!Number.isInteger(vk.nPublic) || vk.nPublic < 0 || vk.nPublic > 255 || !Array.isArray(ic) || ic.length !== vk.nPublic + 1) {
    throw new VerificationKeyError(`verification key of ${kind}: IC does not match nPublic`);
  }
  const w = new ByteWriter(64 * 3 + 128 * 3);
  w.string(kind).u8(vk.nPublic);
  g1(w, vk.vk_alpha_1, 'alpha');
  g2(w, vk.vk_beta_2, 'beta');
  g2(w, vk.vk_gamma_2, 'gamma');
  g2(w, vk.vk_delta_2, 'delta');
  w.u16(ic.length);
  ic.forEach((p, i) => g1(w, p, `IC[${i}]`));
  return w.finish();
}

/** The pin of a set of circuits: taggedHash over both keys' canonical bytes, in CIRCUIT_KINDS order. */
export function proofKeysHash(vks: Record<CircuitKind, VerificationKey>): Uint8Array {
  return taggedHash('smt/v1/proof-keys', ...CIRCUIT_KINDS.map((k) => encodeVerificationKey(k, vks[k])));
}

/** The pin of the built artifacts in `dir` (default: the current sources' cache entry); throws if they are missing or malformed. */
export function artifactsKeysHash(dir = artifactsDir()): Uint8Array {
  const vks = {} as Record<CircuitKind, VerificationKey>;
  for (const k of CIRCUIT_KINDS) {
    const path = circuitFiles(k, dir).vkey;
    try {
      vks[k] = JSON.parse(readFileSync(path, 'utf8')) as VerificationKey;
    } catch (e) {
      throw new VerificationKeyError(`cannot read verification key ${path}: ${(e as Error).message}`);
    }
  }
  return proofKeysHash(vks);
}

/**
 * Whether this node may prove and accept proofs on a network: the genesis must pin keys, and the
 * local artifacts must be the pinned ones. Returns null if so, else the one-line reason.
 */
export function proofKeysMismatch(pinned: Uint8Array | undefined, dir = artifactsDir()): string | null {
  if (!pinned) return 'genesis pins no verification keys (no proofKeysHash): proofs are off for this network';
  let local: Uint8Array;
  try {
    local = artifactsKeysHash(dir);
  } catch (e) {
    return `${(e as Error).message} (run \`npm run build:circuits\`)`;
  }
  if (toHex(local) !== toHex(pinned)) {
    return `circuit artifacts in ${dir} have verification keys ${toHex(local).slice(0, 16)}..., genesis pins ${toHex(pinned).slice(0, 16)}...: proofs are off on this node (build the circuits the network was created with)`;
  }
  return null;
}
