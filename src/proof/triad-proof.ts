// A triad proof as stored and served: the Groth16 proof, its 8 public signals and the three child
// commitments (public data: the children's own public commitments, or for the lowest level the
// shard commitments). With the children listed, anyone holding the proofs of a whole tree can
// re-check every parent/child link natively (Poseidon), without trusting the provers.
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import type { Groth16Proof } from 'snarkjs';
import { decodeProof, PROOF_BYTES, proofBytesOf, withDeferredProof, type DecodeProofOptions } from './encoding.js';
import { FIELD_R, triadCommitment, type Hasher } from './commitment.js';
import type { CircuitKind } from './artifacts.js';

export const TRIAD_PROOF_VERSION = 1;

export interface TriadProof {
  path: string; // triad path, "" = apex
  kind: CircuitKind;
  children: [bigint, bigint, bigint];
  publicSignals: string[]; // PUBLIC_SIGNAL_NAMES order
  proof: Groth16Proof;
}

/** Public signal accessors (the circuits' public input order). */
export const sig = {
  pathEnc: (s: readonly string[]) => BigInt(s[0]!),
  epoch: (s: readonly string[]) => BigInt(s[1]!),
  commitment: (s: readonly string[]) => BigInt(s[2]!),
  prevCommitment: (s: readonly string[]) => BigInt(s[3]!),
  sums: (s: readonly string[]) => ({ supply: BigInt(s[4]!), outflow: BigInt(s[5]!), inflow: BigInt(s[6]!), fees: BigInt(s[7]!) }),
};

export function fieldBytes(v: bigint): Uint8Array {
  if (v < 0n || v >= FIELD_R) throw new RangeError('not a field element');
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function readField(r: ByteReader, what: string): bigint {
  const b = r.fixed(32);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if (v >= FIELD_R) throw new DecodeError(`${what}: not a field element`);
  return v;
}

export function encodeTriadProof(p: TriadProof): Uint8Array {
  const w = new ByteWriter(32 * 11 + PROOF_BYTES + 32);
  w.u8(TRIAD_PROOF_VERSION).string(p.path).u8(p.kind === 'triad_leaf' ? 0 : 1);
  for (const c of p.children) w.fixed(fieldBytes(c));
  if (p.publicSignals.length !== 8) throw new RangeError('triad proof: want 8 public signals');
  for (const s of p.publicSignals) w.fixed(fieldBytes(BigInt(s)));
  return w.fixed(proofBytesOf(p), PROOF_BYTES).finish();
}

export function decodeTriadProof(b: Uint8Array, opts?: DecodeProofOptions): TriadProof {
  const r = new ByteReader(b, 'triad proof');
  const v = r.u8();
  if (v !== TRIAD_PROOF_VERSION) throw new DecodeError(`triad proof: unknown version ${v}`);
  const path = new TextDecoder().decode(r.bytes(16));
  if (!/^[012]*$/.test(path)) throw new DecodeError('triad proof: path is not ternary digits');
  const k = r.u8();
  if (k > 1) throw new DecodeError(`triad proof: unknown circuit ${k}`);
  const children = [0, 1, 2].map(() => readField(r, 'triad proof child')) as [bigint, bigint, bigint];
  const publicSignals = Array.from({ length: 8 }, () => readField(r, 'triad proof signal').toString());
  const proofBytes = r.fixed(PROOF_BYTES);
  r.end();
  const head = { path, kind: (k === 0 ? 'triad_leaf' : 'triad_inner') as CircuitKind, children, publicSignals };
  if (!opts?.deferPoints) return { ...head, proof: decodeProof(proofBytes, opts) };
  // Decompressed at the first read of `proof` (each point a square root): a node that only checks
  // the signals never pays for it.
  return withDeferredProof(head, proofBytes, opts);
}

/**
 * The native half of a parent/child check, for auditing a tree of proofs: the parent's public
 * commitment opens to its listed children, its public sums and its public previous commitment.
 * Returns a reason string, or null if consistent.
 */
export function checkOpening(H: Hasher, p: TriadProof): string | null {
  const s = p.publicSignals;
  const c = triadCommitment(H, { pathEnc: sig.pathEnc(s), epoch: sig.epoch(s), children: p.children, sums: sig.sums(s), prev: sig.prevCommitment(s) });
  return c === sig.commitment(s) ? null : `triad ${JSON.stringify(p.path)}: commitment does not open to its listed children`;
}

/** Child i's proof is the one the parent folded: position, epoch, commitment; and sums add up. */
export function checkChildren(parent: Pick<TriadProof, 'path' | 'children' | 'publicSignals'>, children: readonly Pick<TriadProof, 'publicSignals'>[]): string | null {
  const ps = parent.publicSignals;
  const total = { supply: 0n, outflow: 0n, inflow: 0n, fees: 0n };
  for (let i = 0; i < 3; i++) {
    const cs = children[i]!.publicSignals;
    if (sig.pathEnc(cs) !== 3n * sig.pathEnc(ps) + BigInt(i)) return `child ${i} of ${JSON.stringify(parent.path)}: wrong position`;
    if (sig.epoch(cs) !== sig.epoch(ps)) return `child ${i} of ${JSON.stringify(parent.path)}: wrong epoch`;
    if (sig.commitment(cs) !== parent.children[i]) return `child ${i} of ${JSON.stringify(parent.path)}: commitment is not the one folded`;
    const x = sig.sums(cs);
    total.supply += x.supply;
    total.outflow += x.outflow;
    total.inflow += x.inflow;
    total.fees += x.fees;
  }
  const y = sig.sums(ps);
  if (y.supply !== total.supply || y.outflow !== total.outflow || y.inflow !== total.inflow || y.fees !== total.fees) {
    return `triad ${JSON.stringify(parent.path)}: sums are not the children's`;
  }
  return null;
}
