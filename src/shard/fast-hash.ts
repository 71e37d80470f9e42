// H_tag(data) exactly as core/hash.ts taggedHash(tag, data), computed with libsodium's SHA-256 over
// a reused preimage buffer: several times cheaper per call than @noble/hashes for the short inputs
// of the transaction hot path (txid, signing hash, address, account key). Tested equal.
import sodium from 'sodium-native';
import { domainPrefix } from '../core/hash.js';

let scratch = new Uint8Array(512);
/** scratch[0, n) by n, reused (sodium wants exact lengths; a view per call was garbage per transaction). */
let views: (Uint8Array | undefined)[] = [];
const hashOut = new Uint8Array(new ArrayBuffer(32));

/**
 * Returns a function computing H_tag(data) for one fixed tag; with `len`, H_tag(data[0, len)) (no
 * view of the prefix needed: the transaction id hashes a signed tx's transfer part in place).
 */
export function taggedHasher(tag: string): (data: Uint8Array, len?: number) => Uint8Array {
  const into = taggedHasherInto(tag);
  return (data, len = data.length) => into(data, len).slice();
}

/**
 * taggedHasher, into a reused 32-byte output overwritten by the next call of any hasher here: the
 * caller copies what it keeps (e.g. into one buffer for a whole batch instead of an array each).
 */
export function taggedHasherInto(tag: string): (data: Uint8Array, len?: number) => Uint8Array {
  const prefix = domainPrefix(tag);
  return (data, len = data.length) => {
    if (len > data.length || len < 0) throw new RangeError(`taggedHasher: ${len} bytes of ${data.length}`);
    const n = 32 + len;
    if (scratch.length < n) {
      scratch = new Uint8Array(Math.max(n, scratch.length * 2));
      views = [];
    }
    scratch.set(prefix, 0);
    if (len === data.length) scratch.set(data, 32);
    else for (let i = 0; i < len; i++) scratch[32 + i] = data[i]!;
    const v = (views[n] ??= scratch.subarray(0, n));
    // Into a reused output, then copied: a fresh 32-byte array lives on V8's heap, and handing it to
    // native code made V8 move it off-heap first (a backing store per call: 1.6 us per 98-byte txid before, 0.8 after, measured).
    sodium.crypto_hash_sha256(hashOut as Buffer, v as Buffer); // sodium-native accepts any Uint8Array
    return hashOut;
  };
}

const digest = new Uint8Array(32);

/** Account address = first 20 bytes of SHA-256(public key), as core/address.ts: a 20-byte array of its own. */
export function addressFast(publicKey: Uint8Array): Uint8Array {
  sodium.crypto_hash_sha256(digest as Buffer, publicKey as Buffer);
  return digest.slice(0, 20);
}

const publicKey = new Uint8Array(32);

/** addressFast of the public key at b[at, at + 32) (no view of it). */
export function addressFastAt(b: Uint8Array, at: number): Uint8Array {
  if (at < 0 || at + 32 > b.length) throw new RangeError(`addressFastAt: key at ${at} of ${b.length} bytes`);
  for (let i = 0; i < 32; i++) publicKey[i] = b[at + i]!;
  return addressFast(publicKey);
}

/**
 * Lowercase hex of addressFastAt(b, at), the address also written into out[off, off + 20): no
 * array of its own (the admission hot path keeps a batch's addresses in one buffer).
 */
export function addressHexAt(b: Uint8Array, at: number, out: Uint8Array, off: number): string {
  if (at < 0 || at + 32 > b.length) throw new RangeError(`addressHexAt: key at ${at} of ${b.length} bytes`);
  for (let i = 0; i < 32; i++) publicKey[i] = b[at + i]!;
  sodium.crypto_hash_sha256(digest as Buffer, publicKey as Buffer);
  for (let i = 0; i < 20; i++) out[off + i] = digest[i]!;
  return hexRange(digest, 0, 20);
}

// Buffer.prototype.hexSlice (Node's native hex encoder) accepts any Uint8Array receiver; fall back to
// a Buffer view if a runtime lacks it.
const hexSlice = (Buffer.prototype as unknown as { hexSlice?: (this: Uint8Array, start: number, end: number) => string }).hexSlice;

/** Lowercase hex of any Uint8Array without wrapping it in a Buffer first (hot path; = core toHex). */
export const hex: (b: Uint8Array) => string =
  typeof hexSlice === 'function'
    ? (b) => hexSlice.call(b, 0, b.length)
    : (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Lowercase hex of b[start, end) (no view object in between; hot path). */
export const hexRange: (b: Uint8Array, start: number, end: number) => string =
  typeof hexSlice === 'function'
    ? (b, start, end) => hexSlice.call(b, start, end)
    : (b, start, end) => Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('hex');

const homeHashInto = taggedHasherInto('home-shard');
const senderKey = new Uint8Array(32);
const senderAddress = new Uint8Array(20);

/**
 * The home shard's index (core/ids.ts shardIndex of core/address.ts homeShard) of the sender whose
 * public key is at b[at, at + 32): the first 8 bytes of H_home(address) as a big-endian u64, mod
 * 3^depth, without a BigInt or an array per call (the API routes every submitted transfer by it).
 */
export function homeIndexAt(b: Uint8Array, at: number, depth: number): number {
  if (at < 0 || at + 32 > b.length) throw new RangeError(`homeIndexAt: key at ${at} of ${b.length} bytes`);
  if (depth === 0) return 0;
  for (let i = 0; i < 32; i++) senderKey[i] = b[at + i]!;
  sodium.crypto_hash_sha256(digest as Buffer, senderKey as Buffer);
  for (let i = 0; i < 20; i++) senderAddress[i] = digest[i]!;
  const h = homeHashInto(senderAddress);
  const m = 3 ** depth;
  const hi = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
  const lo = ((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0;
  // (hi * 2^32 + lo) mod m in doubles: exact while (m - 1) * 2^32 + 2^32 stays below 2^53 (depth <= 13)
  if (m <= 2 ** 21) return ((hi % m) * 4294967296 + lo) % m;
  return Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(m));
}
