// The acceptance rule for snapshots of replicated shards (docs/REPLICAS.md "No two accepted
// snapshots of one (shard, epoch)"). Pure and bounded: what one consumer (a follower, a triad
// member, a light client) has accepted so far decides what it may accept next.
//  1. a (shard, epoch) already accepted with another hash: refused ('equivocation');
//  2. a term lower than one already seen for the shard at the same or an earlier epoch: refused
//     ('stale-term': its writer was deposed before it sealed that epoch).
// Snapshots of single-replica shards (no term) pass rule 2 trivially and rule 1 as before.

export type FenceVerdict = { ok: true; duplicate: boolean } | { ok: false; reason: 'equivocation' | 'stale-term'; message: string };

export interface FencedSnapshot {
  shard: string;
  epoch: number;
  term: bigint; // 0 for a single-replica shard
  hash: string; // hex of the snapshot hash
}

interface ShardFence {
  /** Terms first seen at an epoch: ascending by term; kept to the highest few (older ones are implied). */
  starts: { term: bigint; epoch: number }[];
  /** Accepted hashes by epoch, the latest `keep` epochs. */
  hashes: Map<number, string>;
  minKept: number;
}

export class TermFence {
  private readonly shards = new Map<string, ShardFence>();
  private readonly keep: number;

  /** `keep`: epochs per shard whose accepted hash is remembered (an older epoch is refused as stale). */
  constructor(keep = 256) {
    this.keep = keep;
  }

  /** The verdict on `s` without recording it. */
  check(s: FencedSnapshot): FenceVerdict {
    const f = this.shards.get(s.shard);
    if (!f) return { ok: true, duplicate: false };
    const h = f.hashes.get(s.epoch);
    if (h !== undefined) {
      return h === s.hash ? { ok: true, duplicate: true } : { ok: false, reason: 'equivocation', message: `${s.shard}@${s.epoch}: another snapshot of this epoch was already accepted` };
    }
    if (s.epoch < f.minKept) return { ok: false, reason: 'stale-term', message: `${s.shard}@${s.epoch}: older than the ${this.keep} epochs remembered` };
    for (const st of f.starts) {
      if (st.term > s.term && st.epoch <= s.epoch) return { ok: false, reason: 'stale-term', message: `${s.shard}@${s.epoch}: term ${s.term}, but term ${st.term} already sealed epoch ${st.epoch}` };
    }
    return { ok: true, duplicate: false };
  }

  /** check(), and on success records `s` as accepted. */
  accept(s: FencedSnapshot): FenceVerdict {
    const v = this.check(s);
    if (!v.ok || v.duplicate) return v;
    let f = this.shards.get(s.shard);
    if (!f) this.shards.set(s.shard, (f = { starts: [], hashes: new Map(), minKept: 0 }));
    f.hashes.set(s.epoch, s.hash);
    if (f.hashes.size > this.keep) {
      const oldest = Math.min(...f.hashes.keys());
      f.hashes.delete(oldest);
      f.minKept = Math.max(f.minKept, oldest + 1);
    }
    const i = f.starts.findIndex((x) => x.term === s.term);
    if (i < 0) f.starts.push({ term: s.term, epoch: s.epoch });
    else if (s.epoch < f.starts[i]!.epoch) f.starts[i]!.epoch = s.epoch;
    f.starts.sort((a, b) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
    // a term whose start is not before a higher term's start adds nothing to rule 2: drop it
    f.starts = f.starts.filter((x, k) => !f!.starts.slice(k + 1).some((y) => y.epoch <= x.epoch));
    if (f.starts.length > 64) f.starts = f.starts.slice(-64);
    return v;
  }
}
