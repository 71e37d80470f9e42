// What this validator has signed, kept across restarts (the idea of Ethereum clients' slashing
// protection): one triad aggregate per (triad, epoch). Finality is 2-of-3 signatures, so a member
// that signs two different aggregates for the same round can make two conflicting finals; an honest
// node that crashed after signing must not sign a different view of that round after its restart.
//
// The record is written (fsync'd by the store) BEFORE the signature leaves the node. Records below
// a low-water mark are pruned; the mark itself is persisted (with the pruning, atomically) and
// nothing below it is ever signed.
//
// One exception, the upgrade of the round machine (src/hierarchy/round.ts, docs/PROTOCOL.md "Second
// signature"): a member may sign ONE further aggregate for a round, and only if its first record is
// exactly the aggregate it upgrades from. The upgrade is recorded under its own key, so after a
// restart both hashes are 'same' and every other hash is still a conflict.
import { bytesEqual } from '../core/bytes.js';

/** A level sublevel (string keys, Uint8Array values), e.g. `db.sublevel('signed', { valueEncoding: 'view' })`. */
export interface SignRecordStore {
  put(key: string, value: Uint8Array, opts?: { sync?: boolean }): Promise<void>;
  batch(ops: ({ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string })[], opts?: { sync?: boolean }): Promise<void>;
  iterator(): AsyncIterable<[string, Uint8Array]>;
}

export type SignVerdict = 'new' | 'same' | 'conflict' | 'below-low-water';

const EPOCH_DIGITS = 16;
const LOW_KEY = 'low';
const recordKey = (path: string, epoch: number): string => `r:${epoch.toString().padStart(EPOCH_DIGITS, '0')}:${path}`;
const upgradeKey = (path: string, epoch: number): string => `u:${epoch.toString().padStart(EPOCH_DIGITS, '0')}:${path}`;

export class SignGuard {
  private readonly store?: SignRecordStore;
  private readonly signed = new Map<string, Uint8Array>(); // recordKey -> aggregate hash; upgradeKey -> the upgrade's hash
  private low = 0; // epochs below this are never signed

  private constructor(store?: SignRecordStore) {
    this.store = store;
  }

  /** Loads the records (bounded by pruning). Without a store the guard is memory-only (tests). */
  static async open(store?: SignRecordStore): Promise<SignGuard> {
    const g = new SignGuard(store);
    if (store) {
      for await (const [k, v] of store.iterator()) {
        if (k === LOW_KEY) g.low = Number(new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0));
        else if (k.startsWith('r:') || k.startsWith('u:')) g.signed.set(k, v.slice());
      }
    }
    return g;
  }

  get lowWaterEpoch(): number {
    return this.low;
  }

  /** Rounds with a record (an upgrade is part of its round's record). */
  get size(): number {
    let n = 0;
    for (const k of this.signed.keys()) if (k.startsWith('r:')) n++;
    return n;
  }

  check(path: string, epoch: number, hash: Uint8Array): SignVerdict {
    if (epoch < this.low) return 'below-low-water';
    const prev = this.signed.get(recordKey(path, epoch));
    if (prev === undefined) return 'new';
    if (bytesEqual(prev, hash)) return 'same';
    const up = this.signed.get(upgradeKey(path, epoch));
    return up !== undefined && bytesEqual(up, hash) ? 'same' : 'conflict';
  }

  /**
   * Records that `hash` is signed for (path, epoch); resolves once durable. Throws (and records
   * nothing) if that would conflict with an earlier record. With `upgradeFrom`: the round's one
   * upgrade, allowed only if the first record is exactly `upgradeFrom` and no other upgrade exists.
   */
  async record(path: string, epoch: number, hash: Uint8Array, upgradeFrom?: Uint8Array): Promise<void> {
    const v = this.check(path, epoch, hash);
    if (v === 'same') return;
    let k = recordKey(path, epoch);
    if (upgradeFrom !== undefined) {
      const first = this.signed.get(k);
      if (v !== 'conflict' || !first || !bytesEqual(first, upgradeFrom) || this.signed.has(upgradeKey(path, epoch))) {
        throw new Error(`sign guard: refusing to upgrade ${path || 'apex'}@${epoch} (not signed from that aggregate, or upgraded already)`);
      }
      k = upgradeKey(path, epoch);
    } else if (v !== 'new') throw new Error(`sign guard: refusing to sign ${path || 'apex'}@${epoch} (${v})`);
    // Claim the slot first so a concurrent record() of another hash for the same round is refused.
    this.signed.set(k, hash.slice());
    try {
      await this.store?.put(k, hash, { sync: true });
    } catch (e) {
      this.signed.delete(k);
      throw e;
    }
  }

  /**
   * Forgets records of epochs < `epoch` and never signs below it again. The mark and the deletions
   * are one atomic, fsync'd write: a crash leaves both or neither (one write instead of one per
   * record, each a round trip to the store's thread pool: ~0.1 ms of an idle node's CPU each).
   */
  async pruneBelow(epoch: number): Promise<void> {
    if (epoch <= this.low) return;
    const mark = new Uint8Array(8);
    new DataView(mark.buffer).setBigUint64(0, BigInt(epoch));
    const stale = [...this.signed.keys()].filter((k) => Number(k.slice(2, 2 + EPOCH_DIGITS)) < epoch);
    await this.store?.batch([{ type: 'put', key: LOW_KEY, value: mark }, ...stale.map((key) => ({ type: 'del' as const, key }))], { sync: true });
    this.low = epoch;
    for (const k of stale) this.signed.delete(k);
  }
}
