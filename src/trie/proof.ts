// Inclusion and non-inclusion proofs: the nodes on the key's path, top-down, verified with no database.
import { DecodeError, bytesEqual } from '../core/bytes.js';
import { KeyPath, packDigits, packedLength, pathLength, unpackDigits, KEY_BYTES } from './digits.js';
import { tagsFor, type Tags } from './hash.js';
import { wasmSha256, padAt, FREE_OFF, type WasmSha256 } from './sha256-wasm.js';
import { copyBytes, MAX_VALUE_BYTES } from './node.js';

/** A branch passed through: the hashes of its other children, in slot order (EMPTY_HASH if empty). */
export interface BranchStep {
  kind: 'branch';
  siblings: Uint8Array[];
}
/** An extension passed through: its digits, which equal the key's next digits. */
export interface ExtStep {
  kind: 'ext';
  path: Uint8Array;
}
export type ProofStep = BranchStep | ExtStep;

/** Where the walk along the key's path ends. */
export type ProofEnd =
  | { kind: 'empty' } // an empty slot (or the empty trie): the key is absent
  | { kind: 'leaf' } // the key's own leaf: the key is present with the claimed value
  | { kind: 'other-leaf'; key: Uint8Array; value: Uint8Array } // another key's leaf: absent
  | { kind: 'ext-diverge'; path: Uint8Array; child: Uint8Array }; // an extension leaving the key's path: absent

export interface TrieProof {
  steps: ProofStep[];
  end: ProofEnd;
}

// Encoding (see docs/PROTOCOL.md "Trie"):
//   proof := step* end
//   step  := 0x10|mask  hash(32) x popcount(mask)   (branch; bit i set = i-th sibling present)
//          | 0x20 u8 n packed(n)                      (extension)
//   end   := 0x00 | 0x01 | 0x02 key(32) u32 len value | 0x03 u8 n packed(n) hash(32)
const T_BRANCH = 0x10;
const T_EXT = 0x20;
const E_EMPTY = 0x00;
const E_LEAF = 0x01;
const E_OTHER = 0x02;
const E_EXT = 0x03;

function isEmptyHash(h: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (h[i] !== 0) return false;
  return true;
}

export function encodeProof(p: TrieProof, arity = 3): Uint8Array {
  let size = 1;
  for (const s of p.steps) {
    if (s.kind === 'branch') {
      if (s.siblings.length !== arity - 1) throw new RangeError('proof: wrong number of siblings');
      size += 1;
      for (const h of s.siblings) if (!isEmptyHash(h)) size += 32;
    } else size += 2 + packedLength(s.path.length);
  }
  const e = p.end;
  if (e.kind === 'other-leaf') size += 32 + 4 + e.value.length;
  else if (e.kind === 'ext-diverge') size += 1 + packedLength(e.path.length) + 32;
  const out = new Uint8Array(size);
  let o = 0;
  for (const s of p.steps) {
    if (s.kind === 'branch') {
      let mask = 0;
      const at = o++;
      for (let i = 0; i < s.siblings.length; i++) {
        const h = s.siblings[i]!;
        if (h.length !== 32) throw new RangeError('proof: sibling hash must be 32 bytes');
        if (isEmptyHash(h)) continue;
        mask |= 1 << i;
        out.set(h, o);
        o += 32;
      }
      out[at] = T_BRANCH | mask;
    } else {
      checkPath(s.path, arity);
      out[o++] = T_EXT;
      out[o++] = s.path.length;
      o = packDigits(s.path, out, o);
    }
  }
  switch (e.kind) {
    case 'empty':
      out[o++] = E_EMPTY;
      break;
    case 'leaf':
      out[o++] = E_LEAF;
      break;
    case 'other-leaf':
      if (e.key.length !== KEY_BYTES) throw new RangeError('proof: key must be 32 bytes');
      out[o++] = E_OTHER;
      out.set(e.key, o);
      o += 32;
      new DataView(out.buffer).setUint32(o, e.value.length);
      o += 4;
      out.set(e.value, o);
      o += e.value.length;
      break;
    case 'ext-diverge':
      checkPath(e.path, arity);
      out[o++] = E_EXT;
      out[o++] = e.path.length;
      o = packDigits(e.path, out, o);
      out.set(e.child, o);
      o += 32;
      break;
  }
  return out;
}

function checkPath(path: Uint8Array, arity: number): void {
  if (path.length < 1 || path.length >= pathLength(arity)) throw new RangeError('proof: bad extension path length');
}

/** Canonical decoding: the only encoding of a proof is accepted; anything else throws DecodeError. */
export function decodeProof(input: Uint8Array, arity = 3): TrieProof {
  const L = pathLength(arity);
  const b = copyBytes(input); // one private copy; hashes and values are views into it
  const steps: ProofStep[] = [];
  let o = 0;
  const need = (k: number): void => {
    if (o + k > b.length) throw new DecodeError(`trie proof: truncated at offset ${o}`);
  };
  const readPath = (): Uint8Array => {
    need(1);
    const n = b[o++]!;
    if (n < 1 || n >= L) throw new DecodeError(`trie proof: extension length ${n} out of range`);
    need(packedLength(n));
    const path = unpackDigits(b, o, n, arity);
    if (!path) throw new DecodeError(`trie proof: non-canonical extension path at offset ${o}`);
    o += packedLength(n);
    return path;
  };
  const readHash = (): Uint8Array => {
    need(32);
    const h = b.subarray(o, o + 32);
    o += 32;
    return h;
  };
  for (;;) {
    need(1);
    const t = b[o++]!;
    if ((t & 0xf0) === T_BRANCH) {
      const mask = t & 0x0f;
      if (mask >> (arity - 1) !== 0) throw new DecodeError(`trie proof: bad branch mask ${t}`);
      if (steps.length >= 2 * L) throw new DecodeError('trie proof: too many steps');
      const siblings: Uint8Array[] = [];
      for (let i = 0; i < arity - 1; i++) {
        if ((mask >> i) & 1) {
          const h = readHash();
          if (isEmptyHash(h)) throw new DecodeError('trie proof: explicit empty sibling (non-canonical)');
          siblings.push(h);
        } else siblings.push(new Uint8Array(32)); // a fresh EMPTY: callers may own what we return
      }
      steps.push({ kind: 'branch', siblings });
      continue;
    }
    if (t === T_EXT) {
      if (steps.length >= 2 * L) throw new DecodeError('trie proof: too many steps');
      steps.push({ kind: 'ext', path: readPath() });
      continue;
    }
    let end: ProofEnd;
    if (t === E_EMPTY) end = { kind: 'empty' };
    else if (t === E_LEAF) end = { kind: 'leaf' };
    else if (t === E_OTHER) {
      const key = readHash();
      need(4);
      const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o);
      o += 4;
      if (len > MAX_VALUE_BYTES) throw new DecodeError(`trie proof: value of ${len} bytes exceeds ${MAX_VALUE_BYTES}`);
      need(len);
      end = { kind: 'other-leaf', key, value: b.subarray(o, o + len) };
      o += len;
    } else if (t === E_EXT) {
      const path = readPath();
      end = { kind: 'ext-diverge', path, child: readHash() };
    } else throw new DecodeError(`trie proof: unknown tag 0x${t.toString(16)} at offset ${o - 1}`);
    if (o !== b.length) throw new DecodeError(`trie proof: ${b.length - o} trailing bytes`);
    return { steps, end };
  }
}

// Verification hashes with the wasm SHA-256 (see sha256-wasm.ts for why): every node's preimage is
// laid out, padded, in its own slot of the module's memory during the top-down pass, and the
// bottom-up pass hashes each slot in place with the digest written straight into the child position
// of the slot above, so the fold is one cheap wasm call per node with no copying of running hashes.
const SLOT = 256; // >= the largest padded step preimage: arity-2 extension 33 + 64 + 32 (+ pad) = 192
const ROOT_OFF = FREE_OFF; // the computed root
const END_OFF = ROOT_OFF + 64; // an ext-diverge end's preimage
const STEPS_OFF = END_OFF + SLOT; // step i's preimage at STEPS_OFF + i * SLOT
const LAID_BRANCH = 1;

interface VerifyCtx {
  arity: number;
  tags: Tags;
  kp: KeyPath;
  w: WasmSha256;
  mem: Uint8Array;
  leafOff: number; // a leaf end's preimage (room for the largest value)
  branchLen: number; // 32 + 32 * arity
  laid: Uint8Array; // per slot: LAID_BRANCH if the branch tag (and padding) are in place
  outAt: Int32Array; // per step: where the hash of the node below it goes (its child position)
  blocks: Uint8Array; // per step: padded preimage length in blocks
}
const contexts = new Map<number, VerifyCtx>();
let ctx3: VerifyCtx | undefined;
function ctx(arity: number): VerifyCtx {
  if (arity === 3 && ctx3 !== undefined) return ctx3;
  let c = contexts.get(arity);
  if (!c) {
    const L = pathLength(arity);
    const leafOff = STEPS_OFF + 2 * L * SLOT;
    const w = wasmSha256(leafOff + 64 + MAX_VALUE_BYTES + 128);
    const tags = tagsFor(arity);
    w.mem.set(tags.branch, STEPS_OFF);
    w.setPrefix(STEPS_OFF); // every branch preimage starts with this prefix: hash128p skips its rounds
    const branchLen = 32 + 32 * arity;
    c = {
      arity, tags, kp: new KeyPath(arity), w, mem: w.mem, leafOff, branchLen,
      laid: new Uint8Array(2 * L), outAt: new Int32Array(2 * L), blocks: new Uint8Array(2 * L),
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
 * Checks `proof` against `root` for `key`: with `value` non-null, that the key is present with exactly
 * that value; with null, that the key is absent. The walk follows the key's own digits, so for a given
 * root at most one outcome (present with one value, or absent) can ever verify. Never throws.
 */
export function verifyProof(root: Uint8Array, key: Uint8Array, value: Uint8Array | null, proof: TrieProof, arity = 3): boolean {
  if (root.length !== 32 || key.length !== KEY_BYTES) return false;
  if (value !== null && value.length > MAX_VALUE_BYTES) return false;
  const c = ctx(arity);
  const L = c.kp.L;
  const kp = c.kp.load(key);
  const d = kp.d;
  const steps = proof.steps;
  const n = steps.length;
  if (n > 2 * L) return false;
  const mem = c.mem;
  const laid = c.laid;
  const outAt = c.outAt;
  const nsib = arity - 1;
  // Top-down: check the path against the key's digits and lay out each node's preimage, leaving
  // the child on the path blank (outAt) for the bottom-up pass.
  let depth = 0;
  for (let i = 0, base = STEPS_OFF; i < n; i++, base += SLOT) {
    const st = steps[i]!;
    if (st.kind === 'branch') {
      const sib = st.siblings;
      if (depth >= L || sib.length !== nsib) return false;
      if (depth >= kp.n) kp.full();
      const t = d[depth++]!;
      if (laid[i] !== LAID_BRANCH) {
        mem.set(c.tags.branch, base);
        c.blocks[i] = padAt(mem, base, c.branchLen);
        laid[i] = LAID_BRANCH;
      }
      for (let s = 0, k = 0, o = base + 32; s < arity; s++, o += 32) {
        if (s === t) {
          outAt[i] = o;
          continue;
        }
        const h = sib[k++]!;
        if (h.length !== 32) return false;
        mem.set(h, o);
      }
    } else {
      const p = st.path;
      const m = p.length;
      if (m < 1 || depth + m > L) return false;
      if (depth + m > kp.n) kp.full();
      for (let j = 0; j < m; j++) if (p[j] !== d[depth + j]) return false;
      depth += m;
      laid[i] = 0;
      const child = layExt(c, p, base);
      outAt[i] = child;
      c.blocks[i] = padAt(mem, base, child + 32 - base);
    }
  }
  const target = n > 0 ? outAt[n - 1]! : ROOT_OFF;
  const e = proof.end;
  switch (e.kind) {
    case 'empty':
      if (value !== null) return false;
      mem.fill(0, target, target + 32); // EMPTY_HASH
      break;
    case 'leaf':
      if (value === null) return false;
      leafAt(c, key, value, target);
      break;
    case 'other-leaf':
      if (value !== null || e.key.length !== KEY_BYTES || e.value.length > MAX_VALUE_BYTES || bytesEqual(e.key, key)) return false;
      leafAt(c, e.key, e.value, target);
      break;
    case 'ext-diverge': {
      if (value !== null || e.path.length < 1 || e.path.length >= L || e.child.length !== 32) return false;
      for (let j = 0; j < e.path.length; j++) if (e.path[j]! >= arity) return false;
      kp.full();
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
      break;
    }
    default:
      return false;
  }
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
