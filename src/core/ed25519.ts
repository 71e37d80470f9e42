// Ed25519 through libsodium (sodium-native): native speed for the hot path, and strict about
// non-canonical encodings (agrees with every Wycheproof case). Never pure-JS ed25519.
import sodium from 'sodium-native';
import { bytesEqual } from './bytes.js';

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 64; // libsodium's form: seed || public key
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== SEED_BYTES) throw new RangeError(`ed25519 seed must be ${SEED_BYTES} bytes`);
  const publicKey = Buffer.alloc(PUBLIC_KEY_BYTES);
  const secretKey = Buffer.alloc(SECRET_KEY_BYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.from(seed));
  return { publicKey: new Uint8Array(publicKey), secretKey: new Uint8Array(secretKey) };
}

export function generateKeyPair(): KeyPair {
  const seed = Buffer.alloc(SEED_BYTES);
  sodium.randombytes_buf(seed);
  return keyPairFromSeed(seed);
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const sig = Buffer.alloc(SIGNATURE_BYTES);
  sodium.crypto_sign_detached(sig, asBuffer(message), asBuffer(secretKey));
  return new Uint8Array(sig);
}

export function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  return sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(message), asBuffer(publicKey));
}

/** How many positive verdicts verifyCached remembers (the oldest go first). */
export const VERIFIED_CACHE_SIZE = 4096;
/** Remembered valid signatures, by the signature's bytes (as a latin1 string): the key and message it is valid for. */
const verified = new Map<string, { publicKey: Uint8Array; message: Uint8Array }>();

/**
 * `verify`, remembering positive verdicts by the exact (public key, signature, message) bytes: a
 * node checks the same signature more than once (a member's signature on its gossip message, then
 * inside the final aggregate that carries it, then inside the parent's final; a snapshot on its
 * triad topic and on the proofs topic). Verification is a pure function of those bytes, so a
 * remembered "valid" is the answer a new check would give; anything not seen before (one bit of
 * key, signature or message differs) is verified in full. Messages are hashes (at most 64 bytes);
 * longer ones are not remembered. Looked up by the signature alone, then key and message compared
 * byte for byte (a third of the work of the three base64 strings it was keyed by).
 */
export function verifyCached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES || message.length > 64) return verify(message, signature, publicKey);
  const k = asBuffer(signature).toString('latin1');
  const seen = verified.get(k);
  if (seen !== undefined && bytesEqual(seen.publicKey, publicKey) && bytesEqual(seen.message, message)) return true;
  const ok = verify(message, signature, publicKey);
  if (ok) {
    if (seen === undefined && verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    // copies: the caller's arrays may be reused
    verified.set(k, { publicKey: publicKey.slice(), message: message.slice() });
  }
  return ok;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
