// Receipt batches: how a source shard's receipts travel to their destination (DESIGN §5).
//
// The source's outbox trie holds ONE leaf per destination: (count, head) of the (src, dst) receipt
// hash chain (receipt-chain.ts). A batch = the source's signed snapshot of some epoch E + ONE trie
// proof of the destination's leaf against that snapshot's outboxRoot + the receipts with seqs
// [count - n, count) of that leaf, in seq order. The destination checks the validator signature
// against genesis, the network, the leaf proof and every receipt's fields here (pure, stateless);
// the chain itself is checked against the destination's own stored head (inbox.ts), which also skips
// the receipts it already has. A peer can withhold, never forge.
//
// Wire form (version 2):
//   u8 version | bytes signed snapshot | bytes leaf proof | u64 count | 32 head | u32 n | n x bytes receipt
// count = 0 means "no receipt to this destination yet at E": head is zeros, the proof shows absence.
import { ByteReader, ByteWriter, DecodeError, bytesEqual, toHex } from '../core/bytes.js';
import { shardFromIndex } from '../core/ids.js';
import { taggedHasher } from './fast-hash.js';
import type { Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';
import { decodeProof, encodeProof, verifyProof, type TrieProof } from '../trie/index.js';
import { decodeReceipt, encodeOutboxLeaf, encodeReceipt, encodeReceipts, outboxKey, type Receipt } from './records.js';
import { joinReceiptRow, splitReceiptRow } from './receipt-chain.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, verifySnapshotSignature, type SignedSnapshot } from './snapshot.js';

export const RECEIPT_BATCH_VERSION = 2;
/** Receipts per batch, and per destination per source epoch (the engine's cap): any epoch fits one batch. */
export const MAX_BATCH_RECEIPTS = 4096;
const MAX_ITEM_BYTES = 1 << 16;
const ZERO32 = new Uint8Array(32);
const hHome = taggedHasher('home-shard');

/** core/address.ts homeShard through libsodium (one check per received receipt). */
function homeShardFast(address: Uint8Array, depth: number): ShardId {
  const h = hHome(address);
  return shardFromIndex(Number(new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0) % BigInt(3 ** depth)), depth);
}

export interface ReceiptBatch {
  snapshot: SignedSnapshot; // the source's, of the epoch E the proof refers to
  proof: TrieProof; // of outboxKey(dst) against snapshot.outboxRoot
  count: bigint; // the leaf: receipts emitted to dst at epochs <= E
  head: Uint8Array; // the leaf: chain head after them (zeros when count = 0)
  receipts: Receipt[]; // seqs count - n .. count - 1
  raw?: Uint8Array[]; // encodeReceipt of each receipt, when at hand (the decoder and the source's store set it; it must match `receipts`)
}

export function encodeReceiptBatch(b: ReceiptBatch): Uint8Array {
  // the receipt list is u32 n | n x (u32 len | receipt): a receipts row (receipt-chain.ts)
  return encodeReceiptBatchRows(b, [joinReceiptRow(b.raw ?? encodeReceipts(b.receipts))]);
}

/** The same encoding, from the receipts as group rows (a source's stored form): the list is their concatenation. */
export function encodeReceiptBatchRows(b: Omit<ReceiptBatch, 'receipts' | 'raw'>, rows: readonly Uint8Array[]): Uint8Array {
  const snap = encodeSignedSnapshot(b.snapshot);
  const proof = encodeProof(b.proof);
  let n = 0;
  let listBytes = 4;
  for (const row of rows) {
    n += new DataView(row.buffer, row.byteOffset, 4).getUint32(0);
    listBytes += row.length - 4;
  }
  const w = new ByteWriter(1 + 8 + snap.length + proof.length + 40 + listBytes);
  w.u8(RECEIPT_BATCH_VERSION).bytes(snap).bytes(proof).u64(b.count).fixed(b.head, 32).u32(n);
  for (const row of rows) w.fixed(row.subarray(4));
  return w.finish();
}

export function decodeReceiptBatch(bytes: Uint8Array): ReceiptBatch {
  const r = new ByteReader(bytes, 'receipt batch');
  const v = r.u8();
  if (v !== RECEIPT_BATCH_VERSION) throw new DecodeError(`receipt batch: unknown version ${v}`);
  const snapshot = decodeSignedSnapshot(r.bytes(1 << 20));
  const pb = r.bytes(MAX_ITEM_BYTES);
  let proof: TrieProof;
  try {
    proof = decodeProof(pb);
  } catch (e) {
    throw new DecodeError(`receipt batch: leaf proof: ${(e as Error).message}`);
  }
  const count = r.u64();
  const head = r.fixed(32);
  if (count === 0n && !bytesEqual(head, ZERO32)) throw new DecodeError('receipt batch: count 0 with a non-zero head');
  // the rest is the receipt list (a row): split into views, no copies
  const raw = splitReceiptRow(r.fixed(r.remaining), MAX_BATCH_RECEIPTS, 'receipt batch');
  const n = raw.length;
  if (BigInt(n) > count) throw new DecodeError(`receipt batch: ${n} receipts but the leaf counts ${count}`);
  const receipts: Receipt[] = new Array(n);
  const first = count - BigInt(n);
  for (let i = 0; i < n; i++) {
    const rc = decodeReceipt(raw[i]!);
    if (rc.seq !== first + BigInt(i)) throw new DecodeError(`receipt batch: receipt ${i} has seq ${rc.seq}, want ${first + BigInt(i)}`);
    receipts[i] = rc;
  }
  return { snapshot, proof, count, head, receipts, raw };
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
 * Checks a batch for destination `dst`, statelessly: network, source validator signature (genesis),
 * the leaf proof against the snapshot's outboxRoot, and each receipt's fields (src, dst, seq run
 * ending at count, epoch <= E, recipient homed on dst; `knownHere` may vouch for recipients that
 * already have an account on dst, which are homed there by construction, sparing the hash). The
 * chain (receipt groups -> head) is checked by the destination's inbox from its own head. Throws
 * ReceiptBatchError. Pure.
 */
export function verifyReceiptBatch(b: ReceiptBatch, genesis: Genesis, dst: ShardId, knownHere?: (to: Uint8Array) => boolean): void {
  const s = b.snapshot.snapshot;
  if (s.network !== genesis.networkId) throw new ReceiptBatchError('wrong-network', `batch is of network "${s.network}", this is "${genesis.networkId}"`);
  const key = genesis.validators.get(s.shard);
  if (!key || s.shard.length !== genesis.depth) throw new ReceiptBatchError('unknown-source', `source shard "${s.shard}" is not a shard of this network`);
  if (s.shard === dst) throw new ReceiptBatchError('wrong-destination', 'a shard does not send receipts to itself');
  if (!verifySnapshotSignature(b.snapshot, key)) throw new ReceiptBatchError('bad-signature', `snapshot ${s.shard}@${s.epoch} is not signed by its validator`);
  const first = b.count - BigInt(b.receipts.length);
  for (let i = 0; i < b.receipts.length; i++) {
    const r = b.receipts[i]!;
    const id = `receipt ${s.shard}->${r.dst}#${r.seq}`;
    if (r.seq !== first + BigInt(i)) throw new ReceiptBatchError('malformed', `${id}: seq out of the run ending at ${b.count}`);
    if (r.src !== s.shard) throw new ReceiptBatchError('bad-proof', `${id}: source ${r.src} is not the snapshot's shard`);
    if (r.dst !== dst) throw new ReceiptBatchError('wrong-destination', `${id}: addressed to "${r.dst}", this is "${dst}"`);
    if (r.epoch > s.epoch) throw new ReceiptBatchError('bad-proof', `${id}: epoch ${r.epoch} is after the snapshot's ${s.epoch}`);
    if (genesis.depth > 0 && !knownHere?.(r.to) && homeShardFast(r.to, genesis.depth) !== dst) throw new ReceiptBatchError('wrong-destination', `${id}: recipient ${toHex(r.to)} is not homed on "${dst}"`);
  }
  const leaf = b.count === 0n ? null : encodeOutboxLeaf({ count: b.count, head: b.head });
  if (!verifyProof(s.outboxRoot, outboxKey(dst), leaf, b.proof)) {
    throw new ReceiptBatchError('bad-proof', `outbox leaf of "${dst}" (count ${b.count}) does not verify against outboxRoot ${toHex(s.outboxRoot)} of ${s.shard}@${s.epoch}`);
  }
}

/** Same receipt (all fields)? */
export function sameReceipt(a: Receipt, b: Receipt): boolean {
  return bytesEqual(encodeReceipt(a), encodeReceipt(b));
}

/** The outcome of offering a batch to a destination shard. */
export interface ReceiveResult {
  queued: number; // new receipts verified against the chain, waiting for the next seal
  duplicates: number; // already credited or already queued: no-ops
  full: number; // not queued because the queue is full (to be re-delivered)
  gap: number; // above a missing seq: held (bounded) until the gap fills, else re-delivered
}
