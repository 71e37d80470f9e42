// The browser bundle's stand-in for sodium-native (a native addon): the two functions the
// verification code calls, on @noble (audited, pure JS). Ed25519 is checked under the transaction
// signature rule (docs/PROTOCOL.md, core/tx-signature.ts): noble's strict verify (RFC 8032 encodings,
// cofactored equation, small-order A refused) plus libsodium's refusal of a small-order R, which noble
// lacks. It accepts every signature libsodium accepts. Signing and key generation never happen in the page.
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';

function crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void {
  out.set(sha256(input));
}

function crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try {
    if (sig.length !== 64 || ed25519.Point.fromBytes(sig.subarray(0, 32), false).isSmallOrder()) return false;
    return ed25519.verify(sig, msg, pk, { zip215: false });
  } catch {
    return false;
  }
}

const unavailable = (name: string) => (): never => {
  throw new Error(`${name} is not available in the browser`);
};

export default {
  crypto_hash_sha256,
  crypto_sign_verify_detached,
  crypto_sign_detached: unavailable('crypto_sign_detached'),
  crypto_sign_seed_keypair: unavailable('crypto_sign_seed_keypair'),
  randombytes_buf: unavailable('randombytes_buf'),
};
