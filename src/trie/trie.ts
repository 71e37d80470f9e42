// The ternary Merkle trie accumulator: a path-compressed radix-3 Merkle trie over 32-byte keys.
// Nodes live in a typed-array arena (arena.ts) with cached hashes; writes invalidate the hashes on
// their paths, and root()/stageCommit() hash each dirty node once. On a fully loaded trie, put/delete
// only record the write and the next root()/stageCommit()/prove() applies all of them in one pass
// (batch.ts). Nodes not in memory are REF slots (hash only), loaded lazily from a
// content-addressed NodeStore; while any is unloaded, writes walk their path at once. Every async
// method does its I/O first and then its mutation in one synchronous step, so concurrent calls cannot
// interleave inside a mutation.
import { bytesEqual, getU32, putU32, toHex } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import { KeyPath, pathLength, KEY_BYTES } from './digits.js';
import { EMPTY_HASH, tagsFor } from './hash.js';
import { MAX_VALUE_BYTES } from './record.js';
import { Arena, BRANCH, EXT, LEAF, REF, NIL, F_ASREC, F_DIRTY, F_HASHED, F_REC } from './arena.js';
import { ArenaBatch } from './batch.js';
import { PendingWrites } from './pending.js';
import { WriteJournal, forEachJournalEntry } from './journal.js';
import type { ProofEnd, ProofStep, TrieProof } from './proof.js';
import { isWritable, type NodeEntry, type NodeStore } from './store.js';

const RESOLVED: Promise<void> = Promise.resolve();

/** First byte of a root pointer record (`0x06 u32 gen`, stored under the root's hash alone). */
const ROOT_POINTER = 0x06;
/** Generations count seconds from 2026-01-01 (u31: until 2094), at least one more per commit. */
const GEN_EPOCH_MS = Date.UTC(2026, 0, 1);
let lastGen = 0;

/**
 * The generation of a new commit's records: increasing within a process and, across restarts, with
 * the clock. Record keys are gen || hash, so each commit's records take a fresh key range at the end
 * of LevelDB's key order; a generation that repeats or goes back only costs compaction work.
 */
function nextGen(): number {
  const now = Math.floor((Date.now() - GEN_EPOCH_MS) / 1000);
  lastGen = Math.min(0x7fffffff, Math.max(lastGen + 1, now));
  return lastGen;
}

/** The record stored under a committed root's hash alone: where its node record is (`0x06 u32 gen`). */
export function rootPointer(gen: number): Uint8Array {
  const p = new Uint8Array(5);
  p[0] = ROOT_POINTER;
  putU32(p, 1, gen);
  return p;
}

/**
 * The node record a store holds under `locator` (gen || hash; or a committed root's hash alone, its
 * pointer followed) and the generation it is stored under; undefined if absent or not a node
 * record (a journaled root). For serving records to a replica in state sync (docs/REPLICAS.md).
 */
export async function readNodeRecord(store: NodeStore, locator: Uint8Array): Promise<{ gen: number; bytes: Uint8Array } | undefined> {
  if (locator.length === 36) {
    const gen = getU32(locator, 0);
    const bytes = gen > 0x7fffffff ? undefined : await store.get(locator);
    return bytes === undefined ? undefined : { gen, bytes };
  }
  if (locator.length !== 32) return undefined;
  const p = await store.get(locator);
  if (p === undefined || p.length !== 5 || p[0] !== ROOT_POINTER) return undefined;
  const gen = getU32(p, 1);
  if (gen > 0x7fffffff) return undefined;
  const key = new Uint8Array(36);
  putU32(key, 0, gen);
  key.set(locator, 4);
  const bytes = await store.get(key);
  return bytes === undefined ? undefined : { gen, bytes };
}

/**
 * First byte of a journaled root's pointer (`0x07 u32 gen base(32)`, under the root's hash alone):
 * the root is `base` (a committed root) plus the writes of the journal stored at journalKey(gen, root).
 */
const JOURNAL_POINTER = 0x07;
/** Longest chain of journaled roots a reader follows (a longer or looping one is a corrupt store). */
const MAX_CHAIN = 1 << 16;
/** Above this many journaled writes to replay, a reader loads the whole base first (one pass). */
const REPLAY_LOAD_ALL = 4096;

function journalPointer(gen: number, base: Uint8Array): Uint8Array {
  const p = new Uint8Array(37);
  p[0] = JOURNAL_POINTER;
  putU32(p, 1, gen);
  p.set(base, 5);
  return p;
}

function isJournalPointer(b: Uint8Array | undefined): b is Uint8Array {
  return b !== undefined && b.length === 37 && b[0] === JOURNAL_POINTER && getU32(b, 1) <= 0x7fffffff;
}

/** gen || H_trie/journal(root): 36 bytes like a node record's key, never equal to one. */
function journalKey(gen: number, root: Uint8Array): Uint8Array {
  const k = new Uint8Array(36);
  putU32(k, 0, gen);
  k.set(taggedHash('trie/journal', root), 4);
  return k;
}

/** Root of the empty trie (the fixed empty value, 32 zero bytes). */
export const EMPTY_ROOT: Uint8Array = EMPTY_HASH;

export interface TrieOptions {
  /** 3 for the protocol trie; 2 only to compare in the benchmark. */
  arity?: number;
  /**
   * A dirty node whose inline encoding would exceed this many bytes gets its own store record;
   * smaller subtrees are stored inline in their parent's record. Larger = fewer LevelDB entries but
   * more clean (cold) siblings re-encoded per commit; 0 = one record per node. Default 256, or 1024
   * with journaled commits (a checkpoint rewrites most of the trie, so few siblings are clean).
   */
  recordBytes?: number;
  /**
   * Re-lay the node arena in depth-first order (Arena.relayout) once this many nodes were allocated
   * or leaves rewritten to a new size since the last time (a same-size rewrite stays in place), and
   * at least half the live node count (default 4096;
   * tests set it low to exercise the relayout).
   */
  relayoutMinNodes?: number;
  /**
   * Write every node only at every `checkpointEvery`-th commit (default 1: every commit); the
   * commits in between store the write journal instead (docs/PROTOCOL.md "Journaled commits"):
   * about 53 bytes per write instead of every dirty node, at the price of replaying up to
   * checkpointEvery - 1 journals to open such a root.
   */
  checkpointEvery?: number;
}

export class TrieReadOnlyError extends Error {
  override name = 'TrieReadOnlyError';
}

export class TrieMissingNodeError extends Error {
  override name = 'TrieMissingNodeError';
}

interface Staged {
  /** Dirty nodes written, with their versions then: markCommitted cleans those not changed since. */
  nodes: number[];
  vers: Int32Array;
  /** Record roots, with their versions. */
  records: number[];
  recVers: Int32Array;
  /** The root whose pointer record this stage writes, if any. */
  pointer: Uint8Array | null;
  /** The root this stage commits, and how: node records (a checkpoint) or the write journal. */
  root: Uint8Array;
  checkpoint: boolean;
  journaled: boolean;
  /** The journal entries this stage covers (dropped once it landed). */
  journalMark: { count: number; top: number } | null;
}

export class TernaryTrie {
  readonly store: NodeStore;
  readonly arity: number;
  readonly readOnly: boolean;
  private readonly L: number;
  private readonly recordBytes: number;
  private readonly relayoutMin: number;
  private readonly a: Arena;
  private rootNode: number;
  private staged: Staged | null = null;
  /** A root known to be addressable by its hash alone (a pointer or legacy record is stored). */
  private pointed: Uint8Array | null = null;
  /** The commit() whose write is in flight, if any (commits land in call order). */
  private committing: Promise<void> | null = null;
  // Reused by the synchronous walkers (they never await, so no two use them at once).
  private readonly stack: number[] = [];
  private readonly slots: number[] = [];
  private readonly kp: KeyPath;
  private readonly kp2: KeyPath;
  private pendParent = NIL;
  private pendSlot = 0;
  /** Writes recorded but not yet applied (only while no node is unloaded; see put()). */
  private readonly pending = new PendingWrites();
  /** Number of REF (not yet loaded) nodes in the tree. */
  private unloaded = 0;
  private readonly applier: ArenaBatch;
  private readonly checkpointEvery: number;
  /** Writes since the last landed commit, when commits may be journaled (null: every commit writes nodes). */
  private readonly journal: WriteJournal | null;
  /** The last root whose commit landed (or the root opened): a journaled commit's base. */
  private base: Uint8Array;
  /** Journaled commits landed since the last checkpoint. */
  private sinceCheckpoint = 0;
  /** The roots of the current chain (checkpoint and journaled roots), hex: never re-pointed. */
  private chainRoots = new Set<string>();

  private constructor(store: NodeStore, root: Uint8Array | undefined, readOnly: boolean, opts: TrieOptions) {
    this.store = store;
    this.arity = opts.arity ?? 3;
    if (this.arity !== 2 && this.arity !== 3) throw new RangeError('trie: arity must be 2 or 3');
    this.readOnly = readOnly;
    this.L = pathLength(this.arity);
    this.relayoutMin = opts.relayoutMinNodes ?? 4096;
    this.checkpointEvery = opts.checkpointEvery ?? 1;
    this.recordBytes = opts.recordBytes ?? (this.checkpointEvery > 1 ? 1024 : 256);
    if (!Number.isInteger(this.checkpointEvery) || this.checkpointEvery < 1 || this.checkpointEvery > 4096) {
      throw new RangeError('trie: checkpointEvery must be an integer from 1 to 4096');
    }
    this.journal = this.checkpointEvery > 1 && !readOnly ? new WriteJournal() : null;
    this.kp = new KeyPath(this.arity);
    this.kp2 = new KeyPath(this.arity);
    this.a = new Arena(this.arity, tagsFor(this.arity));
    this.applier = new ArenaBatch(this.a);
    if (root !== undefined && root.length !== 32) throw new RangeError('trie: root must be 32 bytes');
    this.rootNode = root === undefined || bytesEqual(root, EMPTY_ROOT) ? NIL : this.a.ref(root);
    this.unloaded = this.rootNode === NIL ? 0 : 1;
    this.base = root === undefined ? EMPTY_ROOT : root.slice();
    this.chainRoots.add(toHex(this.base));
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
    if (r === NIL || this.a.kind[r] !== REF) return;
    const h = this.a.hashCopy(r);
    const first = await this.store.get(h);
    if (isJournalPointer(first)) return this.replay(h, first);
    const got = await this.follow(h, -1, first);
    this.install(r, NIL, 0, h, got.bytes, got.gen);
    this.pointed = h;
  }

  /**
   * Opens a journaled root: follows the pointers back to the checkpoint (node records) the chain
   * starts from, loads it, applies the journals oldest first and checks that the result has the
   * root asked for. The replayed nodes stay unwritten (the journals hold them) until a checkpoint.
   */
  private async replay(root: Uint8Array, ptr: Uint8Array): Promise<void> {
    const chain: Array<{ root: Uint8Array; gen: number }> = [];
    const seen = new Set<string>();
    let h = root;
    let rec: Uint8Array | undefined = ptr;
    while (isJournalPointer(rec)) {
      const hex = toHex(h);
      if (seen.has(hex) || chain.length >= MAX_CHAIN) throw new Error(`trie: the journal chain of root ${toHex(root)} loops (corrupt store)`);
      seen.add(hex);
      chain.push({ root: h, gen: getU32(rec, 1) });
      h = rec.slice(5, 37);
      rec = bytesEqual(h, EMPTY_ROOT) ? undefined : await this.store.get(h);
    }
    const a = this.a;
    a.free(this.rootNode);
    if (bytesEqual(h, EMPTY_ROOT)) {
      this.rootNode = NIL;
      this.unloaded = 0;
    } else {
      this.rootNode = a.ref(h);
      this.unloaded = 1;
      const got = await this.follow(h, -1, rec);
      this.install(this.rootNode, NIL, 0, h, got.bytes, got.gen);
    }
    const journals: Uint8Array[] = [];
    let writes = 0;
    for (let i = chain.length - 1; i >= 0; i--) {
      const j = await this.store.get(journalKey(chain[i]!.gen, chain[i]!.root));
      if (j === undefined) throw new TrieMissingNodeError(`trie: journal of root ${toHex(chain[i]!.root)} not in store`);
      journals.push(j);
      if (j.length >= 4) writes += getU32(j, 0);
    }
    if (writes > REPLAY_LOAD_ALL && this.unloaded > 0) await this.loadAll();
    for (const j of journals) {
      const entries: Array<[Uint8Array, Uint8Array | null]> = [];
      forEachJournalEntry(j, (k, v) => {
        if (this.unloaded === 0) this.pending.set(k, v);
        else entries.push([k, v]);
      });
      for (const [k, v] of entries) await this.write(k, v, false);
    }
    const got = this.root();
    if (!bytesEqual(got, root)) throw new Error(`trie: replaying the journals of root ${toHex(root)} gave ${toHex(got)} (corrupt store)`);
    this.pointed = root;
    this.base = root.slice();
    this.sinceCheckpoint = chain.length;
    this.chainRoots = new Set([toHex(h), ...seen]);
  }

  /** Loads `ref` and, if its parent still points at it, swaps it in (a no-op for the hashes). */
  private async resolve(ref: number, parent: number, slot: number): Promise<void> {
    const h = this.a.hashCopy(ref);
    const got = await this.follow(h, this.a.gen[ref]!, await this.store.get(this.a.locator(ref)));
    this.install(ref, parent, slot, h, got.bytes, got.gen);
  }

  /**
   * A record fetched by the hash alone may be a root pointer (ROOT_POINTER u32 gen, written with
   * every committed root): then the node's record is under gen || hash.
   */
  private async follow(h: Uint8Array, gen: number, bytes: Uint8Array | undefined): Promise<{ bytes: Uint8Array | undefined; gen: number }> {
    if (bytes === undefined || bytes.length !== 5 || bytes[0] !== ROOT_POINTER) return { bytes, gen };
    const g = getU32(bytes, 1);
    if (g > 0x7fffffff) return { bytes: undefined, gen };
    const key = new Uint8Array(36); // the record's key: gen || hash
    putU32(key, 0, g);
    key.set(h, 4);
    return { bytes: await this.store.get(key), gen: g };
  }

  /** The synchronous half of resolve(): swaps in the record `bytes` of REF `ref` (hash h) if still in place. */
  private install(ref: number, parent: number, slot: number, h: Uint8Array, bytes: Uint8Array | undefined, gen: number): void {
    const a = this.a;
    if (bytes === undefined) throw new TrieMissingNodeError(`trie: node ${toHex(h)} not in store`);
    // Slots are reused, so "still there" also means: still a REF with this hash (then the swap is right).
    const pk = parent === NIL ? -1 : a.kind[parent];
    const cur = parent === NIL ? this.rootNode : pk === BRANCH || pk === EXT ? a.child(parent, slot) : NIL;
    if (cur !== ref || a.kind[ref] !== REF || !a.hashEquals(ref, h)) return;
    const stats = { refs: 0 };
    const n = a.decode(bytes, h, stats, gen);
    if (parent === NIL) this.rootNode = n;
    else a.setChild(parent, slot, n);
    a.free(ref);
    this.unloaded += stats.refs - 1;
  }

  /**
   * Loads every node (e.g. after reopening a large trie), so that writes take the fast path: while
   * any node is unloaded, put/delete must walk (and load) their path at once.
   */
  async loadAll(): Promise<void> {
    const a = this.a;
    for (;;) {
      const refs: number[] = []; // triples: ref, parent, slot
      const walk = (n: number, parent: number, slot: number): void => {
        if (n === NIL) return;
        const k = a.kind[n];
        if (k === REF) refs.push(n, parent, slot);
        else if (k === BRANCH) for (let i = 0; i < this.arity; i++) walk(a.child(n, i), n, i);
        else if (k === EXT) walk(a.c0[n]!, n, 0);
      };
      walk(this.rootNode, NIL, 0);
      if (refs.length === 0) return;
      // One multi-get per chunk where the store has it (LevelDB: one native call instead of one
      // promise per record; 2x faster at a million keys), else concurrent gets.
      const store = this.store;
      const CHUNK = 3 * 2048;
      for (let i = 0; i < refs.length; i += CHUNK) {
        const end = Math.min(refs.length, i + CHUNK);
        const hashes: Uint8Array[] = [];
        const locs: Uint8Array[] = [];
        const gens: number[] = [];
        for (let j = i; j < end; j += 3) {
          hashes.push(a.hashCopy(refs[j]!));
          locs.push(a.locator(refs[j]!));
          gens.push(a.gen[refs[j]!]!);
        }
        const got = store.getMany !== undefined ? await store.getMany(locs) : await Promise.all(locs.map((h) => store.get(h)));
        for (let k = 0; k < got.length; k++) {
          if (gens[k]! >= 0) continue;
          const f = await this.follow(hashes[k]!, -1, got[k]); // only a root is fetched by its hash alone
          got[k] = f.bytes;
          gens[k] = f.gen;
        }
        for (let j = i, k = 0; j < end; j += 3, k++) this.install(refs[j]!, refs[j + 1]!, refs[j + 2]!, hashes[k]!, got[k], gens[k]!);
      }
      if (this.unloaded === 0) this.maybeRelayout(true);
    }
  }

  /**
   * Every (key, value) of the trie at its current root, in key-path order (copies). Loads every
   * node first; staged writes that are not applied yet are not included, so only for a trie with
   * none (e.g. opened with `at`).
   */
  async entries(): Promise<[key: Uint8Array, value: Uint8Array][]> {
    if (this.pending.count !== 0) throw new Error('trie: entries() with writes pending');
    await this.loadAll();
    const a = this.a;
    const out: [Uint8Array, Uint8Array][] = [];
    const walk = (n: number): void => {
      if (n === NIL) return;
      const k = a.kind[n];
      if (k === LEAF) out.push([a.bytes(n, 0, KEY_BYTES), a.bytes(n, KEY_BYTES, a.len[n]!)]);
      else if (k === BRANCH) for (let i = 0; i < this.arity; i++) walk(a.child(n, i));
      else if (k === EXT) walk(a.c0[n]!);
      else throw new TrieMissingNodeError('trie: a node is still unloaded after loadAll');
    };
    walk(this.rootNode);
    return out;
  }

  /**
   * Re-lays the arena in depth-first order when enough of it changed (see TrieOptions) or when
   * `force`d. Only while fully loaded (no load in flight holds a node id across an await) and with
   * no staged commit (its node list would go stale).
   */
  private maybeRelayout(force: boolean): void {
    const a = this.a;
    if (this.unloaded !== 0 || this.staged !== null || this.rootNode === NIL || this.readOnly) return;
    if (!force && a.churn < Math.max(this.relayoutMin, a.live >> 1)) return;
    this.rootNode = a.relayout(this.rootNode);
  }

  /**
   * Empties this writable trie (every write and any staged commit forgotten; the store is not
   * touched) and keeps its memory (node arena, byte pool, batch buffers) for the next build: a
   * shard's per-epoch tx trie is built from nothing at every seal, and allocating those arrays
   * afresh each time cost more than building into them. Not for journaled tries.
   */
  clear(): void {
    this.checkWritable();
    if (this.journal !== null) throw new Error('trie: clear() is not for journaled tries');
    this.pending.clear();
    this.a.reset();
    this.rootNode = NIL;
    this.unloaded = 0;
    this.staged = null;
    this.pointed = null;
    this.base = EMPTY_ROOT;
    this.chainRoots = new Set([toHex(EMPTY_ROOT)]);
    this.sinceCheckpoint = 0;
  }

  /** Applies the recorded writes (synchronous: they are only recorded while nothing is unloaded). */
  private flush(): void {
    if (this.pending.count === 0) return;
    try {
      this.rootNode = this.applier.apply(this.rootNode, this.pending);
    } finally {
      this.pending.clear();
    }
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
    const w = this.pending.find(key);
    if (w >= 0) return this.pending.vLen[w]! < 0 ? undefined : this.pending.value(w);
    for (;;) {
      const r = this.getSync(this.kp.load(key), key);
      if (r !== NIL && this.a.kind[r] === REF) {
        await this.resolve(r, this.pendParent, this.pendSlot);
        continue;
      }
      return r === NIL ? undefined : this.a.bytes(r, 32, this.a.len[r]!);
    }
  }

  /** The leaf of `key`, NIL if absent, or a REF node to load first. */
  private getSync(kp: KeyPath, key: Uint8Array): number {
    const a = this.a;
    const d = kp.d;
    let n = this.rootNode;
    let parent = NIL;
    let slot = 0;
    let depth = 0;
    while (n !== NIL) {
      const k = a.kind[n];
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        parent = n;
        slot = d[depth++]!;
        n = slot === 0 ? a.c0[n]! : slot === 1 ? a.c1[n]! : a.c2[n]!;
      } else if (k === LEAF) {
        return a.keyEquals(n, key) ? n : NIL;
      } else if (k === EXT) {
        const pl = a.len[n]!;
        if (depth + pl > kp.n) need(kp, depth + pl);
        const p = a.pool;
        const o = a.off[n]!;
        for (let j = 0; j < pl; j++) if (p[o + j] !== d[depth + j]) return NIL;
        depth += pl;
        parent = n;
        slot = 0;
        n = a.c0[n]!;
      } else {
        this.pendParent = parent;
        this.pendSlot = slot;
        return n;
      }
    }
    return NIL;
  }

  // ---------- put ----------

  /** Stages key -> value in memory (values up to 64 KiB; both are copied). */
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    // Fully loaded and valid: record now (applied in one pass at root()/stageCommit()/prove()) and
    // skip the async function's promise; anything else, including every error, takes putSlow.
    return this.putNow(key, value) ? RESOLVED : this.putSlow(key, value);
  }

  /**
   * put(), done at once when it can be (a fully loaded writable trie, a valid key and value): true.
   * False, with nothing recorded, when it needs put(). For callers putting thousands of keys in a
   * row (a seal): awaiting put()'s settled promise still cost a microtask turn per key.
   */
  putNow(key: Uint8Array, value: Uint8Array): boolean {
    return value instanceof Uint8Array && this.putRangeNow(key, value, 0, value.length);
  }

  /** putNow(key, src[off, off + len)) without a view of it (the seal's tx records share one buffer). */
  putRangeNow(key: Uint8Array, src: Uint8Array, off: number, len: number): boolean {
    if (this.unloaded !== 0 || this.readOnly || !(key instanceof Uint8Array) || key.length !== KEY_BYTES) return false;
    if (!(src instanceof Uint8Array) || !Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > src.length || len > MAX_VALUE_BYTES) return false;
    this.pending.setRange(key, src, off, len);
    if (this.journal !== null) this.journal.append(key, off === 0 && len === src.length ? src : src.subarray(off, off + len));
    return true;
  }

  private async putSlow(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.checkWritable();
    this.checkKey(key);
    if (!(value instanceof Uint8Array) || value.length > MAX_VALUE_BYTES) throw new RangeError(`trie: value must be at most ${MAX_VALUE_BYTES} bytes`);
    return this.write(key, value, true);
  }

  /**
   * A put (value) or delete (null) of a checked key: recorded at once while fully loaded, else
   * walked (loading its path). Journaled (if `journal`) in the same synchronous step as the
   * mutation, so the journal's order is the order the writes took effect.
   */
  private async write(key: Uint8Array, value: Uint8Array | null, journal: boolean): Promise<void> {
    for (;;) {
      let r = NIL;
      if (this.unloaded === 0) this.pending.set(key, value);
      else r = value === null ? this.deleteSync(this.kp.load(key), key) : this.putSync(this.kp.load(key), key, value);
      if (r === NIL) {
        if (journal && this.journal !== null) this.journal.append(key, value);
        return;
      }
      await this.resolve(r, this.pendParent, this.pendSlot);
    }
  }

  private putSync(kp: KeyPath, key: Uint8Array, value: Uint8Array): number {
    const a = this.a;
    const d = kp.d;
    const stack = this.stack;
    let sp = 0;
    let parent = NIL;
    let slot = 0;
    let n = this.rootNode;
    let depth = 0;
    let repl: number;
    for (;;) {
      if (n === NIL) {
        repl = a.leaf(makeKV(key, value));
        break;
      }
      const k = a.kind[n];
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        stack[sp++] = n;
        parent = n;
        slot = d[depth++]!;
        n = a.child(n, slot);
      } else if (k === LEAF) {
        if (a.keyEquals(n, key)) {
          const kv = makeKV(key, value);
          if (a.kvEquals(n, kv)) return NIL;
          a.setBytes(n, kv, 0, kv.length);
          a.touch(n);
          repl = n;
        } else repl = this.splitLeaf(n, depth, kp, key, value);
        break;
      } else if (k === EXT) {
        const pl = a.len[n]!;
        if (depth + pl > kp.n) need(kp, depth + pl);
        const p = a.pool;
        const o = a.off[n]!;
        let m = 0;
        while (m < pl && p[o + m] === d[depth + m]) m++;
        if (m === pl) {
          stack[sp++] = n;
          parent = n;
          slot = 0;
          depth += m;
          n = a.c0[n]!;
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
    return NIL;
  }

  /** A new key meets another key's leaf at `depth`: a branch where their digits first differ. */
  private splitLeaf(leaf: number, depth: number, kp: KeyPath, key: Uint8Array, value: Uint8Array): number {
    const a = this.a;
    const lp = this.kp2.load(a.bytes(leaf, 0, 32));
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
    const b = a.branch();
    a.setChild(b, d[j]!, a.leaf(makeKV(key, value)));
    a.setChild(b, ld[j]!, leaf);
    return j > depth ? a.ext(d, depth, j, b) : b;
  }

  /** A new key leaves extension `e` after `m` matching digits: a branch at that point. */
  private splitExt(e: number, m: number, depth: number, d: Uint8Array, key: Uint8Array, value: Uint8Array): number {
    const a = this.a;
    const pl = a.len[e]!;
    const b = a.branch();
    const below = m + 1 < pl ? a.extFrom(-1, e, m + 1, pl, NIL, a.c0[e]!) : a.c0[e]!;
    a.setChild(b, a.pool[a.off[e]! + m]!, below);
    a.setChild(b, d[depth + m]!, a.leaf(makeKV(key, value)));
    if (m === 0) {
      a.free(e);
      return b;
    }
    const top = a.extFrom(-1, e, 0, m, NIL, b);
    a.free(e);
    return top;
  }

  private attach(parent: number, slot: number, n: number): void {
    if (parent === NIL) this.rootNode = n;
    else this.a.setChild(parent, slot, n);
  }

  /** Marks stack[0..sp) dirty, bottom-up, stopping where an earlier write already did. */
  private invalidate(sp: number): void {
    const a = this.a;
    const stack = this.stack;
    for (let i = sp - 1; i >= 0; i--) {
      const n = stack[i]!;
      if ((a.flags[n]! & (F_DIRTY | F_HASHED)) === F_DIRTY) break;
      a.touch(n);
    }
  }

  // ---------- delete ----------

  async delete(key: Uint8Array): Promise<void> {
    this.checkWritable();
    this.checkKey(key);
    return this.write(key, null, true);
  }

  private deleteSync(kp: KeyPath, key: Uint8Array): number {
    const a = this.a;
    const d = kp.d;
    const stack = this.stack;
    const slots = this.slots;
    let sp = 0;
    let n = this.rootNode;
    let depth = 0;
    for (;;) {
      if (n === NIL) return NIL;
      const k = a.kind[n];
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        const t = d[depth++]!;
        stack[sp] = n;
        slots[sp++] = t;
        n = a.child(n, t);
      } else if (k === EXT) {
        const pl = a.len[n]!;
        if (depth + pl > kp.n) need(kp, depth + pl);
        const p = a.pool;
        const o = a.off[n]!;
        for (let j = 0; j < pl; j++) if (p[o + j] !== d[depth + j]) return NIL;
        depth += pl;
        stack[sp] = n;
        slots[sp++] = 0;
        n = a.c0[n]!;
      } else if (k === LEAF) {
        if (!a.keyEquals(n, key)) return NIL;
        break;
      } else {
        this.pendParent = sp > 0 ? stack[sp - 1]! : NIL;
        this.pendSlot = sp > 0 ? slots[sp - 1]! : 0;
        return n;
      }
    }
    const leaf = n;
    if (sp === 0) {
      this.rootNode = NIL;
      a.free(leaf);
      return NIL;
    }
    // The leaf's parent is a branch. If only one child would remain, the branch collapses into it.
    const b = stack[sp - 1]!;
    const gone = slots[sp - 1]!;
    let remaining = -1;
    let count = 0;
    for (let i = 0; i < this.arity; i++) {
      if (i !== gone && a.child(b, i) !== NIL) {
        count++;
        remaining = i;
      }
    }
    if (count >= 2) {
      a.setChild(b, gone, NIL);
      a.free(leaf);
      this.invalidate(sp);
      return NIL;
    }
    const c = a.child(b, remaining);
    if (a.kind[c] === REF) {
      // Need the survivor's kind before restructuring; load it, then run again from the top.
      this.pendParent = b;
      this.pendSlot = remaining;
      return c;
    }
    a.free(leaf);
    const ck = a.kind[c];
    let repl: number;
    if (ck === LEAF) repl = c;
    else if (ck === BRANCH) repl = a.extFrom(remaining, NIL, 0, 0, NIL, c);
    else {
      repl = a.extFrom(remaining, c, 0, a.len[c]!, NIL, a.c0[c]!);
      a.free(c);
    }
    a.free(b);
    let top = sp - 1; // index in stack of the node being replaced
    if (top > 0 && a.kind[stack[top - 1]!] === EXT) {
      // An extension above merges with what replaces the branch.
      const e = stack[top - 1]!;
      if (a.kind[repl] !== LEAF) {
        const merged = a.extFrom(-1, e, 0, a.len[e]!, repl, a.c0[repl]!);
        a.free(repl);
        repl = merged;
      }
      a.free(e);
      top--;
    }
    this.attach(top > 0 ? stack[top - 1]! : NIL, top > 0 ? slots[top - 1]! : 0, repl);
    this.invalidate(top);
    return NIL;
  }

  // ---------- hashing and commit ----------

  /** The current root; hashes the dirty nodes (each once), no I/O. */
  root(): Uint8Array {
    this.flush();
    const r = this.rootNode;
    if (r === NIL) return EMPTY_HASH.slice();
    this.a.hashTree(r);
    return this.a.hashCopy(r);
  }

  /**
   * Hashes and encodes everything new since the last commit, without writing: the caller puts
   * `nodes` (e.g. with LevelNodeStore.putNodes) and its own records in one atomic batch, then calls
   * markCommitted(). Until then, later stageCommit() calls include these nodes again.
   */
  stageCommit(): { root: Uint8Array; nodes: NodeEntry[] } {
    this.checkWritable();
    const root = this.root();
    const mark = this.journal === null ? null : this.journal.mark();
    const none: Staged = { nodes: [], vers: new Int32Array(0), records: [], recVers: new Int32Array(0), pointer: null, root, checkpoint: true, journaled: false, journalMark: mark };
    if (mark !== null && this.sinceCheckpoint + 1 < this.checkpointEvery) return this.stageJournal(root, none);
    return this.stageNodes(root, none);
  }

  /**
   * A journaled commit: the journal (every write since the last landed commit) and a pointer
   * `root -> base + journal`. Nothing is written for a root of the current chain (it can already
   * be opened, and re-pointing it could make the chain loop).
   */
  private stageJournal(root: Uint8Array, none: Staged): { root: Uint8Array; nodes: NodeEntry[] } {
    this.staged = { ...none, checkpoint: false };
    if (this.chainRoots.has(toHex(root))) return { root, nodes: [] };
    const gen = nextGen();
    this.staged.journaled = true;
    this.staged.pointer = root;
    return { root, nodes: [[journalKey(gen, root), this.journal!.encode()], [root, journalPointer(gen, this.base)]] };
  }

  /** A checkpoint: every node not yet in the store, in records, and the root pointer. */
  private stageNodes(root: Uint8Array, none: Staged): { root: Uint8Array; nodes: NodeEntry[] } {
    const a = this.a;
    const r = this.rootNode;
    let pointer: Uint8Array | null = null;
    this.staged = none;
    if (r === NIL || a.kind[r] === REF) return { root, nodes: [] };
    if ((a.flags[r]! & (F_DIRTY | F_REC)) === F_REC) {
      // Nothing new, but a clean record may have become the root: (re)write its root pointer.
      const g = a.gen[r]!;
      if (g < 0 || (this.pointed !== null && bytesEqual(this.pointed, root))) return { root, nodes: [] };
      this.staged = { ...none, pointer: root };
      return { root, nodes: [[root, rootPointer(g)]] };
    }
    // Sets size[] of the dirty nodes, flags record roots and lists them in post-order (root last).
    const records: number[] = [];
    this.plan(r, records);
    if ((a.flags[r]! & F_ASREC) === 0) {
      // The root is always a record; a clean node that became the root needs its own record too.
      a.flags[r] = a.flags[r]! | F_ASREC;
      records.push(r);
    }
    // Every record of this commit is stored under gen || hash (docs/PROTOCOL.md "Storage"), the
    // root also under its hash alone, as a pointer to that key.
    const gen = nextGen();
    let total = 0;
    for (const n of records) {
      total += a.size[n]!;
      a.gen[n] = gen;
    }
    // One buffer for all record bytes and one for all their keys (views into them, not a copy each:
    // a small ArrayBuffer per record was ~100k allocations per large commit for the GC to track).
    const buf = new Uint8Array(total);
    const keys = new Uint8Array(36 * records.length);
    const nodes: NodeEntry[] = new Array(records.length + 1);
    const written: number[] = [];
    let off = 0;
    for (let i = 0; i < records.length; i++) {
      const n = records[i]!;
      const end = a.write(n, buf, off, written);
      if (end - off !== a.size[n]) throw new Error('trie: record size mismatch');
      a.genKeyInto(n, gen, keys, 36 * i);
      nodes[i] = [keys.subarray(36 * i, 36 * i + 36), buf.subarray(off, end)];
      off = end;
    }
    nodes[records.length] = [root, rootPointer(gen)];
    pointer = root;
    const vers = new Int32Array(written.length);
    for (let i = 0; i < written.length; i++) vers[i] = a.ver[written[i]!]!;
    const recVers = new Int32Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const n = records[i]!;
      a.flags[n] = a.flags[n]! & ~F_ASREC;
      recVers[i] = a.ver[n]!;
    }
    this.staged = { ...none, nodes: written, vers, records, recVers, pointer };
    return { root, nodes };
  }

  /**
   * Decides, bottom-up over dirty nodes, which nodes get their own record (appended to `records`,
   * post-order); returns inline sizes.
   */
  private plan(n: number, records: number[]): number {
    const a = this.a;
    const f = a.flags[n]!;
    // A clean node's inline size is fixed while it stays clean (cached when written or decoded).
    if ((f & F_DIRTY) === 0) return a.kind[n] === REF || (f & F_REC) !== 0 ? a.refBytes(n) : a.size[n]!;
    let size: number;
    const k = a.kind[n];
    if (k === LEAF) size = 5 + a.len[n]!;
    else if (k === EXT) size = 2 + ((a.len[n]! + 3) >> 2) + this.plan(a.c0[n]!, records);
    else {
      size = 1;
      for (let i = 0; i < this.arity; i++) {
        const c = a.child(n, i);
        size += c === NIL ? 1 : this.plan(c, records);
      }
    }
    a.size[n] = size;
    if (size > this.recordBytes) {
      a.flags[n] = f | F_ASREC;
      records.push(n);
      return 37; // a reference to a record of this commit: 0x05 gen hash
    }
    return size;
  }

  /** After the caller's batch with the staged nodes succeeded. */
  markCommitted(): void {
    const s = this.staged;
    if (s === null) return;
    this.staged = null;
    if (s.pointer !== null) this.pointed = s.pointer;
    if (s.journalMark !== null) {
      // Chain bookkeeping only where commits can be journaled (nothing on the default path).
      this.journal!.drop(s.journalMark);
      this.base = s.root;
      if (s.checkpoint) {
        this.sinceCheckpoint = 0;
        this.chainRoots = new Set([toHex(s.root)]);
      } else if (s.journaled) {
        this.sinceCheckpoint++;
        this.chainRoots.add(toHex(s.root));
      }
    }
    const a = this.a;
    for (let i = 0; i < s.nodes.length; i++) {
      const n = s.nodes[i]!;
      // Unchanged since staged: now clean, written inline (unless it is one of the records below).
      if (a.ver[n] === s.vers[i] && (a.flags[n]! & F_HASHED) !== 0) a.flags[n] = a.flags[n]! & ~(F_DIRTY | F_REC);
    }
    for (let i = 0; i < s.records.length; i++) {
      const n = s.records[i]!;
      if (a.ver[n] === s.recVers[i] && (a.flags[n]! & F_DIRTY) === 0) a.flags[n] = a.flags[n]! | F_REC;
    }
    this.maybeRelayout(false);
  }

  /**
   * stageCommit + one batch write to the trie's own store + markCommitted. Returns the root written.
   * Commits may overlap: a commit() called while an earlier one is still writing applies and hashes
   * its writes at once (CPU work while LevelDB writes on its own thread), then waits for the earlier
   * commit to land before staging, so commits land in call order, each one atomic. The root returned
   * covers every write made before this commit staged (writes made during the wait included).
   */
  async commit(): Promise<Uint8Array> {
    const store = this.store;
    if (!isWritable(store)) throw new Error('trie: store cannot write; use stageCommit() with your own batch');
    this.checkWritable();
    this.root(); // the CPU work first, overlapping an earlier commit's write
    while (this.committing !== null) await this.committing.catch(() => undefined);
    const { root, nodes } = this.stageCommit();
    const done = (async () => {
      if (nodes.length > 0) await store.writeNodes(nodes);
      this.markCommitted();
    })();
    this.committing = done;
    try {
      await done;
    } finally {
      if (this.committing === done) this.committing = null;
    }
    return root;
  }

  // ---------- proofs ----------

  /** An inclusion (key present) or non-inclusion (absent) proof against root(). */
  async prove(key: Uint8Array): Promise<TrieProof> {
    this.checkKey(key);
    for (;;) {
      this.root();
      const r = this.proveSync(this.kp.load(key), key);
      if (typeof r !== 'number') return r;
      await this.resolve(r, this.pendParent, this.pendSlot);
    }
  }

  private siblingHash(c: number): Uint8Array {
    if (c === NIL) return new Uint8Array(32);
    this.a.ensureHash(c);
    return this.a.hashCopy(c);
  }

  private proveSync(kp: KeyPath, key: Uint8Array): TrieProof | number {
    const a = this.a;
    const d = kp.d;
    const steps: ProofStep[] = [];
    let n = this.rootNode;
    let parent = NIL;
    let slot = 0;
    let depth = 0;
    let end: ProofEnd;
    for (;;) {
      if (n === NIL) {
        end = { kind: 'empty' };
        break;
      }
      const k = a.kind[n];
      if (k === BRANCH) {
        if (depth >= kp.n) need(kp, depth + 1);
        const t = d[depth++]!;
        const siblings: Uint8Array[] = [];
        for (let i = 0; i < this.arity; i++) if (i !== t) siblings.push(this.siblingHash(a.child(n, i)));
        steps.push({ kind: 'branch', siblings });
        parent = n;
        slot = t;
        n = a.child(n, t);
      } else if (k === EXT) {
        const pl = a.len[n]!;
        if (depth + pl > kp.n) need(kp, depth + pl);
        const p = a.pool;
        const o = a.off[n]!;
        let m = 0;
        while (m < pl && p[o + m] === d[depth + m]) m++;
        if (m < pl) {
          end = { kind: 'ext-diverge', path: a.bytes(n, 0, pl), child: this.siblingHash(a.c0[n]!) };
          break;
        }
        steps.push({ kind: 'ext', path: a.bytes(n, 0, pl) });
        depth += m;
        parent = n;
        slot = 0;
        n = a.c0[n]!;
      } else if (k === LEAF) {
        end = a.keyEquals(n, key) ? { kind: 'leaf' } : { kind: 'other-leaf', key: a.bytes(n, 0, 32), value: a.bytes(n, 32, a.len[n]!) };
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
    const a = this.a;
    const walk = (n: number, level: number): void => {
      const k = a.kind[n];
      if (k !== BRANCH && k !== EXT) return;
      for (let i = 0; i < (k === BRANCH ? this.arity : 1); i++) {
        const c = a.child(n, i);
        if (c === NIL) continue;
        const f = a.flags[c]!;
        if (level + 1 >= depth && (f & (F_DIRTY | F_REC)) === F_REC && a.kind[c] !== REF) {
          const h = a.hashCopy(c);
          const g = a.gen[c]!;
          a.freeTree(c);
          a.setChild(n, i, a.ref(h, 0, g));
        } else walk(c, level + 1);
      }
    };
    if (this.rootNode !== NIL) walk(this.rootNode, 0);
    this.unloaded = this.countRefs(this.rootNode);
  }

  private countRefs(n: number): number {
    if (n === NIL) return 0;
    const a = this.a;
    const k = a.kind[n];
    if (k === REF) return 1;
    if (k === LEAF) return 0;
    if (k === EXT) return this.countRefs(a.c0[n]!);
    let c = 0;
    for (let i = 0; i < this.arity; i++) c += this.countRefs(a.child(n, i));
    return c;
  }
}

/** key || value, a fresh array. */
function makeKV(key: Uint8Array, value: Uint8Array): Uint8Array {
  const kv = new Uint8Array(32 + value.length);
  for (let i = 0; i < 32; i++) kv[i] = key[i]!;
  if (value.length <= 64) for (let i = 0; i < value.length; i++) kv[32 + i] = value[i]!;
  else kv.set(value, 32);
  return kv;
}

/** Makes kp valid up to `upto` digits; a path longer than the key's is a corrupt store. */
function need(kp: KeyPath, upto: number): void {
  kp.full();
  if (upto > kp.L) throw new Error('trie: node path longer than a key (corrupt store)');
}
