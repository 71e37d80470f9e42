// The destination side of cross-shard transfers (docs/PROTOCOL.md): which receipts this shard has credited.
//
// State per source shard j (index in shard order): `next`, the next expected seq of the (j, this)
// pair, `epoch`, the latest epoch of j whose receipts were consumed (the vector clock entry), and
// `head`, the (j, this) receipt chain's head after seq next - 1 (receipt-chain.ts).
// The cursor is part of the shard's STATE: it lives in the account trie under inboxCursorKey(j)
// (so stateRoot commits to it) and in the 'inbox' metadata row, both written in the seal's batch.
//
// A run of receipt groups (rows, records.ts) ending at the source's proven (count, head) is chained
// from the verified frontier's head (`offer`): the groups it adds wait in memory, as received; a seal
// credits, per source in index order, everything waiting (`plan`), and the cursors advance only once
// that seal is durable (`commit`). A receipt below the frontier is a replay (no-op); a run above it is held (bounded) until
// the gap fills. Pure: no I/O; the waiting set is rebuilt by re-delivery after a restart.
import { ByteReader, ByteWriter, DecodeError, bytesEqual } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import { RECEIPT_ENTRY_BYTES, type ReceiptGroup } from './records.js';
import { chainGroup } from './receipt-chain.js';

export interface InboxCursor {
  next: bigint; // next expected seq from this source
  epoch: number; // latest source epoch whose receipts were consumed (vector clock entry)
  head: Uint8Array; // 32: head_next of the (source, this) receipt chain (receipt-chain.ts)
}

/** Account-trie key of source j's cursor: H_inbox-cursor(u32 j); disjoint from H_account-key. */
export function inboxCursorKey(srcIndex: number): Uint8Array {
  return taggedHash('inbox-cursor', new ByteWriter(4).u32(srcIndex).finish());
}

/** Cursor leaf value: u64 next | u64 epoch | 32 chain head. */
export function encodeCursorValue(c: InboxCursor): Uint8Array {
  return new ByteWriter(48).u64(c.next).u64(BigInt(c.epoch)).fixed(c.head, 32).finish();
}

export function decodeCursorValue(b: Uint8Array): InboxCursor {
  const r = new ByteReader(b, 'inbox cursor');
  const next = r.u64();
  const epoch = safe(r.u64());
  const head = r.fixed(32);
  r.end();
  return { next, epoch, head };
}

const INBOX_STATE_VERSION = 2; // 2: the chain head per source
export const INBOX_META_KEY = new TextEncoder().encode('inbox');

/** The metadata row: u8 version | u32 n | n x (u32 src | u64 next | u64 epoch | 32 head), src ascending. */
export function encodeInboxState(cursors: ReadonlyMap<number, InboxCursor>): Uint8Array {
  const rows = [...cursors].sort(([a], [b]) => a - b);
  const w = new ByteWriter(5 + rows.length * 52).u8(INBOX_STATE_VERSION).u32(rows.length);
  for (const [j, c] of rows) w.u32(j).u64(c.next).u64(BigInt(c.epoch)).fixed(c.head, 32);
  return w.finish();
}

export function decodeInboxState(b: Uint8Array): Map<number, InboxCursor> {
  const r = new ByteReader(b, 'inbox state');
  const v = r.u8();
  if (v !== INBOX_STATE_VERSION) throw new DecodeError(`inbox state: unknown version ${v}`);
  const n = r.u32();
  if (n > 3 ** 8) throw new DecodeError(`inbox state: ${n} cursors`);
  const out = new Map<number, InboxCursor>();
  let last = -1;
  for (let i = 0; i < n; i++) {
    const j = r.u32();
    if (j <= last) throw new DecodeError('inbox state: sources not ascending');
    last = j;
    out.set(j, { next: r.u64(), epoch: safe(r.u64()), head: r.fixed(32) });
  }
  r.end();
  return out;
}

/**
 * Credit row (sublevel `cred`, key u32 src | u64 first seq): one per group of receipts credited here,
 * what a query needs to name the credit half of each of its transfers (not the amounts: the source's
 * row has them):
 *   u64 epoch (this shard's, that credited it) | u64 source epoch | u64 first seq | u32 n | n x 32 txid
 * Found by (source, seq) with one range seek.
 */
export interface CreditRow {
  epoch: number; // this shard's epoch that credited the group
  srcEpoch: number; // the source epoch that emitted it
  first: bigint;
  n: number;
  txids: Uint8Array; // n x 32
}

export function creditRowKey(src: number, first: bigint): Uint8Array {
  return new ByteWriter(12).u32(src).u64(first).finish();
}

/** The credit row of a group credited at `epoch` (txids copied out of the group's row). */
export function creditRowOf(epoch: number, g: ReceiptGroup): Uint8Array {
  const out = new Uint8Array(28 + 32 * g.n);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(epoch));
  v.setBigUint64(8, BigInt(g.epoch));
  v.setBigUint64(16, g.first);
  v.setUint32(24, g.n);
  // 4 bytes at a time through DataViews: no view object per receipt, a third of a byte loop's cost
  const row = g.row;
  const rv = new DataView(row.buffer, row.byteOffset, row.byteLength);
  for (let i = 0, o = g.body, d = 28; i < g.n; i++, o += RECEIPT_ENTRY_BYTES, d += 32) {
    for (let k = 0; k < 32; k += 4) v.setUint32(d + k, rv.getUint32(o + k));
  }
  return out;
}

export function encodeCreditRow(c: CreditRow): Uint8Array {
  if (c.txids.length !== 32 * c.n || c.n < 1) throw new RangeError('credit row: n txids of 32 bytes, n >= 1');
  return new ByteWriter(28 + c.txids.length).u64(BigInt(c.epoch)).u64(BigInt(c.srcEpoch)).u64(c.first).u32(c.n).fixed(c.txids).finish();
}

export function decodeCreditRow(b: Uint8Array): CreditRow {
  const r = new ByteReader(b, 'credit row');
  const epoch = safe(r.u64());
  const srcEpoch = safe(r.u64());
  const first = r.u64();
  const n = r.u32();
  if (n < 1) throw new DecodeError('credit row: no receipt');
  if (n > r.remaining / 32) throw new DecodeError(`credit row: ${n} txids, ${r.remaining} bytes`);
  const txids = r.fixed(32 * n);
  r.end();
  return { epoch, srcEpoch, first, n, txids };
}

/** Where the credit half of a cross-shard transfer landed. */
export interface CreditRecord {
  epoch: number; // this shard's epoch that credited it
  src: number; // source shard index
  seq: bigint;
  srcEpoch: number; // the source epoch that debited it
  txid: Uint8Array;
}

/** What one seal credits. */
export interface InboxPlan {
  credits: { src: number; group: ReceiptGroup }[]; // in crediting order: source index, then seq
  cursors: Map<number, InboxCursor>; // new values of the cursors that moved
  inflow: bigint;
  count: number; // receipts credited
}

/** The chain-checkable part of a verified batch (receipts.ts verifyReceiptBatch checked the rest). */
export interface ChainRun {
  groups: readonly ReceiptGroup[]; // whole groups, seqs count - n .. count - 1
  count: bigint;
  head: Uint8Array; // head_count, proven by the source's outbox leaf
}

export interface OfferResult {
  queued: number;
  duplicates: number;
  full: number;
  gap: number;
}

/** A chain run that does not end at the source's head: the source (or a relay) equivocated. */
export class ChainMismatchError extends Error {
  override name = 'ChainMismatchError';
}

interface Pending {
  queue: ReceiptGroup[]; // verified whole groups, consecutive seqs from the committed cursor
  size: number; // receipts in queue
  front: InboxCursor; // the cursor after the queue
}

const MAX_HELD_RUNS = 8; // runs above a gap kept per source (their chain is checked once the gap fills)

function runSize(run: ChainRun): number {
  let n = 0;
  for (const g of run.groups) n += g.n;
  return n;
}

export class Inbox {
  private readonly committed: Map<number, InboxCursor>;
  private readonly pending = new Map<number, Pending>();
  private readonly held = new Map<number, ChainRun[]>();
  private readonly maxPendingPerSource: number;
  private readonly genesisHead: (src: number) => Uint8Array;

  constructor(cursors: Map<number, InboxCursor>, genesisHead: (src: number) => Uint8Array, maxPendingPerSource = 200_000) {
    this.committed = cursors;
    this.genesisHead = genesisHead;
    this.maxPendingPerSource = maxPendingPerSource;
  }

  cursor(src: number): InboxCursor {
    return this.committed.get(src) ?? { next: 0n, epoch: 0, head: this.genesisHead(src) };
  }

  cursors(): ReadonlyMap<number, InboxCursor> {
    return this.committed;
  }

  /** The verified frontier of source `src`: past the receipts already waiting, else the committed cursor. */
  frontier(src: number): InboxCursor {
    return this.pending.get(src)?.front ?? this.cursor(src);
  }

  pendingCount(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.size;
    return n;
  }

  /**
   * Offers a verified run of receipt groups from source `src`. Groups below the verified frontier
   * are duplicates (no-ops). A run starting above it is held (bounded) until the gap fills.
   * Otherwise the chain is recomputed from the frontier's head over the new groups and must end at
   * the proven head (else ChainMismatchError, nothing changes); the new groups are queued for the
   * next seal.
   */
  offer(src: number, run: ChainRun): OfferResult {
    const res = this.offerOne(src, run);
    if (res.queued > 0) this.drainHeld(src);
    return res;
  }

  private offerOne(src: number, run: ChainRun): OfferResult {
    const n = runSize(run);
    const p = this.pending.get(src);
    const front = p ? p.front : this.cursor(src);
    if (run.count <= front.next) return { queued: 0, duplicates: n, full: 0, gap: 0 };
    const first = run.count - BigInt(n);
    if (first > front.next) {
      let h = this.held.get(src);
      if (!h) this.held.set(src, (h = []));
      if (!h.some((x) => x.count === run.count)) {
        h.push(run);
        if (h.length > MAX_HELD_RUNS) h.shift();
      }
      return { queued: 0, duplicates: 0, full: 0, gap: n };
    }
    // the chain links whole groups: the frontier must sit on a group boundary of the run
    const g0 = run.groups.findIndex((g) => g.first === front.next);
    const skip = Number(front.next - first);
    if (g0 < 0) return { queued: 0, duplicates: skip, full: 0, gap: n - skip }; // a run cut mid-group (no honest source serves one)
    const room = Math.max(0, this.maxPendingPerSource - (p ? p.size : 0));
    // the whole chain must reach the proven head, even for the groups that do not fit
    let h = front.head;
    let cut = front.head;
    let take = 0;
    let takeGroups = 0;
    let epoch = front.epoch;
    let fits = true;
    for (let k = g0; k < run.groups.length; k++) {
      const g = run.groups[k]!;
      h = chainGroup(h, g.row);
      if (fits && take + g.n <= room) {
        take += g.n;
        takeGroups++;
        cut = h;
        if (g.epoch > epoch) epoch = g.epoch;
      } else fits = false;
    }
    if (!bytesEqual(h, run.head)) throw new ChainMismatchError(`receipts ${first}..${run.count - 1n} do not chain from seq ${front.next} to the proven head`);
    if (take > 0) {
      const q = p ?? { queue: [], size: 0, front };
      for (let k = g0; k < g0 + takeGroups; k++) q.queue.push(run.groups[k]!);
      q.size += take;
      q.front = { next: front.next + BigInt(take), epoch, head: cut };
      this.pending.set(src, q);
    }
    return { queued: take, duplicates: skip, full: n - skip - take, gap: 0 };
  }

  /** Held runs that the frontier now reaches are chained in; stale ones dropped. */
  private drainHeld(src: number): void {
    const h = this.held.get(src);
    if (!h) return;
    for (let progress = true; progress && h.length > 0; ) {
      progress = false;
      const front = this.pending.get(src)?.front ?? this.cursor(src);
      for (let i = h.length - 1; i >= 0; i--) {
        const run = h[i]!;
        if (run.count <= front.next) { h.splice(i, 1); continue; }
        if (run.count - BigInt(runSize(run)) > front.next) continue;
        h.splice(i, 1);
        try {
          if (this.offerOne(src, run).queued > 0) progress = true;
        } catch {
          // a held run that does not chain is dropped (an equivocating source; pulls refetch)
        }
        break;
      }
    }
    if (h.length === 0) this.held.delete(src);
  }

  /** The credits of the next seal: per source (ascending), every verified group queued. */
  plan(): InboxPlan {
    const credits: InboxPlan['credits'] = [];
    const cursors = new Map<number, InboxCursor>();
    let inflow = 0n;
    let count = 0;
    for (const src of [...this.pending.keys()].sort((a, b) => a - b)) {
      const p = this.pending.get(src)!;
      if (p.queue.length === 0) continue;
      for (const g of p.queue) {
        credits.push({ src, group: g });
        inflow += groupAmount(g);
        count += g.n;
      }
      cursors.set(src, p.front);
    }
    return { credits, cursors, inflow, count };
  }

  /**
   * The plan of groups another replica credited (a follower re-executing its writer's epoch,
   * docs/REPLICAS.md): each source's groups must continue its committed cursor, seq after seq.
   */
  planFrom(credits: { src: number; group: ReceiptGroup }[]): InboxPlan {
    const cursors = new Map<number, InboxCursor>();
    let inflow = 0n;
    let count = 0;
    for (const { src, group: g } of credits) {
      const c = cursors.get(src) ?? this.cursor(src);
      if (g.first !== c.next) throw new ChainMismatchError(`credited group of source ${src} starts at seq ${g.first}, the cursor is at ${c.next}`);
      cursors.set(src, { next: c.next + BigInt(g.n), epoch: Math.max(c.epoch, g.epoch), head: chainGroup(c.head, g.row) });
      inflow += groupAmount(g);
      count += g.n;
    }
    return { credits, cursors, inflow, count };
  }

  /** The seal that applied `plan` is durable: advance the cursors, drop what they passed. */
  commit(plan: InboxPlan): void {
    for (const [src, c] of plan.cursors) {
      this.committed.set(src, c);
      const p = this.pending.get(src);
      if (!p) continue;
      let k = 0;
      while (k < p.queue.length && p.queue[k]!.first < c.next) p.size -= p.queue[k++]!.n;
      p.queue.splice(0, k);
      if (p.queue.length === 0) this.pending.delete(src);
    }
  }
}

/** Sum of a group's amounts (read in place). */
export function groupAmount(g: ReceiptGroup): bigint {
  const v = new DataView(g.row.buffer, g.row.byteOffset, g.row.byteLength);
  // Each u64 as two u32 halves summed in doubles (exact: the halves' sums stay below 2^53 for any
  // n < 2^21), one BigInt at the end instead of two per receipt.
  if (g.n >= 1 << 21) throw new RangeError(`receipt group of ${g.n} receipts`);
  let hi = 0;
  let lo = 0;
  for (let i = 0, o = g.body + 52; i < g.n; i++, o += RECEIPT_ENTRY_BYTES) {
    hi += v.getUint32(o);
    lo += v.getUint32(o + 4);
  }
  return (BigInt(hi) << 32n) + BigInt(lo);
}

function safe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`inbox: epoch ${v} too large`);
  return Number(v);
}
