// The transaction signature rule (docs/PROTOCOL.md, "Transaction signatures"): ed25519, cofactored,
// strict encodings. A signature (R || S) of message M by public key A is valid iff
//   S < L; A and R are canonical encodings of curve points (y < p; x = 0 only with the sign bit 0);
//   neither A nor R is of small order; and [8][S]B = [8]R + [8][k]A, k = SHA-512(R || A || M) mod L.
// Every signature libsodium's crypto_sign_verify_detached accepts passes it (libsodium checks the
// same encodings and orders and the equation without the factor 8); beyond those it accepts only
// signatures whose R or A carry a deliberately added small-order component. The cofactored form is
// what makes batch verification (native/ed25519-batch) give exactly the per-signature verdicts.
//
// Three implementations of the one rule, all exact:
//  - the native addon (native/ed25519-batch, built by `npm ci` when a C compiler is present): one
//    signature, or many in one multi-scalar multiplication;
//  - without it: libsodium first (its "valid" is the rule's), and @noble/curves strict plus the
//    small-order check on R for what libsodium refuses (the rule decides those few);
//  - the browser (explorer/shims/sodium.ts): @noble/curves strict plus the same check on R.
import sodium from 'sodium-native';
import { ed25519 } from '@noble/curves/ed25519.js';

export interface NativeEd25519 {
  /**
   * Verdicts of the rule for n signatures into out (1 = valid): key i = pks[32i, 32i+32), signature
   * i = sigs[64i, 64i+64), message i = msgs[ends[i-1] (0 for i = 0), ends[i]). batch: one
   * multi-scalar multiplication per 64 signatures (random coefficients), each signature checked alone
   * if that fails; false: each alone. Returns how many of those batch equations failed.
   */
  verify(pks: Uint8Array, sigs: Uint8Array, msgs: Uint8Array, ends: Uint32Array, out: Uint8Array, batch: boolean): number;
  /**
   * The same for n signatures whose message is a tagged hash SHA-256(prefix || bytes), hashed by the
   * addon: spans[4i, 4i+4) = (bytes start, bytes length, key offset, signature offset) in data.
   */
  verifyTagged(data: Uint8Array, prefix: Uint8Array, spans: Uint32Array, out: Uint8Array, batch: boolean): number;
}

let nativeState: { lib: NativeEd25519 | undefined; why: string } | undefined;

/** The native verifier, or undefined (not built, refused by SMT_ED25519_NATIVE=0, not Node). */
export function nativeEd25519(): NativeEd25519 | undefined {
  return (nativeState ??= loadNative()).lib;
}

/** Which implementation of the rule this process uses, for the node's start-up log. */
export function txVerifierName(): string {
  nativeEd25519();
  return nativeState!.why;
}

function loadNative(): { lib: NativeEd25519 | undefined; why: string } {
  const fallback = 'libsodium, then @noble/curves strict + small-order R for what libsodium refuses';
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (!proc?.getBuiltinModule) return { lib: undefined, why: fallback };
  if (proc.env.SMT_ED25519_NATIVE === '0') return { lib: undefined, why: `${fallback} (SMT_ED25519_NATIVE=0)` };
  try {
    const { createRequire } = proc.getBuiltinModule('node:module');
    const lib = createRequire(import.meta.url)('../../native/ed25519-batch/build/ed25519_batch.node') as NativeEd25519;
    if (typeof lib.verify !== 'function' || typeof lib.verifyTagged !== 'function') throw new Error('an older build without verify/verifyTagged (npm run build:native)');
    return { lib, why: 'native ed25519-batch (cofactored batch verification)' };
  } catch (e) {
    return { lib: undefined, why: `${fallback} (native addon not loaded: ${(e as Error).message.split('\n')[0]})` };
  }
}

const ONE_END = new Uint32Array(1);
const ONE_OUT = new Uint8Array(1);

/** The rule for one signature: the native check (about libsodium's cost), else libsodium and, for what it refuses, noble. */
export function verifyTxSignatureRule(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const lib = nativeEd25519();
  if (lib) {
    ONE_END[0] = message.length;
    lib.verify(publicKey, signature, message, ONE_END, ONE_OUT, false);
    return ONE_OUT[0] === 1;
  }
  if (sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(message), asBuffer(publicKey))) return true;
  return nobleRule(message, signature, publicKey);
}

/** The rule on @noble/curves: its strict verify (RFC 8032 encodings, cofactored, small-order A refused) and R not of small order. */
export function nobleRule(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    if (ed25519.Point.fromBytes(signature.subarray(0, 32), false).isSmallOrder()) return false;
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
