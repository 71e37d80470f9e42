// The serving side of state sync (docs/REPLICAS.md "State sync"): a replica answers another
// replica's signed state request from its committed state. Reads only; every answer is bounded
// (records by bytes, addresses by count). The answers are not signed: the asker checks records
// against the signed snapshot's roots and addresses against the verified leaves.
import { fromHex } from '../core/bytes.js';
import type { Shard } from '../shard/shard.js';
import { encodeAddresses, encodeManifest, encodeRecords, type FoundRecord, type StateRequest } from './state-sync-codec.js';

/** Record bytes per answer (at least one record is sent whatever its size). */
export const MAX_ANSWER_BYTES = 4 << 20;

export class StateSyncServer {
  private readonly shard: Shard;
  private sorted: string[] = [];

  constructor(shard: Shard) {
    this.shard = shard;
  }

  /** The encoded answer to `req`; `committed`: this replica's committed epoch (the manifest's snapshot). */
  async answer(req: StateRequest, committed: number): Promise<Uint8Array> {
    if (req.kind === 'manifest') return this.manifest(committed);
    if (req.kind === 'records') return this.records(req.locators);
    return this.addresses(req.after, req.limit);
  }

  private async manifest(committed: number): Promise<Uint8Array> {
    const shard = this.shard;
    const head = shard.latestEpoch();
    const e = Math.min(committed, head);
    const signed = e >= 0 ? await shard.snapshot(e) : undefined;
    if (!signed) return encodeManifest(undefined);
    // transactions committed up to e: the head's count minus the epochs after e (statistics only)
    let total = BigInt(shard.stats().committedTotal);
    for (let k = head; k > e; k--) total -= (await shard.snapshot(k))?.snapshot.txCount ?? 0n;
    const synced = await shard.syncedAt();
    return encodeManifest({ signed, firstEntry: synced === undefined ? 0 : synced + 1, committedTotal: total < 0n ? 0n : total });
  }

  private async records(locators: Uint8Array[]): Promise<Uint8Array> {
    const out: (FoundRecord | undefined)[] = [];
    let bytes = 0;
    for (const l of locators) {
      const r = await this.shard.nodeRecord(l);
      if (out.length > 0 && r && bytes + r.bytes.length > MAX_ANSWER_BYTES) break; // the asker asks again for the rest
      out.push(r);
      bytes += r?.bytes.length ?? 0;
    }
    return encodeRecords(out);
  }

  private addresses(after: Uint8Array | null, limit: number): Uint8Array {
    // a sorted copy of the account list, renewed when an account was added (they are never removed)
    if (this.sorted.length !== this.shard.accountCount()) this.sorted = [...this.shard.accountHexes()].sort();
    const s = this.sorted;
    let i = 0;
    if (after) {
      const a = Buffer.from(after).toString('hex');
      let lo = 0;
      let hi = s.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (s[mid]! <= a) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const page = s.slice(i, i + limit).map((h) => fromHex(h, 20));
    return encodeAddresses(page, i + limit < s.length);
  }
}
