// Worker thread: verifies batches of ed25519 signatures.
// Message in: { id, kind, buf } where buf = u32 count, u32 offset + u32 length per item, then the
//   data the offsets point into (verify-pool.ts packBatch; native byte order);
//   kind 'tx':  item = a signed-transaction encoding (see tx.ts): signature over H_tx-sign(transfer),
//               checked under the transaction signature rule (core/tx-signature.ts): with the native
//               addon, 64 signatures per multi-scalar multiplication (batch verification)
//   kind 'raw': item = public key (32) || signature (64) || message, checked by libsodium
// Message out: { id, ok } where ok[i] = 1 iff item i carries a valid signature.
// The loop reads the one message buffer in place (the native verifier hashes and reads each item
// where it lies) and reuses its index buffers: no per-item allocations for transactions.
import { parentPort, workerData } from 'node:worker_threads';
import sodium from 'sodium-native';
import { domainPrefix } from '../core/hash.js';
import { niceThisThread } from '../core/cpu-priority.js';
import { nativeEd25519, verifyTxSignatureRule } from '../core/tx-signature.js';

if (!parentPort) throw new Error('verify-worker must run as a worker thread');
const port = parentPort;
// this thread only (Linux nice is per thread): below the pool owner's event loop
const data = workerData as { nice?: number; hold?: BigInt64Array } | undefined;
const nice = data?.nice ?? 0;
if (nice > 0) niceThisThread(nice);
// the pool's hold (verify-pool.ts hold()): 0, or the wall-clock ms until which no new slice starts
const hold = data?.hold;
function waitWhileHeld(): void {
  if (!hold) return;
  for (;;) {
    const until = Atomics.load(hold, 0);
    if (until === 0n) return;
    const left = Number(until) - Date.now();
    if (left <= 0) return;
    Atomics.wait(hold, 0, until, left); // woken by release() (or a new hold), else at the deadline
  }
}

const native = nativeEd25519();
const FIXED_TAIL = 32 + 20 + 32; // from, to, amount/fee/nonce/ts after the network id
const SIG = 64;
/** Signatures per native call: the addon's batch size, so a failed batch costs at most this many one-by-one checks. */
const SLICE = 64;
/**
 * After a batch equation fails (some signature in it is invalid, and its SLICE signatures were then
 * checked one by one), this many signatures are checked one by one before batching again. So at
 * most half the signatures can pay for a failed batch on top of their own check, whatever the mix
 * of valid and invalid ones: the worst case per signature is (batch + 2 x single) / 2, about 1.2
 * libsodium verifies (docs/SECURITY.md), while one invalid signature costs at most SLICE + this
 * many single checks beyond what batching would have cost.
 */
const SINGLES_AFTER_FAILURE = 64;
let singlesLeft = 0;

const txSignPrefix = Buffer.from(domainPrefix('tx-sign'));
let pre = Buffer.alloc(512); // preimage: prefix || transfer encoding (the prefix written once per buffer)
txSignPrefix.copy(pre, 0);
/** pre[0, n) as a view, one per length (sodium wants exact lengths; transactions of a network share one). */
let preViews: (Buffer | undefined)[] = [];
function preOf(n: number): Buffer {
  return (preViews[n] ??= pre.subarray(0, n));
}
const msg = Buffer.alloc(32);
const pk = Buffer.alloc(32);
const sig = Buffer.alloc(SIG);

// for the native verifier: where each well-formed item's signed bytes, key and signature lie in the
// message buffer (it hashes and reads them in place), and which item each one is
let cap = 0;
let spans = new Uint32Array(0);
let from = new Uint32Array(0);
let verdicts = new Uint8Array(0);
function reserve(n: number): void {
  if (n <= cap) return;
  cap = Math.max(n, 2 * cap, 256);
  spans = new Uint32Array(4 * cap);
  from = new Uint32Array(cap);
  verdicts = new Uint8Array(cap);
}

/** Length of the transfer encoding of the signed tx at [off, off+len), or -1 if malformed. */
function transferLength(buf: Buffer, off: number, len: number): number {
  if (len < 5 + 1 + FIXED_TAIL + SIG || len > 256) return -1;
  const transferLen = 5 + buf.readUInt32BE(off + 1) + FIXED_TAIL;
  return transferLen + SIG === len ? transferLen : -1;
}

/** Hashes item [off, off+len) into msg and copies its key and signature into pk and sig; false if malformed. */
function stageTx(buf: Buffer, off: number, len: number): boolean {
  const transferLen = transferLength(buf, off, len);
  if (transferLen < 0) return false;
  const n = 32 + transferLen;
  if (pre.length < n) {
    pre = Buffer.alloc(n * 2);
    txSignPrefix.copy(pre, 0);
    preViews = [];
  }
  buf.copy(pre, 32, off, off + transferLen);
  sodium.crypto_hash_sha256(msg, preOf(n));
  // signature and key copied into reused buffers: a Buffer view each was two objects per signature
  const pkAt = off + transferLen - FIXED_TAIL;
  for (let i = 0; i < 32; i++) pk[i] = buf[pkAt + i]!;
  const sigAt = off + transferLen;
  for (let i = 0; i < SIG; i++) sig[i] = buf[sigAt + i]!;
  return true;
}

function verifyTxs(data: Buffer, head: Uint32Array, count: number, ok: Uint8Array): void {
  if (!native) {
    for (let i = 0, k = 1; i < count; i++, k += 2) {
      if (i % SLICE === 0) waitWhileHeld();
      ok[i] = stageTx(data, head[k]!, head[k + 1]!) && verifyTxSignatureRule(msg, sig, pk) ? 1 : 0;
    }
    return;
  }
  reserve(count);
  let m = 0;
  for (let i = 0, k = 1; i < count; i++, k += 2) {
    const off = head[k]!;
    const transferLen = transferLength(data, off, head[k + 1]!);
    if (transferLen < 0) continue; // ok[i] stays 0
    const q = 4 * m;
    spans[q] = off; // signed message: H_tx-sign(transfer) = SHA-256(prefix || transfer)
    spans[q + 1] = transferLen;
    spans[q + 2] = off + transferLen - FIXED_TAIL; // from: the public key
    spans[q + 3] = off + transferLen; // the signature
    from[m++] = i;
  }
  for (let s = 0; s < m; s += SLICE) {
    waitWhileHeld();
    const e = Math.min(m, s + SLICE);
    const batch = singlesLeft <= 0;
    const failed = native.verifyTagged(data, txSignPrefix, spans.subarray(4 * s, 4 * e), verdicts.subarray(s, e), batch);
    if (!batch) singlesLeft -= e - s;
    else if (failed > 0) singlesLeft = SINGLES_AFTER_FAILURE;
  }
  for (let j = 0; j < m; j++) ok[from[j]!] = verdicts[j]!;
}

function verifyRaw(buf: Buffer, off: number, len: number): boolean {
  if (len < 96) return false;
  return sodium.crypto_sign_verify_detached(buf.subarray(off + 32, off + 96), buf.subarray(off + 96, off + len), buf.subarray(off, off + 32));
}

port.on('message', (m: { id: number; kind: 'tx' | 'raw'; buf: ArrayBuffer }) => {
  const count = new Uint32Array(m.buf, 0, 1)[0]!;
  const head = new Uint32Array(m.buf, 0, 1 + 2 * count);
  const data = Buffer.from(m.buf, 4 * (1 + 2 * count));
  const ok = new Uint8Array(count);
  if (m.kind === 'tx') verifyTxs(data, head, count, ok);
  else for (let i = 0, k = 1; i < count; i++, k += 2) ok[i] = verifyRaw(data, head[k]!, head[k + 1]!) ? 1 : 0;
  port.postMessage({ id: m.id, ok }, [ok.buffer]);
});
