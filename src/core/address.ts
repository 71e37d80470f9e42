// Accounts: address = first 20 bytes of SHA-256(ed25519 public key); the home shard is a fixed,
// uniform map from the address to D ternary digits (see docs/PROTOCOL.md).
import { sha256, taggedHash } from './hash.js';
import { shardFromIndex, type ShardId } from './ids.js';
import { DecodeError, fromHex, toHex } from './bytes.js';

export const ADDRESS_BYTES = 20;
export type Address = Uint8Array & { readonly __brand: 'Address' };

export function addressFromPublicKey(publicKey: Uint8Array): Address {
  return sha256(publicKey).slice(0, ADDRESS_BYTES) as Address;
}

export function parseAddress(s: string): Address {
  try {
    return fromHex(s, ADDRESS_BYTES) as Address;
  } catch (e) {
    throw new DecodeError(`invalid address ${JSON.stringify(s.slice(0, 60))}: want ${ADDRESS_BYTES} bytes of hex`);
  }
}

export function addressToHex(a: Uint8Array): string {
  return toHex(a);
}

/**
 * Home shard: the first 8 bytes of H_home(address) as a big-endian u64, mod 3^D, written as D trits.
 * The bias of a 64-bit value mod 3^D (D <= 20) is below 2^-32: uniform for every practical purpose.
 */
export function homeShard(address: Uint8Array, depth: number): ShardId {
  if (depth === 0) return '' as ShardId;
  const h = taggedHash('home-shard', address);
  const v = new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0);
  return shardFromIndex(Number(v % BigInt(3 ** depth)), depth);
}
