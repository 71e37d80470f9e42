// Ed25519 through libsodium (sodium-native): native speed for the hot path, and strict about
// non-canonical encodings (agrees with every Wycheproof case). Never pure-JS ed25519.
import sodium from 'sodium-native';

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

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
