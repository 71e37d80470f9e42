// The pure core of the shard state machine: given the committed accounts and the ready
// transactions, computes what an epoch changes. No I/O, no clocks: every replica fed the same
// committed state and the same set of ready transactions computes byte-identical effects,
// whatever order the transactions arrived in.
//
// Order within an epoch (docs/PROTOCOL.md): by sender address (bytes, ascending), then nonce ascending.
// Per transaction: debit the sender amount + fee (the fee is burned) and advance its nonce; credit
// the recipient if its home shard is this one, otherwise emit a receipt to the recipient's home
// shard with the next seq of that (src, dst) pair.
// At most `maxReceiptsPerDst` receipts per destination per epoch (so that any epoch's receipts to one
// destination fit one receipt batch): a cross-shard transfer past the cap, and every later nonce of
// its sender, is left out of the epoch (it stays pending and goes into the next one).
import { homeShard } from '../core/address.js';
import { toHex, uninitBytes } from '../core/bytes.js';
import { addressFastAt, hexRange } from './fast-hash.js';
import type { ShardId } from '../core/ids.js';
import { receiptRowHeaderSize, txRecordSize, writeReceiptEntry, writeReceiptRowHeader, writeTxRecord, RECEIPT_ENTRY_BYTES, TX_STATUS_APPLIED, type ReceiptGroup } from './records.js';

/**
 * A transaction as the engine reads it: the signed encoding and the fields admission already read
 * from it (tx.ts scanSignedTx), not a decoded object with a view per field (fewer objects per
 * pending transaction for every GC to copy and mark).
 */
export interface ApplyTx {
  id: Uint8Array;
  senderHex: string; // hex of the sender's address (H(from) truncated: core/address.ts)
  bytes: Uint8Array; // the signed tx encoding (not mutated)
  toAt: number; // offset of the recipient address in `bytes`
  amount: bigint;
  nonce: bigint;
  cost: bigint; // amount + fee (the fee is cost - amount: one bigint less kept per pending transaction)
}

export interface EngineAccount {
  address: Uint8Array;
  balance: bigint;
  nonce: bigint;
  key?: Uint8Array; // cached account-trie key (H_account-key(address)); not state
}

export interface EpochInput<T extends ApplyTx> {
  shard: ShardId;
  depth: number;
  epoch: number;
  txs: readonly T[]; // the ready set, any order
  account: (hex: string) => EngineAccount | undefined; // committed state, read only
  nextSeq: (dst: ShardId) => bigint; // committed outbox counters, read only
  maxReceiptsPerDst?: number; // default: unbounded
}

export interface EpochEffects<T extends ApplyTx> {
  ordered: T[]; // the applied transactions, in order (the deferred ones are not in it)
  accounts: Map<string, EngineAccount>; // new values of every touched account
  records: TxRecords; // tx accumulator leaves, in order: record i is keyed by ordered[i].id
  groups: (ReceiptGroup & { dst: ShardId })[]; // the epoch's receipts: one row per destination (records.ts), first emission order
  outboxSeq: Map<ShardId, bigint>; // next seq of every destination written to
  fees: bigint;
  outflow: bigint;
}

/**
 * The tx records of an epoch (the accumulator's leaves), in order, in one buffer: record i is
 * slab[i === 0 ? 0 : ends[i - 1], ends[i]). No object and view per transaction: they lived until
 * the seal's write landed, through young-generation GCs.
 */
export interface TxRecords {
  slab: Uint8Array;
  ends: Uint32Array;
}

/** Record i of `r` (a view). */
export function txRecordAt(r: TxRecords, i: number): Uint8Array {
  return r.slab.subarray(i === 0 ? 0 : r.ends[i - 1]!, r.ends[i]!);
}

/** A broken precondition (the mempool admitted something unapplicable): a bug, never user input. */
export class EngineInvariantError extends Error {
  override name = 'EngineInvariantError';
}

// Memo of home shards of recipients seen lately, per depth (a pure function of the address; bounded).
const homeMemo = new Map<number, Map<string, ShardId>>();
/** The recipient's home shard (address at b[at, at + 20)): from the memo, else `here` if it has an account here (homed here by construction), else hashed. */
function homeOf(b: Uint8Array, at: number, hex: string, depth: number, here: ShardId, hasAccountHere: (hex: string) => boolean): ShardId {
  if (depth === 0) return '' as ShardId;
  let m = homeMemo.get(depth);
  if (!m) homeMemo.set(depth, (m = new Map()));
  let s = m.get(hex);
  if (s === undefined) {
    if (m.size >= 100_000) m.clear();
    s = hasAccountHere(hex) ? here : homeShard(b.subarray(at, at + 20), depth);
    m.set(hex, s);
  }
  return s;
}

export function compareTxOrder(a: ApplyTx, b: ApplyTx): number {
  if (a.senderHex !== b.senderHex) return a.senderHex < b.senderHex ? -1 : 1; // lowercase hex sorts like the bytes
  return a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0;
}

export function applyEpoch<T extends ApplyTx>(input: EpochInput<T>): EpochEffects<T> {
  const ordered = [...input.txs].sort(compareTxOrder);
  const touched = new Map<string, EngineAccount>();
  // the address (b[at, at + 20)) is copied only for an account new here
  const get = (hex: string, b: Uint8Array, at: number): EngineAccount => {
    let a = touched.get(hex);
    if (!a) {
      const c = input.account(hex);
      a = c ? { address: c.address, balance: c.balance, nonce: c.nonce, key: c.key } : { address: b.slice(at, at + 20), balance: 0n, nonce: 0n };
      touched.set(hex, a);
    }
    return a;
  };
  // A sender pays, so it has an account (admission checked its funds against it): its address is
  // hashed from its public key (the 32 bytes before the recipient) only if not, for the error below.
  const senderOf = (t: ApplyTx): EngineAccount =>
    touched.get(t.senderHex) ?? (input.account(t.senderHex) !== undefined ? get(t.senderHex, t.bytes, 0) : get(t.senderHex, addressFastAt(t.bytes, t.toAt - 32), 0));
  const ends = new Uint32Array(ordered.length);
  // every record of the epoch is carved from one buffer (one allocation instead of one per tx)
  let total = 0;
  for (const t of ordered) total += txRecordSize(t.bytes.length);
  const slab = new Uint8Array(total);
  const slabView = new DataView(slab.buffer);
  const epochBig = BigInt(input.epoch); // one bigint per epoch, not one per record
  let off = 0;
  const outboxSeq = new Map<ShardId, bigint>();
  // Per destination: its receipt row, entries written while the transaction is at hand (hot in
  // cache) after room for the header (written last, once n is known). Sized for an even share of the
  // epoch's transactions, doubled when that is short; trimmed (one copy) if it ends with room to spare.
  const perDst = new Map<ShardId, { n: number; buf: Uint8Array; view: DataView; body: number }>();
  const share = Math.min(input.maxReceiptsPerDst ?? Infinity, Math.max(16, Math.ceil(ordered.length / Math.max(1, 3 ** input.depth - 1))));
  let fees = 0n;
  let outflow = 0n;
  const cap = input.maxReceiptsPerDst ?? Infinity;
  const hasHere = (h: string): boolean => touched.has(h) || input.account(h) !== undefined;
  let deferredSender = ''; // the sender whose remaining nonces wait for the next epoch
  let applied = 0;
  for (let k = 0; k < ordered.length; k++) {
    const t = ordered[k]!;
    if (t.senderHex === deferredSender) continue;
    const toAt = t.toAt;
    const toHexStr = hexRange(t.bytes, toAt, toAt + 20);
    // accounts that exist here are homed here: the home map is hashed only for the others
    const dst = homeOf(t.bytes, toAt, toHexStr, input.depth, input.shard, hasHere);
    let out: { n: number; buf: Uint8Array; view: DataView; body: number } | undefined;
    if (dst !== input.shard && (out = perDst.get(dst))?.n! >= cap) {
      deferredSender = t.senderHex; // ordered by sender then nonce: skip the rest of this sender's run
      continue;
    }
    const from = senderOf(t);
    if (t.nonce !== from.nonce) throw new EngineInvariantError(`tx ${toHex(t.id)}: nonce ${t.nonce}, account expects ${from.nonce}`);
    if (t.cost > from.balance) throw new EngineInvariantError(`tx ${toHex(t.id)}: cost ${t.cost} exceeds balance ${from.balance}`);
    from.balance -= t.cost;
    from.nonce += 1n;
    fees += t.cost - t.amount;
    if (dst === input.shard) {
      get(toHexStr, t.bytes, toAt).balance += t.amount; // cannot pass u64: total supply fits in a u64
    } else {
      if (!out) {
        const body = receiptRowHeaderSize(input.shard, dst);
        const buf = uninitBytes(body + share * RECEIPT_ENTRY_BYTES); // header and entries all written; the slack is trimmed
        perDst.set(dst, (out = { n: 0, buf, view: new DataView(buf.buffer), body }));
      } else if (out.body + (out.n + 1) * RECEIPT_ENTRY_BYTES > out.buf.length) {
        const buf = uninitBytes(out.body + 2 * out.n * RECEIPT_ENTRY_BYTES);
        buf.set(out.buf);
        out.buf = buf;
        out.view = new DataView(buf.buffer);
      }
      writeReceiptEntry(out.buf, out.view, out.body + out.n++ * RECEIPT_ENTRY_BYTES, t.id, t.bytes.subarray(toAt, toAt + 20), t.amount);
      outflow += t.amount;
    }
    const i = applied++;
    if (i !== k) ordered[i] = t;
    const end = writeTxRecord(slab, slabView, off, t.bytes, epochBig, i, TX_STATUS_APPLIED);
    ends[i] = end;
    off = end;
  }
  ordered.length = applied;
  const records: TxRecords = { slab: off === slab.length ? slab : slab.subarray(0, off), ends: applied === ends.length ? ends : ends.slice(0, applied) };
  // one receipt row per destination, entries in the epoch's order (= seq order)
  const groups: EpochEffects<T>['groups'] = [];
  for (const [dst, { n, buf, view, body }] of perDst) {
    const first = input.nextSeq(dst);
    writeReceiptRowHeader(buf, view, input.shard, dst, input.epoch, first, n);
    const size = body + n * RECEIPT_ENTRY_BYTES;
    const row = size === buf.length ? buf : buf.slice(0, size);
    outboxSeq.set(dst, first + BigInt(n));
    groups.push({ src: input.shard, dst, epoch: input.epoch, first, n, row, body });
  }
  return { ordered, accounts: touched, records, groups, outboxSeq, fees, outflow };
}
