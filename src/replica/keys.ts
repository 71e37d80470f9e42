// Whose key signs a shard's snapshot (docs/REPLICAS.md "Snapshots carry the term and the writer"):
// a single-replica shard's genesis validator (version 1 snapshots only); a replicated shard's writer,
// the replica the snapshot names (version 2 only). The one rule every verifier applies.
import { isReplicated, replicaKeys, type Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';
import { snapshotHash, type SignedSnapshot, type Snapshot } from '../shard/snapshot.js';
import { verifyCached } from '../core/ed25519.js';

/** The public key that must have signed `s`, or undefined if no key may (unknown shard, wrong version, writer out of range). */
export function snapshotSignerKey(genesis: Pick<Genesis, 'validators' | 'replicas'>, s: Snapshot): Uint8Array | undefined {
  const shard = s.shard as ShardId;
  if (!isReplicated(genesis, shard)) return s.replica ? undefined : genesis.validators.get(shard);
  if (!s.replica) return undefined;
  return replicaKeys(genesis, shard)[s.replica.writer];
}

/** Is `ss` signed by the key the genesis assigns to it (see snapshotSignerKey)? */
export function verifyShardSnapshot(genesis: Pick<Genesis, 'validators' | 'replicas'>, ss: SignedSnapshot): boolean {
  const key = snapshotSignerKey(genesis, ss.snapshot);
  // a snapshot arrives on its triad topic and again on the proofs topic: its signature is checked once (verifyCached)
  return key !== undefined && verifyCached(snapshotHash(ss.snapshot), ss.signature, key);
}

/** Is `key` one of `shard`'s replica keys (its validator key for a single-replica shard)? */
export function isShardKey(genesis: Pick<Genesis, 'validators' | 'replicas'>, shard: ShardId, key: Uint8Array): boolean {
  return replicaKeys(genesis, shard).some((k) => k.length === key.length && k.every((b, i) => b === key[i]));
}
