// Canonical encodings of what a shard stores and commits to (all big-endian, strict decoders):
//   account leaf   key = H_account-key(address)       value = u64 balance | u64 nonce
//   tx record      key = txid                          value = u32 len | signed tx | u64 epoch | u32 index | u8 status
//   receipt        u8 version | 32 txid | str src | str dst | u64 seq | 20 to | u64 amount | u64 epoch
//                  (stored by (dst, seq); hashed into the (src, dst) receipt chain, receipt-chain.ts)
//   outbox leaf    key = H_outbox-key(u8 len | dst)       value = u64 count | 32 chain head
//   shard head     (metadata row, not hashed): the last sealed epoch and everything needed to resume
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import { taggedHasher } from './fast-hash.js';
import { ADDRESS_BYTES } from '../core/address.js';
import type { ShardId } from '../core/ids.js';
import { MAX_TX_BYTES } from './tx.js';

const MAX_SHARD_ID = 16;

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
  writeTxRecord(out, new DataView(out.buffer), 0, r.signedTx, r.epoch, r.index, r.status);
  return out;
}

export function txRecordSize(signedTxLength: number): number {
  return 4 + signedTxLength + 13;
}

/** Writes a tx record at `off` of `out` (whose whole buffer `view` spans); returns the end offset. */
export function writeTxRecord(out: Uint8Array, view: DataView, off: number, signedTx: Uint8Array, epoch: number, index: number, status: number): number {
  view.setUint32(off, signedTx.length);
  out.set(signedTx, off + 4);
  const o = off + 4 + signedTx.length;
  view.setBigUint64(o, BigInt(epoch));
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
export const RECEIPT_VERSION = 1;

export interface Receipt {
  txid: Uint8Array;
  src: ShardId;
  dst: ShardId;
  seq: bigint; // counts up from 0 per (src, dst)
  to: Uint8Array; // 20
  amount: bigint;
  epoch: number; // the source epoch that emitted it
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

// Hand-written (no ByteWriter/TextEncoder): every cross-shard transfer is encoded at the source and
// decoded at the destination; byte-identical to the ByteWriter form (u32-prefixed ASCII shard ids).
export function encodeReceipt(r: Receipt): Uint8Array {
  return encodeReceipts([r])[0]!;
}

function receiptSize(r: Receipt): number {
  return 1 + 32 + 4 + r.src.length + 4 + r.dst.length + 8 + ADDRESS_BYTES + 16;
}

/** encodeReceipt of each, carved from one buffer (one allocation per seal, not per receipt). */
export function encodeReceipts(rs: readonly Receipt[]): Uint8Array[] {
  let total = 0;
  for (const r of rs) total += receiptSize(r);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const res = new Array<Uint8Array>(rs.length);
  let o = 0;
  for (let k = 0; k < rs.length; k++) {
    const r = rs[k]!;
    if (r.txid.length !== 32 || r.to.length !== ADDRESS_BYTES) throw new RangeError('receipt: txid must be 32 bytes and to 20');
    const start = o;
    const ls = r.src.length;
    const ld = r.dst.length;
    out[o] = RECEIPT_VERSION;
    out.set(r.txid, o + 1);
    o += 33;
    v.setUint32(o, ls);
    for (let i = 0; i < ls; i++) out[o + 4 + i] = r.src.charCodeAt(i);
    o += 4 + ls;
    v.setUint32(o, ld);
    for (let i = 0; i < ld; i++) out[o + 4 + i] = r.dst.charCodeAt(i);
    o += 4 + ld;
    v.setBigUint64(o, r.seq);
    out.set(r.to, o + 8);
    o += 8 + ADDRESS_BYTES;
    v.setBigUint64(o, r.amount);
    v.setBigUint64(o + 8, BigInt(r.epoch));
    o += 16;
    res[k] = out.subarray(start, o);
  }
  return res;
}

// Shard ids decoded lately, by their bytes (there are 3^depth of them): no string building per receipt.
const shardIdMemo = new Map<number, ShardId>();

function receiptShardId(b: Uint8Array, o: number, len: number): ShardId {
  let key = len; // base-4 digits of the ASCII '0'..'2' bytes, plus the length: unique for len <= 12
  for (let i = 0; i < len; i++) {
    const c = b[o + i]!;
    if (c < 0x30 || c > 0x32) throw new DecodeError('shard id is not ternary digits');
    key = key * 4 + (c - 0x2f);
  }
  if (len > 12) {
    let out = '';
    for (let i = 0; i < len; i++) out += String.fromCharCode(b[o + i]!);
    return out as ShardId;
  }
  let id = shardIdMemo.get(key);
  if (id === undefined) {
    id = String.fromCharCode(...b.subarray(o, o + len)) as ShardId;
    shardIdMemo.set(key, id);
  }
  return id;
}

export function decodeReceipt(b: Uint8Array): Receipt {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b.length;
  if (n < 1) throw new DecodeError('receipt: truncated (need 1 bytes at 0, have 0)');
  const version = b[0]!;
  if (version !== RECEIPT_VERSION) throw new DecodeError(`receipt: unknown version ${version}`);
  if (n < 37) throw new DecodeError(`receipt: truncated at the txid or source (${n} bytes)`);
  const txid = b.subarray(1, 33); // views into the input (a received batch): no copies
  const ls = v.getUint32(33);
  if (ls > MAX_SHARD_ID) throw new DecodeError(`receipt: field length ${ls} exceeds limit ${MAX_SHARD_ID}`);
  if (n < 37 + ls + 4) throw new DecodeError(`receipt: truncated at the source or destination (${n} bytes)`);
  const src = receiptShardId(b, 37, ls);
  let o = 37 + ls;
  const ld = v.getUint32(o);
  if (ld > MAX_SHARD_ID) throw new DecodeError(`receipt: field length ${ld} exceeds limit ${MAX_SHARD_ID}`);
  if (n < o + 4 + ld) throw new DecodeError(`receipt: truncated at the destination (${n} bytes)`);
  const dst = receiptShardId(b, o + 4, ld);
  o += 4 + ld;
  if (n < o + 8 + ADDRESS_BYTES + 16) throw new DecodeError(`receipt: truncated (need ${8 + ADDRESS_BYTES + 16} bytes at ${o}, have ${n - o})`);
  const seq = v.getBigUint64(o);
  const to = b.subarray(o + 8, o + 8 + ADDRESS_BYTES);
  o += 8 + ADDRESS_BYTES;
  const amount = v.getBigUint64(o);
  const epoch = safe(v.getBigUint64(o + 8), 'receipt epoch');
  if (o + 16 !== n) throw new DecodeError(`receipt: ${n - o - 16} trailing bytes`);
  return { txid, src, dst, seq, to, amount, epoch };
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

const HEAD_VERSION = 3; // 2: cumulative outflow/inflow/fees; 3: receipt chains (one outbox leaf per destination, receipt rows per seal)

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
