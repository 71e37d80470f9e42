// The compact batch submission (docs/PROTOCOL.md "Transfers" > "Batches"): a body of signed
// transfers concatenated, nothing between them. A signed transfer delimits itself (its network id
// length says where it ends: 153 + len bytes), so the batch needs no framing of its own. Pure.
import { MAX_NETWORK_BYTES, TX_VERSION } from './tx.js';
import { concatBytes } from '../core/bytes.js';

/** Bytes of a signed transfer besides its network id: u8 version, u32 length, 32 + 20 + 4 * 8, 64. */
export const SIGNED_TX_FIXED_BYTES = 1 + 4 + 32 + 20 + 32 + 64;

/** Why a batch body cannot be split: nothing of it may be submitted. */
export class TxBatchError extends Error {
  override name = 'TxBatchError';
  /** 'bad-request' (cannot be split) or 'batch-too-large' (more than the limit). */
  readonly code: 'bad-request' | 'batch-too-large';
  constructor(code: 'bad-request' | 'batch-too-large', message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Splits `body` into its signed transfers (plain Uint8Array views into `body`'s memory, not copies,
 * also when `body` is a Buffer: a Buffer's subarray costs a species constructor call per view), at
 * most `max` of them.
 * Only the framing is checked here (version byte, network id length, enough bytes); each piece is
 * then decoded and checked as any submitted transfer. Throws TxBatchError, naming the transfer and
 * byte offset, if the body is empty, does not split exactly, or holds more than `max`.
 */
export function splitSignedTxs(body: Uint8Array, max: number): Uint8Array[] {
  if (body.length === 0) throw new TxBatchError('bad-request', 'empty body: send one or more signed transfers, concatenated');
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < body.length) {
    const k = out.length;
    if (k >= max) throw new TxBatchError('batch-too-large', `a batch holds at most ${max} transactions; this body holds more`);
    if (body.length - o < 5) throw new TxBatchError('bad-request', `transaction ${k} at byte ${o}: truncated (${body.length - o} bytes left, a signed transfer is at least ${SIGNED_TX_FIXED_BYTES + 1})`);
    if (body[o] !== TX_VERSION) throw new TxBatchError('bad-request', `transaction ${k} at byte ${o}: unknown version ${body[o]} (the body must be signed transfers, concatenated)`);
    const netLen = ((body[o + 1]! << 24) | (body[o + 2]! << 16) | (body[o + 3]! << 8) | body[o + 4]!) >>> 0;
    if (netLen < 1 || netLen > MAX_NETWORK_BYTES) throw new TxBatchError('bad-request', `transaction ${k} at byte ${o}: network id length ${netLen} outside 1..${MAX_NETWORK_BYTES}`);
    const len = SIGNED_TX_FIXED_BYTES + netLen;
    if (body.length - o < len) throw new TxBatchError('bad-request', `transaction ${k} at byte ${o}: truncated (${body.length - o} of ${len} bytes)`);
    out.push(new Uint8Array(body.buffer, body.byteOffset + o, len));
    o += len;
  }
  return out;
}

/** The batch body for `txs` (signed-transfer encodings): their concatenation. */
export function joinSignedTxs(txs: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...txs);
}
