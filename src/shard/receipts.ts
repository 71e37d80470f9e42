// Receipt batches: how a source shard's receipts travel to their destination (docs/PROTOCOL.md).
//
// The source's outbox trie holds ONE leaf per destination: (count, head) of the (src, dst) receipt
// hash chain (receipt-chain.ts). A batch = the source's signed snapshot of some epoch E + ONE trie
// proof of the destination's leaf against that snapshot's outboxRoot + the receipt rows (records.ts)
// holding seqs [count - n, count) of that leaf, whole groups in seq order. The destination checks
// the validator signature against genesis, the network, the leaf proof and the rows' fields here
// (pure, stateless); the chain itself is checked against the destination's own stored head
// (inbox.ts), which also skips the groups it already has. A peer can withhold, never forge.
//
// Wire form (version 3):
//   u8 version | bytes signed snapshot | bytes leaf proof | u64 count | 32 head | u32 g | g x receipt row
// count = 0 means "no receipt to this destination yet at E": head is zeros, the proof shows absence.
// The rows are sent as stored and hashed: nothing is re-encoded on the way, and a destination reads
// them in place (no object per receipt).
import { ByteReader, ByteWriter, DecodeError, bytesEqual, toHex, uninitBytes } from '../core/bytes.js';
import { shardFromIndex } from '../core/ids.js';
import { hexRange, taggedHasher } from './fast-hash.js';
import type { Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';
import { ADDRESS_BYTES } from '../core/address.js';
import { decodeProof, encodeProof, verifyProof, type TrieProof } from '../trie/index.js';
import { encodeOutboxLeaf, groupReceipts, outboxKey, readReceiptRow, receiptRows, RECEIPT_ENTRY_BYTES, type Receipt, type ReceiptGroup } from './records.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, type SignedSnapshot } from './snapshot.js';
import { verifyShardSnapshot } from '../replica/keys.js';

export const RECEIPT_BATCH_VERSION = 3;
/** Receipts per batch, and per destination per source epoch (the engine's cap): any epoch fits one batch. */
export const MAX_BATCH_RECEIPTS = 4096;
const MAX_ITEM_BYTES = 1 << 16;
const ZERO32 = new Uint8Array(32);
const hHome = taggedHasher('home-shard');

/** core/address.ts homeShard through libsodium (one check per new recipient). */
function homeShardFast(address: Uint8Array, depth: number): ShardId {
  const h = hHome(address);
  return shardFromIndex(Number(new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0) % BigInt(3 ** depth)), depth);
}

// Recipients' hex, memoized by address: a destination sees the same recipients batch after batch,
// and reusing one string per address also spares the hash the account lookups compute on a new
// string. Keyed by the address's first 4 bytes, the whole address compared on a hit; the addresses
// live in one slab (no buffer per entry), and the memo starts over when it is full.
const MEMO_MAX = 50_000;
const memoAddresses = new Uint8Array(MEMO_MAX * ADDRESS_BYTES);
const recipientMemo = new Map<number, { at: number; hex: string }>();

/** Lowercase hex of the 20-byte address at offset `o` of `row`. */
function recipientHex(row: Uint8Array, o: number): string {
  const k = ((row[o]! << 24) | (row[o + 1]! << 16) | (row[o + 2]! << 8) | row[o + 3]!) >> 1; // a Smi key
  let e = recipientMemo.get(k);
  if (e !== undefined) {
    const at = e.at;
    let i = 4;
    while (i < ADDRESS_BYTES && memoAddresses[at + i] === row[o + i]) i++;
    if (i === ADDRESS_BYTES && memoAddresses[at + 3] === row[o + 3]) return e.hex;
  }
  const hex = hexRange(row, o, o + ADDRESS_BYTES);
  if (e === undefined) {
    if (recipientMemo.size >= MEMO_MAX) recipientMemo.clear();
    recipientMemo.set(k, (e = { at: recipientMemo.size * ADDRESS_BYTES, hex }));
  } else e.hex = hex; // same key, another address: it takes the slot
  memoAddresses.set(row.subarray(o, o + ADDRESS_BYTES), e.at);
  return hex;
}

export interface ReceiptBatch {
  snapshot: SignedSnapshot; // the source's, of the epoch E the proof refers to
  proof: TrieProof; // of outboxKey(dst) against snapshot.outboxRoot
  count: bigint; // the leaf: receipts emitted to dst at epochs <= E
  head: Uint8Array; // the leaf: chain head after them (zeros when count = 0)
  groups: ReceiptGroup[]; // whole groups, seq order, ending at count
}

/** The number of receipts in a batch. */
export function batchSize(b: Pick<ReceiptBatch, 'groups'>): number {
  let n = 0;
  for (const g of b.groups) n += g.n;
  return n;
}

/** Every receipt of a batch as objects (tests, tools: the shard reads the rows in place). */
export function batchReceipts(b: Pick<ReceiptBatch, 'groups'>): Receipt[] {
  return b.groups.flatMap(groupReceipts);
}

type BatchHead = Omit<ReceiptBatch, 'groups'>;

/** Encodes a batch; its receipts given as groups, or as receipt objects (tests), seq order. */
export function encodeReceiptBatch(b: BatchHead & ({ groups: readonly ReceiptGroup[] } | { receipts: readonly Receipt[] })): Uint8Array {
  return encodeReceiptBatchRows(b, 'groups' in b ? b.groups.map((g) => g.row) : receiptRows(b.receipts));
}

// A source proves batches to every destination against the same few snapshots: encode each once
// (snapshots are never mutated; the entry goes with the object).
const encodedSnapshots = new WeakMap<SignedSnapshot, Uint8Array>();

/** The same encoding, from the rows as stored (a source's form). */
export function encodeReceiptBatchRows(b: BatchHead, rows: readonly Uint8Array[]): Uint8Array {
  let snap = encodedSnapshots.get(b.snapshot);
  if (!snap) encodedSnapshots.set(b.snapshot, (snap = encodeSignedSnapshot(b.snapshot)));
  const proof = encodeProof(b.proof);
  const head = new ByteWriter(1 + 8 + snap.length + proof.length + 44).u8(RECEIPT_BATCH_VERSION).bytes(snap).bytes(proof).u64(b.count).fixed(b.head, 32).u32(rows.length).finish();
  let size = head.length;
  for (const row of rows) size += row.length;
  const out = uninitBytes(size); // every byte is written below: the head, then the rows copied once, into place
  out.set(head);
  let o = head.length;
  for (const row of rows) {
    out.set(row, o);
    o += row.length;
  }
  return out;
}

/**
 * Decodes a batch. Structural checks: the rows are views into `bytes` (no copies), hold at most
 * MAX_BATCH_RECEIPTS receipts in all, one source, one destination, strictly increasing epochs and
 * consecutive seqs ending at `count`. Throws DecodeError.
 */
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
  const ng = r.u32();
  if (ng > MAX_BATCH_RECEIPTS) throw new DecodeError(`receipt batch: ${ng} groups exceed ${MAX_BATCH_RECEIPTS}`);
  const rest = bytes.subarray(r.offset); // the rows stay views into `bytes` (ByteReader.fixed would copy them)
  const groups: ReceiptGroup[] = new Array(ng);
  let o = 0;
  let total = 0;
  for (let i = 0; i < ng; i++) {
    const { group: g, end } = readReceiptRow(rest, o, MAX_BATCH_RECEIPTS - total);
    if (i > 0) {
      const p = groups[i - 1]!;
      if (g.src !== p.src || g.dst !== p.dst) throw new DecodeError(`receipt batch: group ${i} is of another (source, destination) pair`);
      if (g.epoch <= p.epoch) throw new DecodeError(`receipt batch: group ${i} is of epoch ${g.epoch}, not after ${p.epoch}`);
      if (g.first !== p.first + BigInt(p.n)) throw new DecodeError(`receipt batch: group ${i} starts at seq ${g.first}, want ${p.first + BigInt(p.n)}`);
    }
    groups[i] = g;
    total += g.n;
    o = end;
  }
  if (o !== rest.length) throw new DecodeError(`receipt batch: ${rest.length - o} trailing bytes`);
  if (BigInt(total) > count) throw new DecodeError(`receipt batch: ${total} receipts but the leaf counts ${count}`);
  if (ng > 0) {
    const last = groups[ng - 1]!;
    if (last.first + BigInt(last.n) !== count) throw new DecodeError(`receipt batch: the receipts end at seq ${last.first + BigInt(last.n)}, the leaf counts ${count}`);
  }
  return { snapshot, proof, count, head, groups };
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
 * the leaf proof against the snapshot's outboxRoot, and each group's fields (src, dst, a seq run
 * ending at count, epoch <= E) and recipients (homed on dst; `knownHere` may vouch, by hex, for
 * recipients that already have an account on dst, which are homed there by construction, sparing
 * the hash). The chain (rows -> head) is checked by the destination's inbox from its own head.
 * Throws ReceiptBatchError. Pure.
 */
export function verifyReceiptBatch(b: ReceiptBatch, genesis: Genesis, dst: ShardId, knownHere?: (toHex: string) => boolean): void {
  const s = b.snapshot.snapshot;
  if (s.network !== genesis.networkId) throw new ReceiptBatchError('wrong-network', `batch is of network "${s.network}", this is "${genesis.networkId}"`);
  const key = genesis.validators.get(s.shard);
  if (!key || s.shard.length !== genesis.depth) throw new ReceiptBatchError('unknown-source', `source shard "${s.shard}" is not a shard of this network`);
  if (s.shard === dst) throw new ReceiptBatchError('wrong-destination', 'a shard does not send receipts to itself');
  if (!verifyShardSnapshot(genesis, b.snapshot)) throw new ReceiptBatchError('bad-signature', `snapshot ${s.shard}@${s.epoch} is not signed by its validator`);
  let next = b.count - BigInt(batchSize(b));
  for (const g of b.groups) {
    const id = `receipts ${g.src}->${g.dst}#${g.first}`;
    if (g.first !== next || g.n < 1) throw new ReceiptBatchError('malformed', `${id}: seq out of the run ending at ${b.count}`);
    next += BigInt(g.n);
    if (g.src !== s.shard) throw new ReceiptBatchError('bad-proof', `${id}: source ${g.src} is not the snapshot's shard`);
    if (g.dst !== dst) throw new ReceiptBatchError('wrong-destination', `${id}: addressed to "${g.dst}", this is "${dst}"`);
    if (g.epoch > s.epoch) throw new ReceiptBatchError('bad-proof', `${id}: epoch ${g.epoch} is after the snapshot's ${s.epoch}`);
    // the recipients' hex is kept on the group (g.recipients): the seal that credits it looks them up again
    const row = g.row;
    const hexes = g.recipients ?? new Array<string>(g.n);
    for (let i = 0, o = g.body + 32; i < g.n; i++, o += RECEIPT_ENTRY_BYTES) {
      const h = (hexes[i] ??= recipientHex(row, o));
      if (genesis.depth === 0 || knownHere?.(h)) continue;
      const to = row.subarray(o, o + ADDRESS_BYTES);
      if (homeShardFast(to, genesis.depth) !== dst) throw new ReceiptBatchError('wrong-destination', `${id}: recipient ${toHex(to)} (seq ${g.first + BigInt(i)}) is not homed on "${dst}"`);
    }
    g.recipients = hexes;
  }
  if (next !== b.count) throw new ReceiptBatchError('malformed', `receipts end at seq ${next}, the leaf counts ${b.count}`);
  const leaf = b.count === 0n ? null : encodeOutboxLeaf({ count: b.count, head: b.head });
  if (!verifyProof(s.outboxRoot, outboxKey(dst), leaf, b.proof)) {
    throw new ReceiptBatchError('bad-proof', `outbox leaf of "${dst}" (count ${b.count}) does not verify against outboxRoot ${toHex(s.outboxRoot)} of ${s.shard}@${s.epoch}`);
  }
}

/** The outcome of offering a batch to a destination shard. */
export interface ReceiveResult {
  queued: number; // new receipts verified against the chain, waiting for the next seal
  duplicates: number; // already credited or already queued: no-ops
  full: number; // not queued because the queue is full (to be re-delivered)
  gap: number; // above a missing seq: held (bounded) until the gap fills, else re-delivered
}

