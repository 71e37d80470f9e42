// Applying staged writes in one pass over the node arena (arena.ts). put()/delete() on a fully
// loaded trie only record the write (pending.ts); root()/stageCommit()/prove() apply all recorded
// writes together, partitioning them by digit at each level (an in-place MSD radix pass over item
// indices) so every touched node is visited once per batch. An update of an existing key rewrites its
// leaf in place (same slot, new bytes, new version); the result is the same canonical trie as
// applying the writes one by one.
import { trits, pathLength } from './digits.js';
import { Arena, BRANCH, EXT, LEAF, NIL, F_DIRTY, F_HASHED } from './arena.js';
import type { PendingWrites } from './pending.js';

/** Digits per item computed up front (one base-3 division pass): enough for nearly every walk. */
const FIRST = 23;

export class ArenaBatch {
  private readonly a: Arena;
  private readonly arity: number;
  private readonly L: number;
  /** Digit row width: room for 8 passes of 23 trits, or 256 bits. */
  private readonly W: number;
  // Item i < n is pending write i (value, or delete, in pw); items from n on are existing leaves
  // that a build() had to re-place. Per item: its key at K[32 * i], its digits D[i * W + j] for
  // j < nd[i], and the existing leaf it stands for (or NIL).
  private pw: PendingWrites | null = null;
  private n = 0;
  private K = new Uint8Array(0);
  /** Digits past the first FIRST of items that needed them (rare): item i's digit j at D[i * W + j]. */
  private D = new Uint8Array(0);
  /**
   * The first FIRST digits of every item, level-major: item i's digit j at Dl[j * cap + i]. The
   * partition at depth j reads digit j of items in permuted order; level-major, those reads stay in
   * one array of `cap` bytes instead of striding over W bytes per item (a cache miss each).
   */
  private Dl = new Uint8Array(0);
  private cap = 0;
  private readonly tmp = new Uint8Array(256);
  /** Item i has digits [0, nd[i]) valid: FIRST (Dl only) or all (D too). */
  private nd = new Uint8Array(0);
  private node = new Int32Array(0);
  private perm = new Int32Array(0);
  private count = 0;
  /**
   * Nodes replaced during this apply, freed only at its end: a freed slot reused within the same pass
   * would make a new node look like the old one to the identity checks in child() and ext().
   */
  private dead: number[] = [];
  /** many()'s items, partitioned in place level by level. */
  private work = new Int32Array(0);

  constructor(a: Arena) {
    this.a = a;
    this.arity = a.arity;
    this.L = pathLength(a.arity);
    this.W = a.arity === 2 ? 256 : 184;
  }

  /** Applies the pending writes (distinct keys) to `root`; returns the new root. */
  apply(root: number, pw: PendingWrites): number {
    const n = pw.count;
    if (n === 0) return root;
    // Each build() may add one existing leaf as an extra item: at most 2n items.
    if (this.node.length < 2 * n) {
      this.K = new Uint8Array(2 * n * 32);
      this.D = new Uint8Array(2 * n * this.W);
      this.Dl = new Uint8Array(2 * n * FIRST);
      this.cap = 2 * n;
      this.nd = new Uint8Array(2 * n);
      this.node = new Int32Array(2 * n);
      this.perm = new Int32Array(n);
    }
    this.K.set(pw.keys.subarray(0, 32 * n));
    this.pw = pw;
    this.n = n;
    this.count = n;
    for (let i = 0; i < n; i++) {
      this.fill(i, false);
      this.node[i] = NIL;
      this.perm[i] = i;
    }
    try {
      return this.visit(root, 0, 0, n);
    } finally {
      this.pw = null;
      for (const id of this.dead) this.a.free(id);
      this.dead = [];
    }
  }

  private fill(i: number, full: boolean): void {
    const k = this.K;
    const ko = 32 * i;
    const D = this.D;
    const o = i * this.W;
    if (this.arity === 2) {
      for (let j = 0; j < 256; j++) D[o + j] = (k[ko + 31 - (j >> 3)]! >> (j & 7)) & 1;
      this.nd[i] = 255; // all 256 valid (dig() never asks for j >= L = 256)
    } else if (full) {
      trits(k, D, 8, ko, o);
      this.nd[i] = 162;
    } else {
      const t = this.tmp;
      trits(k, t, 1, ko, 0);
      const Dl = this.Dl;
      const cap = this.cap;
      for (let j = 0; j < FIRST; j++) Dl[j * cap + i] = t[j]!;
      this.nd[i] = FIRST;
      return;
    }
    const Dl = this.Dl;
    const cap = this.cap;
    for (let j = 0; j < FIRST; j++) Dl[j * cap + i] = D[o + j]!;
  }

  /** Is item i a delete (or an existing leaf, which is never written anew)? */
  private isDel(i: number): boolean {
    return i >= this.n || this.pw!.vLen[i]! < 0;
  }

  private dig(i: number, j: number): number {
    if (j < FIRST) return this.Dl[j * this.cap + i]!;
    if (j >= this.nd[i]!) {
      if (j >= this.L) throw new Error('trie: path longer than a key (corrupt trie)');
      this.fill(i, true);
    }
    return this.D[i * this.W + j]!;
  }

  private visit(n: number, depth: number, lo: number, hi: number): number {
    if (n === NIL) return this.build(depth, lo, hi, NIL);
    const k = this.a.kind[n];
    if (k === LEAF) return this.build(depth, lo, hi, n);
    if (k === BRANCH) return this.branch(n, depth, lo, hi);
    if (k === EXT) return this.ext(n, depth, lo, hi);
    throw new Error('trie: batch apply reached an unloaded node');
  }

  private branch(n: number, depth: number, lo: number, hi: number): number {
    const a = this.a;
    const perm = this.perm;
    // Three-way partition of perm[lo, hi) by the digit at `depth`.
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i < gt) {
      const t = this.dig(perm[i]!, depth);
      if (t === 0) {
        const x = perm[lt]!;
        perm[lt++] = perm[i]!;
        perm[i++] = x;
      } else if (t === 2) {
        const x = perm[--gt]!;
        perm[gt] = perm[i]!;
        perm[i] = x;
      } else i++;
    }
    let changed = false;
    if (lt > lo) changed = this.child(n, 0, depth, lo, lt) || changed;
    if (gt > lt) changed = this.child(n, 1, depth, lt, gt) || changed;
    if (hi > gt) changed = this.child(n, 2, depth, gt, hi) || changed;
    let count = 0;
    let last = -1;
    for (let s = 0; s < this.arity; s++) {
      if (a.child(n, s) !== NIL) {
        count++;
        last = s;
      }
    }
    if (count >= 2) {
      if (changed) a.touch(n);
      return n;
    }
    if (count === 0) {
      this.drop(n);
      return NIL;
    }
    // One child left: the branch collapses into it.
    const c = a.child(n, last);
    this.drop(n);
    const ck = a.kind[c];
    if (ck === LEAF) return c;
    if (ck === BRANCH) return a.extFrom(last, NIL, 0, 0, NIL, c);
    if (ck === EXT) {
      const e = a.extFrom(last, c, 0, a.len[c]!, NIL, a.c0[c]!);
      this.drop(c);
      return e;
    }
    throw new Error('trie: batch apply reached an unloaded node');
  }

  /** Applies perm[lo, hi) to child `slot` of `n`; true if that child changed. */
  private child(n: number, slot: number, depth: number, lo: number, hi: number): boolean {
    const a = this.a;
    const old = a.child(n, slot);
    const r = this.visit(old, depth + 1, lo, hi);
    if (r !== old) {
      a.setChild(n, slot, r);
      return true;
    }
    return r !== NIL && (a.flags[r]! & (F_DIRTY | F_HASHED)) === F_DIRTY;
  }

  private ext(n: number, depth: number, lo: number, hi: number): number {
    const a = this.a;
    const plen = a.len[n]!;
    const perm = this.perm;
    let m = plen;
    for (let i = lo; i < hi && m > 0; i++) {
      const it = perm[i]!;
      let j = 0;
      // re-read pool/off each digit: dig() never allocates in the arena
      while (j < m && this.dig(it, depth + j) === a.pool[a.off[n]! + j]) j++;
      m = j;
    }
    if (m === plen) {
      const old = a.c0[n]!;
      const r = this.visit(old, depth + m, lo, hi);
      if (r === old) {
        if ((a.flags[r]! & (F_DIRTY | F_HASHED)) === F_DIRTY) a.touch(n);
        return n;
      }
      return this.wrap(n, 0, plen, r, true);
    }
    // Some write leaves the extension after m digits: a branch there, then apply as usual.
    const b = a.branch();
    const below = m + 1 < plen ? a.extFrom(-1, n, m + 1, plen, NIL, a.c0[n]!) : a.c0[n]!;
    a.setChild(b, a.pool[a.off[n]! + m]!, below);
    const r = this.branch(b, depth + m, lo, hi);
    return m > 0 ? this.wrap(n, 0, m, r, true) : (this.drop(n), r);
  }

  /**
   * ext(digits [from, to) of extension src) over `r`, in canonical form; frees src when `drop`.
   * (r is never src's own slot, so freeing src afterwards is safe.)
   */
  private wrap(src: number, from: number, to: number, r: number, drop: boolean): number {
    const a = this.a;
    let out: number;
    if (r === NIL) out = NIL;
    else {
      const k = a.kind[r];
      if (k === LEAF) out = r;
      else if (k === BRANCH) out = a.extFrom(-1, src, from, to, NIL, r);
      else if (k === EXT) {
        out = a.extFrom(-1, src, from, to, r, a.c0[r]!);
        this.drop(r);
      } else throw new Error('trie: batch apply reached an unloaded node');
    }
    if (drop) this.drop(src);
    return out;
  }

  /** Writes perm[lo, hi) into an empty slot or a slot holding one leaf. */
  private build(depth: number, lo: number, hi: number, leaf: number): number {
    const a = this.a;
    const perm = this.perm;
    const pw = this.pw!;
    const K = this.K;
    // The common update: one write to the key already there.
    if (hi - lo === 1 && leaf !== NIL) {
      const it = perm[lo]!;
      if (a.keyEqualsAt(leaf, K, 32 * it)) {
        const vl = pw.vLen[it]!;
        if (vl < 0) {
          this.drop(leaf);
          return NIL;
        }
        if (a.valueEqualsAt(leaf, pw.vals, pw.vOff[it]!, vl)) return leaf;
        a.setLeaf(leaf, K, 32 * it, pw.vals, pw.vOff[it]!, vl);
        a.touch(leaf);
        return leaf;
      }
    }
    const live: number[] = [];
    let keep = leaf !== NIL;
    let replaced = false;
    for (let i = lo; i < hi; i++) {
      const it = perm[i]!;
      const del = this.isDel(it);
      if (leaf !== NIL && a.keyEqualsAt(leaf, K, 32 * it)) {
        keep = false;
        if (del) {
          replaced = true;
          continue;
        }
        if (a.valueEqualsAt(leaf, pw.vals, pw.vOff[it]!, pw.vLen[it]!)) {
          this.node[it] = leaf;
          live.push(it);
          continue;
        }
        replaced = true;
      }
      if (!del) live.push(it);
    }
    if (keep) {
      // The existing leaf joins as an extra item (its key copied out of the pool).
      const ex = this.count++;
      const lo2 = a.off[leaf]!;
      for (let j = 0; j < 32; j++) K[32 * ex + j] = a.pool[lo2 + j]!;
      this.node[ex] = leaf;
      if (live.length > 0) this.fill(ex, false);
      live.push(ex);
    }
    if (replaced) this.drop(leaf);
    if (live.length === 0) return NIL;
    if (live.length === 1) return this.leafOf(live[0]!);
    return this.many(depth, live);
  }

  private drop(id: number): void {
    this.dead.push(id);
  }

  private leafOf(it: number): number {
    const n = this.node[it]!;
    if (n !== NIL) return n;
    const pw = this.pw!;
    return this.a.leafFrom(this.K, 32 * it, pw.vals, pw.vOff[it]!, pw.vLen[it]!);
  }

  /** A canonical subtree holding `live` (2+ distinct keys) at `depth`. */
  private many(depth: number, live: number[]): number {
    const k = live.length;
    if (this.work.length < k) this.work = new Int32Array(Math.max(k, 2 * this.work.length));
    const w = this.work;
    for (let i = 0; i < k; i++) w[i] = live[i]!;
    return this.manyIn(depth, 0, k);
  }

  /**
   * many() over work[lo, hi) (2+ distinct keys), partitioned in place by digit at each level (as
   * branch() does with perm): no array per bucket per level (for a fresh tx trie of n records that
   * was ~3n arrays, most of a seal's trie garbage).
   */
  private manyIn(depth: number, lo: number, hi: number): number {
    const a = this.a;
    const w = this.work;
    const first = w[lo]!;
    let j = depth;
    for (;;) {
      const t = this.dig(first, j);
      let same = true;
      for (let i = lo + 1; i < hi; i++) {
        if (this.dig(w[i]!, j) !== t) {
          same = false;
          break;
        }
      }
      if (!same) break;
      j++;
    }
    // Three-way partition of work[lo, hi) by the digit at j: 0s, then 1s, then 2s.
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i < gt) {
      const t = this.dig(w[i]!, j);
      if (t === 0) {
        const x = w[lt]!;
        w[lt++] = w[i]!;
        w[i++] = x;
      } else if (t === 2) {
        const x = w[--gt]!;
        w[gt] = w[i]!;
        w[i] = x;
      } else i++;
    }
    const b = a.branch();
    this.manyChild(b, 0, j, lo, lt);
    this.manyChild(b, 1, j, lt, gt);
    this.manyChild(b, 2, j, gt, hi);
    if (j === depth) return b;
    const t = this.tmp;
    for (let x = depth; x < j; x++) t[x - depth] = this.dig(first, x);
    return a.ext(t, 0, j - depth, b);
  }

  /** Child `slot` of the new branch `b` from work[lo, hi) (none, one leaf, or a subtree below digit j). */
  private manyChild(b: number, slot: number, j: number, lo: number, hi: number): void {
    if (hi - lo === 1) this.a.setChild(b, slot, this.leafOf(this.work[lo]!));
    else if (hi - lo > 1) this.a.setChild(b, slot, this.manyIn(j + 1, lo, hi));
  }
}
