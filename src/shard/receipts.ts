// Receipt batches: how a source shard's receipts travel to their destination (DESIGN §5).
//
// A batch = the source's signed snapshot of some epoch E + receipts addressed to ONE destination,
// each with a trie proof against that snapshot's outboxRoot (the outbox only grows, so every receipt
// emitted at an epoch <= E is provable against it). The destination trusts nothing else: it checks
// the validator signature against genesis, the network, and every proof, or refuses the batch.
//
// Wire form: u8 version | bytes signed snapshot | u32 n | n x (bytes receipt | bytes proof).
import { ByteReader, ByteWriter, DecodeError, bytesEqual, toHex } from '../core/bytes.js';
import { homeShard } from '../core/address.js';
import type { Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';
import { decodeProof, encodeProof, verifyProof, type TrieProof } from '../trie/index.js';
import { decodeReceipt, encodeReceipt, outboxKey, type Receipt } from './records.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, verifySnapshotSignature, type SignedSnapshot } from './snapshot.js';

export const RECEIPT_BATCH_VERSION = 1;
export const MAX_BATCH_RECEIPTS = 4096;
const MAX_ITEM_BYTES = 1 << 16;

export interface ReceiptBatchItem {
  receipt: Receipt;
  proof: TrieProof;
}

export interface ReceiptBatch {
  snapshot: SignedSnapshot; // the source's, of the epoch the proofs refer to
  items: ReceiptBatchItem[];
}

export function encodeReceiptBatch(b: ReceiptBatch): Uint8Array {
  const w = new ByteWriter(1024 + b.items.length * 512);
  w.u8(RECEIPT_BATCH_VERSION).bytes(encodeSignedSnapshot(b.snapshot)).u32(b.items.length);
  for (const it of b.items) w.bytes(encodeReceipt(it.receipt)).bytes(encodeProof(it.proof));
  return w.finish();
}

export function decodeReceiptBatch(bytes: Uint8Array): ReceiptBatch {
  const r = new ByteReader(bytes, 'receipt batch');
  const v = r.u8();
  if (v !== RECEIPT_BATCH_VERSION) throw new DecodeError(`receipt batch: unknown version ${v}`);
  const snapshot = decodeSignedSnapshot(r.bytes(1 << 20));
  const n = r.u32();
  if (n > MAX_BATCH_RECEIPTS) throw new DecodeError(`receipt batch: ${n} receipts exceed ${MAX_BATCH_RECEIPTS}`);
  const items: ReceiptBatchItem[] = [];
  for (let i = 0; i < n; i++) {
    const receipt = decodeReceipt(r.bytes(MAX_ITEM_BYTES));
    const pb = r.bytes(MAX_ITEM_BYTES);
    let proof: TrieProof;
    try {
      proof = decodeProof(pb);
    } catch (e) {
      throw new DecodeError(`receipt batch: proof ${i}: ${(e as Error).message}`);
    }
    items.push({ receipt, proof });
  }
  r.end();
  return { snapshot, items };
}

/** Why a batch is refused (the whole batch: a bad item means a bad peer or a corrupted message). */
export type BatchRefusal = 'malformed' | 'wrong-network' | 'unknown-source' | 'bad-signature' | 'wrong-destination' | 'bad-proof' | 'not-final';

export class ReceiptBatchError extends Error {
  override name = 'ReceiptBatchError';
  readonly reason: BatchRefusal;
  constructor(reason: BatchRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Checks a batch for destination `dst`: network, source validator signature (genesis), and each
 * receipt's (src, dst, epoch <= snapshot epoch, home shard of `to`) and inclusion proof against the
 * snapshot's outboxRoot. Returns the receipts; throws ReceiptBatchError. Pure.
 */
export function verifyReceiptBatch(b: ReceiptBatch, genesis: Genesis, dst: ShardId): Receipt[] {
  const s = b.snapshot.snapshot;
  if (s.network !== genesis.networkId) throw new ReceiptBatchError('wrong-network', `batch is of network "${s.network}", this is "${genesis.networkId}"`);
  const key = genesis.validators.get(s.shard);
  if (!key || s.shard.length !== genesis.depth) throw new ReceiptBatchError('unknown-source', `source shard "${s.shard}" is not a shard of this network`);
  if (s.shard === dst) throw new ReceiptBatchError('wrong-destination', 'a shard does not send receipts to itself');
  if (!verifySnapshotSignature(b.snapshot, key)) throw new ReceiptBatchError('bad-signature', `snapshot ${s.shard}@${s.epoch} is not signed by its validator`);
  const out: Receipt[] = [];
  for (const { receipt: r, proof } of b.items) {
    const id = `receipt ${s.shard}->${r.dst}#${r.seq}`;
    if (r.src !== s.shard) throw new ReceiptBatchError('bad-proof', `${id}: source ${r.src} is not the snapshot's shard`);
    if (r.dst !== dst) throw new ReceiptBatchError('wrong-destination', `${id}: addressed to "${r.dst}", this is "${dst}"`);
    if (r.epoch > s.epoch) throw new ReceiptBatchError('bad-proof', `${id}: epoch ${r.epoch} is after the snapshot's ${s.epoch}`);
    if (genesis.depth > 0 && homeShard(r.to, genesis.depth) !== dst) throw new ReceiptBatchError('wrong-destination', `${id}: recipient ${toHex(r.to)} is not homed on "${dst}"`);
    if (!verifyProof(s.outboxRoot, outboxKey(r.dst, r.seq), encodeReceipt(r), proof)) {
      throw new ReceiptBatchError('bad-proof', `${id}: proof does not verify against outboxRoot ${toHex(s.outboxRoot)}`);
    }
    out.push(r);
  }
  return out;
}

/** Same receipt (all fields)? */
export function sameReceipt(a: Receipt, b: Receipt): boolean {
  return bytesEqual(encodeReceipt(a), encodeReceipt(b));
}

/** The outcome of offering a batch to a destination shard. */
export interface ReceiveResult {
  queued: number; // new receipts waiting for the next seal
  duplicates: number; // already credited or already queued: no-ops
  full: number; // dropped because the queue is full (to be re-delivered)
}
