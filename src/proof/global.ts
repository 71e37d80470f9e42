// The global state proof of an epoch: the apex triad's Groth16 proof, its 8 public signals (apex
// commitment, previous apex commitment, epoch, global sums) and the hash of the previous epoch's
// global proof. Fixed layout, so its size does not depend on the number of shards:
//   u8 version | u8 depth | 8 x 32-byte public signals | 128-byte compressed proof | 32-byte prev hash
// = 418 bytes. Epoch 0's previous-proof hash is the genesis hash.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Groth16Proof, VerificationKey } from 'snarkjs';
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import type { CircuitKind } from './artifacts.js';
import { decodeProof, PROOF_BYTES, proofBytesOf, withDeferredProof, type DecodeProofOptions } from './encoding.js';
import { fieldBytes, readField, sig, type TriadProof } from './triad-proof.js';
import { loadVerificationKey, verifyWithKey } from './verifier.js';

export const GLOBAL_PROOF_VERSION = 1;
export const GLOBAL_PROOF_BYTES = 1 + 1 + 8 * 32 + PROOF_BYTES + 32;
export const MAX_PROOF_DEPTH = 8;

export interface GlobalStateProof {
  depth: number; // 3^depth shards; depth 1 => the apex is a triad_leaf proof
  publicSignals: string[];
  proof: Groth16Proof;
  prevGlobalProofHash: Uint8Array;
}

export function apexKind(depth: number): CircuitKind {
  return depth === 1 ? 'triad_leaf' : 'triad_inner';
}

export function globalFromApex(apex: TriadProof, depth: number, prevGlobalProofHash: Uint8Array): GlobalStateProof {
  if (apex.path !== '') throw new RangeError('global proof: not the apex triad');
  if (prevGlobalProofHash.length !== 32) throw new RangeError('global proof: previous hash must be 32 bytes');
  return { depth, publicSignals: [...apex.publicSignals], proof: apex.proof, prevGlobalProofHash };
}

export function encodeGlobalProof(g: GlobalStateProof): Uint8Array {
  if (g.publicSignals.length !== 8) throw new RangeError('global proof: want 8 public signals');
  const w = new ByteWriter(GLOBAL_PROOF_BYTES);
  w.u8(GLOBAL_PROOF_VERSION).u8(g.depth);
  for (const s of g.publicSignals) w.fixed(fieldBytes(BigInt(s)));
  return w.fixed(proofBytesOf(g), PROOF_BYTES).fixed(g.prevGlobalProofHash, 32).finish();
}

export function decodeGlobalProof(b: Uint8Array, opts?: DecodeProofOptions): GlobalStateProof {
  const r = new ByteReader(b, 'global proof');
  const v = r.u8();
  if (v !== GLOBAL_PROOF_VERSION) throw new DecodeError(`global proof: unknown version ${v}`);
  const depth = r.u8();
  if (depth < 1 || depth > MAX_PROOF_DEPTH) throw new DecodeError(`global proof: depth ${depth} out of range`);
  const publicSignals = Array.from({ length: 8 }, () => readField(r, 'global proof signal').toString());
  const proofBytes = r.fixed(PROOF_BYTES);
  const prevGlobalProofHash = r.fixed(32);
  r.end();
  if (opts?.deferPoints) return withDeferredProof({ depth, publicSignals, prevGlobalProofHash }, proofBytes, opts);
  return { depth, publicSignals, proof: decodeProof(proofBytes, opts), prevGlobalProofHash };
}

export function globalProofHash(g: GlobalStateProof): Uint8Array {
  return taggedHash('global-proof', encodeGlobalProof(g));
}

export function globalEpoch(g: GlobalStateProof): bigint {
  return sig.epoch(g.publicSignals);
}

/**
 * Verifies the apex proof: the signals are the apex's (pathEnc 1) and the Groth16 proof checks
 * under the apex circuit's key. With `prev`, also that this proof extends it (epoch + 1, previous
 * apex commitment, previous-proof hash).
 */
export async function verifyGlobalProof(g: GlobalStateProof, opts: { vk?: VerificationKey; prev?: GlobalStateProof; dir?: string } = {}): Promise<boolean> {
  if (g.publicSignals.length !== 8 || sig.pathEnc(g.publicSignals) !== 1n) return false;
  if (opts.prev) {
    const p = opts.prev;
    if (sig.epoch(g.publicSignals) !== sig.epoch(p.publicSignals) + 1n) return false;
    if (sig.prevCommitment(g.publicSignals) !== sig.commitment(p.publicSignals)) return false;
    const h = globalProofHash(p);
    if (!h.every((x, i) => x === g.prevGlobalProofHash[i])) return false;
  }
  const vk = opts.vk ?? loadVerificationKey(apexKind(g.depth), opts.dir);
  return verifyWithKey(vk, g.publicSignals, g.proof);
}

/** Writes verification_key.json, public.json and proof.json for stock `snarkjs groth16 verify`. */
export function exportSnarkjsFiles(g: GlobalStateProof, outDir: string, vk?: VerificationKey): { vkey: string; pub: string; proof: string } {
  mkdirSync(outDir, { recursive: true });
  const files = { vkey: join(outDir, 'verification_key.json'), pub: join(outDir, 'public.json'), proof: join(outDir, 'proof.json') };
  writeFileSync(files.vkey, JSON.stringify(vk ?? loadVerificationKey(apexKind(g.depth)), null, 1));
  writeFileSync(files.pub, JSON.stringify(g.publicSignals, null, 1));
  writeFileSync(files.proof, JSON.stringify(g.proof, null, 1));
  return files;
}
