// A pool of worker threads that verify transaction signatures (the hot path).
// Many transactions travel in one message as one transferable ArrayBuffer (packBatch), split evenly
// over the workers. Transaction signatures: the native batch verifier of the transaction signature
// rule (core/tx-signature.ts) when built, else libsodium + @noble/curves for what libsodium refuses;
// other signatures: libsodium (sodium-native).
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { verifySignedTxBytes } from './tx.js';
import { verify } from '../core/ed25519.js';

const WORKER_URL = new URL('./verify-worker.ts', import.meta.url);
// The worker is TypeScript: it needs the same `.js` -> `.ts` resolve hook as the main thread,
// whichever way the main thread was started (bin/smt.mjs registers it in-process, not by flag).
const REGISTER = fileURLToPath(new URL('../../bin/register.mjs', import.meta.url));
/** Below this many items per worker, splitting costs more than it saves. */
const MIN_CHUNK = 32;

interface Slot {
  worker: Worker;
  outstanding: number; // items in flight
  jobs: Map<number, { resolve: (ok: Uint8Array) => void; reject: (e: Error) => void; n: number }>;
}

export class VerifyPoolClosed extends Error {
  override name = 'VerifyPoolClosed';
}

export class VerifyPool {
  readonly size: number;
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  private readonly nice: number;
  /** Shared with every worker: 0, or the wall-clock ms until which they start no new slice (hold). */
  private readonly holdUntil = new BigInt64Array(new SharedArrayBuffer(8));

  /**
   * size 0 verifies on the calling thread (tests, tiny deployments). `nice` (0..19, Linux) lowers
   * the workers' CPU priority below the process's other threads, so the event loop (seals, gossip,
   * aggregation) never waits for a core behind signature checks.
   */
  constructor(size = availableParallelism(), o: { nice?: number } = {}) {
    this.size = Math.max(0, Math.floor(size));
    this.nice = o.nice ?? 0;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { execArgv: ['--import', REGISTER], workerData: { nice: this.nice, hold: this.holdUntil } });
    const slot: Slot = { worker, outstanding: 0, jobs: new Map() };
    worker.unref(); // referenced only while jobs are in flight
    worker.on('message', (m: { id: number; ok: Uint8Array }) => {
      const job = slot.jobs.get(m.id);
      if (!job) return;
      slot.jobs.delete(m.id);
      slot.outstanding -= job.n;
      if (slot.jobs.size === 0) worker.unref();
      job.resolve(m.ok);
    });
    const fail = (e: Error) => {
      for (const job of slot.jobs.values()) job.reject(e);
      slot.jobs.clear();
      slot.outstanding = 0;
      // replace a dead worker so one crash does not shrink the pool for good
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !this.closed) this.slots[i] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`verify worker exited with code ${code}`));
    });
    return slot;
  }

  /**
   * Until `untilMs` (wall clock) or release(), the workers start no new slice of signatures: what
   * the node does meanwhile (its seal, the epoch's aggregation) gets the core instead. The hold
   * ends by itself at `untilMs`: a release that never comes holds nothing for long.
   */
  hold(untilMs: number): void {
    Atomics.store(this.holdUntil, 0, BigInt(Math.ceil(untilMs)));
  }

  release(): void {
    if (Atomics.exchange(this.holdUntil, 0, 0n) !== 0n) Atomics.notify(this.holdUntil, 0);
  }

  /** ok[i] is true iff items[i] is a signed-tx encoding with a valid signature. */
  verifyTxs(items: Uint8Array[]): Promise<boolean[]> {
    return this.run('tx', items);
  }

  /** Plain ed25519 verification of arbitrary messages by libsodium (same workers). */
  verifyRaw(items: { publicKey: Uint8Array; signature: Uint8Array; message: Uint8Array }[]): Promise<boolean[]> {
    return this.run('raw', items.map((it) => {
      if (it.publicKey.length !== 32 || it.signature.length !== 64) return new Uint8Array(); // never valid
      const b = new Uint8Array(96 + it.message.length);
      b.set(it.publicKey, 0);
      b.set(it.signature, 32);
      b.set(it.message, 96);
      return b;
    }));
  }

  private async run(kind: 'tx' | 'raw', items: Uint8Array[]): Promise<boolean[]> {
    if (this.closed) throw new VerifyPoolClosed('verify pool is closed');
    const n = items.length;
    if (n === 0) return [];
    if (this.size === 0) {
      return kind === 'tx' ? items.map(verifySignedTxBytes) : items.map((b) => b.length >= 96 && verify(b.subarray(96), b.subarray(32, 96), b.subarray(0, 32)));
    }
    const parts = Math.max(1, Math.min(this.size, Math.floor(n / MIN_CHUNK)));
    const per = Math.ceil(n / parts);
    const promises: Promise<Uint8Array>[] = [];
    const order = [...this.slots].sort((a, b) => a.outstanding - b.outstanding);
    for (let p = 0; p < parts; p++) {
      const start = p * per;
      const end = Math.min(n, start + per);
      if (start >= end) break;
      promises.push(this.post(order[p % order.length]!, kind, items, start, end));
    }
    const results = await Promise.all(promises);
    const out = new Array<boolean>(n);
    let k = 0;
    for (const r of results) for (let i = 0; i < r.length; i++) out[k++] = r[i] === 1;
    return out;
  }

  private post(slot: Slot, kind: 'tx' | 'raw', items: Uint8Array[], start: number, end: number): Promise<Uint8Array> {
    const buf = packBatch(items, start, end);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject, n: end - start });
      slot.outstanding += end - start;
      slot.worker.ref();
      slot.worker.postMessage({ id, kind, buf }, [buf]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.release();
    for (const s of this.slots) for (const j of s.jobs.values()) j.reject(new VerifyPoolClosed('verify pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }
}

/**
 * The message buffer of items[start, end) (verify-worker.ts): u32 count, then u32 offset and u32
 * length per item (native byte order: both ends are this process), then the data the offsets point
 * into. Items that are views into one buffer lying close together (a POST body, a gossip message:
 * nearly always) are copied as ONE span; others one by one.
 */
export function packBatch(items: readonly Uint8Array[], start: number, end: number): ArrayBuffer {
  const n = end - start;
  const first = items[start]!;
  let lo = first.byteOffset;
  let hi = lo + first.length;
  let sum = 0;
  let oneBuffer = true;
  for (let i = start; i < end; i++) {
    const it = items[i]!;
    sum += it.length;
    if (it.buffer !== first.buffer) oneBuffer = false;
    else {
      if (it.byteOffset < lo) lo = it.byteOffset;
      if (it.byteOffset + it.length > hi) hi = it.byteOffset + it.length;
    }
  }
  const span = oneBuffer && hi - lo <= 2 * sum + 4096; // else the gaps between them would be copied too
  const head = 4 * (1 + 2 * n);
  const buf = new ArrayBuffer(head + (span ? hi - lo : sum));
  const h = new Uint32Array(buf, 0, 1 + 2 * n);
  const data = new Uint8Array(buf, head);
  h[0] = n;
  if (span) {
    data.set(new Uint8Array(first.buffer, lo, hi - lo));
    for (let i = start, k = 1; i < end; i++, k += 2) {
      h[k] = items[i]!.byteOffset - lo;
      h[k + 1] = items[i]!.length;
    }
  } else {
    for (let i = start, k = 1, o = 0; i < end; i++, k += 2) {
      const it = items[i]!;
      data.set(it, o);
      h[k] = o;
      h[k + 1] = it.length;
      o += it.length;
    }
  }
  return buf;
}
