// The pure core of the shard state machine: given the committed accounts and the ready
// transactions, computes what an epoch changes. No I/O, no clocks: every replica fed the same
// committed state and the same set of ready transactions computes byte-identical effects,
// whatever order the transactions arrived in.
//
// Order within an epoch (DESIGN §2): by sender address (bytes, ascending), then nonce ascending.
// Per transaction: debit the sender amount + fee (the fee is burned) and advance its nonce; credit
// the recipient if its home shard is this one, otherwise emit a receipt to the recipient's home
// shard with the next seq of that (src, dst) pair.
// At most `maxReceiptsPerDst` receipts per destination per epoch (so that any epoch's receipts to one
// destination fit one receipt batch): a cross-shard transfer past the cap, and every later nonce of
// its sender, is left out of the epoch (it stays pending and goes into the next one).
import { homeShard } from '../core/address.js';
import { toHex } from '../core/bytes.js';
import { hex } from './fast-hash.js';
import type { ShardId } from '../core/ids.js';
import type { DecodedTx } from './tx.js';
import { txRecordSize, writeTxRecord, TX_STATUS_APPLIED, type Receipt } from './records.js';

export interface ApplyTx {
  id: Uint8Array;
  sender: Uint8Array;
  senderHex: string;
  d: DecodedTx;
  nonce: bigint;
  cost: bigint;
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
  records: { id: Uint8Array; value: Uint8Array }[]; // tx accumulator leaves, in order
  receipts: Receipt[];
  outboxSeq: Map<ShardId, bigint>; // next seq of every destination written to
  fees: bigint;
  outflow: bigint;
}

/** A broken precondition (the mempool admitted something unapplicable): a bug, never user input. */
export class EngineInvariantError extends Error {
  override name = 'EngineInvariantError';
}

// Memo of home shards of recipients seen lately (a pure function of the address; bounded).
const homeMemo = new Map<string, ShardId>();
function homeOf(address: Uint8Array, hex: string, depth: number): ShardId {
  if (depth === 0) return '' as ShardId;
  const key = depth + hex;
  let s = homeMemo.get(key);
  if (s === undefined) {
    if (homeMemo.size >= 100_000) homeMemo.clear();
    s = homeShard(address, depth);
    homeMemo.set(key, s);
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
  const get = (hex: string, address: Uint8Array): EngineAccount => {
    let a = touched.get(hex);
    if (!a) {
      const c = input.account(hex);
      a = c ? { address: c.address, balance: c.balance, nonce: c.nonce, key: c.key } : { address, balance: 0n, nonce: 0n };
      touched.set(hex, a);
    }
    return a;
  };
  const records: { id: Uint8Array; value: Uint8Array }[] = new Array(ordered.length);
  // every record of the epoch is carved from one buffer (one allocation instead of one per tx)
  let total = 0;
  for (const t of ordered) total += txRecordSize(t.d.bytes.length);
  const slab = new Uint8Array(total);
  const slabView = new DataView(slab.buffer);
  let off = 0;
  const receipts: Receipt[] = [];
  const outboxSeq = new Map<ShardId, bigint>();
  let fees = 0n;
  let outflow = 0n;
  const cap = input.maxReceiptsPerDst ?? Infinity;
  const perDst = new Map<ShardId, number>(); // receipts emitted this epoch per destination
  let deferredSender = ''; // the sender whose remaining nonces wait for the next epoch
  let applied = 0;
  for (let k = 0; k < ordered.length; k++) {
    const t = ordered[k]!;
    if (t.senderHex === deferredSender) continue;
    const tx = t.d.tx;
    const toHexStr = hex(tx.to);
    // accounts that exist here are homed here: the home map is hashed only for the others
    const dst = touched.has(toHexStr) || input.account(toHexStr) ? input.shard : homeOf(tx.to, toHexStr, input.depth);
    if (dst !== input.shard && (perDst.get(dst) ?? 0) >= cap) {
      deferredSender = t.senderHex; // ordered by sender then nonce: skip the rest of this sender's run
      continue;
    }
    const from = get(t.senderHex, t.sender);
    if (t.nonce !== from.nonce) throw new EngineInvariantError(`tx ${toHex(t.id)}: nonce ${t.nonce}, account expects ${from.nonce}`);
    if (t.cost > from.balance) throw new EngineInvariantError(`tx ${toHex(t.id)}: cost ${t.cost} exceeds balance ${from.balance}`);
    from.balance -= t.cost;
    from.nonce += 1n;
    fees += tx.fee;
    if (dst === input.shard) {
      get(toHexStr, tx.to).balance += tx.amount; // cannot pass u64: total supply fits in a u64
    } else {
      const seq = outboxSeq.get(dst) ?? input.nextSeq(dst);
      outboxSeq.set(dst, seq + 1n);
      perDst.set(dst, (perDst.get(dst) ?? 0) + 1);
      receipts.push({ txid: t.id, src: input.shard, dst, seq, to: tx.to, amount: tx.amount, epoch: input.epoch });
      outflow += tx.amount;
    }
    const i = applied++;
    if (i !== k) ordered[i] = t;
    const end = writeTxRecord(slab, slabView, off, t.d.bytes, input.epoch, i, TX_STATUS_APPLIED);
    records[i] = { id: t.id, value: slab.subarray(off, end) };
    off = end;
  }
  ordered.length = applied;
  records.length = applied;
  return { ordered, accounts: touched, records, receipts, outboxSeq, fees, outflow };
}
