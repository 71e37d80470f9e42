// Worker thread: verifies batches of ed25519 signatures with libsodium.
// Message in: { id, kind, buf } where buf = u32 count, u32 offset + u32 length per item, then the
//   data the offsets point into (verify-pool.ts packBatch; native byte order);
//   kind 'tx':  item = a signed-transaction encoding (see tx.ts): signature over H_tx-sign(transfer)
//   kind 'raw': item = public key (32) || signature (64) || message
// Message out: { id, ok } where ok[i] = 1 iff item i carries a valid signature.
// The loop reads the one message buffer in place and reuses its hash, key and signature buffers:
// no per-item allocations for transactions.
import { parentPort, workerData } from 'node:worker_threads';
import sodium from 'sodium-native';
import { domainPrefix } from '../core/hash.js';
import { niceThisThread } from '../core/cpu-priority.js';

if (!parentPort) throw new Error('verify-worker must run as a worker thread');
const port = parentPort;
// this thread only (Linux nice is per thread): below the pool owner's event loop
const nice = (workerData as { nice?: number } | undefined)?.nice ?? 0;
if (nice > 0) niceThisThread(nice);

const FIXED_TAIL = 32 + 20 + 32; // from, to, amount/fee/nonce/ts after the network id
const SIG = 64;
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

function verifyTx(buf: Buffer, off: number, len: number): boolean {
  if (len < 5 + 1 + FIXED_TAIL + SIG || len > 256) return false;
  const netLen = buf.readUInt32BE(off + 1);
  const transferLen = 5 + netLen + FIXED_TAIL;
  if (transferLen + SIG !== len) return false;
  const n = 32 + transferLen;
  if (pre.length < n) {
    pre = Buffer.alloc(n * 2);
    txSignPrefix.copy(pre, 0);
    preViews = [];
  }
  buf.copy(pre, 32, off, off + transferLen);
  sodium.crypto_hash_sha256(msg, preOf(n));
  // signature and key copied into reused buffers: a Buffer view each was two objects per signature
  const pkAt = off + 5 + netLen;
  for (let i = 0; i < 32; i++) pk[i] = buf[pkAt + i]!;
  const sigAt = off + transferLen;
  for (let i = 0; i < SIG; i++) sig[i] = buf[sigAt + i]!;
  return sodium.crypto_sign_verify_detached(sig, msg, pk);
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
  const check = m.kind === 'tx' ? verifyTx : verifyRaw;
  for (let i = 0, k = 1; i < count; i++, k += 2) ok[i] = check(data, head[k]!, head[k + 1]!) ? 1 : 0;
  port.postMessage({ id: m.id, ok }, [ok.buffer]);
});
