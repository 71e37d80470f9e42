// Transfers (docs/PROTOCOL.md): canonical binary encoding, domain-separated signing, transaction id.
//
// Transfer encoding (all integers big-endian):
//   u8 version (=1) | u32 len | network id bytes ([a-z0-9-], 1..64) | from: 32-byte ed25519 public key
//   | to: 20-byte address | u64 amount | u64 fee | u64 nonce | u64 ts (client HLC)
// SignedTx encoding = transfer encoding || 64-byte ed25519 signature.
// ts is signed client metadata: the client's HLC ((unix ms << 16) | logical, 0 allowed). Nodes do not
// interpret it (no range check, no expiry, no part in ordering): the nonce protects against replay,
// and a check against a node's clock would make admission depend on clocks for no protection
// (docs/PROTOCOL.md "Client encodings" > "Transfers").
// The signature is over H_tx-sign(transfer encoding); txid = H_tx(transfer encoding), so the id does
// not depend on the signature bytes (libsodium rejects malleated signatures anyway).
import { ByteWriter, DecodeError, toHex } from '../core/bytes.js';
import { sign, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../core/ed25519.js';
import { verifyTxSignatureRule } from '../core/tx-signature.js';
import { ADDRESS_BYTES } from '../core/address.js';
import { taggedHasher, taggedHasherInto } from './fast-hash.js';

const hTx = taggedHasher('tx');
const hTxInto = taggedHasherInto('tx');
const hTxSign = taggedHasher('tx-sign');

export const TX_VERSION = 1;
export const MAX_NETWORK_BYTES = 64;
/** The largest signed transaction is 217 bytes; anything above this bound is 'oversized'. */
export const MAX_TX_BYTES = 256;
const FIXED_TAIL = PUBLIC_KEY_BYTES + ADDRESS_BYTES + 4 * 8; // after the network id
const U64_MAX = (1n << 64n) - 1n;

export interface Transfer {
  network: string;
  from: Uint8Array; // 32: ed25519 public key of the sender
  to: Uint8Array; // 20: recipient address
  amount: bigint;
  fee: bigint;
  nonce: bigint;
  ts: bigint; // client HLC, signed metadata; nodes do not interpret it
}

export interface SignedTx {
  tx: Transfer;
  signature: Uint8Array; // 64
}

/**
 * A decoded transaction together with the exact bytes it came from (no re-encoding needed).
 * from, to and signature are views into `bytes` (no copies on the hot path): do not mutate `bytes`.
 */
export interface DecodedTx extends SignedTx {
  bytes: Uint8Array; // the signed encoding
  transferBytes: Uint8Array; // view: the transfer encoding (bytes minus the signature)
}

const NETWORK_ID = /^[a-z0-9-]{1,64}$/;

export function encodeTransfer(t: Transfer): Uint8Array {
  if (!NETWORK_ID.test(t.network)) throw new RangeError(`network id must match [a-z0-9-]{1,${MAX_NETWORK_BYTES}}`);
  for (const [k, v] of [['amount', t.amount], ['fee', t.fee], ['nonce', t.nonce], ['ts', t.ts]] as const) {
    if (v < 0n || v > U64_MAX) throw new RangeError(`${k} is not a u64: ${v}`);
  }
  const w = new ByteWriter(1 + 4 + t.network.length + FIXED_TAIL);
  w.u8(TX_VERSION).string(t.network).fixed(t.from, PUBLIC_KEY_BYTES).fixed(t.to, ADDRESS_BYTES);
  w.u64(t.amount).u64(t.fee).u64(t.nonce).u64(t.ts);
  return w.finish();
}

export function encodeSignedTx(s: SignedTx): Uint8Array {
  if (s.signature.length !== SIGNATURE_BYTES) throw new RangeError(`signature must be ${SIGNATURE_BYTES} bytes`);
  const t = encodeTransfer(s.tx);
  const out = new Uint8Array(t.length + SIGNATURE_BYTES);
  out.set(t);
  out.set(s.signature, t.length);
  return out;
}

/** Strict decoder: exact lengths, known version, network id alphabet, no trailing bytes. */
// Nearly every transaction names the same network: reuse the last id string instead of building one.
let lastNetBytes = new Uint8Array(0);
let lastNet = '';

function readNetworkId(b: Uint8Array, netLen: number): string {
  if (netLen === lastNetBytes.length) {
    let same = true;
    for (let i = 0; i < netLen; i++) if (b[5 + i] !== lastNetBytes[i]) { same = false; break; }
    if (same) return lastNet;
  }
  let network = '';
  for (let i = 5; i < 5 + netLen; i++) {
    const c = b[i]!;
    // [a-z0-9-] only: one canonical spelling per network id, and no UTF-8 decoding on the hot path
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) throw new DecodeError('signed tx: network id must match [a-z0-9-]');
    network += String.fromCharCode(c);
  }
  lastNetBytes = b.slice(5, 5 + netLen);
  lastNet = network;
  return network;
}

/**
 * What scanSignedTx read from a signed tx: where its parts are and the integers admission and the
 * engine use. ONE object, overwritten by every call: copy what you need before the next one.
 */
export interface TxScan {
  network: string;
  transferLen: number; // the transfer encoding is bytes[0, transferLen); the signature follows
  fromAt: number; // offset of the sender's public key (32 bytes)
  toAt: number; // offset of the recipient address (20 bytes)
  amount: bigint;
  fee: bigint;
  nonce: bigint;
}
const scanned: TxScan = { network: '', transferLen: 0, fromAt: 0, toAt: 0, amount: 0n, fee: 0n, nonce: 0n };
// One DataView per backing buffer, not per transaction: a batch's transactions are views into one
// buffer (a POST body, a gossip message), so this is one object per batch.
let viewBuffer: ArrayBufferLike | null = null;
let bufferView: DataView = new DataView(new ArrayBuffer(0));

/**
 * The strict checks of decodeSignedTxFull (same errors), reading the fields in place: no Transfer
 * object, no views, no DataView per transaction (the admission hot path). Returns the shared TxScan.
 */
export function scanSignedTx(b: Uint8Array): TxScan {
  if (!(b instanceof Uint8Array)) throw new DecodeError('signed tx: not bytes');
  if (b.length > MAX_TX_BYTES) throw new DecodeError(`signed tx: ${b.length} bytes exceeds ${MAX_TX_BYTES}`);
  if (b.length < 5) throw new DecodeError(`signed tx: truncated (${b.length} bytes)`);
  if (b[0] !== TX_VERSION) throw new DecodeError(`signed tx: unknown version ${b[0]}`);
  if (b.buffer !== viewBuffer) {
    viewBuffer = b.buffer;
    bufferView = new DataView(b.buffer);
  }
  const view = bufferView;
  const base = b.byteOffset;
  const netLen = view.getUint32(base + 1);
  if (netLen < 1 || netLen > MAX_NETWORK_BYTES) throw new DecodeError(`signed tx: network id length ${netLen} outside 1..${MAX_NETWORK_BYTES}`);
  const transferLen = 5 + netLen + FIXED_TAIL;
  const want = transferLen + SIGNATURE_BYTES;
  if (b.length < want) throw new DecodeError(`signed tx: truncated (${b.length} of ${want} bytes)`);
  if (b.length > want) throw new DecodeError(`signed tx: ${b.length - want} trailing bytes`);
  const s = scanned;
  s.network = readNetworkId(b, netLen);
  s.transferLen = transferLen;
  s.fromAt = 5 + netLen;
  s.toAt = s.fromAt + PUBLIC_KEY_BYTES;
  const o = base + s.toAt + ADDRESS_BYTES;
  s.amount = view.getBigUint64(o);
  s.fee = view.getBigUint64(o + 8);
  s.nonce = view.getBigUint64(o + 16);
  return s;
}

export function decodeSignedTxFull(b: Uint8Array): DecodedTx {
  const s = scanSignedTx(b);
  const { network, transferLen, fromAt, toAt, amount, fee, nonce } = s;
  const from = b.subarray(fromAt, fromAt + PUBLIC_KEY_BYTES);
  const to = b.subarray(toAt, toAt + ADDRESS_BYTES);
  const ts = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(toAt + ADDRESS_BYTES + 24);
  const signature = b.subarray(transferLen, transferLen + SIGNATURE_BYTES);
  return { tx: { network, from, to, amount, fee, nonce, ts }, signature, bytes: b, transferBytes: b.subarray(0, transferLen) };
}

/** Strict decoder; the result owns its bytes (copies). */
export function decodeSignedTx(b: Uint8Array): SignedTx {
  const d = decodeSignedTxFull(b);
  return { tx: { ...d.tx, from: d.tx.from.slice(), to: d.tx.to.slice() }, signature: d.signature.slice() };
}

export function txIdOfTransferBytes(transferBytes: Uint8Array): Uint8Array {
  return hTx(transferBytes);
}

/** The txid of a signed-tx encoding whose transfer part is its first `transferLen` bytes (scanSignedTx). */
export function txIdOfSigned(signed: Uint8Array, transferLen: number): Uint8Array {
  return hTx(signed, transferLen);
}

/** txIdOfSigned written into out[off, off + 32) (a batch's ids in one buffer: no array per transaction). */
export function txIdOfSignedInto(signed: Uint8Array, transferLen: number, out: Uint8Array, off: number): void {
  const h = hTxInto(signed, transferLen);
  for (let i = 0; i < 32; i++) out[off + i] = h[i]!;
}

export function txId(t: Transfer): Uint8Array {
  return txIdOfTransferBytes(encodeTransfer(t));
}

export function txIdHex(t: Transfer): string {
  return toHex(txId(t));
}

/** The 32-byte message an ed25519 transaction signature signs. */
export function txSigningHash(transferBytes: Uint8Array): Uint8Array {
  return hTxSign(transferBytes);
}

export function signTransfer(t: Transfer, secretKey: Uint8Array): SignedTx {
  // libsodium secret keys end with the public key: refuse to sign for somebody else's `from`
  const pk = secretKey.subarray(32, 64);
  if (secretKey.length !== 64 || Buffer.compare(pk, t.from) !== 0) throw new RangeError('secret key does not belong to tx.from');
  return { tx: t, signature: sign(txSigningHash(encodeTransfer(t)), secretKey) };
}

/** The transaction signature rule (core/tx-signature.ts, docs/PROTOCOL.md): cofactored ed25519, strict encodings. */
export function verifyTxSignature(s: SignedTx): boolean {
  return verifyTxSignatureRule(txSigningHash(encodeTransfer(s.tx)), s.signature, s.tx.from);
}

/**
 * Verifies a signed-tx encoding without building objects (used by the verify workers). Returns
 * false for anything that is not a well-formed signed tx.
 */
export function verifySignedTxBytes(b: Uint8Array): boolean {
  if (b.length < 5 + 1 + FIXED_TAIL + SIGNATURE_BYTES || b.length > MAX_TX_BYTES) return false;
  const netLen = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(1);
  const transferLen = 5 + netLen + FIXED_TAIL;
  if (transferLen + SIGNATURE_BYTES !== b.length) return false;
  const pkAt = 5 + netLen;
  return verifyTxSignatureRule(txSigningHash(b.subarray(0, transferLen)), b.subarray(transferLen), b.subarray(pkAt, pkAt + PUBLIC_KEY_BYTES));
}
