// Who is who on the wire: a validator node's libp2p identity IS its validator ed25519 key, so the
// genesis alone says which peer id belongs to which shard. Safe key reuse: our validator signatures
// sign 32-byte tagged hashes, libp2p signs prefixed longer messages ("noise-libp2p-static-key:",
// "libp2p-pubsub:"), so no signature of one kind is ever a valid signature of the other.
// Pure except `peerKeyFromValidator` (async key derivation, no I/O).
import { generateKeyPairFromSeed, privateKeyFromProtobuf, publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { bytesEqual } from '../core/bytes.js';
import type { KeyPair } from '../core/ed25519.js';
import type { Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';

export type PeerPrivateKey = ReturnType<typeof privateKeyFromProtobuf>;

export class PeerKeyError extends Error {
  override name = 'PeerKeyError';
}

/** The libp2p peer id (base58 text) of an ed25519 public key. */
export function peerIdOfPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new PeerKeyError(`an ed25519 public key is 32 bytes, got ${publicKey.length}`);
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString();
}

/** The genesis validator set as peer ids: shard -> peer id and back. */
export interface ValidatorPeers {
  readonly byShard: ReadonlyMap<ShardId, string>;
  readonly ids: ReadonlySet<string>;
  /** Every replica's peer id of each shard, in replica order (just the validator's for a single-replica shard). */
  readonly replicasOf: ReadonlyMap<ShardId, readonly string[]>;
  shardOf(peer: string): ShardId | undefined;
}

export function validatorPeers(genesis: Pick<Genesis, 'validators' | 'replicas'>): ValidatorPeers {
  const byShard = new Map<ShardId, string>();
  const shardOfPeer = new Map<string, ShardId>();
  const replicasOf = new Map<ShardId, string[]>();
  for (const [shard, key] of genesis.validators) {
    const id = peerIdOfPublicKey(key);
    byShard.set(shard, id);
    replicasOf.set(shard, [id]);
    // one key validating two shards would make "the peer of shard s" ambiguous: the first one wins
    // for shardOf, byShard still names it for both
    if (!shardOfPeer.has(id)) shardOfPeer.set(id, shard);
  }
  // every replica of a replicated shard is a validator of it (docs/REPLICAS.md): admitted, and its
  // peer id maps to the shard; byShard keeps naming replica 0 (the shard's validator key)
  for (const [shard, keys] of genesis.replicas ?? []) {
    for (const key of keys.slice(1)) {
      const id = peerIdOfPublicKey(key);
      if (!shardOfPeer.has(id)) shardOfPeer.set(id, shard);
      replicasOf.get(shard)?.push(id);
    }
  }
  return { byShard, ids: new Set(shardOfPeer.keys()), replicasOf, shardOf: (peer) => shardOfPeer.get(peer) };
}

/**
 * The libp2p private key of a validator key pair (libsodium form: seed || public key). Derived from
 * the seed and checked against the pair's public key, so a damaged key file is refused here with a
 * clear error instead of surfacing as a peer id nobody admits.
 */
export async function peerKeyFromValidator(kp: KeyPair): Promise<PeerPrivateKey> {
  if (kp.secretKey.length !== 64 || kp.publicKey.length !== 32) throw new PeerKeyError('the validator key is not an ed25519 key pair (64-byte secret, 32-byte public key)');
  let key: PeerPrivateKey;
  try {
    key = await generateKeyPairFromSeed('Ed25519', kp.secretKey.subarray(0, 32));
  } catch (e) {
    throw new PeerKeyError(`the validator key cannot serve as the libp2p identity: ${(e as Error).message}`);
  }
  if (!bytesEqual(key.publicKey.raw, kp.publicKey)) throw new PeerKeyError('the validator key\'s seed does not derive its public key');
  return key;
}
