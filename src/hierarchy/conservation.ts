// Conservation ("balance invariance") and consistent cuts (docs/PROTOCOL.md). Pure.
//
// Every shard keeps, per snapshot, supply = genesis allocation - totalOutflow - totalFees + totalInflow
// (running sums since genesis). Summed over any set of one snapshot per shard:
//   sum(supply) + (sum(totalOutflow) - sum(totalInflow)) + sum(totalFees) = genesis total supply,
// where sum(totalOutflow) - sum(totalInflow) is the value of receipts emitted but not yet credited
// (in flight). In flight can only be negative if the set is NOT a consistent cut (some shard has
// credited receipts of a source epoch later than the one in the set): hence both checks.
import type { Snapshot } from '../shard/snapshot.js';
import type { TriadAggregate } from './aggregate.js';

export interface ConservationReport {
  supply: bigint; // sum of balances over the cut
  inFlight: bigint; // receipts emitted and not credited
  burnedFees: bigint;
  genesisSupply: bigint;
  holds: boolean; // supply + inFlight + burnedFees == genesisSupply and inFlight >= 0
}

export interface CutTotals {
  supply: bigint;
  totalOutflow: bigint;
  totalInflow: bigint;
  totalFees: bigint;
}

export function conservation(t: CutTotals, genesisSupply: bigint): ConservationReport {
  const inFlight = t.totalOutflow - t.totalInflow;
  return {
    supply: t.supply, inFlight, burnedFees: t.totalFees, genesisSupply,
    holds: inFlight >= 0n && t.supply + inFlight + t.totalFees === genesisSupply,
  };
}

/** For a global snapshot (the apex aggregate): its sums include carried children's last values. */
export function globalConservation(apex: TriadAggregate, genesisSupply: bigint): ConservationReport {
  return conservation(apex, genesisSupply);
}

/** For a set of shard snapshots (one per shard). */
export function snapshotsConservation(snaps: readonly Snapshot[], genesisSupply: bigint): ConservationReport {
  const t: CutTotals = { supply: 0n, totalOutflow: 0n, totalInflow: 0n, totalFees: 0n };
  for (const s of snaps) {
    t.supply += s.supply;
    t.totalOutflow += s.totalOutflow;
    t.totalInflow += s.totalInflow;
    t.totalFees += s.totalFees;
  }
  return conservation(t, genesisSupply);
}

/** One snapshot per shard index (its epoch and vector clock); `undefined` = the shard's genesis state. */
export interface CutMember {
  epoch: number; // -1 for the genesis state (nothing sealed)
  vectorClock: readonly number[] | undefined;
}

/**
 * A set is a consistent cut when no member reflects an epoch of another shard later than
 * the one in the set: for all i != j, member_i.vectorClock[j] <= member_j.epoch. Vector clock entry 0
 * is also what a shard that never consumed anything from j holds, so it is only a violation when
 * shard j is at its genesis state AND i recorded an actual consumption (see `consumed`).
 */
export function violations(members: readonly CutMember[], consumed?: (i: number, j: number) => boolean): { i: number; j: number; sees: number; has: number }[] {
  const out: { i: number; j: number; sees: number; has: number }[] = [];
  for (let i = 0; i < members.length; i++) {
    const vc = members[i]!.vectorClock;
    if (!vc) continue;
    for (let j = 0; j < members.length; j++) {
      if (i === j) continue;
      const has = members[j]!.epoch;
      const sees = vc[j] ?? 0;
      if (sees > has && (has >= 0 || sees > 0 || (consumed?.(i, j) ?? false))) out.push({ i, j, sees, has });
    }
  }
  return out;
}

export function isConsistentCut(members: readonly CutMember[]): boolean {
  return violations(members).length === 0;
}

/** Convenience: the cut of a set of shard snapshots ordered by shard index. */
export function snapshotsAreConsistentCut(snaps: readonly Snapshot[]): boolean {
  return isConsistentCut(snaps.map((s) => ({ epoch: s.epoch, vectorClock: s.vectorClock })));
}

export function conservationToJson(r: ConservationReport): Record<string, unknown> {
  return { supply: r.supply.toString(), inFlight: r.inFlight.toString(), burnedFees: r.burnedFees.toString(), genesisSupply: r.genesisSupply.toString(), holds: r.holds };
}

/**
 * The API view of a global snapshot's checks: conservation from the apex sums, and the consistent
 * cut from the included shard snapshots' vector clocks when all of them are at hand (`snapshotOf`:
 * e.g. the gossip layer's cache), else null (not knowable locally).
 */
export function globalChecksJson(
  apex: TriadAggregate,
  shards: readonly { shard: string; epoch: number; commitment: Uint8Array }[],
  genesisSupply: bigint,
  snapshotOf?: (shard: string, epoch: number) => Snapshot | undefined,
): { conservation: Record<string, unknown>; consistentCut: boolean | null } {
  const conservationJson = conservationToJson(globalConservation(apex, genesisSupply));
  if (!snapshotOf) return { conservation: conservationJson, consistentCut: null };
  const members: CutMember[] = [];
  for (const c of shards) {
    if (c.commitment.every((b) => b === 0)) { members.push({ epoch: -1, vectorClock: undefined }); continue; }
    const s = snapshotOf(c.shard, c.epoch);
    if (!s) return { conservation: conservationJson, consistentCut: null };
    members.push({ epoch: s.epoch, vectorClock: s.vectorClock });
  }
  return { conservation: conservationJson, consistentCut: isConsistentCut(members) };
}
