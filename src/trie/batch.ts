// Applying staged writes in one pass. put()/delete() on a fully loaded trie only record the write;
// root()/stageCommit()/prove() apply all recorded writes together, partitioning them by digit at each
// level (an in-place MSD radix pass) so every touched node is visited once per batch instead of once
// per write. The result is the same canonical trie as applying the writes one by one.
import { trits, pathLength } from './digits.js';
import { BRANCH, EXT, LEAF, REF, TNode, branchNode, childAt, extNode, kvEquals, kvKeyEquals, leafNode, setChild } from './node.js';

export class Item {
  /** The key in its first 32 bytes (may be the whole key || value array). */
  key: Uint8Array;
  /** The leaf's key || value; null = delete. */
  kv: Uint8Array | null;
  /** Digit path; d[0 .. n) valid (room for 184). */
  d: Uint8Array;
  n = 0;
  /** The existing leaf this item stands for (when merging with a leaf already in the trie). */
  node: TNode | null = null;

  constructor(key: Uint8Array, kv: Uint8Array | null, d: Uint8Array) {
    this.key = key;
    this.kv = kv;
    this.d = d;
  }
}

export class BatchApplier {
  private readonly arity: number;
  private readonly L: number;
  private items: Item[] = [];

  constructor(arity: number) {
    this.arity = arity;
    this.L = pathLength(arity);
  }

  /** Applies writes (distinct keys; kvs[i] = key || value, or null = delete) to `root`; returns the new root. */
  apply(root: TNode | null, keys: Uint8Array[], kvs: Array<Uint8Array | null>): TNode | null {
    const n = keys.length;
    if (n === 0) return root;
    const width = this.arity === 2 ? 256 : 184;
    const D = new Uint8Array(n * width);
    const items: Item[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const it = new Item(keys[i]!, kvs[i]!, D.subarray(i * width, (i + 1) * width));
      this.fill(it, false);
      items[i] = it;
    }
    this.items = items;
    try {
      return this.node(root, 0, 0, n);
    } finally {
      this.items = [];
    }
  }

  private fill(it: Item, full: boolean): void {
    if (this.arity === 2) {
      const k = it.key;
      for (let i = 0; i < 256; i++) it.d[i] = (k[31 - (i >> 3)]! >> (i & 7)) & 1;
      it.n = 256;
    } else if (full) {
      trits(it.key, it.d, 8);
      it.n = 162;
    } else {
      trits(it.key, it.d, 1);
      it.n = 23;
    }
  }

  private dig(it: Item, j: number): number {
    if (j >= it.n) {
      if (j >= this.L) throw new Error('trie: path longer than a key (corrupt trie)');
      this.fill(it, true);
    }
    return it.d[j]!;
  }

  private node(n: TNode | null, depth: number, lo: number, hi: number): TNode | null {
    if (n === null || n.kind === LEAF) return this.build(depth, lo, hi, n);
    if (n.kind === BRANCH) return this.branch(n, depth, lo, hi);
    if (n.kind === EXT) return this.ext(n, depth, lo, hi);
    throw new Error('trie: batch apply reached an unloaded node');
  }

  private branch(n: TNode, depth: number, lo: number, hi: number): TNode | null {
    const items = this.items;
    // Three-way partition of items[lo, hi) by the digit at `depth`.
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i < gt) {
      const t = this.dig(items[i]!, depth);
      if (t === 0) {
        const x = items[lt]!;
        items[lt++] = items[i]!;
        items[i++] = x;
      } else if (t === 2) {
        const x = items[--gt]!;
        items[gt] = items[i]!;
        items[i] = x;
      } else i++;
    }
    let changed = false;
    if (lt > lo) changed = this.child(n, 0, depth, lo, lt) || changed;
    if (gt > lt) changed = this.child(n, 1, depth, lt, gt) || changed;
    if (hi > gt) changed = this.child(n, 2, depth, gt, hi) || changed;
    let count = 0;
    let last = -1;
    for (let s = 0; s < this.arity; s++) {
      if (childAt(n, s) !== null) {
        count++;
        last = s;
      }
    }
    if (count >= 2) {
      if (changed) {
        n.dirty = true;
        n.hash = null;
      }
      return n;
    }
    if (count === 0) return null;
    // One child left: the branch collapses into it.
    const c = childAt(n, last)!;
    if (c.kind === LEAF) return c;
    if (c.kind === BRANCH) return extNode(Uint8Array.of(last), c);
    if (c.kind === EXT) {
      const p = new Uint8Array(c.path!.length + 1);
      p[0] = last;
      p.set(c.path!, 1);
      return extNode(p, c.c0!);
    }
    throw new Error('trie: batch apply reached an unloaded node');
  }

  /** Applies items[lo, hi) to child `slot` of `n`; true if that child changed. */
  private child(n: TNode, slot: number, depth: number, lo: number, hi: number): boolean {
    const old = childAt(n, slot);
    const r = this.node(old, depth + 1, lo, hi);
    if (r !== old) {
      setChild(n, slot, r);
      return true;
    }
    return r !== null && r.dirty && r.hash === null;
  }

  private ext(n: TNode, depth: number, lo: number, hi: number): TNode | null {
    const p = n.path!;
    const items = this.items;
    let m = p.length;
    for (let i = lo; i < hi && m > 0; i++) {
      const it = items[i]!;
      let j = 0;
      while (j < m && this.dig(it, depth + j) === p[j]) j++;
      m = j;
    }
    if (m === p.length) {
      const old = n.c0!;
      const r = this.node(old, depth + m, lo, hi);
      if (r === old) {
        if (r.dirty && r.hash === null) {
          n.dirty = true;
          n.hash = null;
        }
        return n;
      }
      return wrap(p, r);
    }
    // Some write leaves the extension after m digits: a branch there, then apply as usual.
    const b = branchNode();
    setChild(b, p[m]!, m + 1 < p.length ? extNode(p.slice(m + 1), n.c0!) : n.c0);
    const r = this.branch(b, depth + m, lo, hi);
    return m > 0 ? wrap(p.slice(0, m), r) : r;
  }

  /** Writes items[lo, hi) into an empty slot or a slot holding one leaf. */
  private build(depth: number, lo: number, hi: number, leaf: TNode | null): TNode | null {
    const items = this.items;
    const live: Item[] = [];
    let keep = leaf !== null;
    for (let i = lo; i < hi; i++) {
      const it = items[i]!;
      if (leaf !== null && kvKeyEquals(leaf.kv!, it.key)) {
        keep = false;
        if (it.kv === null) continue;
        if (kvEquals(it.kv, leaf.kv!)) {
          const same = new Item(it.key, leaf.kv, it.d);
          same.n = it.n;
          same.node = leaf;
          live.push(same);
          continue;
        }
      }
      if (it.kv !== null) live.push(it);
    }
    if (keep) {
      const ex = new Item(leaf!.kv!, leaf!.kv, new Uint8Array(this.arity === 2 ? 256 : 184)); // key = first 32 bytes
      ex.node = leaf;
      if (live.length > 0) this.fill(ex, false);
      live.push(ex);
    }
    if (live.length === 0) return null;
    if (live.length === 1) return leafOf(live[0]!);
    return this.many(depth, live);
  }

  /** A canonical subtree holding `live` (2+ distinct keys) at `depth`. */
  private many(depth: number, live: Item[]): TNode {
    const first = live[0]!;
    let j = depth;
    for (;;) {
      const t = this.dig(first, j);
      let same = true;
      for (let i = 1; i < live.length; i++) {
        if (this.dig(live[i]!, j) !== t) {
          same = false;
          break;
        }
      }
      if (!same) break;
      j++;
    }
    const buckets: Item[][] = [[], [], []];
    for (const it of live) buckets[this.dig(it, j)]!.push(it);
    const b = branchNode();
    for (let s = 0; s < this.arity; s++) {
      const bk = buckets[s]!;
      if (bk.length === 1) setChild(b, s, leafOf(bk[0]!));
      else if (bk.length > 1) setChild(b, s, this.many(j + 1, bk));
    }
    return j > depth ? extNode(first.d.slice(depth, j), b) : b;
  }
}

function leafOf(it: Item): TNode {
  return it.node ?? leafNode(it.kv!);
}

/** ext(p) over `r`, in canonical form. */
function wrap(p: Uint8Array, r: TNode | null): TNode | null {
  if (r === null || r.kind === LEAF) return r;
  if (r.kind === BRANCH) return extNode(p, r);
  if (r.kind === EXT) {
    const q = new Uint8Array(p.length + r.path!.length);
    q.set(p, 0);
    q.set(r.path!, p.length);
    return extNode(q, r.c0!);
  }
  if (r.kind === REF) throw new Error('trie: batch apply reached an unloaded node');
  return r;
}
