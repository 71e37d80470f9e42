// Deterministic synthetic snapshots for tests, test vectors and the benchmark: every field derived
// from a seed string, supply arithmetic respected, so the trees they build satisfy the circuits.
import { sha256 } from '../core/hash.js';
import { shardFromIndex } from '../core/ids.js';
import type { Snapshot } from '../shard/snapshot.js';
import { shardBodyFields, type Hasher, type ShardBodyFields } from './commitment.js';
import { buildTree, buildTreeFromFields, triadLevels, type CommitmentTree } from './tree.js';

function bytes(seed: string): Uint8Array {
  return sha256(new TextEncoder().encode(seed));
}

function small(seed: string, mod: bigint): bigint {
  const b = bytes(seed);
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[i]!);
  return v % mod;
}

/** Genesis supplies per shard for a fixture network. */
export function fixtureGenesisSupplies(depth: number, seed = 'smt-fixture'): bigint[] {
  return Array.from({ length: 3 ** depth }, (_, i) => 1_000_000_000n + small(`${seed}/genesis/${i}`, 1_000_000n));
}

/**
 * The 3^depth snapshots of `epoch`, given each shard's previous supply. Flows and fees are bounded
 * by the previous supply so the new supply stays a u64.
 */
export function fixtureSnapshots(depth: number, epoch: number, prevSupplies: readonly bigint[], seed = 'smt-fixture'): Snapshot[] {
  return prevSupplies.map((prev, i): Snapshot => {
    const k = `${seed}/${epoch}/${i}`;
    const outflow = small(`${k}/out`, prev / 100n + 1n);
    const fees = small(`${k}/fee`, 1000n);
    const inflow = small(`${k}/in`, 50_000n);
    const supply = prev - outflow + inflow - fees;
    return {
      network: 'fixture', shard: shardFromIndex(i, depth), epoch,
      stateRoot: bytes(`${k}/state`), txRoot: bytes(`${k}/tx`), outboxRoot: bytes(`${k}/outbox`),
      txCount: small(`${k}/count`, 10_000n), supply, outflow, inflow, fees,
      totalOutflow: outflow, totalInflow: inflow, totalFees: fees, // per-epoch fixtures: no history
      lamport: BigInt(epoch * 10 + i), vectorClock: Array.from({ length: 3 ** depth }, () => epoch),
      hlc: BigInt(epoch) << 16n, prevSnapshotHash: bytes(`${k}/prev`),
    };
  });
}

export const FIXTURE_GENESIS_HASH = bytes('smt-fixture/genesis-hash');

/**
 * The trees of an invented epoch `epoch` (>= 1) and of the epoch before it, satisfying the
 * circuits: what anyone holding the public prover can prove without any signed state. The tree two
 * epochs back is a stand-in with zero commitments (the circuits open only the previous epoch's
 * tree). Tests and bench:abuse use them to show such proofs are refused.
 */
export function inventedTrees(H: Hasher, depth: number, epoch: number, seed = 'invented'): { prev: CommitmentTree; tree: CommitmentTree } {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new RangeError(`inventedTrees: epoch ${epoch} must be >= 1`);
  const supplies = fixtureGenesisSupplies(depth, seed);
  const zero: ShardBodyFields = {
    shardEnc: 0n, epoch: 0n, stateRoot: [0n, 0n], txRoot: [0n, 0n], outboxRoot: [0n, 0n], txCount: 0n, outflow: 0n, inflow: 0n, fees: 0n, snapshotHash: [0n, 0n],
  };
  const stub: CommitmentTree = {
    depth, epoch: epoch - 2,
    shards: supplies.map((supply, i) => ({ shard: shardFromIndex(i, depth), body: zero, bodyHash: 0n, supply, prev: 0n, commitment: 0n })),
    triads: new Map(triadLevels(depth).flat().map((path) => [path, {
      path, commitment: 0n, opening: { pathEnc: 0n, epoch: 0n, children: [0n, 0n, 0n], sums: { supply: 0n, outflow: 0n, inflow: 0n, fees: 0n }, prev: 0n },
    }])),
  };
  const fields = (e: number, prevSupplies: readonly bigint[]) => fixtureSnapshots(depth, e, prevSupplies, seed).map((s) => ({ body: shardBodyFields(s), supply: s.supply }));
  const prev = buildTreeFromFields(H, fields(epoch - 1, supplies), stub);
  const tree = buildTree(H, fixtureSnapshots(depth, epoch, prev.shards.map((s) => s.supply), seed), prev);
  return { prev, tree };
}
