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

interface SenderQueue {
  txs: Map<bigint, PendingTx>; // by nonce
  debit: bigint; // sum of cost over txs
  maxNonce: bigint; // highest nonce in txs (-1 if empty)
}

export interface MempoolOptions {
  maxSize: number; // overall bound on pending transactions
  window: number; // a sender may queue nonces in [next, next + window)
}

export const DEFAULT_MEMPOOL: MempoolOptions = { maxSize: 200_000, window: 64 };

/** The common admission result (nothing evicted), shared: one object less per transaction. */
const NONE_EVICTED: readonly PendingTx[] = Object.freeze([]);
const ADMITTED: AdmitResult = Object.freeze({ ok: true, evicted: NONE_EVICTED });

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
    while (q.txs.has(n)) n++;
    return n;
  }

  /** Checks and inserts; on refusal nothing changes. `acct` is the sender's committed state. */
  admit(p: PendingTx, acct: CommittedAccount): AdmitResult {
    if (this.byId.has(p.idHex)) return { ok: false, reason: 'duplicate', message: `transaction ${p.idHex} is already pending` };
    if (p.nonce < acct.nonce) return { ok: false, reason: 'nonce-replayed', message: `nonce ${p.nonce} already used (next is ${acct.nonce})` };
    if (p.nonce >= acct.nonce + this.window) {
      return { ok: false, reason: 'nonce-too-far', message: `nonce ${p.nonce} is beyond the window [${acct.nonce}, ${acct.nonce + this.window})` };
    }
    let q = this.senders.get(p.senderHex);
    if (q?.txs.has(p.nonce)) return { ok: false, reason: 'nonce-replayed', message: `nonce ${p.nonce} is already taken by a pending transaction` };
    if (this.byId.size >= this.maxSize) return { ok: false, reason: 'mempool-full', message: `mempool full (${this.maxSize} pending); retry later` };
    let evicted: PendingTx[] | undefined; // allocated only if something is evicted
    if (!q || p.nonce > q.maxNonce) {
      // common case: nonces arrive in order, the new one is the highest
      const debit = (q?.debit ?? 0n) + p.cost;
      if (debit > acct.balance) return { ok: false, reason: 'insufficient-funds', message: insufficient(p, acct.balance, q?.debit ?? 0n) };
      if (!q) {
        q = { txs: new Map(), debit: 0n, maxNonce: -1n };
        this.senders.set(p.senderHex, q);
      }
    } else {
      // out of order: the prefix up to p must be affordable; later ones that no longer are leave
      const nonces = [...q.txs.keys(), p.nonce].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      let sum = 0n;
      for (const n of nonces) {
        const t = n === p.nonce ? p : q.txs.get(n)!;
        sum += t.cost;
        if (n === p.nonce && sum > acct.balance) return { ok: false, reason: 'insufficient-funds', message: insufficient(p, acct.balance, sum - p.cost) };
        if (n > p.nonce && sum > acct.balance) {
          // p fills a gap, so every later nonce is past the ready run: never part of a seal in progress
          evicted ??= [];
          evicted.push(t);
          sum -= t.cost;
        }
      }
      for (const e of evicted ?? NONE_EVICTED) this.removeFrom(q, e, false); // q gets p next: keep it registered
    }
    q.txs.set(p.nonce, p);
    q.debit += p.cost;
    if (p.nonce > q.maxNonce) q.maxNonce = p.nonce;
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
      for (let t = q.txs.get(n); t; t = q.txs.get(++n)) out.push(t);
    });
    return out;
  }

  /**
   * Drops transactions stuck behind a nonce gap for longer than `ttlMs` (accepted before
   * `now - ttlMs`): without this a sender could hold pool slots and funds forever. Never touches
   * ready transactions (call outside a seal). Returns what was dropped.
   */
  expireStuck(nextNonce: (senderHex: string) => bigint, now: number, ttlMs: number): PendingTx[] {
    if (this.sealing) return [];
    const dropped: PendingTx[] = [];
    for (const [s, q] of this.senders) {
      let n = nextNonce(s);
      let ready = 0;
      while (q.txs.has(n++)) ready++;
      if (ready === q.txs.size) continue;
      const first = n - 1n; // the gap
      for (const t of [...q.txs.values()]) if (t.nonce > first && t.acceptedAt < now - ttlMs) dropped.push(t);
    }
    for (const t of dropped) {
      const q = this.senders.get(t.senderHex);
      if (q) this.removeFrom(q, t);
    }
    return dropped;
  }

  /** The seal is durable: its transactions leave the pool. */
  commit(applied: PendingTx[]): void {
    // `applied` comes grouped by sender (the epoch order): look each queue up once per run
    let q: SenderQueue | undefined;
    let qs = '';
    let maxGone = false;
    const finish = () => {
      if (!q) return;
      if (q.txs.size === 0) this.senders.delete(qs);
      else if (maxGone) q.maxNonce = maxKey(q.txs);
    };
    for (const p of applied) {
      if (p.senderHex !== qs || !q) {
        finish();
        qs = p.senderHex;
        q = this.senders.get(qs);
        maxGone = false;
        if (!q) continue;
      }
      if (q.txs.get(p.nonce) !== p) continue;
      q.txs.delete(p.nonce);
      q.debit -= p.cost;
      this.byId.delete(p.idHex);
      if (p.nonce === q.maxNonce) maxGone = true;
    }
    finish();
    this.sealing = false;
  }

  /** The seal failed: everything stays pending as it was. */
  abort(): void {
    this.sealing = false;
  }

  private removeFrom(q: SenderQueue, p: PendingTx, dropEmpty = true): void {
    if (q.txs.get(p.nonce) !== p) return;
    q.txs.delete(p.nonce);
    q.debit -= p.cost;
    this.byId.delete(p.idHex);
    if (q.txs.size === 0 && dropEmpty) {
      this.senders.delete(p.senderHex);
    } else if (p.nonce === q.maxNonce) {
      q.maxNonce = maxKey(q.txs);
    }
  }
}

function maxKey(m: Map<bigint, unknown>): bigint {
  let x = -1n;
  for (const n of m.keys()) if (n > x) x = n;
  return x;
}

function insufficient(p: PendingTx, balance: bigint, pendingDebit: bigint): string {
  return `needs ${p.cost} (amount + fee) but only ${balance - pendingDebit < 0n ? 0n : balance - pendingDebit} is available (balance ${balance}, pending ${pendingDebit})`;
}
