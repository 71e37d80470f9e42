// Micro-benchmark of ed25519 verification on this thread, one run: microseconds per signature for
// libsodium's single verify (bench:shard's baseline) and the native verifier of the transaction
// signature rule (native/ed25519-batch), one by one and in batches of n = 1, 16, 64, 256, and the
// verify workers' call (verifyTagged: the addon also hashes each signed message).
// 32-byte messages and distinct keys, as transaction signatures. Each figure is the best of 5 rounds
// (other processes can only slow a round down). Usage: npm run bench:sig
import sodium from 'sodium-native';
import { loadavg } from 'node:os';
import { nativeEd25519, txVerifierName } from '../src/core/tx-signature.js';

const N = 1024;
const T = 150; // bytes signed through a tagged hash, about a transfer's encoding
const pks = new Uint8Array(32 * N);
const sigs = new Uint8Array(64 * N);
const msgs = new Uint8Array(32 * N);
const prefix = Buffer.alloc(32, 7);
// verifyTagged's layout, as a verify worker's message holds transactions: bytes | key | signature
const tagged = Buffer.alloc(N * (T + 96));
const spans = new Uint32Array(4 * N);
for (let i = 0; i < N; i++) {
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(i + 1);
  const pk = Buffer.alloc(32);
  const sk = Buffer.alloc(64);
  sodium.crypto_sign_seed_keypair(pk, sk, seed);
  const bytes = Buffer.alloc(T, i & 255);
  const m = Buffer.alloc(32);
  sodium.crypto_hash_sha256(m, Buffer.concat([prefix, bytes]));
  const sig = Buffer.alloc(64);
  sodium.crypto_sign_detached(sig, m, sk);
  pks.set(pk, 32 * i);
  sigs.set(sig, 64 * i);
  msgs.set(m, 32 * i);
  const at = i * (T + 96);
  tagged.set(bytes, at);
  tagged.set(pk, at + T);
  tagged.set(sig, at + T + 32);
  spans.set([at, T, at + T, at + T + 32], 4 * i);
}
const view = (a: Uint8Array, w: number, i: number) => Buffer.from(a.buffer, a.byteOffset + w * i, w);
const items = Array.from({ length: N }, (_, i) => ({ pk: view(pks, 32, i), sig: view(sigs, 64, i), m: view(msgs, 32, i) }));

/** Best microseconds per signature over rounds of ~ms each; run(k) verifies from item k on and returns how many it did. */
function time(run: (k: number) => number, rounds = 5, ms = 300): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let count = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      count += run(count % N);
      t = performance.now();
    }
    best = Math.min(best, ((t - t0) * 1000) / count);
  }
  return best;
}

console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; verifier: ${txVerifierName()}`);
const libsodium = time((k) => {
  for (let i = 0; i < 64; i++) {
    const it = items[(k + i) % N]!;
    if (!sodium.crypto_sign_verify_detached(it.sig, it.m, it.pk)) throw new Error('own signature refused');
  }
  return 64;
});
console.log(`libsodium single verify        ${libsodium.toFixed(1).padStart(6)} us/signature`);
const lib = nativeEd25519();
if (!lib) {
  console.log('native verifier not built (npm ci builds it with the C compiler): nothing more to compare');
} else {
  const ends = new Uint32Array(256).map((_, i) => 32 * (i + 1));
  const out = new Uint8Array(256);
  const native = (n: number, batch: boolean) => time((k) => {
    const s = Math.min(k, N - n);
    lib.verify(pks.subarray(32 * s, 32 * (s + n)), sigs.subarray(64 * s, 64 * (s + n)), msgs.subarray(32 * s, 32 * (s + n)), ends.subarray(0, n), out.subarray(0, n), batch);
    for (let i = 0; i < n; i++) if (out[i] !== 1) throw new Error('own signature refused');
    return n;
  });
  const one = native(64, false);
  console.log(`native, one by one (rule)      ${one.toFixed(1).padStart(6)} us/signature   ${(libsodium / one).toFixed(2)}x libsodium`);
  for (const n of [1, 16, 64, 256]) {
    const us = native(n, true);
    console.log(`native batch n = ${String(n).padEnd(3)}           ${us.toFixed(1).padStart(6)} us/signature   ${(libsodium / us).toFixed(2)}x libsodium`);
  }
  const tag = time((k) => {
    const s = Math.min(k, N - 64);
    lib.verifyTagged(tagged, prefix, spans.subarray(4 * s, 4 * (s + 64)), out.subarray(0, 64), true);
    for (let i = 0; i < 64; i++) if (out[i] !== 1) throw new Error('own signature refused');
    return 64;
  });
  console.log(`native verifyTagged n = 64     ${tag.toFixed(1).padStart(6)} us/signature   ${(libsodium / tag).toFixed(2)}x libsodium (SHA-256 of ${T} bytes each included: the worker's path)`);
}
