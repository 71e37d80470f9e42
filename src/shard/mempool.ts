// The mempool (docs/PROTOCOL.md): per-sender queues ordered by nonce, a bounded window of future nonces
// per sender, and an overall bound (a full pool refuses with 'mempool-full' instead of growing).
//
// Funds rule: a sender's pending transactions, taken in nonce order, may together spend at most the
// committed balance (pending credits are ignored), so applying a ready transaction never fails.
// A new transaction that makes a higher-nonce pending one unaffordable evicts it (reported back).
// Pure in-memory data structure: no I/O, no clocks.
import type { ApplyTx } from './engine.js';
import type { RejectReason } from './errors.js';

/** An accepted transaction: what the engine applies (id, sender, encoding, fields), plus: */
export interface PendingTx extends ApplyTx {
  idHex: string;
  acceptedAt: number; // ms, for latency metrics only
}

export interface CommittedAccount {
  balance: bigint;
  nonce: bigint; // next nonce expected
}

export type AdmitResult =
  | { ok: true; evicted: readonly PendingTx[] }
  | { ok: false; reason: RejectReason; message: string };

/**
 * A sender's pending transactions, nonce ascending (distinct nonces). An array, not a Map by
 * nonce: a queue holds a few transactions within the nonce window, nearly always appended at the
 * end and taken from the front, and a Map per sender plus a bigint-keyed entry per transaction
 * cost more to build, probe and collect than scanning a short array.
 */
interface SenderQueue {
  key: string; // the sender's hex, shared by its queued transactions' senderHex
  txs: PendingTx[];
  debit: bigint; // sum of cost over txs
}

export interface MempoolOptions {
  maxSize: number; // overall bound on pending transactions
  window: number; // a sender may queue nonces in [next, next + window)
}

export const DEFAULT_MEMPOOL: MempoolOptions = { maxSize: 200_000, window: 64 };

/** Empty sender queues kept beyond the pending transactions (reused by their senders' next transactions). */
const EMPTY_QUEUES_KEPT = 1 << 16;

/** The common admission result (nothing evicted), shared: one object less per transaction. */
const NONE_EVICTED: readonly PendingTx[] = Object.freeze([]);
const ADMITTED: AdmitResult = Object.freeze({ ok: true, evicted: NONE_EVICTED });

/** The first index of `txs` (nonce ascending) whose nonce is >= `nonce` (txs.length if none). */
function lowerBound(txs: readonly PendingTx[], nonce: bigint): number {
  let lo = 0;
  let hi = txs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (txs[mid]!.nonce < nonce) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Mempool {
  readonly maxSize: number;
  readonly window: bigint;
  private readonly byId = new Map<string, PendingTx>();
  private readonly senders = new Map<string, SenderQueue>();
  private sealing = false;

  constructor(opts: Partial<MempoolOptions> = {}) {
    this.maxSize = opts.maxSize ?? DEFAULT_MEMPOOL.maxSize;
    this.window = BigInt(opts.window ?? DEFAULT_MEMPOOL.window);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Forgets every pending transaction (outside a seal). */
  clear(): void {
    if (this.sealing) return;
    this.byId.clear();
    this.senders.clear();
  }

  has(idHex: string): boolean {
    return this.byId.has(idHex);
  }

  get(idHex: string): PendingTx | undefined {
    return this.byId.get(idHex);
  }

  /** The next nonce a client should use: past the run of pending nonces contiguous with `next`. */
  pendingNonce(senderHex: string, next: bigint): bigint {
    const q = this.senders.get(senderHex);
    if (!q) return next;
    let n = next;
    for (let i = lowerBound(q.txs, n); i < q.txs.length && q.txs[i]!.nonce === n; i++) n++;
    return n;
  }

  /**
   * Checks and inserts; on refusal nothing changes. `acct` is the sender's committed state. An
   * admitted `p` gets as senderHex the equal string its sender's queue holds: one string per
   * sender kept alive, not one per pending transaction.
   */
  admit(p: PendingTx, acct: CommittedAccount): AdmitResult {
    if (this.byId.has(p.idHex)) return { ok: false, reason: 'duplicate', message: `transaction ${p.idHex} is already pending` };
    if (p.nonce < acct.nonce) return { ok: false, reason: 'nonce-replayed', message: `nonce ${p.nonce} already used (next is ${acct.nonce})` };
    if (p.nonce >= acct.nonce + this.window) {
      return { ok: false, reason: 'nonce-too-far', message: `nonce ${p.nonce} is beyond the window [${acct.nonce}, ${acct.nonce + this.window})` };
    }
    let q = this.senders.get(p.senderHex);
    const last = q !== undefined && q.txs.length > 0 ? q.txs[q.txs.length - 1]!.nonce : -1n;
    const at = q === undefined || p.nonce > last ? (q?.txs.length ?? 0) : lowerBound(q.txs, p.nonce);
    if (q !== undefined && at < q.txs.length && q.txs[at]!.nonce === p.nonce) return { ok: false, reason: 'nonce-replayed', message: `nonce ${p.nonce} is already taken by a pending transaction` };
    if (this.byId.size >= this.maxSize) return { ok: false, reason: 'mempool-full', message: `mempool full (${this.maxSize} pending); retry later` };
    let evicted: PendingTx[] | undefined; // allocated only if something is evicted
    if (q === undefined || p.nonce > last) {
      // common case: nonces arrive in order, the new one is the highest
      const debit = (q?.debit ?? 0n) + p.cost;
      if (debit > acct.balance) return { ok: false, reason: 'insufficient-funds', message: insufficient(p, acct.balance, q?.debit ?? 0n) };
      if (q === undefined) {
        q = { key: p.senderHex, txs: [], debit: 0n };
        this.senders.set(p.senderHex, q);
      }
      q.txs.push(p);
    } else {
      // out of order: the prefix up to p must be affordable; later ones that no longer are leave
      let sum = p.cost;
      for (let i = 0; i < at; i++) sum += q.txs[i]!.cost;
      if (sum > acct.balance) return { ok: false, reason: 'insufficient-funds', message: insufficient(p, acct.balance, sum - p.cost) };
      for (let i = at; i < q.txs.length; i++) {
        const t = q.txs[i]!;
        sum += t.cost;
        if (sum > acct.balance) {
          // p fills a gap, so every later nonce is past the ready run: never part of a seal in progress
          evicted ??= [];
          evicted.push(t);
          sum -= t.cost;
        }
      }
      for (const e of evicted ?? NONE_EVICTED) this.removeFrom(q, e, false); // q gets p next: keep it registered
      q.txs.splice(lowerBound(q.txs, p.nonce), 0, p);
    }
    q.debit += p.cost;
    p.senderHex = q.key;
    this.byId.set(p.idHex, p);
    return evicted ? { ok: true, evicted } : ADMITTED;
  }

  /**
   * Marks the start of a seal and returns every ready transaction: for each sender the run of
   * nonces contiguous with its committed next nonce. They stay pending (and count against the
   * sender's funds) until commit() or abort().
   */
  takeReady(nextNonce: (senderHex: string) => bigint): PendingTx[] {
    if (this.sealing) throw new Error('mempool: a seal is already in progress');
    this.sealing = true;
    const out: PendingTx[] = [];
    // forEach: no [key, value] array per sender
    this.senders.forEach((q, s) => {
      let n = nextNonce(s);
      const txs = q.txs;
      for (let i = txs.length > 0 && txs[0]!.nonce === n ? 0 : lowerBound(txs, n); i < txs.length && txs[i]!.nonce === n; i++, n++) out.push(txs[i]!);
    });
    return out;
  }

  /**
   * Drops transactions stuck behind a nonce gap for longer than `ttlMs` (accepted before
   * `now - ttlMs`): without this a sender could hold pool slots and funds forever. Never touches
   * ready transactions (call outside a seal). Also drops the empty sender queues. Returns what was dropped.
   */
  expireStuck(nextNonce: (senderHex: string) => bigint, now: number, ttlMs: number): PendingTx[] {
    if (this.sealing) return [];
    const dropped: PendingTx[] = [];
    this.dropEmptyQueues();
    for (const [s, q] of this.senders) {
      let n = nextNonce(s);
      const txs = q.txs;
      let i = lowerBound(txs, n);
      while (i < txs.length && txs[i]!.nonce === n) {
        i++;
        n++;
      }
      // txs[i..] are past the gap at nonce n (anything below the committed nonce is left alone, as before)
      for (; i < txs.length; i++) if (txs[i]!.acceptedAt < now - ttlMs) dropped.push(txs[i]!);
    }
    for (const t of dropped) {
      const q = this.senders.get(t.senderHex);
      if (q) this.removeFrom(q, t);
    }
    return dropped;
  }

  /** The seal is durable: its transactions leave the pool. */
  commit(applied: PendingTx[]): void {
    // `applied` comes grouped by sender, nonce ascending (the epoch order): each run is taken
    // from its queue at once (nearly always its front)
    for (let k = 0; k < applied.length; ) {
      const s = applied[k]!.senderHex;
      let end = k + 1;
      while (end < applied.length && applied[end]!.senderHex === s) end++;
      const q = this.senders.get(s);
      if (q !== undefined) {
        const txs = q.txs;
        let front = 0; // the run's leading part that is the queue's front
        while (front < end - k && front < txs.length && txs[front] === applied[k + front]) front++;
        for (let j = 0; j < front; j++) {
          const p = txs[j]!;
          q.debit -= p.cost;
          this.byId.delete(p.idHex);
        }
        if (front > 0) txs.splice(0, front);
        for (let j = k + front; j < end; j++) this.removeFrom(q, applied[j]!, false);
        // An emptied queue stays (a sender sending again reuses it: a queue, its array and a map
        // entry were made and dropped per transaction of a sender with one pending at a time);
        // empty queues are dropped by expireStuck() and beyond EMPTY_QUEUES_KEPT.
      }
      k = end;
    }
    if (this.senders.size > this.byId.size + EMPTY_QUEUES_KEPT) this.dropEmptyQueues();
    this.sealing = false;
  }

  private dropEmptyQueues(): void {
    this.senders.forEach((q, s) => {
      if (q.txs.length === 0) this.senders.delete(s);
    });
  }

  /** The seal failed: everything stays pending as it was. */
  abort(): void {
    this.sealing = false;
  }

  private removeFrom(q: SenderQueue, p: PendingTx, dropEmpty = true): void {
    const i = lowerBound(q.txs, p.nonce);
    if (q.txs[i] !== p) return;
    q.txs.splice(i, 1);
    q.debit -= p.cost;
    this.byId.delete(p.idHex);
    if (q.txs.length === 0 && dropEmpty) this.senders.delete(p.senderHex);
  }
}

function insufficient(p: PendingTx, balance: bigint, pendingDebit: bigint): string {
  return `needs ${p.cost} (amount + fee) but only ${balance - pendingDebit < 0n ? 0n : balance - pendingDebit} is available (balance ${balance}, pending ${pendingDebit})`;
}
