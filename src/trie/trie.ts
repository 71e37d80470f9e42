// The ternary Merkle trie accumulator: a path-compressed radix-3 Merkle trie over 32-byte keys.
// Nodes live in memory as mutable objects with cached hashes; writes invalidate the hashes on their
// paths, and root()/stageCommit() hash each dirty node once. On a fully loaded trie, put/delete only
// record the write and the next root()/stageCommit()/prove() applies all of them in one pass
// (batch.ts). Nodes not in memory are loaded lazily from a content-addressed NodeStore; while any is
// unloaded, writes walk their path at once. Every async method does its I/O first and then its
// mutation in one synchronous step, so concurrent calls cannot interleave inside a mutation.
import { bytesEqual, toHex } from '../core/bytes.js';
import { KeyPath, pathLength, KEY_BYTES } from './digits.js';
import { EMPTY_HASH, Scratch, tagsFor, type Tags } from './hash.js';
import {
  BRANCH, EXT, LEAF, REF, MAX_VALUE_BYTES, TNode, branchNode, childAt, copyBytes, decodeRecord, extNode, kvEquals, kvKeyEquals, leafNode,
  makeKV, nodeHash, refNode, setChild, writeNode,
} from './node.js';
import type { ProofEnd, ProofStep, TrieProof } from './proof.js';
import { BatchApplier } from './batch.js';
import { isWritable, type NodeEntry, type NodeStore } from './store.js';

/** Root of the empty trie (the fixed empty value, 32 zero bytes). */
export const EMPTY_ROOT: Uint8Array = EMPTY_HASH;

export interface TrieOptions {
  /** 3 for the protocol trie; 2 only to compare in the benchmark. */
  arity?: number;
  /**
   * A dirty node whose inline encoding would exceed this many bytes (default 256) gets its own store
   * record; smaller subtrees are stored inline in their parent's record. Larger = fewer LevelDB
   * entries but more clean (cold) siblings re-encoded per commit; 0 = one record per node.
   */
  recordBytes?: number;
}

export class TrieReadOnlyError extends Error {
  override name = 'TrieReadOnlyError';
}

export class TrieMissingNodeError extends Error {
  override name = 'TrieMissingNodeError';
}

interface Staged {
  nodes: TNode[];
  hashes: Uint8Array[];
  records: TNode[];
}

export class TernaryTrie {
  readonly store: NodeStore;
  readonly arity: number;
  readonly readOnly: boolean;
  private readonly tags: Tags;
  private readonly L: number;
  private readonly recordBytes: number;
  private readonly scratch = new Scratch();
  private rootNode: TNode | null;
  private staged: Staged | null = null;
  // Reused by the synchronous walkers (they never await, so no two use them at once).
  private readonly stack: TNode[] = [];
  private readonly kp: KeyPath;
  private readonly kp2: KeyPath;
  private readonly slots: number[] = [];
  private pendParent: TNode | null = null;
  private pendSlot = 0;
  /** Writes recorded but not yet applied (only while no node is unloaded; see put()). */
  private readonly pending = new Map<string, Uint8Array | null>(); // key -> key || value, or null = delete
  /** Number of REF (not yet loaded) nodes in the tree. */
  private unloaded = 0;
  private readonly applier: BatchApplier;

  private constructor(store: NodeStore, root: Uint8Array | undefined, readOnly: boolean, opts: TrieOptions) {
    this.store = store;
    this.arity = opts.arity ?? 3;
    if (this.arity !== 2 && this.arity !== 3) throw new RangeError('trie: arity must be 2 or 3');
    this.readOnly = readOnly;
    this.tags = tagsFor(this.arity);
    this.L = pathLength(this.arity);
    this.recordBytes = opts.recordBytes ?? 256;
    this.kp = new KeyPath(this.arity);
    this.kp2 = new KeyPath(this.arity);
    this.applier = new BatchApplier(this.arity);
    if (root !== undefined && root.length !== 32) throw new RangeError('trie: root must be 32 bytes');
    this.rootNode = root === undefined || bytesEqual(root, EMPTY_ROOT) ? null : refNode(copy(root));
    this.unloaded = this.rootNode === null ? 0 : 1;
  }

  /** A writable trie at a committed root (undefined or EMPTY_ROOT = empty). Loads the root node. */
  static async open(store: NodeStore, root?: Uint8Array, opts: TrieOptions = {}): Promise<TernaryTrie> {
    const t = new TernaryTrie(store, root, false, opts);
    await t.loadRoot();
    return t;
  }

  /** A read-only view of any committed root (an immutable snapshot: records are never deleted). */
  static async at(store: NodeStore, root: Uint8Array, opts: TrieOptions = {}): Promise<TernaryTrie> {
    const t = new TernaryTrie(store, root, true, opts);
    await t.loadRoot();
    return t;
  }

  private async loadRoot(): Promise<void> {
    const r = this.rootNode;
    if (r !== null && r.kind === REF) await this.resolve(r, null, 0);
  }

  /** Loads `ref` and, if its parent still points at it, swaps it in (a no-op for the hashes). */
  private async resolve(ref: TNode, parent: TNode | null, slot: number): Promise<void> {
    const bytes = await this.store.get(ref.hash!);
    if (bytes === undefined) throw new TrieMissingNodeError(`trie: node ${toHex(ref.hash!)} not in store`);
    const stats = { refs: 0 };
    const n = decodeRecord(bytes, ref.hash!, this.arity, stats);
    if (parent === null ? this.rootNode === ref : childAt(parent, slot) === ref) {
      if (parent === null) this.rootNode = n;
      else setChild(parent, slot, n);
      this.unloaded += stats.refs - 1;
    }
  }

  /**
   * Loads every node (e.g. after reopening a large trie), so that writes take the fast path: while
   * any node is unloaded, put/delete must walk (and load) their path at once.
   */
  async loadAll(): Promise<void> {
    for (;;) {
      const refs: Array<[TNode, TNode | null, number]> = [];
      const walk = (n: TNode | null, parent: TNode | null, slot: number): void => {
        if (n === null) return;
        if (n.kind === REF) refs.push([n, parent, slot]);
        else if (n.kind === BRANCH || n.kind === EXT) for (let i = 0; i < this.arity; i++) walk(childAt(n, i), n, i);
      };
      walk(this.rootNode, null, 0);
      if (refs.length === 0) return;
      for (let i = 0; i < refs.length; i += 64) {
        await Promise.all(refs.slice(i, i + 64).map(([r, p, s]) => this.resolve(r, p, s)));
      }
    }
  }

  /** Applies the recorded writes (synchronous: they are only recorded while nothing is unloaded). */
  private flush(): void {
    if (this.pending.size === 0) return;
    const keys: Uint8Array[] = [];
    const kvs: Array<Uint8Array | null> = [];
    for (const [s, kv] of this.pending) {
      keys.push(kv === null ? keyFromString(s) : kv); // readers of a key only look at its first 32 bytes
      kvs.push(kv);
    }
    this.pending.clear();
    this.rootNode = this.applier.apply(this.rootNode, keys, kvs);
  }

  private checkKey(key: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw new RangeError(`trie: key must be ${KEY_BYTES} bytes`);
  }

  private checkWritable(): void {
    if (this.readOnly) throw new TrieReadOnlyError('trie: this view of a committed root is read-only');
  }

  // ---------- get ----------

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkKey(key);
    if (this.pending.size > 0) {
      const w = this.pending.get(keyString(key));
      if (w !== undefined) return w === null ? undefined : copyBytes(w, 32);
    }
    for (;;) {
      const r = this.getSync(this.kp.load(key), key);
      if (r !== null && r.kind === REF) {
        await this.resolve(r, this.pendParent, this.pendSlot);
        continue;
      }
      return r === null ? undefined : copyBytes(r.kv!, 32);
    }
  }

  /** The leaf of `key`, null if absent, or a REF node to load first. */
  private getSync(kp: KeyPath, key: Uint8Array): TNode | null {
    const d = kp.d;
    let n = this.rootNode;
    let parent: TNode | null = null;
    let slot = 0;
    let depth = 0;
    while (n !== null) {
      const k = n.kind;
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        parent = n;
        slot = d[depth++]!;
        n = slot === 0 ? n.c0 : slot === 1 ? n.c1 : n.c2;
      } else if (k === LEAF) {
        return kvKeyEquals(n.kv!, key) ? n : null;
      } else if (k === EXT) {
        const p = n.path!;
        if (depth + p.length > kp.n) need(kp, depth + p.length);
        for (let j = 0; j < p.length; j++) if (p[j] !== d[depth + j]) return null;
        depth += p.length;
        parent = n;
        slot = 0;
        n = n.c0;
      } else {
        this.pendParent = parent;
        this.pendSlot = slot;
        return n;
      }
    }
    return null;
  }

  // ---------- put ----------

  /** Stages key -> value in memory (values up to 64 KiB; both are copied). */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.checkWritable();
    this.checkKey(key);
    if (!(value instanceof Uint8Array) || value.length > MAX_VALUE_BYTES) throw new RangeError(`trie: value must be at most ${MAX_VALUE_BYTES} bytes`);
    if (this.unloaded === 0) {
      // Fully loaded: record now, apply in one pass at root()/stageCommit()/prove().
      this.pending.set(keyString(key), makeKV(key, value));
      return;
    }
    for (;;) {
      const r = this.putSync(this.kp.load(key), key, value);
      if (r === null) return;
      await this.resolve(r, this.pendParent, this.pendSlot);
    }
  }

  private putSync(kp: KeyPath, key: Uint8Array, value: Uint8Array): TNode | null {
    const d = kp.d;
    const stack = this.stack;
    let sp = 0;
    let parent: TNode | null = null;
    let slot = 0;
    let n = this.rootNode;
    let depth = 0;
    let repl: TNode;
    for (;;) {
      if (n === null) {
        repl = leafNode(makeKV(key, value));
        break;
      }
      const k = n.kind;
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        stack[sp++] = n;
        parent = n;
        slot = d[depth++]!;
        n = slot === 0 ? n.c0 : slot === 1 ? n.c1 : n.c2;
      } else if (k === LEAF) {
        if (kvKeyEquals(n.kv!, key)) {
          const kv = makeKV(key, value);
          if (kvEquals(kv, n.kv!)) return null;
          repl = leafNode(kv);
        } else repl = this.splitLeaf(n, depth, kp, key, value);
        break;
      } else if (k === EXT) {
        const p = n.path!;
        if (depth + p.length > kp.n) need(kp, depth + p.length);
        let m = 0;
        while (m < p.length && p[m] === d[depth + m]) m++;
        if (m === p.length) {
          stack[sp++] = n;
          parent = n;
          slot = 0;
          depth += m;
          n = n.c0;
        } else {
          repl = this.splitExt(n, m, depth, d, key, value);
          break;
        }
      } else {
        this.pendParent = parent;
        this.pendSlot = slot;
        return n;
      }
    }
    this.attach(parent, slot, repl);
    this.invalidate(sp);
    return null;
  }

  /** A new key meets another key's leaf at `depth`: a branch where their digits first differ. */
  private splitLeaf(leaf: TNode, depth: number, kp: KeyPath, key: Uint8Array, value: Uint8Array): TNode {
    const lp = this.kp2.load(leaf.kv!); // reads the first 32 bytes: the key
    const d = kp.d;
    const ld = lp.d;
    let j = depth;
    for (;;) {
      while (j < kp.n && j < lp.n && ld[j] === d[j]) j++;
      if (j < kp.n && j < lp.n) break;
      if (kp.n === kp.L && lp.n === lp.L) throw new Error('trie: distinct keys with equal digit paths'); // impossible
      kp.full();
      lp.full();
    }
    const b = branchNode();
    setChild(b, d[j]!, leafNode(makeKV(key, value)));
    setChild(b, ld[j]!, leaf);
    return j > depth ? extNode(d.slice(depth, j), b) : b;
  }

  /** A new key leaves extension `e` after `m` matching digits: a branch at that point. */
  private splitExt(e: TNode, m: number, depth: number, d: Uint8Array, key: Uint8Array, value: Uint8Array): TNode {
    const p = e.path!;
    const b = branchNode();
    setChild(b, p[m]!, m + 1 < p.length ? extNode(p.slice(m + 1), e.c0!) : e.c0);
    setChild(b, d[depth + m]!, leafNode(makeKV(key, value)));
    return m > 0 ? extNode(p.slice(0, m), b) : b;
  }

  private attach(parent: TNode | null, slot: number, n: TNode | null): void {
    if (parent === null) this.rootNode = n;
    else setChild(parent, slot, n);
  }

  /** Marks stack[0..sp) dirty, bottom-up, stopping where an earlier write already did. */
  private invalidate(sp: number): void {
    const stack = this.stack;
    for (let i = sp - 1; i >= 0; i--) {
      const a = stack[i]!;
      if (a.dirty && a.hash === null) break;
      a.dirty = true;
      a.hash = null;
    }
  }

  // ---------- delete ----------

  async delete(key: Uint8Array): Promise<void> {
    this.checkWritable();
    this.checkKey(key);
    if (this.unloaded === 0) {
      this.pending.set(keyString(key), null);
      return;
    }
    for (;;) {
      const r = this.deleteSync(this.kp.load(key), key);
      if (r === null) return;
      await this.resolve(r, this.pendParent, this.pendSlot);
    }
  }

  private deleteSync(kp: KeyPath, key: Uint8Array): TNode | null {
    const d = kp.d;
    const stack = this.stack;
    const slots = this.slots;
    let sp = 0;
    let n = this.rootNode;
    let depth = 0;
    for (;;) {
      if (n === null) return null;
      const k = n.kind;
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        const t = d[depth++]!;
        stack[sp] = n;
        slots[sp++] = t;
        n = childAt(n, t);
      } else if (k === EXT) {
        const p = n.path!;
        if (depth + p.length > kp.n) need(kp, depth + p.length);
        for (let j = 0; j < p.length; j++) if (p[j] !== d[depth + j]) return null;
        depth += p.length;
        stack[sp] = n;
        slots[sp++] = 0;
        n = n.c0;
      } else if (k === LEAF) {
        if (!kvKeyEquals(n.kv!, key)) return null;
        break;
      } else {
        this.pendParent = sp > 0 ? stack[sp - 1]! : null;
        this.pendSlot = sp > 0 ? slots[sp - 1]! : 0;
        return n;
      }
    }
    if (sp === 0) {
      this.rootNode = null;
      return null;
    }
    // The leaf's parent is a branch. If only one child would remain, the branch collapses into it.
    const b = stack[sp - 1]!;
    const gone = slots[sp - 1]!;
    let remaining = -1;
    let count = 0;
    for (let i = 0; i < this.arity; i++) {
      if (i !== gone && childAt(b, i) !== null) {
        count++;
        remaining = i;
      }
    }
    if (count >= 2) {
      setChild(b, gone, null);
      this.invalidate(sp);
      return null;
    }
    const c = childAt(b, remaining)!;
    if (c.kind === REF) {
      // Need the survivor's kind before restructuring; load it, then run again from the top.
      this.pendParent = b;
      this.pendSlot = remaining;
      return c;
    }
    let repl: TNode =
      c.kind === LEAF ? c : c.kind === BRANCH ? extNode(Uint8Array.of(remaining), c) : extNode(prepend(remaining, c.path!), c.c0!);
    let top = sp - 1; // index in stack of the node being replaced
    if (top > 0 && stack[top - 1]!.kind === EXT) {
      // An extension above merges with what replaces the branch.
      const e = stack[top - 1]!;
      repl = repl.kind === LEAF ? repl : extNode(concat(e.path!, repl.path!), repl.c0!);
      top--;
    }
    this.attach(top > 0 ? stack[top - 1]! : null, top > 0 ? slots[top - 1]! : 0, repl);
    this.invalidate(top);
    return null;
  }

  // ---------- hashing and commit ----------

  /** The current root; hashes the dirty nodes (each once), no I/O. */
  root(): Uint8Array {
    this.flush();
    return nodeHash(this.rootNode, this.tags, this.scratch).slice();
  }

  /**
   * Hashes and encodes everything new since the last commit, without writing: the caller puts
   * `nodes` (e.g. with LevelNodeStore.putNodes) and its own records in one atomic batch, then calls
   * markCommitted(). Until then, later stageCommit() calls include these nodes again.
   */
  stageCommit(): { root: Uint8Array; nodes: NodeEntry[] } {
    this.checkWritable();
    const root = this.root();
    const r = this.rootNode;
    const staged: Staged = { nodes: [], hashes: [], records: [] };
    this.staged = staged;
    if (r === null || r.kind === REF || (!r.dirty && r.rec)) return { root, nodes: [] };
    this.plan(r); // sets r.size
    r.asRecord = true;
    const records: TNode[] = [];
    collectRecords(r, records);
    if (!r.dirty) records.push(r); // a clean node that became the root needs its own record
    let total = 0;
    for (const n of records) total += n.size;
    const buf = new Uint8Array(total);
    const nodes: NodeEntry[] = new Array(records.length);
    const visit = (n: TNode): void => {
      if (n.dirty) {
        staged.nodes.push(n);
        staged.hashes.push(n.hash!);
      }
    };
    let off = 0;
    for (let i = 0; i < records.length; i++) {
      const n = records[i]!;
      const end = writeNode(n, this.arity, buf, off, visit);
      if (end - off !== n.size) throw new Error('trie: record size mismatch');
      nodes[i] = [n.hash!, buf.subarray(off, end)];
      off = end;
    }
    for (const n of records) n.asRecord = false;
    staged.records = records;
    return { root, nodes };
  }

  /** Decides, bottom-up over dirty nodes, which branches get their own record; returns inline sizes. */
  private plan(n: TNode): number {
    // A clean node's inline size is fixed while it stays clean (cached when written or decoded).
    if (!n.dirty) return n.kind === REF || n.rec ? 33 : n.size;
    let size: number;
    if (n.kind === LEAF) size = 5 + n.kv!.length;
    else if (n.kind === EXT) size = 2 + ((n.path!.length + 3) >> 2) + this.plan(n.c0!);
    else {
      size = 1;
      for (let i = 0; i < this.arity; i++) {
        const c = childAt(n, i);
        size += c === null ? 1 : this.plan(c);
      }
    }
    n.size = size;
    if (size > this.recordBytes) {
      n.asRecord = true;
      return 33;
    }
    return size;
  }

  /** After the caller's batch with the staged nodes succeeded. */
  markCommitted(): void {
    const s = this.staged;
    if (s === null) return;
    this.staged = null;
    for (let i = 0; i < s.nodes.length; i++) {
      const n = s.nodes[i]!;
      if (n.hash === s.hashes[i]) {
        n.dirty = false;
        n.rec = false; // written inline, unless it is one of the records below
      }
    }
    for (const n of s.records) if (!n.dirty) n.rec = true;
  }

  /** stageCommit + one batch write to the trie's own store + markCommitted. Returns the root. */
  async commit(): Promise<Uint8Array> {
    const { root, nodes } = this.stageCommit();
    const store = this.store;
    if (!isWritable(store)) throw new Error('trie: store cannot write; use stageCommit() with your own batch');
    if (nodes.length > 0) await store.writeNodes(nodes);
    this.markCommitted();
    return root;
  }

  // ---------- proofs ----------

  /** An inclusion (key present) or non-inclusion (absent) proof against root(). */
  async prove(key: Uint8Array): Promise<TrieProof> {
    this.checkKey(key);
    for (;;) {
      this.root();
      const r = this.proveSync(this.kp.load(key), key);
      if ('steps' in r) return r;
      await this.resolve(r, this.pendParent, this.pendSlot);
    }
  }

  private proveSync(kp: KeyPath, key: Uint8Array): TrieProof | TNode {
    const d = kp.d;
    const steps: ProofStep[] = [];
    let n = this.rootNode;
    let parent: TNode | null = null;
    let slot = 0;
    let depth = 0;
    let end: ProofEnd;
    for (;;) {
      if (n === null) {
        end = { kind: 'empty' };
        break;
      }
      const k = n.kind;
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        const t = d[depth++]!;
        const siblings: Uint8Array[] = [];
        for (let i = 0; i < this.arity; i++) if (i !== t) siblings.push(copy(nodeHash(childAt(n, i), this.tags, this.scratch)));
        steps.push({ kind: 'branch', siblings });
        parent = n;
        slot = t;
        n = childAt(n, t);
      } else if (k === EXT) {
        const p = n.path!;
        if (depth + p.length > kp.n) need(kp, depth + p.length);
        let m = 0;
        while (m < p.length && p[m] === d[depth + m]) m++;
        if (m < p.length) {
          end = { kind: 'ext-diverge', path: p.slice(), child: copy(nodeHash(n.c0, this.tags, this.scratch)) };
          break;
        }
        steps.push({ kind: 'ext', path: p.slice() });
        depth += m;
        parent = n;
        slot = 0;
        n = n.c0;
      } else if (k === LEAF) {
        end = kvKeyEquals(n.kv!, key) ? { kind: 'leaf' } : { kind: 'other-leaf', key: copyBytes(n.kv!, 0, 32), value: copyBytes(n.kv!, 32) };
        break;
      } else {
        this.pendParent = parent;
        this.pendSlot = slot;
        return n;
      }
    }
    return { steps, end };
  }

  // ---------- memory ----------

  /**
   * Drops clean, separately stored subtrees below `depth` (in nodes from the root) from memory; they
   * reload on demand. The loaded tree is the node cache: without this it grows with what was read.
   */
  unload(depth: number): void {
    this.flush();
    const walk = (n: TNode, level: number): void => {
      if (n.kind !== BRANCH && n.kind !== EXT) return;
      for (let i = 0; i < (n.kind === BRANCH ? this.arity : 1); i++) {
        const c = childAt(n, i);
        if (c === null) continue;
        if (level + 1 >= depth && !c.dirty && c.rec && c.kind !== REF) setChild(n, i, refNode(c.hash!));
        else walk(c, level + 1);
      }
    };
    if (this.rootNode !== null) walk(this.rootNode, 0);
    this.unloaded = countRefs(this.rootNode, this.arity);
  }
}

/** Dirty record roots under `n` (post-order), `n` included if it is one. */
function collectRecords(n: TNode, out: TNode[]): void {
  if (!n.dirty) return;
  if (n.kind === BRANCH || n.kind === EXT) {
    if (n.c0 !== null) collectRecords(n.c0, out);
    if (n.c1 !== null) collectRecords(n.c1, out);
    if (n.c2 !== null) collectRecords(n.c2, out);
  }
  if (n.asRecord) out.push(n);
}

function countRefs(n: TNode | null, arity: number): number {
  if (n === null) return 0;
  if (n.kind === REF) return 1;
  if (n.kind === LEAF) return 0;
  let c = 0;
  for (let i = 0; i < (n.kind === BRANCH ? arity : 1); i++) c += countRefs(childAt(n, i), arity);
  return c;
}

function keyFromString(s: string): Uint8Array {
  const k = new Uint8Array(32);
  for (let i = 0; i < 32; i++) k[i] = s.charCodeAt(i);
  return k;
}

/** A Map key for a 32-byte key. */
function keyString(k: Uint8Array): string {
  // One char per byte; spelled out because it is several times faster than Buffer/TextDecoder here.
  return String.fromCharCode(
    k[0]!, k[1]!, k[2]!, k[3]!, k[4]!, k[5]!, k[6]!, k[7]!, k[8]!, k[9]!, k[10]!, k[11]!, k[12]!, k[13]!, k[14]!, k[15]!,
    k[16]!, k[17]!, k[18]!, k[19]!, k[20]!, k[21]!, k[22]!, k[23]!, k[24]!, k[25]!, k[26]!, k[27]!, k[28]!, k[29]!, k[30]!, k[31]!,
  );
}

/** Makes kp valid up to `upto` digits; a path longer than the key's is a corrupt store. */
function need(kp: KeyPath, upto: number): void {
  kp.full();
  if (upto > kp.L) throw new Error('trie: node path longer than a key (corrupt store)');
}

/** A private copy (Buffer.prototype.slice would share memory with the caller's buffer). */
function copy(b: Uint8Array): Uint8Array {
  return copyBytes(b);
}

function prepend(d: number, p: Uint8Array): Uint8Array {
  const out = new Uint8Array(p.length + 1);
  out[0] = d;
  out.set(p, 1);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
