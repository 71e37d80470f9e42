// The genesis supply of each child of a triad: what a child that has never produced a snapshot (or
// aggregate) holds. A triad aggregate carries it for such a child, so the supply of every aggregate,
// and of every global snapshot, is conserved from epoch 0 even when a shard starts late
// (found by the chaos test: a late shard used to count as supply 0 until its first snapshot).
import { homeShard } from '../core/address.js';
import type { Genesis } from '../core/genesis.js';
import type { TriadPath } from '../core/ids.js';

type Allocated = Pick<Genesis, 'depth' | 'allocations'>;

const cache = new WeakMap<Allocated, Map<string, bigint>>();

/** Genesis allocation per shard id (shards without any allocation are absent: 0). */
function perShard(g: Allocated): Map<string, bigint> {
  let m = cache.get(g);
  if (!m) {
    m = new Map();
    for (const a of g.allocations) {
      const s = homeShard(a.address, g.depth);
      m.set(s, (m.get(s) ?? 0n) + a.amount);
    }
    cache.set(g, m);
  }
  return m;
}

/** Genesis supply of the subtree under each of the three children of triad `path`. */
export function genesisChildSupplies(g: Allocated, path: TriadPath | string): [bigint, bigint, bigint] {
  const out: [bigint, bigint, bigint] = [0n, 0n, 0n];
  for (const [shard, amount] of perShard(g)) {
    if (shard.length !== g.depth || !shard.startsWith(path) || shard.length <= path.length) continue;
    const i = Number(shard[path.length]);
    out[i as 0 | 1 | 2] += amount;
  }
  return out;
}
