// A reference model of the trie's nodes, hashes and storage records (object nodes, one class per
// node): the shipped trie (src/trie/arena.ts) encodes the same records; tests decode them with
// this independent code to cross-check it.
//
// Node kinds (canonical form, which makes the root a function of the key set only):
//   leaf      (key, value)                      - one entry
//   branch    (child 0 .. arity-1)              - at least two non-empty children
//   extension (path = 1+ digits, child)         - the child is always a branch
// Hashes:  leaf = H_leaf(key || value), branch = H_branch(h0 || h1 || h2), extension =
// H_ext(u8 n || packed path || h(child)); an empty slot is EMPTY_HASH (32 zero bytes).
import { DecodeError, getU32, putU32 } from '../../src/core/bytes.js';
import { packDigits, packedLength, unpackDigits, KEY_BYTES } from '../../src/trie/digits.js';
import { EMPTY_HASH, sha256Into, type Scratch, type Tags } from '../../src/trie/hash.js';

import { LEAF, BRANCH, EXT, REF, MAX_VALUE_BYTES, copyBytes } from '../../src/trie/record.js';

export { LEAF, BRANCH, EXT, REF, MAX_VALUE_BYTES, copyBytes };

/** dst[off, off+32) = src[0, 32): a plain loop beats TypedArray.prototype.set at this size. */
export function copy32(dst: Uint8Array, off: number, src: Uint8Array): void {
  for (let i = 0; i < 32; i++) dst[off + i] = src[i]!;
}

// One monomorphic class for every kind, children as fields (not an array): a walk then costs one
// pointer hop per level, which is what bounds get/put speed once the trie outgrows the CPU caches.
export class TNode {
  kind: number;
  /** Cached hash, or null when not computed yet (dirty, or clean but decoded inline and never needed). */
  hash: Uint8Array | null = null;
  /** Changed since the last commit: not in the store in this form. All ancestors of a dirty node are dirty. */
  dirty = true;
  /** Clean and stored as its own record (addressable by its hash), not only inline in an ancestor's. */
  rec = false;
  /** Transient, while staging a commit: written as its own record. */
  asRecord = false;
  /** Transient, while staging a commit: inline encoded size. */
  size = 0;
  /** Leaf: key (32 bytes) || value in one array (one object per leaf instead of two). */
  kv: Uint8Array | null = null;
  /** Extension: digit path. */
  path: Uint8Array | null = null;
  /** Branch: children by slot. Extension: its child is c0. */
  c0: TNode | null = null;
  c1: TNode | null = null;
  c2: TNode | null = null;
  /** REF: the generation its record is stored under (-1: a legacy reference, keyed by the hash alone). */
  gen = -1;

  constructor(kind: number) {
    this.kind = kind;
  }
}

export function childAt(n: TNode, i: number): TNode | null {
  return i === 0 ? n.c0 : i === 1 ? n.c1 : n.c2;
}

export function setChild(n: TNode, i: number, c: TNode | null): void {
  if (i === 0) n.c0 = c;
  else if (i === 1) n.c1 = c;
  else n.c2 = c;
}

export function leafNode(kv: Uint8Array): TNode {
  const n = new TNode(LEAF);
  n.kv = kv;
  return n;
}

/** key || value, a fresh array. */
export function makeKV(key: Uint8Array, value: Uint8Array): Uint8Array {
  const kv = new Uint8Array(32 + value.length);
  for (let i = 0; i < 32; i++) kv[i] = key[i]!;
  if (value.length <= 64) for (let i = 0; i < value.length; i++) kv[32 + i] = value[i]!;
  else kv.set(value, 32);
  return kv;
}

/** Does leaf array `kv` hold `key`? */
export function kvKeyEquals(kv: Uint8Array, key: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (kv[i] !== key[i]) return false;
  return true;
}

export function kvEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function branchNode(): TNode {
  return new TNode(BRANCH);
}

export function extNode(path: Uint8Array, child: TNode): TNode {
  const n = new TNode(EXT);
  n.path = path;
  n.c0 = child;
  return n;
}

export function refNode(hash: Uint8Array): TNode {
  const n = new TNode(REF);
  n.hash = hash;
  n.dirty = false;
  n.rec = true;
  return n;
}

// ---- hashing (shared by the trie and the proof verifier) ----

/** H_leaf(key || value) from the leaf's kv array. */
export function leafHashKV(tags: Tags, kv: Uint8Array, s: Scratch): Uint8Array {
  const buf = s.ensure(32 + kv.length);
  copy32(buf, 0, tags.leaf);
  if (kv.length <= 96) for (let i = 0; i < kv.length; i++) buf[32 + i] = kv[i]!;
  else buf.set(kv, 32);
  return sha256Into(buf, 32 + kv.length);
}

export function extHash(tags: Tags, path: Uint8Array, child: Uint8Array, s: Scratch): Uint8Array {
  const len = 32 + 1 + packedLength(path.length) + 32;
  const buf = s.ensure(len);
  buf.set(tags.ext, 0);
  buf[32] = path.length;
  const o = packDigits(path, buf, 33);
  buf.set(child, o);
  return sha256Into(buf, len);
}

/** The hash of `n`, computing (once) those of any unhashed descendants. */
export function nodeHash(n: TNode | null, tags: Tags, s: Scratch): Uint8Array {
  if (n === null) return EMPTY_HASH;
  if (n.hash !== null) return n.hash;
  let h: Uint8Array;
  if (n.kind === LEAF) {
    h = leafHashKV(tags, n.kv!, s);
  } else if (n.kind === BRANCH) {
    // Children first (recursion reuses the scratch buffer), then one preimage, no arrays.
    const h0 = nodeHash(n.c0, tags, s);
    const h1 = nodeHash(n.c1, tags, s);
    const three = tags.arity === 3;
    const h2 = three ? nodeHash(n.c2, tags, s) : EMPTY_HASH;
    const len = three ? 128 : 96;
    const buf = s.ensure(len);
    copy32(buf, 0, tags.branch);
    copy32(buf, 32, h0);
    copy32(buf, 64, h1);
    if (three) copy32(buf, 96, h2);
    h = sha256Into(buf, len);
  } else {
    h = extHash(tags, n.path!, nodeHash(n.c0, tags, s), s);
  }
  n.hash = h;
  return h;
}

// ---- storage records ----
// A record stores one node; each child is either inline (its full encoding) or a reference to the
// child's own record by (generation and) hash. The writer chooses (see trie.ts: small subtrees are
// inlined so a commit writes far fewer LevelDB entries than nodes); the record's key is always
// gen || hash of the node it encodes (legacy: the hash alone), whatever the choice.
//   node  := 0x01 key(32) u32 len value | 0x02 child*arity | 0x04 u8 n packed(n) child
//   child := 0x00 (empty slot) | 0x05 u32 gen hash(32) (reference) | 0x03 hash(32) (legacy
//            reference, before record keys carried a generation) | node

const R_EMPTY = 0x00;
const R_LEAF = 0x01;
const R_BRANCH = 0x02;
const R_REF = 0x03;
const R_EXT = 0x04;
const R_REFG = 0x05;

/** Encoded size of `n` inline; children with `asRecord` or clean `rec` (or REF) are references. */
export function inlineSize(n: TNode, arity: number): number {
  switch (n.kind) {
    case LEAF:
      return 5 + n.kv!.length;
    case BRANCH:
      return 1 + childSize(n.c0, arity) + childSize(n.c1, arity) + (arity === 3 ? childSize(n.c2, arity) : 0);
    case EXT:
      return 2 + packedLength(n.path!.length) + childSize(n.c0, arity);
    default:
      return n.gen >= 0 ? 37 : 33;
  }
}

export function isRefChild(c: TNode): boolean {
  return c.kind === REF || c.asRecord || (!c.dirty && c.rec);
}

function childSize(c: TNode | null, arity: number): number {
  if (c === null) return 1;
  return isRefChild(c) ? (c.gen >= 0 ? 37 : 33) : inlineSize(c, arity);
}

/** Writes `n` (inline form) at `off`; calls `visit` for every node written inline, `n` included. */
export function writeNode(n: TNode, arity: number, out: Uint8Array, off: number, visit: (n: TNode) => void): number {
  visit(n);
  switch (n.kind) {
    case LEAF: {
      const kv = n.kv!;
      const len = kv.length - 32;
      out[off] = R_LEAF;
      copy32(out, off + 1, kv);
      out[off + 33] = len >>> 24;
      out[off + 34] = (len >>> 16) & 0xff;
      out[off + 35] = (len >>> 8) & 0xff;
      out[off + 36] = len & 0xff;
      if (len <= 64) for (let i = 0; i < len; i++) out[off + 37 + i] = kv[32 + i]!;
      else out.set(kv.subarray(32), off + 37);
      return off + 37 + len;
    }
    case BRANCH: {
      out[off++] = R_BRANCH;
      off = writeChild(n.c0, arity, out, off, visit);
      off = writeChild(n.c1, arity, out, off, visit);
      if (arity === 3) off = writeChild(n.c2, arity, out, off, visit);
      return off;
    }
    case EXT: {
      out[off] = R_EXT;
      out[off + 1] = n.path!.length;
      off = packDigits(n.path!, out, off + 2);
      return writeChild(n.c0, arity, out, off, visit);
    }
    default:
      throw new Error('trie: cannot write an unloaded node inline');
  }
}

function writeChild(c: TNode | null, arity: number, out: Uint8Array, off: number, visit: (n: TNode) => void): number {
  if (c === null) {
    out[off] = R_EMPTY;
    return off + 1;
  }
  if (isRefChild(c)) {
    if (c.gen >= 0) {
      out[off] = R_REFG;
      putU32(out, off + 1, c.gen);
      copy32(out, off + 5, c.hash!);
      return off + 37;
    }
    out[off] = R_REF;
    copy32(out, off + 1, c.hash!);
    return off + 33;
  }
  return writeNode(c, arity, out, off, visit);
}

/** Decodes a record into a clean subtree (the top node gets `hash`; inline nodes hash lazily). */
export function decodeRecord(bytes: Uint8Array, hash: Uint8Array, arity: number, stats?: { refs: number }): TNode {
  const r = { pos: 0, refs: 0 };
  const n = readNode(bytes, r, arity, 0);
  if (n === null || n.kind === REF) throw new DecodeError('trie record: top is not a node');
  if (r.pos !== bytes.length) throw new DecodeError(`trie record: ${bytes.length - r.pos} trailing bytes`);
  n.hash = hash;
  n.rec = true;
  if (stats) stats.refs = r.refs;
  return n;
}

function need(bytes: Uint8Array, r: { pos: number; refs: number }, k: number): void {
  if (r.pos + k > bytes.length) throw new DecodeError(`trie record: truncated at offset ${r.pos}`);
}

function readNode(bytes: Uint8Array, r: { pos: number; refs: number }, arity: number, depth: number): TNode | null {
  if (depth > 2 * 256) throw new DecodeError('trie record: nesting too deep');
  need(bytes, r, 1);
  const start = r.pos;
  const tag = bytes[r.pos++]!;
  let n: TNode;
  switch (tag) {
    case R_EMPTY:
      return null;
    case R_REF:
      need(bytes, r, 32);
      n = refNode(copyBytes(bytes, r.pos, r.pos + 32));
      r.pos += 32;
      r.refs++;
      return n;
    case R_REFG: {
      need(bytes, r, 36);
      const p = r.pos;
      const gen = getU32(bytes, p);
      if (gen > 0x7fffffff) throw new DecodeError('trie record: reference generation out of range');
      n = refNode(copyBytes(bytes, p + 4, p + 36));
      n.gen = gen;
      r.pos += 36;
      r.refs++;
      return n;
    }
    case R_LEAF: {
      need(bytes, r, 36);
      const len = ((bytes[r.pos + 32]! << 24) | (bytes[r.pos + 33]! << 16) | (bytes[r.pos + 34]! << 8) | bytes[r.pos + 35]!) >>> 0;
      if (len > MAX_VALUE_BYTES) throw new DecodeError(`trie record: value of ${len} bytes exceeds ${MAX_VALUE_BYTES}`);
      need(bytes, r, 36 + len);
      const kv = new Uint8Array(KEY_BYTES + len);
      kv.set(bytes.subarray(r.pos, r.pos + KEY_BYTES), 0);
      kv.set(bytes.subarray(r.pos + 36, r.pos + 36 + len), KEY_BYTES);
      r.pos += 36 + len;
      n = leafNode(kv);
      break;
    }
    case R_BRANCH: {
      n = branchNode();
      let count = 0;
      for (let i = 0; i < arity; i++) {
        const c = readNode(bytes, r, arity, depth + 1);
        setChild(n, i, c);
        if (c !== null) count++;
      }
      if (count < 2) throw new DecodeError('trie record: branch with fewer than two children');
      break;
    }
    case R_EXT: {
      need(bytes, r, 1);
      const len = bytes[r.pos++]!;
      if (len === 0) throw new DecodeError('trie record: empty extension path');
      need(bytes, r, packedLength(len));
      const path = unpackDigits(bytes, r.pos, len, arity);
      if (!path) throw new DecodeError('trie record: bad extension path');
      r.pos += packedLength(len);
      const c = readNode(bytes, r, arity, depth + 1);
      if (c === null || c.kind === LEAF || c.kind === EXT) throw new DecodeError('trie record: extension child must be a branch');
      n = extNode(path, c);
      break;
    }
    default:
      throw new DecodeError(`trie record: unknown node tag ${tag}`);
  }
  n.dirty = false;
  n.size = r.pos - start; // its inline encoding, reused when a later commit rewrites the parent
  return n;
}
