// The shard's durable store: one LevelDB, one sublevel (key prefix) per kind of record, and one
// place that writes everything a seal commits in ONE atomic batch (fsynced): after a crash the
// store holds either all of an epoch or none of it.
//
//   nodes   trie node hash -> node record (account trie, per-epoch tx tries, outbox trie)
//   acct    address -> account value (u64 balance, u64 nonce): the account trie's leaves, for loading
//   acctj   u64 seq -> the account rows of one commit, concatenated (20 address | 16 value each): a
//           commit writes its rows as ONE journal record; every ACCOUNT_JOURNAL_EVERY-th commit
//           writes the latest row of each account journaled since into `acct` and deletes those
//           journals, in the same batch. Loading reads `acct`, then the journals in seq order.
//   txi     txid -> (u64 epoch, u32 index)
//   rcpt    u8 len | dst shard | u64 first seq -> u64 epoch | u32 n: the group of receipts one seal
//           emitted to dst (seqs first .. first + n - 1). Its row is not stored: the same txids,
//           recipients and amounts are in that epoch's tx records, and the shard rebuilds it from
//           them (shard.ts). Stores written before that hold the row itself (records.ts), still read.
//   cred    u32 src index | u64 first seq -> credit row (inbox.ts): a group of receipts from src
//           credited here, and the epoch that credited it
//   snap    u64 epoch -> signed snapshot
//   meta    "head" -> shard head (records.ts)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import type { AbstractSublevel } from 'abstract-level';
import type { ShardId } from '../core/ids.js';
import { encodeSignedSnapshot, decodeSignedSnapshot, type SignedSnapshot } from './snapshot.js';
import {
  decodeAccountValue, decodeHead, decodeReceiptRow, decodeTxLocation, encodeHead, epochKey, groupReceipts, type Receipt,
  type ReceiptGroup, type ShardHead,
} from './records.js';
import { creditRowKey, decodeCreditRow, type CreditRow } from './inbox.js';
import { DecodeError } from '../core/bytes.js';
import { hex } from './fast-hash.js';
import type { EngineAccount } from './engine.js';

type Bytes = Uint8Array;
/** LevelDB with byte keys and values (or an abstract-level database of the same shape: the simulator's in-memory one). */
export type Db = Level<Bytes, Bytes>;
export type Sub = AbstractSublevel<Db, string | Buffer | Uint8Array, Bytes, Bytes>;

const HEAD_KEY = new TextEncoder().encode('head');

/** Everything one seal (or the genesis commit) writes. */
export interface CommitSet {
  nodes: [Bytes, Bytes][];
  accounts: [address: Bytes, value: Bytes][]; // account rows: address -> encodeAccountValue
  /** The lowercase hex of each account row's address, where the caller has it (else computed here). */
  accountHexes?: readonly string[];
  /** The committed transactions of one epoch, in its order: txid -> (epoch, position) rows of the txid index. */
  txs?: { epoch: number; ids: readonly { readonly id: Bytes }[] };
  receiptRows: ReceiptRow[]; // the seal's receipts, one row per destination
  creditRows?: [key: Bytes, value: Bytes][]; // the groups the seal credited (inbox.ts creditRowKey / encodeCreditRow)
  snapshot?: SignedSnapshot;
  head: ShardHead;
  meta?: [Bytes, Bytes][]; // other metadata rows (e.g. the genesis hash, written once)
}

/** The receipts one seal emitted to `dst`: seqs first .. first + n - 1, at `epoch`. */
export interface ReceiptRow {
  dst: ShardId;
  first: bigint;
  epoch: number;
  n: number;
}

/** A stored group: where it is, and its row if the store holds it (stores of an earlier version); else rebuilt. */
interface StoredGroup { first: bigint; epoch: number; n: number; row?: ReceiptGroup }
/** Rebuilds a group's row from the tx records of its epoch (shard.ts). */
export type GroupRebuilder = (dst: ShardId, epoch: number, first: bigint, n: number) => Promise<ReceiptGroup>;

const GROUP_INDEX_BYTES = 12;
/** A commit's account rows go into one journal record; every this many commits they land as rows. */
export const ACCOUNT_JOURNAL_EVERY = 32;
const ACCOUNT_ROW_BYTES = 20 + 16;

export function receiptKey(dst: ShardId, seq: bigint): Bytes {
  const out = new Uint8Array(1 + dst.length + 8);
  out[0] = dst.length;
  for (let i = 0; i < dst.length; i++) out[1 + i] = dst.charCodeAt(i);
  new DataView(out.buffer).setBigUint64(1 + dst.length, seq);
  return out;
}

/** Another process holds the data directory's LevelDB lock. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

export class ShardStore {
  readonly db: Db;
  readonly nodes: Sub;
  readonly accounts: Sub;
  readonly txIndex: Sub;
  readonly receipts: Sub;
  readonly snapshots: Sub;
  readonly meta: Sub;
  readonly credits: Sub;
  readonly accountJournal: Sub;
  /** The key prefix of `txIndex` in the root database (abstract-level's: `!txi!`). */
  private readonly txIndexPrefix: Bytes;
  /**
   * Account rows journaled since they last landed in `acct`: per address (hex), where its latest row
   * is, as journal * 2^16 + row in `journals` (the journal records' values, in seq order; at most
   * 2^16 - 1 rows each: a larger commit lands). A number, not a [key, value] pair of views: those
   * were kept until the landing, ~32 commits, old-generation garbage for every row of every seal.
   */
  private journaledRows = new Map<string, number>();
  private journals: Bytes[] = [];
  private journalSeqs: bigint[] = [];
  private nextJournalSeq = 0n;
  /** What commits wrote so far: LevelDB operations (puts and deletes) and their key + value bytes. */
  readonly written = { commits: 0, records: 0, bytes: 0 };
  /** fsync each commit (survives power loss, not only a process crash). */
  readonly sync: boolean;
  /** The database is classic-level's (not the simulator's): its chained batch takes rows natively. */
  private readonly rawBatchPut: boolean;
  /** A txid index row's key (prefix || txid) and value (u64 epoch | u32 index), rewritten per row put natively. */
  private readonly rowKey: Uint8Array;
  private readonly rowValue = new Uint8Array(new ArrayBuffer(12));
  private readonly rowValueView = new DataView(this.rowValue.buffer);
  /** The key prefixes of `nodes` and `acct` in the root database, and reused key buffers by length. */
  private readonly nodesPrefix: Bytes;
  private readonly accountsPrefix: Bytes;
  private readonly keyScratch: (Uint8Array | undefined)[] = [];

  private constructor(db: Db, sync: boolean) {
    this.db = db;
    this.sync = sync;
    const sub = (name: string): Sub => db.sublevel<Bytes, Bytes>(name, { keyEncoding: 'view', valueEncoding: 'view' });
    this.nodes = sub('nodes');
    this.accounts = sub('acct');
    this.txIndex = sub('txi');
    this.receipts = sub('rcpt');
    this.snapshots = sub('snap');
    this.meta = sub('meta');
    this.credits = sub('cred');
    this.accountJournal = sub('acctj');
    this.txIndexPrefix = this.txIndex.prefixKey(new Uint8Array(0), 'view', false).slice();
    this.nodesPrefix = this.nodes.prefixKey(new Uint8Array(0), 'view', false).slice();
    this.accountsPrefix = this.accounts.prefixKey(new Uint8Array(0), 'view', false).slice();
    this.rawBatchPut = db instanceof Level; // classic-level's (the 'level' package's Level on Node)
    this.rowKey = new Uint8Array(new ArrayBuffer(this.txIndexPrefix.length + 32)); // off V8's heap: native code reads it
    this.rowKey.set(this.txIndexPrefix);
  }

  /**
   * classic-level's native put of a chained batch (`_put`: copies key and value into the batch at
   * once), if rows may bypass abstract-level's public put(), which builds an operation object and
   * checks and encodes key and value again per row: only while the database has no prewrite hook or
   * 'write' listener that would miss them. The rows land in the same atomic write, in call order.
   */
  /** raw(prefix || key, value), the key written into a reused buffer of its length (the native put copies it at once). */
  private putPrefixed(raw: (k: Bytes, v: Bytes) => void, b: ReturnType<Db['batch']>, prefix: Bytes, key: Bytes, value: Bytes): void {
    const n = prefix.length + key.length;
    let k = this.keyScratch[n];
    if (k === undefined) this.keyScratch[n] = k = new Uint8Array(new ArrayBuffer(n)); // off V8's heap
    for (let j = 0; j < prefix.length; j++) k[j] = prefix[j]!;
    for (let j = 0; j < key.length; j++) k[prefix.length + j] = key[j]!;
    raw.call(b, k, value);
  }

  private rawPut(b: ReturnType<Db['batch']>): ((k: Bytes, v: Bytes) => void) | undefined {
    if (!this.rawBatchPut || (this.db.hooks.prewrite as { noop?: boolean }).noop !== true || this.db.listenerCount('write') !== 0) return undefined;
    return (b as unknown as { _put: (k: Bytes, v: Bytes) => void })._put;
  }

  /** Over a database someone else opened (the simulator's in-memory, crashable one). */
  static async over(db: Db, opts: { sync?: boolean } = {}): Promise<ShardStore> {
    await db.open();
    return new ShardStore(db, opts.sync ?? true);
  }

  static async open(dir: string, opts: { sync?: boolean } = {}): Promise<ShardStore> {
    // Hashes and signatures do not compress: skip Snappy. A larger write buffer takes a whole
    // epoch's batch without forcing a memtable flush in the middle of it.
    const tuned = process.env.SMT_LEVEL_DEFAULTS ? {} : { compression: false, writeBufferSize: 32 << 20 };
    const db = new Level<Bytes, Bytes>(dir, { keyEncoding: 'view', valueEncoding: 'view', ...tuned });
    const owner = join(dir, 'OWNER'); // pid of the process holding LevelDB's lock, for the error below
    try {
      await db.open();
    } catch (e) {
      if ((e as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        let pid = '';
        try {
          pid = readFileSync(owner, 'utf8').trim();
        } catch {
          // written by versions that kept one; the lock alone is enough to refuse
        }
        throw new DataDirInUseError(`data directory ${dir} is in use by another smt node${/^\d+$/.test(pid) ? ` (pid ${pid})` : ''}; stop it first or give this node its own --data directory`);
      }
      throw e;
    }
    writeFileSync(owner, `${process.pid}\n`);
    return new ShardStore(db, opts.sync ?? true);
  }

  async head(): Promise<ShardHead | undefined> {
    const b = await this.meta.get(HEAD_KEY);
    return b === undefined ? undefined : decodeHead(b);
  }

  /** Every account row: `acct`, then the journals since, in order (a later row of an address wins). */
  async loadAccounts(): Promise<EngineAccount[]> {
    const rows = new Map<string, [Bytes, Bytes]>();
    for await (const [k, v] of this.accounts.iterator()) rows.set(hex(k), [k, v]);
    this.journaledRows = new Map();
    this.journals = [];
    this.journalSeqs = [];
    for await (const [k, v] of this.accountJournal.iterator()) {
      if (k.length !== 8 || v.length % ACCOUNT_ROW_BYTES !== 0 || v.length >= ACCOUNT_ROW_BYTES << 16) throw new DecodeError(`account journal record of ${k.length}-byte key, ${v.length} bytes`);
      const seq = new DataView(k.buffer, k.byteOffset, 8).getBigUint64(0);
      const j = this.journals.length;
      for (let o = 0, r = 0; o < v.length; o += ACCOUNT_ROW_BYTES, r++) {
        const row: [Bytes, Bytes] = [v.subarray(o, o + 20), v.subarray(o + 20, o + ACCOUNT_ROW_BYTES)];
        const h = hex(row[0]);
        rows.set(h, row);
        this.journaledRows.set(h, j * 65536 + r);
      }
      this.journals.push(v);
      this.journalSeqs.push(seq);
      this.nextJournalSeq = seq + 1n;
    }
    const out: EngineAccount[] = [];
    for (const [k, v] of rows.values()) {
      const a = decodeAccountValue(v);
      out.push({ address: k, balance: a.balance, nonce: a.nonce });
    }
    return out;
  }

  async txLocation(id: Bytes): Promise<{ epoch: number; index: number } | undefined> {
    const b = await this.txIndex.get(id);
    return b === undefined ? undefined : decodeTxLocation(b);
  }

  async snapshot(epoch: number): Promise<SignedSnapshot | undefined> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) return undefined;
    const b = await this.snapshots.get(epochKey(epoch));
    return b === undefined ? undefined : decodeSignedSnapshot(b);
  }

  /** Receipts emitted to `dst` with seq in [fromSeq, fromSeq + limit), in seq order. */
  async receiptsTo(dst: ShardId, fromSeq: bigint, limit: number, rebuild: GroupRebuilder): Promise<Receipt[]> {
    const out: Receipt[] = [];
    if (limit <= 0) return out;
    for await (const e of this.receiptGroupIterator(dst, fromSeq)) {
      const g = e.row ?? (await rebuild(dst, e.epoch, e.first, e.n));
      for (const r of groupReceipts(g)) {
        if (r.seq < fromSeq) continue;
        out.push(r);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /**
   * Whole groups to `dst` from the one holding seq `fromSeq`, while they add up to at most
   * `maxReceipts` receipts and `maxGroups` groups (at least one group, if there is any).
   */
  async receiptGroups(dst: ShardId, fromSeq: bigint, maxReceipts: number, rebuild: GroupRebuilder, maxGroups = Infinity): Promise<ReceiptGroup[]> {
    const out: ReceiptGroup[] = [];
    let n = 0;
    for await (const e of this.receiptGroupIterator(dst, fromSeq)) {
      if (out.length > 0 && (n + e.n > maxReceipts || out.length >= maxGroups)) break; // decided before any rebuild
      out.push(e.row ?? (await rebuild(dst, e.epoch, e.first, e.n)));
      n += e.n;
    }
    return out;
  }

  private async *receiptGroupIterator(dst: ShardId, fromSeq: bigint): AsyncGenerator<StoredGroup> {
    // the row holding fromSeq starts at or before it
    const lo = receiptKey(dst, 0n);
    const hi = receiptKey(dst, (1n << 64n) - 1n);
    const start = (await this.receipts.keys({ gte: lo, lte: receiptKey(dst, fromSeq), reverse: true, limit: 1 }).all())[0] ?? receiptKey(dst, fromSeq);
    for await (const [k, v] of this.receipts.iterator({ gte: start, lte: hi })) {
      const s = decodeStoredGroup(k, v);
      if (s.first + BigInt(s.n) <= fromSeq) continue;
      yield s;
    }
  }

  /** The credit row of the group from source `src` holding seq `seq`, if credited here. */
  async creditOf(src: number, seq: bigint): Promise<CreditRow | undefined> {
    const [e] = await this.credits.iterator({ gte: creditRowKey(src, 0n), lte: creditRowKey(src, seq), reverse: true, limit: 1 }).all();
    if (!e) return undefined;
    const c = decodeCreditRow(e[1]);
    return seq >= c.first && seq < c.first + BigInt(c.n) ? c : undefined;
  }

  /** The one atomic write of a seal. */
  async commit(c: CommitSet): Promise<void> {
    const b = this.db.batch();
    const nodes = { sublevel: this.nodes };
    const accounts = { sublevel: this.accounts };
    const receipts = { sublevel: this.receipts };
    const meta = { sublevel: this.meta };
    const raw = this.rawPut(b);
    let rawRows = 0; // rows put natively (the batch does not count them)
    // Trie records: natively with the sublevel prefix written into a reused key buffer. Through the
    // sublevel, abstract-level built a prefixed copy of each key, small enough to live on V8's heap,
    // which the native put then made V8 move off-heap first (about a microsecond per record).
    if (raw !== undefined) {
      for (let i = 0; i < c.nodes.length; i++) this.putPrefixed(raw, b, this.nodesPrefix, c.nodes[i]![0], c.nodes[i]![1]);
      rawRows += c.nodes.length;
    } else for (let i = 0; i < c.nodes.length; i++) b.put(c.nodes[i]![0], c.nodes[i]![1], nodes);
    // Account rows: one journal record, or (every ACCOUNT_JOURNAL_EVERY-th commit, and for a commit
    // of many rows such as the genesis state) the rows themselves, with every journal folded in.
    const land = this.journalSeqs.length + 1 >= ACCOUNT_JOURNAL_EVERY || c.accounts.length >= 1 << 16;
    let journalSeq: bigint | undefined;
    let journalRows: Bytes | undefined;
    if (land) {
      const put = raw !== undefined ? (k: Bytes, v: Bytes) => this.putPrefixed(raw, b, this.accountsPrefix, k, v) : (k: Bytes, v: Bytes) => void b.put(k, v, accounts);
      this.journaledRows.forEach((at) => {
        const v = this.journals[Math.floor(at / 65536)]!;
        const o = ACCOUNT_ROW_BYTES * (at % 65536);
        put(v.subarray(o, o + 20), v.subarray(o + 20, o + ACCOUNT_ROW_BYTES));
      });
      for (let i = 0; i < c.accounts.length; i++) put(c.accounts[i]![0], c.accounts[i]![1]);
      if (raw !== undefined) rawRows += this.journaledRows.size + c.accounts.length;
      const journal = { sublevel: this.accountJournal };
      for (const seq of this.journalSeqs) b.del(u64Key(seq), journal);
    } else if (c.accounts.length > 0) {
      const rows = new Uint8Array(ACCOUNT_ROW_BYTES * c.accounts.length);
      for (let i = 0, o = 0; i < c.accounts.length; i++, o += ACCOUNT_ROW_BYTES) {
        const row = c.accounts[i]!;
        const k = row[0];
        const v = row[1];
        if (k.length !== 20 || v.length !== 16) throw new Error(`account row of ${k.length}-byte address, ${v.length}-byte value`);
        // byte loops: TypedArray.prototype.set costs more than copying 20 + 16 bytes
        for (let j = 0; j < 20; j++) rows[o + j] = k[j]!;
        for (let j = 0; j < 16; j++) rows[o + 20 + j] = v[j]!;
      }
      journalSeq = this.nextJournalSeq;
      journalRows = rows;
      b.put(u64Key(journalSeq), rows, { sublevel: this.accountJournal });
    }
    // The txid index rows: txid -> (u64 epoch, u32 index), the index being the position in c.txs.ids.
    // Their keys are prefixed here with the sublevel's prefix (the same bytes abstract-level would
    // write) and put on the root batch, which saves abstract-level's per-operation sublevel work (a
    // prefixed copy of each key, ancestry walks), one operation per committed transaction.
    const txs = c.txs;
    const nl = txs?.ids.length ?? 0;
    if (txs !== undefined && raw !== undefined) {
      rawRows += nl;
      // Straight into the native batch, which copies each key and value at once: ONE key buffer and
      // ONE value buffer, rewritten per row (no view object per row, ~200 bytes of young garbage each
      // per committed transaction that lived until the write landed).
      const key = this.rowKey;
      const val = this.rowValue;
      const p = this.txIndexPrefix.length;
      this.rowValueView.setBigUint64(0, BigInt(txs.epoch));
      for (let i = 0; i < nl; i++) {
        const id = txs.ids[i]!.id;
        if (id.length !== 32) throw new RangeError(`txid of ${id.length} bytes`);
        for (let j = 0; j < 32; j++) key[p + j] = id[j]!;
        val[8] = i >>> 24;
        val[9] = (i >>> 16) & 0xff;
        val[10] = (i >>> 8) & 0xff;
        val[11] = i & 0xff;
        raw.call(b, key, val);
      }
    } else if (txs !== undefined && nl > 0) {
      // Any other database keeps what it is given: a view per row into one buffer for the batch.
      const pre = this.txIndexPrefix;
      const locs = new Uint8Array(12 * nl);
      const lv = new DataView(locs.buffer);
      const keys = new Uint8Array((pre.length + 32) * nl);
      const epochBig = BigInt(txs.epoch);
      for (let i = 0, o = 0; i < nl; i++) {
        const id = txs.ids[i]!.id;
        if (id.length !== 32) throw new RangeError(`txid of ${id.length} bytes`);
        lv.setBigUint64(12 * i, epochBig);
        lv.setUint32(12 * i + 8, i);
        keys.set(pre, o);
        keys.set(id, o + pre.length);
        o += pre.length + 32;
        b.put(keys.subarray(o - pre.length - 32, o), locs.subarray(12 * i, 12 * i + 12));
      }
    }
    for (const r of c.receiptRows) b.put(receiptKey(r.dst, r.first), encodeGroupIndex(r.epoch, r.n), receipts);
    if (c.creditRows) {
      const credits = { sublevel: this.credits };
      for (const [k, v] of c.creditRows) b.put(k, v, credits);
    }
    if (c.snapshot) b.put(epochKey(c.snapshot.snapshot.epoch), encodeSignedSnapshot(c.snapshot), { sublevel: this.snapshots });
    for (const [k, v] of c.meta ?? []) b.put(k, v, meta);
    b.put(HEAD_KEY, encodeHead(c.head), meta);
    const records = b.length + rawRows;
    await b.write({ sync: this.sync });
    this.written.commits++;
    this.written.records += records;
    this.written.bytes += commitBytes(c);
    // Landed: what is journaled now (nothing changes here if the write failed).
    if (land) {
      this.journaledRows = new Map();
      this.journals = [];
      this.journalSeqs = [];
    } else if (journalSeq !== undefined && journalRows !== undefined) {
      const hexes = c.accountHexes;
      const j = this.journals.length;
      for (let i = 0; i < c.accounts.length; i++) this.journaledRows.set(hexes?.[i] ?? hex(c.accounts[i]![0]), j * 65536 + i);
      this.journals.push(journalRows);
      this.journalSeqs.push(journalSeq);
      this.nextJournalSeq = journalSeq + 1n;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Key + value bytes of a commit's main parts (nodes, account rows as journaled, tx index): for statistics. */
function commitBytes(c: CommitSet): number {
  let n = 0;
  for (let i = 0; i < c.nodes.length; i++) n += c.nodes[i]![0].length + c.nodes[i]![1].length;
  return n + ACCOUNT_ROW_BYTES * c.accounts.length + 44 * (c.txs?.ids.length ?? 0);
}

function u64Key(n: bigint): Bytes {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

function encodeGroupIndex(epoch: number, n: number): Bytes {
  const out = new Uint8Array(GROUP_INDEX_BYTES);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(epoch));
  v.setUint32(8, n);
  return out;
}

/** A stored group's value: the 12-byte index (epoch, n), or a whole row (stores of an earlier version). */
function decodeStoredGroup(key: Bytes, v: Bytes): StoredGroup {
  if (v.length !== GROUP_INDEX_BYTES) {
    const row = decodeReceiptRow(v);
    return { first: row.first, epoch: row.epoch, n: row.n, row };
  }
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const epoch = dv.getBigUint64(0);
  const n = dv.getUint32(8);
  if (epoch > BigInt(Number.MAX_SAFE_INTEGER) || n < 1) throw new DecodeError(`receipt group index: epoch ${epoch}, ${n} receipts`);
  const first = new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(key.length - 8);
  return { first, epoch: Number(epoch), n };
}
