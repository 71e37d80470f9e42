// Proof verification with no database: verifyProof checks one proof, verifyProofs many (ternary
// proofs 4 at a time through the 4-lane SIMD SHA-256). Both share the checks before hashing
// (checkClaim: sizes, and the path against the key's digits) and the hashing of the node where the
// path ends (hashEnd), so their verdicts are the same by construction; test/trie-verify-batch.test.ts
// checks that too.
import { bytesEqual } from '../core/bytes.js';
import { KeyPath, packDigits, pathLength, KEY_BYTES } from './digits.js';
import { tagsFor, type Tags } from './hash.js';
import { wasmSha256, padAt, FREE_OFF, type WasmSha256 } from './sha256-wasm.js';
import { wasmSha256x4, X4_FREE_OFF, X4_OUT_BYTES, type WasmSha256x4 } from './sha256x4-wasm.js';
import { MAX_VALUE_BYTES } from './record.js';
import type { BranchStep, ExtStep, ProofEnd, ProofStep, TrieProof } from './proof.js';

// Verification hashes with the wasm SHA-256 (see sha256-wasm.ts for why): every node's preimage is
// laid out, padded, in its own slot of the module's memory, and the bottom-up pass hashes each slot in
// place with the digest written straight into the child position of the slot above, so the fold is
// one cheap wasm call per node with no copying of running hashes.
const SLOT = 256; // >= the largest padded step preimage: arity-2 extension 33 + 64 + 32 (+ pad) = 192
const ROOT_OFF = FREE_OFF; // the computed root (verifyProofs: the end's hash, an extension's hash)
const END_OFF = ROOT_OFF + 64; // an ext-diverge end's preimage
const STEPS_OFF = END_OFF + SLOT; // step i's preimage at STEPS_OFF + i * SLOT
const LAID_BRANCH = 1;

interface VerifyCtx {
  arity: number;
  tags: Tags;
  kp: KeyPath;
  w: WasmSha256;
  mem: Uint8Array;
  mem32: Int32Array; // the same memory as words (4-aligned offsets only)
  leafOff: number; // a leaf end's preimage (room for the largest value)
  extOff: number; // verifyProofs: an extension step's preimage
  branchLen: number; // 32 + 32 * arity
  laid: Uint8Array; // per slot: LAID_BRANCH if the branch tag (and padding) are in place
  outAt: Int32Array; // per step: where the hash of the node below it goes (its child position)
  blocks: Uint8Array; // per step: padded preimage length in blocks
  slot: Int8Array; // per step, from walk(): the key's slot in a branch, -1 for an extension
}
const contexts = new Map<number, VerifyCtx>();
let ctx3: VerifyCtx | undefined;
function ctx(arity: number): VerifyCtx {
  if (arity === 3 && ctx3 !== undefined) return ctx3;
  let c = contexts.get(arity);
  if (!c) {
    const L = pathLength(arity);
    const leafOff = STEPS_OFF + 2 * L * SLOT;
    const extOff = leafOff + 64 + MAX_VALUE_BYTES + 128;
    const w = wasmSha256(extOff + SLOT);
    const tags = tagsFor(arity);
    w.mem.set(tags.branch, STEPS_OFF);
    w.setPrefix(STEPS_OFF); // every branch preimage starts with this prefix: hash128p skips its rounds
    c = {
      arity, tags, kp: new KeyPath(arity), w, mem: w.mem, mem32: new Int32Array(w.mem.buffer), leafOff, extOff,
      branchLen: 32 + 32 * arity, laid: new Uint8Array(2 * L), outAt: new Int32Array(2 * L),
      blocks: new Uint8Array(2 * L), slot: new Int8Array(2 * L),
    };
    contexts.set(arity, c);
  }
  if (arity === 3) ctx3 = c;
  return c;
}

/** Hashes the leaf (key, value) into mem[target, target + 32). */
function leafAt(c: VerifyCtx, key: Uint8Array, value: Uint8Array, target: number): void {
  const mem = c.mem;
  const o = c.leafOff;
  mem.set(c.tags.leaf, o);
  mem.set(key, o + 32);
  mem.set(value, o + 64);
  c.w.hash(o, padAt(mem, o, 64 + value.length), target);
}

/** Lays out an extension preimage at mem[o..] up to its child, whose offset it returns (unpadded). */
function layExt(c: VerifyCtx, path: Uint8Array, o: number): number {
  const mem = c.mem;
  mem.set(c.tags.ext, o);
  mem[o + 32] = path.length;
  return packDigits(path, mem, o + 33);
}

/**
 * Top-down: checks the first n steps against the key's digits (c.kp loaded with the key) and records
 * in c.slot each branch's slot on the path (-1 for an extension). Returns the depth reached, or -1 if
 * the steps are malformed or leave the key's path.
 */
function walk(c: VerifyCtx, steps: ProofStep[], n: number): number {
  const kp = c.kp;
  const d = kp.d;
  const L = kp.L;
  const nsib = c.arity - 1;
  const slot = c.slot;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const st = steps[i]!;
    if (st.kind === 'branch') {
      const sib = st.siblings;
      if (depth >= L || sib.length !== nsib) return -1;
      for (let k = 0; k < nsib; k++) if (sib[k]!.length !== 32) return -1;
      if (depth >= kp.n) kp.full();
      slot[i] = d[depth++]!;
    } else {
      const p = st.path;
      const m = p.length;
      if (m < 1 || depth + m > L) return -1;
      if (depth + m > kp.n) kp.full();
      for (let j = 0; j < m; j++) if (p[j] !== d[depth + j]) return -1;
      depth += m;
      slot[i] = -1;
    }
  }
  return depth;
}

/**
 * Hashes the node where the walk ends (at `depth`, c.kp loaded with the key) into
 * mem[target, target + 32). False if the end does not fit the claim (present with `value`, or absent
 * when null) or the key's path.
 */
function hashEnd(c: VerifyCtx, key: Uint8Array, value: Uint8Array | null, e: ProofEnd, depth: number, target: number): boolean {
  const mem = c.mem;
  switch (e.kind) {
    case 'empty':
      if (value !== null) return false;
      mem.fill(0, target, target + 32); // EMPTY_HASH
      return true;
    case 'leaf':
      if (value === null) return false;
      leafAt(c, key, value, target);
      return true;
    case 'other-leaf':
      if (value !== null || e.key.length !== KEY_BYTES || e.value.length > MAX_VALUE_BYTES || bytesEqual(e.key, key)) return false;
      leafAt(c, e.key, e.value, target);
      return true;
    case 'ext-diverge': {
      const kp = c.kp;
      const L = kp.L;
      if (value !== null || e.path.length < 1 || e.path.length >= L || e.child.length !== 32) return false;
      for (let j = 0; j < e.path.length; j++) if (e.path[j]! >= c.arity) return false;
      kp.full();
      const d = kp.d;
      let diverges = false;
      for (let j = 0; j < e.path.length && depth + j < L; j++) {
        if (e.path[j] !== d[depth + j]) {
          diverges = true;
          break;
        }
      }
      if (!diverges) return false;
      const child = layExt(c, e.path, END_OFF);
      mem.set(e.child, child);
      c.w.hash(END_OFF, padAt(mem, END_OFF, child + 32 - END_OFF), target);
      return true;
    }
    default:
      return false;
  }
}

/** verifyProof's checks before any hashing: sizes, then walk() (c.kp loaded with the key). The depth reached, or -1. */
function checkClaim(c: VerifyCtx, root: Uint8Array, key: Uint8Array, value: Uint8Array | null, proof: TrieProof): number {
  if (root.length !== 32 || key.length !== KEY_BYTES) return -1;
  if (value !== null && value.length > MAX_VALUE_BYTES) return -1;
  const n = proof.steps.length;
  if (n > 2 * c.kp.L) return -1;
  c.kp.load(key);
  return walk(c, proof.steps, n);
}

/**
 * Checks `proof` against `root` for `key`: with `value` non-null, that the key is present with exactly
 * that value; with null, that the key is absent. The walk follows the key's own digits, so for a given
 * root at most one outcome (present with one value, or absent) can ever verify. Never throws.
 */
export function verifyProof(root: Uint8Array, key: Uint8Array, value: Uint8Array | null, proof: TrieProof, arity = 3): boolean {
  const c = ctx(arity);
  const depth = checkClaim(c, root, key, value, proof);
  if (depth < 0) return false;
  const steps = proof.steps;
  const n = steps.length;
  // Lay out each node's preimage, leaving the child on the path blank (outAt) for the bottom-up pass.
  const mem = c.mem;
  const laid = c.laid;
  const outAt = c.outAt;
  const slot = c.slot;
  for (let i = 0, base = STEPS_OFF; i < n; i++, base += SLOT) {
    const t = slot[i]!;
    if (t >= 0) {
      if (laid[i] !== LAID_BRANCH) {
        mem.set(c.tags.branch, base);
        c.blocks[i] = padAt(mem, base, c.branchLen);
        laid[i] = LAID_BRANCH;
      }
      const sib = (steps[i] as BranchStep).siblings;
      for (let s = 0, k = 0, o = base + 32; s < arity; s++, o += 32) {
        if (s === t) outAt[i] = o;
        else mem.set(sib[k++]!, o);
      }
    } else {
      laid[i] = 0;
      const child = layExt(c, (steps[i] as ExtStep).path, base);
      outAt[i] = child;
      c.blocks[i] = padAt(mem, base, child + 32 - base);
    }
  }
  if (!hashEnd(c, key, value, proof.end, depth, n > 0 ? outAt[n - 1]! : ROOT_OFF)) return false;
  // Bottom-up: hash each preimage in place into the child position of the one above.
  const w = c.w;
  const fast = arity === 3; // a ternary branch preimage is exactly 128 bytes: constant padding block
  for (let i = n - 1, base = STEPS_OFF + i * SLOT; i >= 0; i--, base -= SLOT) {
    const out = i > 0 ? outAt[i - 1]! : ROOT_OFF;
    if (fast && laid[i] === LAID_BRANCH) w.hash128p(base, out);
    else w.hash(base, c.blocks[i]!, out);
  }
  for (let j = 0; j < 32; j++) if (mem[ROOT_OFF + j] !== root[j]) return false;
  return true;
}

/** One claim for verifyProofs: verifyProof's arguments. */
export interface ProofClaim {
  root: Uint8Array;
  key: Uint8Array;
  value: Uint8Array | null;
  proof: TrieProof;
}

// verifyProofs: 4 ternary proofs go up side by side, one per lane of the 4-lane SHA-256 (about twice
// the throughput of the 1-lane hash128p per 128-byte branch preimage, scripts/bench-sha.ts). Lanes are
// aligned from the bottom: round r hashes, for each lane, the node r steps above its proof's end, so
// every lane's running digest feeds the next round. A lane whose node in round r is an extension (rare:
// its preimage is not 128 bytes) hashes it with the 1-lane module; a lane that is done or has failed
// rides along on stale input and its digest is ignored. Memory of the 4-lane module (offsets in bytes):
//   [X4_FREE_OFF + 512 r, + 512)  round r's interleaved branch preimages (words 8..31: the 3 children;
//                                 words 0..7, the branch tag, are the registered prefix and not read)
//   OUT, OUT + 128                the round's 4 digests;  CUR, CUR + 128: each lane's running digest
interface BatchCtx {
  x4: WasmSha256x4;
  m32: Int32Array;
  out32: number; // OUT as a word index
  cur32: number; // CUR as a word index
  n: Int32Array; // per lane: its proof's step count, -1 if it has already failed
  slots: Int8Array; // lane l, step i at 2L * l + i: c.slot as walk() left it for that lane
}
const ROUND_BYTES = 512;
let batch: BatchCtx | undefined;
function batchCtx(c: VerifyCtx): BatchCtx {
  if (batch) return batch;
  const L2 = 2 * c.kp.L;
  const outOff = X4_FREE_OFF + ROUND_BYTES * L2;
  const x4 = wasmSha256x4(outOff + 2 * X4_OUT_BYTES);
  x4.setPrefix(0, c.tags.branch);
  batch = { x4, m32: x4.mem32, out32: outOff >> 2, cur32: (outOff + X4_OUT_BYTES) >> 2, n: new Int32Array(4), slots: new Int8Array(4 * L2) };
  return batch;
}

/** Writes the 32 bytes h as 8 interleaved words of one lane, from word index `at` (stride 4). */
function laneWords(m32: Int32Array, at: number, h: Uint8Array): void {
  for (let k = 0; k < 32; k += 4, at += 4) m32[at] = h[k]! | (h[k + 1]! << 8) | (h[k + 2]! << 16) | (h[k + 3]! << 24);
}

/**
 * verifyProof for many claims: out[i] = 1 if claims[i] verifies, else 0, the same verdicts as
 * verifyProof(claims[i]...) (the checks are the same code). For throughput when one party checks many
 * proofs (an auditor, a light client, a benchmark): ternary proofs are hashed 4 at a time. Never throws
 * on a claim (a RangeError only for an `out` shorter than `claims`).
 */
export function verifyProofs(claims: ReadonlyArray<ProofClaim>, arity = 3, out: Uint8Array = new Uint8Array(claims.length)): Uint8Array {
  if (out.length < claims.length) throw new RangeError(`verifyProofs: out has ${out.length} places for ${claims.length} claims`);
  if (arity !== 3) {
    for (let i = 0; i < claims.length; i++) {
      const a = claims[i]!;
      out[i] = verifyProof(a.root, a.key, a.value, a.proof, arity) ? 1 : 0;
    }
    return out;
  }
  const c = ctx(3);
  const b = batchCtx(c);
  for (let g = 0; g < claims.length; g += 4) verifyGroup(c, b, claims, g, Math.min(4, claims.length - g), out);
  return out;
}

function verifyGroup(c: VerifyCtx, b: BatchCtx, claims: ReadonlyArray<ProofClaim>, g: number, lanes: number, out: Uint8Array): void {
  const L2 = 2 * c.kp.L;
  const m32 = b.m32;
  const s32 = c.mem32;
  const cur32 = b.cur32;
  const lanesN = b.n;
  const slots = b.slots;
  let maxN = 0;
  // Per lane: the same checks as verifyProof, the end's hash as the running digest, and every branch's
  // siblings laid out in the round that will hash it.
  for (let l = 0; l < lanes; l++) {
    lanesN[l] = -1;
    const { root, key, value, proof } = claims[g + l]!;
    const depth = checkClaim(c, root, key, value, proof);
    if (depth < 0 || !hashEnd(c, key, value, proof.end, depth, ROOT_OFF)) continue;
    const steps = proof.steps;
    const n = steps.length;
    for (let k = 0; k < 8; k++) m32[cur32 + 8 * l + k] = s32[(ROOT_OFF >> 2) + k]!;
    const slot = c.slot;
    for (let i = 0; i < n; i++) {
      const t = slot[i]!;
      slots[L2 * l + i] = t;
      if (t < 0) continue;
      const sib = (steps[i] as BranchStep).siblings;
      const base = ((X4_FREE_OFF + ROUND_BYTES * (n - 1 - i)) >> 2) + l;
      for (let s = 0, k = 0; s < 3; s++) if (s !== t) laneWords(m32, base + 4 * (8 + 8 * s), sib[k++]!);
    }
    lanesN[l] = n;
    if (n > maxN) maxN = n;
  }
  const x4 = b.x4;
  const out32 = b.out32;
  for (let r = 0; r < maxN; r++) {
    const inOff = X4_FREE_OFF + ROUND_BYTES * r;
    const base = inOff >> 2;
    let any = false;
    for (let l = 0; l < lanes; l++) {
      const n = lanesN[l]!;
      if (r >= n) continue; // done, or failed (n = -1)
      const t = slots[L2 * l + n - 1 - r]!;
      if (t < 0) continue;
      const at = base + 4 * (8 + 8 * t) + l;
      for (let k = 0; k < 8; k++) m32[at + 4 * k] = m32[cur32 + 8 * l + k]!;
      any = true;
    }
    if (any) x4.hash128Groups(inOff, out32 << 2, 1, 0);
    for (let l = 0; l < lanes; l++) {
      const n = lanesN[l]!;
      if (r >= n) continue;
      const i = n - 1 - r;
      if (slots[L2 * l + i]! >= 0) {
        for (let k = 0; k < 8; k++) m32[cur32 + 8 * l + k] = m32[out32 + 8 * l + k]!;
      } else {
        const child = layExt(c, (claims[g + l]!.proof.steps[i] as ExtStep).path, c.extOff);
        const cur = (cur32 + 8 * l) << 2;
        c.mem.set(x4.mem.subarray(cur, cur + 32), child);
        c.w.hash(c.extOff, padAt(c.mem, c.extOff, child + 32 - c.extOff), ROOT_OFF);
        for (let k = 0; k < 8; k++) m32[cur32 + 8 * l + k] = s32[(ROOT_OFF >> 2) + k]!;
      }
    }
  }
  const mem = x4.mem;
  for (let l = 0; l < lanes; l++) {
    let ok = lanesN[l]! >= 0 ? 1 : 0;
    if (ok) {
      const root = claims[g + l]!.root;
      const cur = (cur32 + 8 * l) << 2;
      for (let j = 0; j < 32; j++) {
        if (mem[cur + j] !== root[j]) {
          ok = 0;
          break;
        }
      }
    }
    out[g + l] = ok;
  }
}
