// Canonical encodings of what a shard stores and commits to (all big-endian, strict decoders):
//   account leaf   key = H_account-key(address)       value = u64 balance | u64 nonce
//   tx record      key = txid                          value = u32 len | signed tx | u64 epoch | u32 index | u8 status
//   receipt row    u8 version | str src | str dst | u64 epoch | u64 first | u32 n | n x (32 txid | 20 to | u64 amount)
//                  (one per (seal, destination): stored by (dst, first), hashed into the (src, dst) receipt chain)
//   outbox leaf    key = H_outbox-key(u8 len | dst)       value = u64 count | 32 chain head
//   shard head     (metadata row, not hashed): the last sealed epoch and everything needed to resume
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import { taggedHasher } from './fast-hash.js';
import { ADDRESS_BYTES } from '../core/address.js';
import type { ShardId } from '../core/ids.js';
import { MAX_TX_BYTES } from './tx.js';

const MAX_SHARD_ID = 16;
const U64_MAX = (1n << 64n) - 1n;

// ---- accounts ----
export interface AccountValue {
  balance: bigint;
  nonce: bigint; // next nonce expected
}

const hAccountKey = taggedHasher('account-key');

/** H_account-key(address): the account's key in the account trie. */
export function accountKey(address: Uint8Array): Uint8Array {
  return hAccountKey(address);
}

export function encodeAccountValue(a: AccountValue): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, a.balance);
  v.setBigUint64(8, a.nonce);
  return out;
}

export function decodeAccountValue(b: Uint8Array): AccountValue {
  if (b.length !== 16) throw new DecodeError(`account value: want 16 bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, 16);
  return { balance: v.getBigUint64(0), nonce: v.getBigUint64(8) };
}

// ---- transaction records (the accumulator's leaves) ----
/** 0 = applied (the only status so far; failed transactions are never admitted, see mempool.ts). */
export const TX_STATUS_APPLIED = 0;

export interface TxRecord {
  signedTx: Uint8Array;
  epoch: number;
  index: number; // position in the epoch's deterministic order
  status: number;
}

export function encodeTxRecord(r: TxRecord): Uint8Array {
  const out = new Uint8Array(txRecordSize(r.signedTx.length));
  writeTxRecord(out, new DataView(out.buffer), 0, r.signedTx, BigInt(r.epoch), r.index, r.status);
  return out;
}

export function txRecordSize(signedTxLength: number): number {
  return 4 + signedTxLength + 13;
}

/** Writes a tx record at `off` of `out` (whose whole buffer `view` spans); returns the end offset. */
export function writeTxRecord(out: Uint8Array, view: DataView, off: number, signedTx: Uint8Array, epoch: bigint, index: number, status: number): number {
  view.setUint32(off, signedTx.length);
  out.set(signedTx, off + 4);
  const o = off + 4 + signedTx.length;
  view.setBigUint64(o, epoch);
  view.setUint32(o + 8, index);
  out[o + 12] = status;
  return o + 13;
}

export function decodeTxRecord(b: Uint8Array): TxRecord {
  const r = new ByteReader(b, 'tx record');
  const signedTx = r.bytes(MAX_TX_BYTES);
  const epoch = safe(r.u64(), 'tx record epoch');
  const index = r.u32();
  const status = r.u8();
  if (status !== TX_STATUS_APPLIED) throw new DecodeError(`tx record: unknown status ${status}`);
  r.end();
  return { signedTx, epoch, index, status };
}

// ---- cross-shard receipts (the outbox) ----
// A receipt is never encoded alone: the receipts one source seal emits to one destination (a
// *group*: one epoch, consecutive seqs) are one row, which is at once the stored form, the wire form
// and the hashed form (receipt-chain.ts):
//   row = u8 version | str src | str dst | u64 epoch | u64 first seq | u32 n | n x (32 txid | 20 to | u64 amount)
// (`str` = u32 length | ASCII). Receipt i of the row has seq `first + i`. The fields every receipt of a
// group shares are written once, and the entries have a fixed size, so a destination reads the
// recipient and the amount of entry i at fixed offsets without building any object per receipt.
export const RECEIPT_ROW_VERSION = 2;
/** Bytes per receipt in a row: txid, recipient, amount. */
export const RECEIPT_ENTRY_BYTES = 32 + ADDRESS_BYTES + 8;

/** One receipt, as a whole (tests, queries): the row's shared fields plus its entry. */
export interface Receipt {
  txid: Uint8Array;
  src: ShardId;
  dst: ShardId;
  seq: bigint; // counts up from 0 per (src, dst)
  to: Uint8Array; // 20
  amount: bigint;
  epoch: number; // the source epoch that emitted it
}

/** A parsed row: its shared fields, and where its entries start (entry i at body + i * RECEIPT_ENTRY_BYTES). */
export interface ReceiptGroup {
  src: ShardId;
  dst: ShardId;
  epoch: number;
  first: bigint;
  n: number;
  row: Uint8Array;
  body: number;
  /** Memo, not data: the recipients' hex once a destination computed it (verify), reused when crediting. */
  recipients?: string[];
}

/** Key of the ONE outbox leaf of destination `dst`: H_outbox-key(u8 len | dst). */
export function outboxKey(dst: ShardId): Uint8Array {
  return taggedHash('outbox-key', new ByteWriter(16).u8(dst.length).fixed(new TextEncoder().encode(dst)).finish());
}

/** The outbox leaf of a destination: how many receipts were emitted to it, and the chain head after them. */
export interface OutboxLeaf {
  count: bigint; // = next seq
  head: Uint8Array; // 32: head_count of the (src, dst) receipt chain
}

export function encodeOutboxLeaf(l: OutboxLeaf): Uint8Array {
  return new ByteWriter(40).u64(l.count).fixed(l.head, 32).finish();
}

export function decodeOutboxLeaf(b: Uint8Array): OutboxLeaf {
  const r = new ByteReader(b, 'outbox leaf');
  const count = r.u64();
  const head = r.fixed(32);
  r.end();
  return { count, head };
}

/** Bytes before entry 0 of a row of (src, dst). */
export function receiptRowHeaderSize(src: string, dst: string): number {
  return 1 + 4 + src.length + 4 + dst.length + 20;
}

/** Writes a row's header at offset 0 of `row` (its entries follow at receiptRowHeaderSize). */
export function writeReceiptRowHeader(row: Uint8Array, v: DataView, src: ShardId, dst: ShardId, epoch: number, first: bigint, n: number): void {
  if (n < 1 || first + BigInt(n) > U64_MAX) throw new RangeError(`receipt row: ${n} receipts from seq ${first}`);
  row[0] = RECEIPT_ROW_VERSION;
  let o = 1;
  v.setUint32(o, src.length);
  for (let i = 0; i < src.length; i++) row[o + 4 + i] = src.charCodeAt(i);
  o += 4 + src.length;
  v.setUint32(o, dst.length);
  for (let i = 0; i < dst.length; i++) row[o + 4 + i] = dst.charCodeAt(i);
  o += 4 + dst.length;
  v.setBigUint64(o, BigInt(epoch));
  v.setBigUint64(o + 8, first);
  v.setUint32(o + 16, n);
}

/**
 * A new row for `n` receipts with its header written; the caller writes entry i at
 * `body + i * RECEIPT_ENTRY_BYTES` (writeReceiptEntry).
 */
export function newReceiptRow(src: ShardId, dst: ShardId, epoch: number, first: bigint, n: number): ReceiptGroup & { view: DataView } {
  const body = receiptRowHeaderSize(src, dst);
  const row = new Uint8Array(body + n * RECEIPT_ENTRY_BYTES);
  const v = new DataView(row.buffer);
  writeReceiptRowHeader(row, v, src, dst, epoch, first, n);
  return { src, dst, epoch, first, n, row, body, view: v };
}

/** Writes one entry (txid, recipient, amount) at offset `o` of a row. */
export function writeReceiptEntry(row: Uint8Array, view: DataView, o: number, txid: Uint8Array, to: Uint8Array, amount: bigint): void {
  if (txid.length !== 32 || to.length !== ADDRESS_BYTES) throw new RangeError('receipt: txid must be 32 bytes and to 20');
  // plain loops: two TypedArray.prototype.set calls of 32 and 20 bytes cost more than the copy
  for (let i = 0; i < 32; i++) row[o + i] = txid[i]!;
  for (let i = 0; i < ADDRESS_BYTES; i++) row[o + 32 + i] = to[i]!;
  view.setBigUint64(o + 32 + ADDRESS_BYTES, amount);
}

/** The row of a group of receipts (same src, dst and epoch; consecutive seqs; at least one). */
export function encodeReceiptRow(rs: readonly Receipt[]): Uint8Array {
  if (rs.length === 0) throw new RangeError('receipt row: no receipt');
  const r0 = rs[0]!;
  const g = newReceiptRow(r0.src, r0.dst, r0.epoch, r0.seq, rs.length);
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (r.src !== r0.src || r.dst !== r0.dst || r.epoch !== r0.epoch || r.seq !== r0.seq + BigInt(i)) throw new RangeError('receipt row: receipts of one group share src, dst and epoch and have consecutive seqs');
    writeReceiptEntry(g.row, g.view, g.body + i * RECEIPT_ENTRY_BYTES, r.txid, r.to, r.amount);
  }
  return g.row;
}

// Shard ids decoded lately, by their bytes (there are 3^depth of them): no string building per row.
const shardIdMemo = new Map<number, ShardId>();

function rowShardId(b: Uint8Array, o: number, len: number): ShardId {
  let key = len; // base-4 digits of the ASCII '0'..'2' bytes, plus the length: unique for len <= 12
  for (let i = 0; i < len; i++) {
    const c = b[o + i]!;
    if (c < 0x30 || c > 0x32) throw new DecodeError('receipt row: shard id is not ternary digits');
    key = key * 4 + (c - 0x2f);
  }
  if (len > 12) return String.fromCharCode(...b.subarray(o, o + len)) as ShardId;
  let id = shardIdMemo.get(key);
  if (id === undefined) {
    id = String.fromCharCode(...b.subarray(o, o + len)) as ShardId;
    shardIdMemo.set(key, id);
  }
  return id;
}

/**
 * Parses the row starting at offset `at` of `b` (its length follows from n); returns it and where it
 * ends. At least one and at most `maxN` receipts. Throws DecodeError.
 */
export function readReceiptRow(b: Uint8Array, at: number, maxN: number): { group: ReceiptGroup; end: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = b.length;
  const need = (o: number, k: number, what: string) => {
    if (o + k > len) throw new DecodeError(`receipt row: truncated at the ${what} (need ${k} bytes at ${o - at}, have ${Math.max(0, len - o)})`);
  };
  need(at, 1, 'version');
  if (b[at] !== RECEIPT_ROW_VERSION) throw new DecodeError(`receipt row: unknown version ${b[at]}`);
  let o = at + 1;
  need(o, 4, 'source');
  const ls = v.getUint32(o);
  if (ls > MAX_SHARD_ID) throw new DecodeError(`receipt row: shard id length ${ls} exceeds ${MAX_SHARD_ID}`);
  need(o + 4, ls + 4, 'source');
  const src = rowShardId(b, o + 4, ls);
  o += 4 + ls;
  const ld = v.getUint32(o);
  if (ld > MAX_SHARD_ID) throw new DecodeError(`receipt row: shard id length ${ld} exceeds ${MAX_SHARD_ID}`);
  need(o + 4, ld + 20, 'destination');
  const dst = rowShardId(b, o + 4, ld);
  o += 4 + ld;
  const epoch = safe(v.getBigUint64(o), 'receipt row epoch');
  const first = v.getBigUint64(o + 8);
  const n = v.getUint32(o + 16);
  o += 20;
  if (n === 0) throw new DecodeError('receipt row: no receipt');
  if (n > maxN) throw new DecodeError(`receipt row: ${n} receipts exceed ${maxN}`);
  if (first + BigInt(n) > U64_MAX) throw new DecodeError('receipt row: seqs pass u64');
  need(o, n * RECEIPT_ENTRY_BYTES, 'receipts');
  const end = o + n * RECEIPT_ENTRY_BYTES;
  return { group: { src, dst, epoch, first, n, row: b.subarray(at, end), body: o - at }, end };
}

/** A whole row (nothing after it). Throws DecodeError. */
export function decodeReceiptRow(b: Uint8Array, maxN = 0xffffffff): ReceiptGroup {
  const { group, end } = readReceiptRow(b, 0, maxN);
  if (end !== b.length) throw new DecodeError(`receipt row: ${b.length - end} trailing bytes`);
  return group;
}

/** Receipt i of a group (views into the row). */
export function receiptAt(g: ReceiptGroup, i: number): Receipt {
  const o = g.body + i * RECEIPT_ENTRY_BYTES;
  const amount = new DataView(g.row.buffer, g.row.byteOffset + o + 32 + ADDRESS_BYTES, 8).getBigUint64(0);
  return { txid: g.row.subarray(o, o + 32), src: g.src, dst: g.dst, seq: g.first + BigInt(i), to: g.row.subarray(o + 32, o + 32 + ADDRESS_BYTES), amount, epoch: g.epoch };
}

/** Every receipt of a group, as objects (tests, queries; the hot paths read the row in place). */
export function groupReceipts(g: ReceiptGroup): Receipt[] {
  return Array.from({ length: g.n }, (_, i) => receiptAt(g, i));
}

/** The rows of a seq-ordered run of receipts (one per emitting epoch). */
export function receiptRows(rs: readonly Receipt[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = 0;
  for (let i = 1; i <= rs.length; i++) {
    if (i === rs.length || rs[i]!.epoch !== rs[s]!.epoch) {
      out.push(encodeReceiptRow(rs.slice(s, i)));
      s = i;
    }
  }
  return out;
}

// ---- the shard head: one metadata row, rewritten by every seal in the same batch ----
export interface ShardHead {
  epoch: number; // last sealed epoch, -1 = only the genesis state is stored
  stateRoot: Uint8Array;
  outboxRoot: Uint8Array;
  snapshotHash: Uint8Array; // of the last sealed snapshot (zeros before epoch 0)
  lamport: bigint;
  hlc: bigint;
  supply: bigint; // sum of balances held here
  committedTotal: bigint; // transactions committed since genesis
  totalOutflow: bigint; // cumulative snapshot totals since genesis
  totalInflow: bigint;
  totalFees: bigint;
  outboxSeq: Map<string, bigint>; // dst shard -> next seq
}

const HEAD_VERSION = 4; // 2: cumulative outflow/inflow/fees; 3: receipt chains (one outbox leaf per destination, receipt rows per seal); 4: receipt rows v2 (shared fields once, fixed-size entries), credit rows per group

export function encodeHead(h: ShardHead): Uint8Array {
  const w = new ByteWriter(256);
  w.u8(HEAD_VERSION).u64(BigInt(h.epoch + 1)).fixed(h.stateRoot, 32).fixed(h.outboxRoot, 32).fixed(h.snapshotHash, 32);
  w.u64(h.lamport).u64(h.hlc).u64(h.supply).u64(h.committedTotal).u64(h.totalOutflow).u64(h.totalInflow).u64(h.totalFees);
  const seqs = [...h.outboxSeq].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  w.u32(seqs.length);
  for (const [dst, n] of seqs) w.string(dst).u64(n);
  return w.finish();
}

export function decodeHead(b: Uint8Array): ShardHead {
  const r = new ByteReader(b, 'shard head');
  const version = r.u8();
  if (version !== HEAD_VERSION) throw new DecodeError(`shard head: version ${version} is not ${HEAD_VERSION} (data dir from an older build: start from a fresh data dir)`);
  const epoch = safe(r.u64(), 'head epoch') - 1;
  const stateRoot = r.fixed(32);
  const outboxRoot = r.fixed(32);
  const snapshotHash = r.fixed(32);
  const lamport = r.u64();
  const hlc = r.u64();
  const supply = r.u64();
  const committedTotal = r.u64();
  const totalOutflow = r.u64();
  const totalInflow = r.u64();
  const totalFees = r.u64();
  const n = r.u32();
  if (n > 3 ** 8) throw new DecodeError(`shard head: ${n} outbox counters`);
  const outboxSeq = new Map<string, bigint>();
  for (let i = 0; i < n; i++) outboxSeq.set(shardId(r.string(MAX_SHARD_ID)), r.u64());
  r.end();
  return { epoch, stateRoot, outboxRoot, snapshotHash, lamport, hlc, supply, committedTotal, totalOutflow, totalInflow, totalFees, outboxSeq };
}

// ---- the tx index row: txid -> where it was committed ----
export function encodeTxLocation(epoch: number, index: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(epoch));
  v.setUint32(8, index);
  return out;
}

export function decodeTxLocation(b: Uint8Array): { epoch: number; index: number } {
  if (b.length !== 12) throw new DecodeError(`tx location: want 12 bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, 12);
  return { epoch: safe(v.getBigUint64(0), 'tx location epoch'), index: v.getUint32(8) };
}

export function epochKey(epoch: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(epoch));
  return out;
}

function shardId(s: string): ShardId {
  if (!/^[012]*$/.test(s)) throw new DecodeError('shard id is not ternary digits');
  return s as ShardId;
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`${what} ${v} too large`);
  return Number(v);
}
