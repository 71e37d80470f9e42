// Trie nodes as slots in typed arrays instead of one JS object per node (plus its key/value, path
// and hash arrays). At a million keys the object version kept ~5M small heap objects alive, and every
// major GC had to mark all of them (~1 s per 100k-update commit, measured with --trace-gc); here the
// whole trie is a dozen large arrays that the GC never scans. A node is an int id; its fields live at
// that index: kind, flags, up to three children (NIL = empty slot), inline record size, the offset and
// length of its bytes in `pool` (leaf: key || value; extension: one byte per digit), a version counter
// (bumped whenever the node changes, so a staged commit can tell which nodes it really wrote), and its
// hash at hash[32 * id]. Same node kinds, hashes and record bytes as node.ts (docs/PROTOCOL.md "Trie").
import sodium from 'sodium-native';
import { DecodeError, getU32, putU32 } from '../core/bytes.js';
import { packedLength, KEY_BYTES } from './digits.js';
import { hashStats, type Tags } from './hash.js';
import { LEAF, BRANCH, EXT, REF, MAX_VALUE_BYTES } from './record.js';
import { wasmSha256x4, paddingWords, blocksFor, X4_FREE_OFF, X4_BLOCK_BYTES, X4_OUT_BYTES, type WasmSha256x4 } from './sha256x4-wasm.js';

/** Groups of 4 messages per kernel call (bounds the kernel's memory: ~160 KiB). */
const X4_GROUPS = 256;
/** Padding words of an 80-byte preimage (a leaf with a 16-byte value). */
const LEAF80_PAD = paddingWords(80); // message words 20..31
/** Leaves of other sizes take the 4-lane kernel up to this many blocks (values of up to 439 bytes). */
const LEAF_X4_MAX_BLOCKS = 8;
const KERNELS = new Map<number, WasmSha256x4>(); // by arity (the tags are a function of it)

export { LEAF, BRANCH, EXT, REF };
/** A slot on the free list. */
export const FREE = 4;
/** The empty child. */
export const NIL = -1;

/** Changed since the last commit (not in the store in this form); all its ancestors are dirty too. */
export const F_DIRTY = 1;
/** hash[32 * id] is valid. */
export const F_HASHED = 2;
/** Clean and stored as its own record (addressable by hash), not only inline in an ancestor's. */
export const F_REC = 4;
/** Transient, while staging a commit: written as its own record. */
export const F_ASREC = 8;

// Record tags (node.ts has the same; see docs/PROTOCOL.md).
const R_EMPTY = 0x00;
const R_LEAF = 0x01;
const R_BRANCH = 0x02;
const R_REF = 0x03;
const R_EXT = 0x04;
const R_REFG = 0x05;

export class Arena {
  readonly arity: number;
  private readonly tags: Tags;
  cap = 0;
  /** Slots [0, top) have been handed out (live or FREE). */
  top = 0;
  kind: Uint8Array = new Uint8Array(0);
  flags: Uint8Array = new Uint8Array(0);
  c0: Int32Array = new Int32Array(0);
  c1: Int32Array = new Int32Array(0);
  c2: Int32Array = new Int32Array(0);
  size: Int32Array = new Int32Array(0);
  off: Int32Array = new Int32Array(0);
  len: Int32Array = new Int32Array(0);
  ver: Int32Array = new Int32Array(0);
  /**
   * Generation of the node's own record (its store key is gen || hash), for nodes that have one and
   * REF nodes; -1 = unknown or legacy (keyed by the hash alone).
   */
  gen: Int32Array = new Int32Array(0);
  hash: Uint8Array = new Uint8Array(0);
  h32: Int32Array = new Int32Array(0);
  private freeList: number[] = [];
  /** Nodes allocated plus leaves rewritten to a new place in the pool since the last relayout (how scattered the arena got). */
  churn = 0;
  pool: Uint8Array;
  poolTop = 0;
  /** Bytes of `pool` below poolTop that no live node uses any more. */
  private garbage = 0;
  // Hash preimage scratch and output; fixed-length views are cached (sodium wants exact lengths).
  private pre: Uint8Array = new Uint8Array(256);
  private pre32: Int32Array = new Int32Array(this.pre.buffer);
  private views: Array<Uint8Array | undefined> = [];
  private readonly out = new Uint8Array(32);
  private readonly out32 = new Int32Array(this.out.buffer);
  private readonly tagLeaf: Int32Array;
  private readonly tagBranch: Int32Array;
  private readonly tagExt: Int32Array;

  constructor(arity: number, tags: Tags, initial = 64) {
    this.arity = arity;
    this.tags = tags;
    this.tagLeaf = new Int32Array(tags.leaf.slice().buffer);
    this.tagBranch = new Int32Array(tags.branch.slice().buffer);
    this.tagExt = new Int32Array(tags.ext.slice().buffer);
    this.pool = new Uint8Array(initial * 64);
    this.grow(initial);
  }

  private grow(cap: number): void {
    const g8 = (a: Uint8Array): Uint8Array => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    const g32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.kind = g8(this.kind);
    this.flags = g8(this.flags);
    this.c0 = g32(this.c0);
    this.c1 = g32(this.c1);
    this.c2 = g32(this.c2);
    this.size = g32(this.size);
    this.off = g32(this.off);
    this.len = g32(this.len);
    this.ver = g32(this.ver);
    this.gen = g32(this.gen);
    const h = new Uint8Array(cap * 32);
    h.set(this.hash);
    this.hash = h;
    this.h32 = new Int32Array(h.buffer);
    this.cap = cap;
  }

  /** A new dirty, unhashed node with no children and no bytes. */
  alloc(kind: number): number {
    let id: number;
    if (this.freeList.length > 0) id = this.freeList.pop()!;
    else {
      if (this.top === this.cap) this.grow(this.cap * 2);
      id = this.top++;
    }
    this.kind[id] = kind;
    this.flags[id] = F_DIRTY;
    this.c0[id] = NIL;
    this.c1[id] = NIL;
    this.c2[id] = NIL;
    this.size[id] = 0;
    this.off[id] = 0;
    this.len[id] = 0;
    this.ver[id]++;
    this.gen[id] = -1;
    this.churn++;
    return id;
  }

  /** Forgets every node and byte (the arrays are kept, to be filled again). */
  reset(): void {
    this.top = 0;
    this.freeList = [];
    this.poolTop = 0;
    this.garbage = 0;
    this.churn = 0;
  }

  /** Returns slot `id` to the free list (its bytes become garbage). */
  free(id: number): void {
    this.garbage += this.len[id]!;
    this.len[id] = 0;
    this.kind[id] = FREE;
    this.flags[id] = 0;
    this.ver[id]++;
    this.freeList.push(id);
  }

  /** Frees `id` and every loaded node below it. */
  freeTree(id: number): void {
    if (id === NIL) return;
    const k = this.kind[id];
    if (k === BRANCH || k === EXT) {
      this.freeTree(this.c0[id]!);
      this.freeTree(this.c1[id]!);
      this.freeTree(this.c2[id]!);
    }
    this.free(id);
  }

  /** Number of live nodes. */
  get live(): number {
    return this.top - this.freeList.length;
  }

  /** Marks `id` changed: dirty, hash invalid, a new version. */
  touch(id: number): void {
    this.flags[id] = (this.flags[id]! | F_DIRTY) & ~(F_HASHED | F_REC);
    this.ver[id]++;
  }

  child(id: number, i: number): number {
    return i === 0 ? this.c0[id]! : i === 1 ? this.c1[id]! : this.c2[id]!;
  }

  setChild(id: number, i: number, c: number): void {
    if (i === 0) this.c0[id] = c;
    else if (i === 1) this.c1[id] = c;
    else this.c2[id] = c;
  }

  // ---- byte pool ----

  /** Room for n bytes at the returned offset. May move every node's bytes: re-read off[] after. */
  private allocData(n: number): number {
    if (this.poolTop + n > this.pool.length) {
      const liveBytes = this.poolTop - this.garbage;
      if (this.garbage > liveBytes) this.compact(Math.max(this.pool.length, 2 * (liveBytes + n)));
      else {
        const p = new Uint8Array(Math.max(2 * this.pool.length, this.poolTop + n));
        p.set(this.pool.subarray(0, this.poolTop));
        this.pool = p;
      }
    }
    const o = this.poolTop;
    this.poolTop += n;
    return o;
  }

  /**
   * Moves the nodes under `root` to fresh slots in depth-first pre-order (a node, then each child's
   * subtree), their bytes likewise into a fresh pool, and returns root's new id. Why: the arrays are
   * indexed by node id, and after many batches a subtree's nodes are scattered over the whole arena,
   * so walking one (hashing, encoding a record with its clean inline siblings) costs a cache miss per
   * array per node; in pre-order a small subtree's fields sit in a few cache lines. Every id held
   * outside the arena is invalid afterwards: only the caller's root may be live (no staged commit).
   */
  relayout(root: number): number {
    if (root === NIL) return NIL;
    const live = this.live;
    const cap = Math.max(64, live + (live >> 1));
    const kind = new Uint8Array(cap);
    const flags = new Uint8Array(cap);
    const c0 = new Int32Array(cap).fill(NIL);
    const c1 = new Int32Array(cap).fill(NIL);
    const c2 = new Int32Array(cap).fill(NIL);
    const size = new Int32Array(cap);
    const off = new Int32Array(cap);
    const len = new Int32Array(cap);
    const ver = new Int32Array(cap);
    const gen = new Int32Array(cap);
    const hash = new Uint8Array(cap * 32);
    const liveBytes = this.poolTop - this.garbage;
    const pool = new Uint8Array(Math.max(64, liveBytes + (liveBytes >> 2)));
    const oh = this.h32;
    const nh = new Int32Array(hash.buffer);
    const op = this.pool;
    let top = 0;
    let ptop = 0;
    const place = (id: number): number => {
      const n = top++;
      const k = this.kind[id]!;
      kind[n] = k;
      flags[n] = this.flags[id]!;
      size[n] = this.size[id]!;
      ver[n] = this.ver[id]!;
      gen[n] = this.gen[id]!;
      const l = this.len[id]!;
      if (l > 0) {
        const o = this.off[id]!;
        if (l <= 64) for (let i = 0; i < l; i++) pool[ptop + i] = op[o + i]!;
        else pool.set(op.subarray(o, o + l), ptop);
        off[n] = ptop;
        ptop += l;
      }
      len[n] = l;
      const hs = id * 8;
      const hd = n * 8;
      for (let i = 0; i < 8; i++) nh[hd + i] = oh[hs + i]!;
      if (k === BRANCH || k === EXT) {
        const a = this.c0[id]!;
        const b = this.c1[id]!;
        const c = this.c2[id]!;
        if (a !== NIL) c0[n] = place(a);
        if (b !== NIL) c1[n] = place(b);
        if (c !== NIL) c2[n] = place(c);
      }
      return n;
    };
    const r = place(root);
    this.kind = kind;
    this.flags = flags;
    this.c0 = c0;
    this.c1 = c1;
    this.c2 = c2;
    this.size = size;
    this.off = off;
    this.len = len;
    this.ver = ver;
    this.gen = gen;
    this.hash = hash;
    this.h32 = nh;
    this.pool = pool;
    this.poolTop = ptop;
    this.garbage = 0;
    this.cap = cap;
    this.top = top;
    this.freeList = [];
    this.churn = 0;
    return r;
  }

  /** Copies every live node's bytes into a fresh pool, dropping garbage. */
  private compact(cap: number): void {
    const src = this.pool;
    const dst = new Uint8Array(cap);
    let o = 0;
    for (let id = 0; id < this.top; id++) {
      const n = this.len[id]!;
      if (n === 0) continue;
      const s = this.off[id]!;
      dst.set(src.subarray(s, s + n), o);
      this.off[id] = o;
      o += n;
    }
    this.pool = dst;
    this.poolTop = o;
    this.garbage = 0;
  }

  /** Sets node bytes to src[from, to). */
  setBytes(id: number, src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.garbage += this.len[id]!;
    this.len[id] = 0; // not live while allocData may compact
    const o = this.allocData(n);
    const p = this.pool;
    if (n <= 64) for (let i = 0; i < n; i++) p[o + i] = src[from + i]!;
    else p.set(src.subarray(from, to), o);
    this.off[id] = o;
    this.len[id] = n;
  }

  /** Sets the bytes of fresh node `id` to [lead] (if >= 0) || bytes [from, to) of node src || bytes of node tail. */
  private setPath(id: number, lead: number, src: number, from: number, to: number, tail: number): void {
    const tn = tail === NIL ? 0 : this.len[tail]!;
    const n = (lead >= 0 ? 1 : 0) + (to - from) + tn;
    const o = this.allocData(n);
    const p = this.pool; // read after allocData, which may have moved everything
    let w = o;
    if (lead >= 0) p[w++] = lead;
    if (src !== NIL) {
      const so = this.off[src]!;
      for (let i = from; i < to; i++) p[w++] = p[so + i]!;
    }
    if (tail !== NIL) {
      const to2 = this.off[tail]!;
      for (let i = 0; i < tn; i++) p[w++] = p[to2 + i]!;
    }
    this.off[id] = o;
    this.len[id] = n;
  }

  /** Sets leaf bytes to key k[ko, ko + 32) || value v[vo, vo + vl). */
  setLeaf(id: number, k: Uint8Array, ko: number, v: Uint8Array, vo: number, vl: number): void {
    if (this.len[id] === 32 + vl) {
      // Same size (an update of a live leaf): overwrite in place. No pool garbage, and the leaf keeps
      // its place in the pool, so no churn: an update-only workload then never needs a relayout
      // (appending scattered each updated leaf's bytes to the pool's end). Safe because no one holds
      // a view of the pool across calls (get(), prove() and the encoders copy).
      const p = this.pool;
      const o = this.off[id]!;
      for (let i = 0; i < 32; i++) p[o + i] = k[ko + i]!;
      if (vl <= 64) for (let i = 0; i < vl; i++) p[o + 32 + i] = v[vo + i]!;
      else p.set(v.subarray(vo, vo + vl), o + 32);
      return;
    }
    this.churn++;
    this.garbage += this.len[id]!;
    this.len[id] = 0; // not live while allocData may compact
    const o = this.allocData(32 + vl);
    const p = this.pool;
    for (let i = 0; i < 32; i++) p[o + i] = k[ko + i]!;
    if (vl <= 64) for (let i = 0; i < vl; i++) p[o + 32 + i] = v[vo + i]!;
    else p.set(v.subarray(vo, vo + vl), o + 32);
    this.off[id] = o;
    this.len[id] = 32 + vl;
  }

  /** Does leaf `id` hold key k[ko, ko + 32)? */
  keyEqualsAt(id: number, k: Uint8Array, ko: number): boolean {
    const p = this.pool;
    const o = this.off[id]!;
    for (let i = 0; i < 32; i++) if (p[o + i] !== k[ko + i]) return false;
    return true;
  }

  /** Does leaf `id` (whose key is known to match) hold value v[vo, vo + vl)? */
  valueEqualsAt(id: number, v: Uint8Array, vo: number, vl: number): boolean {
    if (this.len[id] !== 32 + vl) return false;
    const p = this.pool;
    const o = this.off[id]! + 32;
    for (let i = 0; i < vl; i++) if (p[o + i] !== v[vo + i]) return false;
    return true;
  }

  // ---- constructors ----

  leaf(kv: Uint8Array): number {
    const id = this.alloc(LEAF);
    this.setBytes(id, kv, 0, kv.length);
    return id;
  }

  leafFrom(k: Uint8Array, ko: number, v: Uint8Array, vo: number, vl: number): number {
    const id = this.alloc(LEAF);
    this.setLeaf(id, k, ko, v, vo, vl);
    return id;
  }

  branch(): number {
    return this.alloc(BRANCH);
  }

  /** An extension with digits d[from, to) over `child`. */
  ext(d: Uint8Array, from: number, to: number, child: number): number {
    const id = this.alloc(EXT);
    this.setBytes(id, d, from, to);
    this.c0[id] = child;
    return id;
  }

  /** An extension with digits [lead] || bytes[from, to) of extension `src` || digits of `tail`, over `child`. */
  extFrom(lead: number, src: number, from: number, to: number, tail: number, child: number): number {
    const id = this.alloc(EXT);
    this.setPath(id, lead, src, from, to, tail);
    this.c0[id] = child;
    return id;
  }

  ref(hash: Uint8Array, ho = 0, gen = -1): number {
    const id = this.alloc(REF);
    this.gen[id] = gen;
    this.flags[id] = F_HASHED | F_REC;
    const h = this.hash;
    const o = id * 32;
    for (let i = 0; i < 32; i++) h[o + i] = hash[ho + i]!;
    return id;
  }

  /** Does leaf `id` hold `key`? */
  keyEquals(id: number, key: Uint8Array): boolean {
    const p = this.pool;
    const o = this.off[id]!;
    for (let i = 0; i < 32; i++) if (p[o + i] !== key[i]) return false;
    return true;
  }

  /** Are leaf `id`'s bytes exactly kv? */
  kvEquals(id: number, kv: Uint8Array): boolean {
    const n = this.len[id]!;
    if (n !== kv.length) return false;
    const p = this.pool;
    const o = this.off[id]!;
    for (let i = 0; i < n; i++) if (p[o + i] !== kv[i]) return false;
    return true;
  }

  /** A copy of node bytes [from, to). */
  bytes(id: number, from: number, to: number): Uint8Array {
    const o = this.off[id]!;
    return this.pool.slice(o + from, o + to);
  }

  /** Bytes of node `id`'s inline form when written as a reference. */
  refBytes(id: number): number {
    return this.gen[id]! >= 0 ? 37 : 33;
  }

  /** The store key of node `id`'s own record: gen (u32) || hash, or the hash alone (gen unknown). */
  locator(id: number): Uint8Array {
    const g = this.gen[id]!;
    if (g < 0) return this.hashCopy(id);
    const k = new Uint8Array(36);
    this.genKeyInto(id, g, k, 0);
    return k;
  }

  /** Writes the store key gen || hash of node `id` at out[o, o + 36). */
  genKeyInto(id: number, gen: number, out: Uint8Array, o: number): void {
    putU32(out, o, gen);
    this.hashInto(id, out, o + 4);
  }

  /** Copies node `id`'s hash to out[o, o + 32). */
  hashInto(id: number, out: Uint8Array, o: number): void {
    const h = this.hash;
    const ho = id * 32;
    for (let i = 0; i < 32; i++) out[o + i] = h[ho + i]!;
  }

  hashCopy(id: number): Uint8Array {
    return this.hash.slice(id * 32, id * 32 + 32);
  }

  hashEquals(id: number, h: Uint8Array): boolean {
    const a = this.hash;
    const o = id * 32;
    for (let i = 0; i < 32; i++) if (a[o + i] !== h[i]) return false;
    return true;
  }

  // ---- hashing ----

  private preimage(n: number): Uint8Array {
    if (this.pre.length < n) {
      this.pre = new Uint8Array(Math.max((n + 3) & ~3, 2 * this.pre.length)); // a multiple of 4 for pre32
      this.pre32 = new Int32Array(this.pre.buffer);
      this.views = [];
    }
    return this.pre;
  }

  /** SHA-256 of pre[0, n) into hash[32 * id]. */
  private sha(id: number, n: number): void {
    hashStats.count++;
    let v = this.views[n];
    if (v === undefined) v = this.views[n] = this.pre.subarray(0, n);
    // sodium-native accepts any Uint8Array; its typings ask for Buffer.
    sodium.crypto_hash_sha256(this.out as Buffer, v as Buffer);
    const h = this.h32;
    const o = id * 8;
    const s = this.out32;
    h[o] = s[0]!;
    h[o + 1] = s[1]!;
    h[o + 2] = s[2]!;
    h[o + 3] = s[3]!;
    h[o + 4] = s[4]!;
    h[o + 5] = s[5]!;
    h[o + 6] = s[6]!;
    h[o + 7] = s[7]!;
  }

  /** Makes hash[32 * id] valid, hashing (once) any unhashed descendants first. */
  ensureHash(id: number): void {
    const f = this.flags[id]!;
    if ((f & F_HASHED) !== 0) return;
    const k = this.kind[id];
    if (k === BRANCH) {
      const a = this.c0[id]!;
      const b = this.c1[id]!;
      const three = this.arity === 3;
      const c = three ? this.c2[id]! : NIL;
      if (a !== NIL) this.ensureHash(a);
      if (b !== NIL) this.ensureHash(b);
      if (c !== NIL) this.ensureHash(c);
      this.preimage(128);
      const p32 = this.pre32;
      const t = this.tagBranch;
      for (let i = 0; i < 8; i++) p32[i] = t[i]!;
      this.childHash32(p32, 8, a);
      this.childHash32(p32, 16, b);
      if (three) this.childHash32(p32, 24, c);
      this.sha(id, three ? 128 : 96);
    } else if (k === LEAF) {
      const n = this.len[id]!;
      const p = this.preimage(32 + n);
      const t = this.tagLeaf;
      const p32 = this.pre32;
      for (let i = 0; i < 8; i++) p32[i] = t[i]!;
      const src = this.pool;
      const o = this.off[id]!;
      if (n <= 96) for (let i = 0; i < n; i++) p[32 + i] = src[o + i]!;
      else p.set(src.subarray(o, o + n), 32);
      this.sha(id, 32 + n);
    } else if (k === EXT) {
      const c = this.c0[id]!;
      this.ensureHash(c);
      const n = this.len[id]!;
      const pl = packedLength(n);
      const p = this.preimage(65 + pl);
      const t = this.tagExt;
      const p32 = this.pre32;
      for (let i = 0; i < 8; i++) p32[i] = t[i]!;
      p[32] = n;
      this.packPath(id, p, 33);
      const h = this.hash;
      const ho = c * 32;
      const o = 33 + pl;
      for (let i = 0; i < 32; i++) p[o + i] = h[ho + i]!;
      this.sha(id, 65 + pl);
    } else throw new Error('trie: hashing a node that is not loaded');
    this.flags[id] = f | F_HASHED;
  }

  /**
   * Makes the hash of `root` and of every node under it valid, like ensureHash(root), but collects
   * the unhashed nodes first and hashes them by height (leaves, then their parents, ...): nodes of
   * one height never depend on each other, so same-kind nodes are hashed in groups
   * (hashBranches/hashLeaves) where a multi-message kernel can take several at once.
   */
  hashTree(root: number): void {
    if (root === NIL || (this.flags[root]! & F_HASHED) !== 0) return;
    this.ordN = 0;
    const maxH = this.collect(root);
    const n = this.ordN;
    // Counting sort of the collected nodes by height.
    const count = new Int32Array(maxH + 2);
    const hts = this.ordH;
    for (let i = 0; i < n; i++) count[hts[i]! + 1]!++;
    for (let h = 1; h <= maxH + 1; h++) count[h]! += count[h - 1]!;
    const byH = this.grown(this.byH, n);
    this.byH = byH;
    const at = count.slice();
    const ord = this.ord;
    for (let i = 0; i < n; i++) byH[at[hts[i]!]!++] = ord[i]!;
    for (let h = 0; h <= maxH; h++) this.hashLevel(byH, count[h]!, count[h + 1]!);
  }

  private ord: Int32Array = new Int32Array(0);
  private ordH: Uint8Array = new Uint8Array(0);
  private ordN = 0;
  private byH: Int32Array = new Int32Array(0);
  private sel: Int32Array = new Int32Array(0);

  private grown(a: Int32Array, n: number): Int32Array {
    return a.length >= n ? a : new Int32Array(Math.max(n, 2 * a.length));
  }

  /** Post-order collection of the unhashed nodes under `id` (itself unhashed); returns its height. */
  private collect(id: number): number {
    let h = 0;
    const k = this.kind[id];
    if (k === BRANCH || k === EXT) {
      const F = F_HASHED;
      const a = this.c0[id]!;
      const b = this.c1[id]!;
      const c = this.c2[id]!;
      if (a !== NIL && (this.flags[a]! & F) === 0) h = this.collect(a) + 1;
      if (b !== NIL && (this.flags[b]! & F) === 0) h = Math.max(h, this.collect(b) + 1);
      if (c !== NIL && (this.flags[c]! & F) === 0) h = Math.max(h, this.collect(c) + 1);
    } else if (k !== LEAF) throw new Error('trie: hashing a node that is not loaded');
    if (this.ordN === this.ord.length) {
      const m = Math.max(1024, 2 * this.ord.length);
      const o = new Int32Array(m);
      o.set(this.ord);
      this.ord = o;
      const t = new Uint8Array(m);
      t.set(this.ordH);
      this.ordH = t;
    }
    this.ord[this.ordN] = id;
    this.ordH[this.ordN++] = h;
    return h;
  }

  /** Hashes byH[from, to): nodes whose children are all hashed. */
  private hashLevel(byH: Int32Array, from: number, to: number): void {
    const sel = (this.sel = this.grown(this.sel, 3 * (to - from)));
    // Branches (arity 3: 128-byte preimages) from sel[0], leaves with 16-byte values (80-byte
    // preimages) from sel[half], other leaves up to LEAF_X4_MAX_BLOCKS blocks from sel[2 * half]
    // (e.g. a tx trie's ~240-byte records: 4 blocks): the shapes the 4-lane kernel takes; anything
    // else one by one.
    const half = to - from;
    let nb = 0;
    let nl = 0;
    let no = 0;
    const three = this.arity === 3;
    for (let i = from; i < to; i++) {
      const id = byH[i]!;
      const k = this.kind[id];
      if (k === BRANCH && three) sel[nb++] = id;
      else if (k === LEAF && this.len[id] === 48) sel[half + nl++] = id;
      else if (k === LEAF && blocksFor(32 + this.len[id]!) <= LEAF_X4_MAX_BLOCKS) sel[2 * half + no++] = id;
      else this.ensureHash(id); // its children are hashed already
    }
    if (nb > 0) this.hashX4(sel, 0, nb, false);
    if (nl > 0) this.hashX4(sel, half, nl, true);
    // Other leaves, 4 lanes of one block count per call: take the block count of the first one left,
    // move the leaves of that count to the front, hash them; the few left of a count one by one.
    let lo = 2 * half;
    const hi = 2 * half + no;
    while (lo < hi) {
      const blocks = blocksFor(32 + this.len[sel[lo]!]!);
      let k = lo;
      for (let i = lo; i < hi; i++) {
        const id = sel[i]!;
        if (blocksFor(32 + this.len[id]!) === blocks) {
          sel[i] = sel[k]!;
          sel[k++] = id;
        }
      }
      if (k - lo >= 4) this.hashLeavesX4(sel, lo, k - lo, blocks);
      else for (let i = lo; i < k; i++) this.ensureHash(sel[i]!);
      lo = k;
    }
  }

  /**
   * Hashes leaves ids[at, at + n), whose preimages (tag || key || value) all pad to `blocks` blocks
   * (2..LEAF_X4_MAX_BLOCKS), 4 at a time; each call fills the kernel's input region.
   */
  private hashLeavesX4(ids: Int32Array, at: number, n: number, blocks: number): void {
    const x = this.kernel();
    const OUT = X4_FREE_OFF + X4_GROUPS * 2 * X4_BLOCK_BYTES;
    const groupsPerCall = Math.floor((2 * X4_GROUPS) / blocks); // the input region holds 2 * X4_GROUPS group-blocks
    hashStats.count += n;
    for (let s = 0; s < n; s += 4 * groupsPerCall) {
      const cnt = Math.min(n - s, 4 * groupsPerCall);
      for (let i = 0; i < cnt; i++) {
        // Group i >> 2 (16 * blocks words x 4 lanes), lane i & 3; words 0..7 (the tag) come from the
        // registered prefix and are not read.
        const base = (X4_FREE_OFF >> 2) + 64 * blocks * (i >> 2) + (i & 3);
        this.layLeaf(ids[at + s + i]!, x.mem32, base, blocks);
      }
      x.hashGroups(X4_FREE_OFF, OUT, (cnt + 3) >> 2, blocks, 1);
      this.takeDigests(ids, at + s, cnt, OUT >> 2);
    }
  }

  /**
   * Message words 8 .. 16 * blocks - 1 of leaf `id` (any value length): key || value (pool bytes read
   * as little-endian words, as the kernel's layout asks), then SHA-256 padding: 0x80, zeros, the
   * message's bit length (32 + len bytes; < 2^32 bits) in the last word.
   */
  private layLeaf(id: number, m: Int32Array, base: number, blocks: number): void {
    const p = this.pool;
    const o = this.off[id]!;
    const n = this.len[id]!;
    const full = n >> 2;
    let w = 8;
    for (let j = 0; j < full; j++, w++) {
      const b = o + 4 * j;
      m[base + 4 * w] = p[b]! | (p[b + 1]! << 8) | (p[b + 2]! << 16) | (p[b + 3]! << 24);
    }
    const r = n & 3;
    let last = 0x80 << (8 * r);
    for (let j = 0; j < r; j++) last |= p[o + 4 * full + j]! << (8 * j);
    m[base + 4 * w++] = last;
    const end = 16 * blocks;
    for (; w < end - 1; w++) m[base + 4 * w] = 0;
    const bits = 8 * (32 + n);
    m[base + 4 * (end - 1)] = (bits >>> 24) | (((bits >>> 16) & 0xff) << 8) | (((bits >>> 8) & 0xff) << 16) | ((bits & 0xff) << 24);
  }

  private x4: WasmSha256x4 | null = null;

  private kernel(): WasmSha256x4 {
    // One kernel per set of tags, shared by every arena (calls are synchronous and never nest).
    if (this.x4 === null) {
      let x = KERNELS.get(this.arity);
      if (x === undefined) {
        x = wasmSha256x4(X4_FREE_OFF + X4_GROUPS * (X4_BLOCK_BYTES * 2 + X4_OUT_BYTES));
        x.setPrefix(0, this.tags.branch);
        x.setPrefix(1, this.tags.leaf);
        KERNELS.set(this.arity, x);
      }
      this.x4 = x;
    }
    return this.x4;
  }

  /**
   * Hashes ids[at, at + n), all arity-3 branches (`leaves` false: 128-byte preimages, their children
   * hashed) or all leaves with 16-byte values (80-byte preimages), 4 at a time.
   */
  private hashX4(ids: Int32Array, at: number, n: number, leaves: boolean): void {
    const x = this.kernel();
    const OUT = X4_FREE_OFF + X4_GROUPS * 2 * X4_BLOCK_BYTES;
    hashStats.count += n;
    for (let s = 0; s < n; s += 4 * X4_GROUPS) {
      const cnt = Math.min(n - s, 4 * X4_GROUPS);
      for (let i = 0; i < cnt; i++) {
        // Group i >> 2 (128 words: 2 blocks x 4 lanes), lane i & 3. Words 0..7 (the tag) come from
        // the registered prefix and are not read.
        const base = (X4_FREE_OFF >> 2) + 128 * (i >> 2) + (i & 3);
        if (leaves) this.layLeaf80(ids[at + s + i]!, x.mem32, base);
        else this.layBranch(ids[at + s + i]!, x.mem32, base);
      }
      if (leaves) x.hashGroups(X4_FREE_OFF, OUT, (cnt + 3) >> 2, 2, 1);
      else x.hash128Groups(X4_FREE_OFF, OUT, (cnt + 3) >> 2, 0);
      this.takeDigests(ids, at + s, cnt, OUT >> 2);
    }
  }

  /** Message words 8..31 of branch `id`: its three child hashes (EMPTY = zeros), one lane. */
  private layBranch(id: number, m: Int32Array, base: number): void {
    const h = this.h32;
    const c0 = this.c0[id]!;
    const c1 = this.c1[id]!;
    const c2 = this.c2[id]!;
    if (c0 === NIL) for (let w = 0; w < 8; w++) m[base + 4 * (8 + w)] = 0;
    else for (let w = 0, o = c0 * 8; w < 8; w++) m[base + 4 * (8 + w)] = h[o + w]!;
    if (c1 === NIL) for (let w = 0; w < 8; w++) m[base + 4 * (16 + w)] = 0;
    else for (let w = 0, o = c1 * 8; w < 8; w++) m[base + 4 * (16 + w)] = h[o + w]!;
    if (c2 === NIL) for (let w = 0; w < 8; w++) m[base + 4 * (24 + w)] = 0;
    else for (let w = 0, o = c2 * 8; w < 8; w++) m[base + 4 * (24 + w)] = h[o + w]!;
  }

  /**
   * Message words 8..31 of leaf `id` (16-byte value): key || value (pool bytes read as little-endian
   * words, as the kernel's layout asks), then the constant padding of an 80-byte message.
   */
  private layLeaf80(id: number, m: Int32Array, base: number): void {
    const p = this.pool;
    const o = this.off[id]!;
    for (let w = 0; w < 12; w++) {
      const b = o + 4 * w;
      m[base + 4 * (8 + w)] = p[b]! | (p[b + 1]! << 8) | (p[b + 2]! << 16) | (p[b + 3]! << 24);
    }
    const pad = LEAF80_PAD;
    for (let w = 0; w < 12; w++) m[base + 4 * (20 + w)] = pad[w]!;
  }

  /** Copies the kernel's digests of ids[at, at + cnt) into hash[] and marks those nodes hashed. */
  private takeDigests(ids: Int32Array, at: number, cnt: number, OUT: number): void {
    const m = this.x4!.mem32;
    const h = this.h32;
    for (let i = 0; i < cnt; i++) {
      const id = ids[at + i]!;
      const src = OUT + 8 * i; // group i >> 2 at 32 words, lane i & 3 at 8 words: 8 * i
      const dst = id * 8;
      for (let r = 0; r < 8; r++) h[dst + r] = m[src + r]!;
      this.flags[id] = this.flags[id]! | F_HASHED;
    }
  }

  private childHash32(p32: Int32Array, at: number, c: number): void {
    if (c === NIL) {
      for (let i = 0; i < 8; i++) p32[at + i] = 0;
      return;
    }
    const h = this.h32;
    const o = c * 8;
    for (let i = 0; i < 8; i++) p32[at + i] = h[o + i]!;
  }

  /** Packs extension `id`'s digits (2 bits each, first digit in the top bits) at out[o]; returns the end. */
  packPath(id: number, out: Uint8Array, o: number): number {
    const n = this.len[id]!;
    const bytes = packedLength(n);
    out.fill(0, o, o + bytes);
    const p = this.pool;
    const s = this.off[id]!;
    for (let j = 0; j < n; j++) out[o + (j >> 2)]! |= p[s + j]! << (6 - 2 * (j & 3));
    return o + bytes;
  }

  // ---- records ----

  /** Is child `c` written as a reference (0x05 gen hash, or legacy 0x03 hash) rather than inline? */
  isRefChild(c: number): boolean {
    const f = this.flags[c]!;
    return this.kind[c] === REF || (f & F_ASREC) !== 0 || (f & (F_DIRTY | F_REC)) === F_REC;
  }

  /** Writes `id` (inline form) at out[o]; dirty nodes written are appended to `written`. Returns the end. */
  write(id: number, out: Uint8Array, o: number, written: number[]): number {
    if ((this.flags[id]! & F_DIRTY) !== 0) written.push(id);
    switch (this.kind[id]) {
      case LEAF: {
        const n = this.len[id]!;
        const vlen = n - 32;
        const p = this.pool;
        const s = this.off[id]!;
        out[o] = R_LEAF;
        for (let i = 0; i < 32; i++) out[o + 1 + i] = p[s + i]!;
        out[o + 33] = vlen >>> 24;
        out[o + 34] = (vlen >>> 16) & 0xff;
        out[o + 35] = (vlen >>> 8) & 0xff;
        out[o + 36] = vlen & 0xff;
        if (vlen <= 64) for (let i = 0; i < vlen; i++) out[o + 37 + i] = p[s + 32 + i]!;
        else out.set(p.subarray(s + 32, s + n), o + 37);
        return o + 37 + vlen;
      }
      case BRANCH: {
        out[o++] = R_BRANCH;
        o = this.writeChild(this.c0[id]!, out, o, written);
        o = this.writeChild(this.c1[id]!, out, o, written);
        if (this.arity === 3) o = this.writeChild(this.c2[id]!, out, o, written);
        return o;
      }
      case EXT: {
        out[o] = R_EXT;
        out[o + 1] = this.len[id]!;
        o = this.packPath(id, out, o + 2);
        return this.writeChild(this.c0[id]!, out, o, written);
      }
      default:
        throw new Error('trie: cannot write an unloaded node inline');
    }
  }

  private writeChild(c: number, out: Uint8Array, o: number, written: number[]): number {
    if (c === NIL) {
      out[o] = R_EMPTY;
      return o + 1;
    }
    if (this.isRefChild(c)) {
      const h = this.hash;
      const ho = c * 32;
      const g = this.gen[c]!;
      if (g < 0) {
        // A legacy reference: that record is keyed by the hash alone.
        out[o] = R_REF;
        for (let i = 0; i < 32; i++) out[o + 1 + i] = h[ho + i]!;
        return o + 33;
      }
      out[o] = R_REFG;
      this.genKeyInto(c, g, out, o + 1);
      return o + 37;
    }
    return this.write(c, out, o, written);
  }

  /**
   * Decodes a record (content-addressed by `hash`) into clean nodes; the top node gets `hash`, inline
   * nodes hash lazily. Returns the top id; `stats.refs` = references (REF nodes) created. On malformed
   * bytes throws DecodeError and leaves the arena as it was (apart from free-list order).
   */
  decode(bytes: Uint8Array, hash: Uint8Array, stats: { refs: number }, gen = -1): number {
    const made: number[] = [];
    const r = { pos: 0, refs: 0 };
    try {
      const id = this.readNode(bytes, r, 0, made);
      if (id === NIL || this.kind[id] === REF) throw new DecodeError('trie record: top is not a node');
      if (r.pos !== bytes.length) throw new DecodeError(`trie record: ${bytes.length - r.pos} trailing bytes`);
      const h = this.hash;
      for (let i = 0; i < 32; i++) h[id * 32 + i] = hash[i]!;
      this.flags[id] = F_HASHED | F_REC;
      this.gen[id] = gen;
      stats.refs = r.refs;
      return id;
    } catch (e) {
      for (const id of made) this.free(id);
      throw e;
    }
  }

  private readNode(b: Uint8Array, r: { pos: number; refs: number }, depth: number, made: number[]): number {
    if (depth > 2 * 256) throw new DecodeError('trie record: nesting too deep');
    need(b, r, 1);
    const start = r.pos;
    const tag = b[r.pos++]!;
    let id: number;
    switch (tag) {
      case R_EMPTY:
        return NIL;
      case R_REF:
        need(b, r, 32);
        id = this.ref(b, r.pos);
        made.push(id);
        r.pos += 32;
        r.refs++;
        return id;
      case R_REFG: {
        need(b, r, 36);
        const p = r.pos;
        const g = getU32(b, p);
        if (g > 0x7fffffff) throw new DecodeError('trie record: reference generation out of range');
        id = this.ref(b, p + 4, g);
        made.push(id);
        r.pos += 36;
        r.refs++;
        return id;
      }
      case R_LEAF: {
        need(b, r, 36);
        const p = r.pos;
        const len = ((b[p + 32]! << 24) | (b[p + 33]! << 16) | (b[p + 34]! << 8) | b[p + 35]!) >>> 0;
        if (len > MAX_VALUE_BYTES) throw new DecodeError(`trie record: value of ${len} bytes exceeds ${MAX_VALUE_BYTES}`);
        need(b, r, 36 + len);
        id = this.alloc(LEAF);
        made.push(id);
        // key || value without the length field in between
        const o = this.allocBytes(id, KEY_BYTES + len);
        const pool = this.pool;
        for (let i = 0; i < 32; i++) pool[o + i] = b[p + i]!;
        if (len <= 64) for (let i = 0; i < len; i++) pool[o + 32 + i] = b[p + 36 + i]!;
        else pool.set(b.subarray(p + 36, p + 36 + len), o + 32);
        r.pos += 36 + len;
        break;
      }
      case R_BRANCH: {
        id = this.alloc(BRANCH);
        made.push(id);
        let count = 0;
        for (let i = 0; i < this.arity; i++) {
          const c = this.readNode(b, r, depth + 1, made);
          this.setChild(id, i, c);
          if (c !== NIL) count++;
        }
        if (count < 2) throw new DecodeError('trie record: branch with fewer than two children');
        break;
      }
      case R_EXT: {
        need(b, r, 1);
        const n = b[r.pos++]!;
        if (n === 0) throw new DecodeError('trie record: empty extension path');
        need(b, r, packedLength(n));
        id = this.alloc(EXT);
        made.push(id);
        const o = this.allocBytes(id, n);
        const pool = this.pool;
        const s = r.pos;
        for (let j = 0; j < n; j++) {
          const v = (b[s + (j >> 2)]! >> (6 - 2 * (j & 3))) & 3;
          if (v >= this.arity) throw new DecodeError('trie record: bad extension path');
          pool[o + j] = v;
        }
        const rest = n & 3;
        if (rest !== 0 && (b[s + (n >> 2)]! & (0xff >> (2 * rest))) !== 0) throw new DecodeError('trie record: bad extension path');
        r.pos += packedLength(n);
        const c = this.readNode(b, r, depth + 1, made);
        if (c === NIL || this.kind[c] === LEAF || this.kind[c] === EXT) throw new DecodeError('trie record: extension child must be a branch');
        this.c0[id] = c;
        break;
      }
      default:
        throw new DecodeError(`trie record: unknown node tag ${tag}`);
    }
    this.flags[id] = 0; // clean, hash not computed yet
    this.size[id] = r.pos - start; // its inline encoding, reused when a later commit rewrites the parent
    return id;
  }

  /** Reserves n bytes for node `id` (which has none yet); returns their offset. */
  private allocBytes(id: number, n: number): number {
    const o = this.allocData(n);
    this.off[id] = o;
    this.len[id] = n;
    return o;
  }
}

function need(b: Uint8Array, r: { pos: number }, k: number): void {
  if (r.pos + k > b.length) throw new DecodeError(`trie record: truncated at offset ${r.pos}`);
}
