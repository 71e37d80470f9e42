// Canonical compressed encoding of a Groth16 proof over BN254 (snarkjs "bn128"):
//   A (G1, 32 bytes) || B (G2, 64 bytes) || C (G1, 32 bytes) = 128 bytes.
// G1: x big-endian in 32 bytes. The field modulus p < 2^254 leaves the top two bits of the first
// byte free: bit 7 = "y is the larger of the two roots" (y > (p-1)/2), bit 6 = point at infinity
// (all other bits zero). G2: x = c0 + c1*u as c1 || c0 (32 bytes each), flags in c1's top bits,
// "larger" comparing y.c1 first, then y.c0 (the zcash/EIP convention). The decoder recomputes y,
// checks the point is on the curve (and, for G2, in the prime-order subgroup unless the caller
// verifies the proof next: DecodeProofOptions), and throws only
// DecodeError; re-encoding a decoded proof gives back the same bytes.
import { bn254 } from '@noble/curves/bn254.js';
import { DecodeError } from '../core/bytes.js';
import type { Groth16Proof } from 'snarkjs';

export const G1_BYTES = 32;
export const G2_BYTES = 64;
export const PROOF_BYTES = G1_BYTES + G2_BYTES + G1_BYTES;

const { Fp, Fp2 } = bn254.fields;
const P = Fp.ORDER;
const HALF = (P - 1n) / 2n;
const FLAG_LARGER = 0x80;
const FLAG_INFINITY = 0x40;
const G1 = bn254.G1.Point;
const G2 = bn254.G2.Point;
const B_G1 = G1.CURVE().b as bigint;
const B_G2 = G2.CURVE().b as { c0: bigint; c1: bigint };

type Fp2El = { c0: bigint; c1: bigint };

function be32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function readBe(b: Uint8Array, off: number, len: number): bigint {
  let v = 0n;
  for (let i = off; i < off + len; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

function parseCoord(s: string, what: string): bigint {
  if (!/^\d+$/.test(s)) throw new DecodeError(`proof: ${what} is not a decimal integer`);
  const v = BigInt(s);
  if (v >= P) throw new DecodeError(`proof: ${what} is not a field element`);
  return v;
}

const fp2Larger = (y: Fp2El): boolean => (y.c1 !== 0n ? y.c1 > HALF : y.c0 > HALF);

// ---- G1 ----

function encodeG1(x: bigint, y: bigint, infinity: boolean): Uint8Array {
  if (infinity) {
    const out = new Uint8Array(32);
    out[0] = FLAG_INFINITY;
    return out;
  }
  const out = be32(x);
  if (y > HALF) out[0]! |= FLAG_LARGER;
  return out;
}

function decodeG1(b: Uint8Array, off: number, what: string): { x: bigint; y: bigint; infinity: boolean } {
  const flags = b[off]! & 0xc0;
  const x = readBe(b, off, 32) & ((1n << 254n) - 1n);
  if (flags & FLAG_INFINITY) {
    if (flags !== FLAG_INFINITY || x !== 0n) throw new DecodeError(`proof: ${what}: bad infinity encoding`);
    return { x: 0n, y: 0n, infinity: true };
  }
  if (x >= P) throw new DecodeError(`proof: ${what}: x is not a field element`);
  let y: bigint;
  try {
    y = Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), B_G1));
  } catch {
    throw new DecodeError(`proof: ${what}: x is not on the curve`);
  }
  if ((y > HALF) !== Boolean(flags & FLAG_LARGER)) y = Fp.neg(y);
  try {
    G1.fromAffine({ x, y }).assertValidity();
  } catch (e) {
    throw new DecodeError(`proof: ${what}: invalid point (${(e as Error).message})`);
  }
  return { x, y, infinity: false };
}

// ---- G2 ----

function encodeG2(x: Fp2El, y: Fp2El, infinity: boolean): Uint8Array {
  const out = new Uint8Array(64);
  if (infinity) {
    out[0] = FLAG_INFINITY;
    return out;
  }
  out.set(be32(x.c1), 0);
  out.set(be32(x.c0), 32);
  if (fp2Larger(y)) out[0]! |= FLAG_LARGER;
  return out;
}

function decodeG2(b: Uint8Array, off: number, what: string, subgroup: boolean): { x: Fp2El; y: Fp2El; infinity: boolean } {
  const flags = b[off]! & 0xc0;
  const c1 = readBe(b, off, 32) & ((1n << 254n) - 1n);
  const c0 = readBe(b, off + 32, 32);
  if (flags & FLAG_INFINITY) {
    if (flags !== FLAG_INFINITY || c1 !== 0n || c0 !== 0n) throw new DecodeError(`proof: ${what}: bad infinity encoding`);
    return { x: { c0: 0n, c1: 0n }, y: { c0: 0n, c1: 0n }, infinity: true };
  }
  if (c0 >= P || c1 >= P) throw new DecodeError(`proof: ${what}: x is not a field element`);
  const x = { c0, c1 };
  let y: Fp2El;
  try {
    y = Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), B_G2));
  } catch {
    throw new DecodeError(`proof: ${what}: x is not on the curve`);
  }
  if (fp2Larger(y) !== Boolean(flags & FLAG_LARGER)) y = Fp2.neg(y);
  // assertValidity checks the curve equation and the prime-order subgroup (G2 has a cofactor); y
  // is a root of the curve equation already, so without `subgroup` nothing is left to check here.
  if (subgroup) {
    try {
      G2.fromAffine({ x, y }).assertValidity();
    } catch (e) {
      throw new DecodeError(`proof: ${what}: invalid point (${(e as Error).message})`);
    }
  }
  return { x, y, infinity: false };
}

// ---- snarkjs JSON <-> bytes ----

/** Compress a snarkjs Groth16 proof to 128 bytes. Throws DecodeError if the JSON is malformed. */
export function encodeProof(p: Groth16Proof): Uint8Array {
  if (!Array.isArray(p.pi_a) || !Array.isArray(p.pi_b) || !Array.isArray(p.pi_c) || p.pi_a.length !== 3 || p.pi_c.length !== 3 || p.pi_b.length !== 3) {
    throw new DecodeError('proof: not a snarkjs Groth16 proof');
  }
  const g1 = (pt: string[], what: string): Uint8Array => {
    const z = parseCoord(pt[2]!, `${what}.z`);
    if (z === 0n) return encodeG1(0n, 0n, true);
    if (z !== 1n) throw new DecodeError(`proof: ${what} is not affine`);
    const x = parseCoord(pt[0]!, `${what}.x`);
    const y = parseCoord(pt[1]!, `${what}.y`);
    if (Fp.sqr(y) !== Fp.add(Fp.mul(Fp.sqr(x), x), B_G1)) throw new DecodeError(`proof: ${what} is not on the curve`);
    return encodeG1(x, y, false);
  };
  const pb = p.pi_b as string[][];
  if (pb.some((c) => !Array.isArray(c) || c.length !== 2)) throw new DecodeError('proof: pi_b malformed');
  const bz = { c0: parseCoord(pb[2]![0]!, 'B.z.c0'), c1: parseCoord(pb[2]![1]!, 'B.z.c1') };
  let bBytes: Uint8Array;
  if (bz.c0 === 0n && bz.c1 === 0n) bBytes = encodeG2({ c0: 0n, c1: 0n }, { c0: 0n, c1: 0n }, true);
  else {
    if (bz.c0 !== 1n || bz.c1 !== 0n) throw new DecodeError('proof: B is not affine');
    const x = { c0: parseCoord(pb[0]![0]!, 'B.x.c0'), c1: parseCoord(pb[0]![1]!, 'B.x.c1') };
    const y = { c0: parseCoord(pb[1]![0]!, 'B.y.c0'), c1: parseCoord(pb[1]![1]!, 'B.y.c1') };
    if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), B_G2))) throw new DecodeError('proof: B is not on the curve');
    bBytes = encodeG2(x, y, false);
  }
  const out = new Uint8Array(PROOF_BYTES);
  out.set(g1(p.pi_a, 'A'), 0);
  out.set(bBytes, G1_BYTES);
  out.set(g1(p.pi_c, 'C'), G1_BYTES + G2_BYTES);
  return out;
}

export interface DecodeProofOptions {
  /**
   * Check that B lies in G2's prime-order subgroup (default true). Only a caller that verifies the
   * proof right after may pass false: the verifier checks it again (verifier.ts, in wasm, about 1 ms)
   * while this check in BigInt arithmetic is about 7 ms, most of a decode.
   */
  subgroupCheck?: boolean;
  /**
   * Triad and global proofs (decodeTriadProof, decodeGlobalProof): decompress the Groth16 points
   * when `proof` is first read, not at decode (a DecodeError then); encoding the record again
   * copies the bytes it came from (proofBytesOf) instead of compressing the points. For the proofs
   * topic, where most nodes check a proof's signals and leave it unpaired (docs/PROOFS.md,
   * "Publication and storage", "Apex proofs paired on use"), and the node's proof store.
   */
  deferPoints?: boolean;
}

/**
 * The node's decoding of proofs (proofs topic, fetches, its proof store): every proof it takes from a
 * peer is paired by admission (src/node/proving/admission.ts, whose verify checks B's subgroup)
 * before it is accepted, relayed or stored, and its store holds only such proofs and its own. The
 * BigInt subgroup check was about 5% of nine idle nodes' CPU (every proof decoded on every node).
 */
export const VERIFIED_NEXT: DecodeProofOptions = { subgroupCheck: false };

/**
 * The proofs topic's decoding (src/node/proving/gossip.ts, and admission's in-process twin): as
 * VERIFIED_NEXT, and a proof's points are decompressed only where it is paired (this node folds it,
 * is the apex's first prover, spot-checks it, or uses a proof at the apex it took unpaired); the
 * others are checked by their signals alone and stored, hashed and served as received, their points
 * never decompressed (~1% of nine idle nodes' CPU for the leaves). A proof whose points do not
 * decode is refused when it is paired.
 */
export const FROM_TOPIC: DecodeProofOptions = { subgroupCheck: false, deferPoints: true };

/** The bytes a deferred proof was decoded from, while its `proof` is not replaced (withDeferredProof). */
const RAW = new WeakMap<object, Uint8Array>();

/**
 * Gives `head` a `proof` decompressed from `bytes` (copied: a message buffer is not ours to keep) at
 * its first read, the same object on every read; assigning `proof` replaces it. Until then the
 * record's encoders copy `bytes` (proofBytesOf).
 */
export function withDeferredProof<T extends object>(head: T, bytes: Uint8Array, opts: DecodeProofOptions): T & { proof: Groth16Proof } {
  const raw = bytes.slice();
  let proof: Groth16Proof | undefined;
  Object.defineProperty(head, 'proof', {
    get: () => (proof ??= decodeProof(raw, opts)),
    set: (p: Groth16Proof) => {
      proof = p;
      RAW.delete(head);
    },
    enumerable: true,
  });
  RAW.set(head, raw);
  return head as T & { proof: Groth16Proof };
}

/** The 128 bytes `x` was decoded from when its proof was deferred and not replaced, else undefined. */
export function rawProofBytes(x: object): Uint8Array | undefined {
  return RAW.get(x);
}

/** The 128-byte encoding of `x.proof`, copied from the bytes it was decoded from if deferred (no decompression either way). */
export function proofBytesOf(x: { proof: Groth16Proof }): Uint8Array {
  return RAW.get(x) ?? encodeProof(x.proof);
}

/**
 * Recently decompressed proofs by their 128 bytes. A node decodes the same proof bytes several times:
 * the apex triad proof and the global proof made from it (the same Groth16 proof), and both again
 * when read back from its proof store (every global proof on every node). A point's square root
 * was ~1% of nine idle nodes' CPU each time. Only successful decodes are kept, with whether B's
 * subgroup was checked; every call gets objects of its own (proof objects are also identities:
 * the proving layer remembers which it verified).
 */
const DECODED_MAX = 64;
const decoded = new Map<string, { proof: Groth16Proof; subgroupChecked: boolean }>();

function copyProof(p: Groth16Proof): Groth16Proof {
  return { pi_a: [...p.pi_a], pi_b: p.pi_b.map((r) => [...r]), pi_c: [...p.pi_c], protocol: p.protocol, curve: p.curve };
}

/** Decompress 128 bytes to a snarkjs Groth16 proof; throws only DecodeError. */
export function decodeProof(b: Uint8Array, opts: DecodeProofOptions = {}): Groth16Proof {
  if (!(b instanceof Uint8Array) || b.length !== PROOF_BYTES) throw new DecodeError(`proof: want ${PROOF_BYTES} bytes, got ${b?.length}`);
  const subgroupCheck = opts.subgroupCheck ?? true;
  const key = String.fromCharCode(...b);
  const hit = decoded.get(key);
  if (hit && (hit.subgroupChecked || !subgroupCheck)) return copyProof(hit.proof);
  const a = decodeG1(b, 0, 'A');
  const bb = decodeG2(b, G1_BYTES, 'B', subgroupCheck);
  const c = decodeG1(b, G1_BYTES + G2_BYTES, 'C');
  const g1 = (p: { x: bigint; y: bigint; infinity: boolean }): string[] => (p.infinity ? ['0', '1', '0'] : [p.x.toString(), p.y.toString(), '1']);
  const proof: Groth16Proof = {
    pi_a: g1(a),
    pi_b: bb.infinity
      ? [['0', '0'], ['1', '0'], ['0', '0']]
      : [[bb.x.c0.toString(), bb.x.c1.toString()], [bb.y.c0.toString(), bb.y.c1.toString()], ['1', '0']],
    pi_c: g1(c),
    protocol: 'groth16',
    curve: 'bn128',
  };
  decoded.delete(key);
  if (decoded.size >= DECODED_MAX) decoded.delete(decoded.keys().next().value!);
  decoded.set(key, { proof: copyProof(proof), subgroupChecked: subgroupCheck });
  return proof;
}
