// The destination side of cross-shard transfers (DESIGN §5): which receipts this shard has credited.
//
// State per source shard j (index in shard order): `next`, the next expected seq of the (j, this)
// pair, and `epoch`, the latest epoch of j whose receipts were consumed (the vector clock entry).
// The cursor is part of the shard's STATE: it lives in the account trie under inboxCursorKey(j)
// (so stateRoot commits to it) and in the 'inbox' metadata row, both written in the seal's batch.
//
// Verified receipts wait in memory (`offer`); a seal credits, per source in index order, the run of
// consecutive seqs starting at `next` (`plan`), and the cursors advance only once that seal is
// durable (`commit`). A receipt below the cursor is a replay (no-op); one above it waits for the
// gap to fill. Pure: no I/O; the pending set is rebuilt by re-delivery after a restart.
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import type { Receipt } from './records.js';

export interface InboxCursor {
  next: bigint; // next expected seq from this source
  epoch: number; // latest source epoch whose receipts were consumed (vector clock entry)
}

/** Account-trie key of source j's cursor: H_inbox-cursor(u32 j); disjoint from H_account-key. */
export function inboxCursorKey(srcIndex: number): Uint8Array {
  return taggedHash('inbox-cursor', new ByteWriter(4).u32(srcIndex).finish());
}

/** Cursor leaf value: u64 next | u64 epoch. */
export function encodeCursorValue(c: InboxCursor): Uint8Array {
  return new ByteWriter(16).u64(c.next).u64(BigInt(c.epoch)).finish();
}

export function decodeCursorValue(b: Uint8Array): InboxCursor {
  const r = new ByteReader(b, 'inbox cursor');
  const next = r.u64();
  const epoch = safe(r.u64());
  r.end();
  return { next, epoch };
}

const INBOX_STATE_VERSION = 1;
export const INBOX_META_KEY = new TextEncoder().encode('inbox');

/** The metadata row: u8 version | u32 n | n x (u32 src | u64 next | u64 epoch), src ascending. */
export function encodeInboxState(cursors: ReadonlyMap<number, InboxCursor>): Uint8Array {
  const rows = [...cursors].sort(([a], [b]) => a - b);
  const w = new ByteWriter(5 + rows.length * 20).u8(INBOX_STATE_VERSION).u32(rows.length);
  for (const [j, c] of rows) w.u32(j).u64(c.next).u64(BigInt(c.epoch));
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
    out.set(j, { next: r.u64(), epoch: safe(r.u64()) });
  }
  r.end();
  return out;
}

/** Credit record (metadata row 'credit' || txid): where the credit half of a transfer landed. */
export interface CreditRecord {
  epoch: number; // this shard's epoch that credited it
  src: number; // source shard index
  seq: bigint;
  srcEpoch: number; // the source epoch that debited it
}
const CREDIT_PREFIX = new TextEncoder().encode('credit');

export function creditKey(txid: Uint8Array): Uint8Array {
  const k = new Uint8Array(CREDIT_PREFIX.length + txid.length);
  k.set(CREDIT_PREFIX);
  k.set(txid, CREDIT_PREFIX.length);
  return k;
}

export function encodeCreditRecord(c: CreditRecord): Uint8Array {
  return new ByteWriter(28).u64(BigInt(c.epoch)).u32(c.src).u64(c.seq).u64(BigInt(c.srcEpoch)).finish();
}

export function decodeCreditRecord(b: Uint8Array): CreditRecord {
  const r = new ByteReader(b, 'credit record');
  const epoch = safe(r.u64());
  const src = r.u32();
  const seq = r.u64();
  const srcEpoch = safe(r.u64());
  r.end();
  return { epoch, src, seq, srcEpoch };
}

/** What one seal credits. */
export interface InboxPlan {
  credits: { src: number; receipt: Receipt }[]; // in crediting order: source index, then seq
  cursors: Map<number, InboxCursor>; // new values of the cursors that moved
  inflow: bigint;
}

export type OfferResult = 'queued' | 'duplicate' | 'full';

export class Inbox {
  private readonly committed: Map<number, InboxCursor>;
  private readonly pending = new Map<number, Map<bigint, Receipt>>();
  private readonly maxPendingPerSource: number;

  constructor(cursors: Map<number, InboxCursor>, maxPendingPerSource = 200_000) {
    this.committed = cursors;
    this.maxPendingPerSource = maxPendingPerSource;
  }

  cursor(src: number): InboxCursor {
    return this.committed.get(src) ?? { next: 0n, epoch: 0 };
  }

  cursors(): ReadonlyMap<number, InboxCursor> {
    return this.committed;
  }

  pendingCount(): number {
    let n = 0;
    for (const m of this.pending.values()) n += m.size;
    return n;
  }

  /** Queues a verified receipt from source `src`. A seq already credited or queued is a no-op. */
  offer(src: number, r: Receipt): OfferResult {
    if (r.seq < this.cursor(src).next) return 'duplicate';
    let m = this.pending.get(src);
    if (!m) this.pending.set(src, (m = new Map()));
    if (m.has(r.seq)) return 'duplicate';
    if (m.size >= this.maxPendingPerSource) return 'full'; // re-delivered later (the source keeps it)
    m.set(r.seq, r);
    return 'queued';
  }

  /** The credits of the next seal: per source (ascending), the consecutive run from the cursor. */
  plan(): InboxPlan {
    const credits: InboxPlan['credits'] = [];
    const cursors = new Map<number, InboxCursor>();
    let inflow = 0n;
    for (const src of [...this.pending.keys()].sort((a, b) => a - b)) {
      const m = this.pending.get(src)!;
      const c = this.cursor(src);
      let next = c.next;
      let epoch = c.epoch;
      for (let r = m.get(next); r; r = m.get(next)) {
        credits.push({ src, receipt: r });
        inflow += r.amount;
        if (r.epoch > epoch) epoch = r.epoch;
        next++;
      }
      if (next !== c.next) cursors.set(src, { next, epoch });
    }
    return { credits, cursors, inflow };
  }

  /** The seal that applied `plan` is durable: advance the cursors, drop what they passed. */
  commit(plan: InboxPlan): void {
    for (const [src, c] of plan.cursors) {
      this.committed.set(src, c);
      const m = this.pending.get(src);
      if (!m) continue;
      for (const seq of m.keys()) if (seq < c.next) m.delete(seq);
      if (m.size === 0) this.pending.delete(src);
    }
  }
}

function safe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`inbox: epoch ${v} too large`);
  return Number(v);
}
