// The epoch snapshot (docs/PROTOCOL.md): what a shard seals at each epoch barrier, signed by its validator.
// Canonical binary encoding; snapshotHash = H_snapshot(encoding). No JSON anywhere in the hashed form.
import { ByteReader, ByteWriter, DecodeError, toHex } from '../core/bytes.js';
import { taggedHashOf } from '../core/hash.js';
import { sign, verify, SIGNATURE_BYTES } from '../core/ed25519.js';
import type { ShardId } from '../core/ids.js';

export const SNAPSHOT_VERSION = 1;
/** Snapshots of replicated shards (docs/REPLICAS.md): version 1's fields, then u64 term | u8 writer. */
export const SNAPSHOT_VERSION_REPLICATED = 2;
export const MAX_NETWORK_ID = 64;
export const MAX_VECTOR_CLOCK = 3 ** 8; // depth <= 8
const ZERO32 = new Uint8Array(32);

export interface Snapshot {
  network: string;
  shard: ShardId;
  epoch: number;
  stateRoot: Uint8Array; // 32: account trie + inbox cursors (see shard state)
  txRoot: Uint8Array; // 32: transaction accumulator root
  outboxRoot: Uint8Array; // 32: cross-shard receipts emitted so far
  txCount: bigint; // transactions committed in this epoch
  supply: bigint; // sum of balances held on this shard after the epoch
  outflow: bigint; // value sent to other shards in this epoch (receipts emitted)
  inflow: bigint; // value credited from other shards in this epoch (receipts consumed)
  fees: bigint; // fees burned in this epoch
  // Cumulative since genesis (so a cut can check conservation even with carried-forward children):
  totalOutflow: bigint; // sum of outflow over epochs 0..epoch
  totalInflow: bigint; // sum of inflow over epochs 0..epoch
  totalFees: bigint; // sum of fees over epochs 0..epoch
  lamport: bigint;
  vectorClock: number[]; // length 3^D; entry j = latest epoch of shard j incorporated
  hlc: bigint; // hybrid logical clock: (physical ms << 16) | logical
  prevSnapshotHash: Uint8Array; // 32; zero for epoch 0's predecessor
  /** Replicated shards only (version 2): the write lease's term (fencing token) and the writer's replica index. */
  replica?: { term: bigint; writer: number };
}

export interface SignedSnapshot {
  snapshot: Snapshot;
  signature: Uint8Array; // 64, by the shard's validator key over H_snapshot(encoding)
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = new ByteWriter(256 + s.vectorClock.length * 8);
  writeSnapshot(w, s);
  return w.finish();
}

function writeSnapshot(w: ByteWriter, s: Snapshot): void {
  w.u8(s.replica ? SNAPSHOT_VERSION_REPLICATED : SNAPSHOT_VERSION).string(s.network).string(s.shard).u64(BigInt(s.epoch));
  w.fixed(s.stateRoot, 32).fixed(s.txRoot, 32).fixed(s.outboxRoot, 32);
  w.u64(s.txCount).u64(s.supply).u64(s.outflow).u64(s.inflow).u64(s.fees);
  w.u64(s.totalOutflow).u64(s.totalInflow).u64(s.totalFees).u64(s.lamport);
  w.u32(s.vectorClock.length);
  for (const v of s.vectorClock) w.u64(BigInt(v));
  w.u64(s.hlc).fixed(s.prevSnapshotHash, 32);
  if (s.replica) w.u64(s.replica.term).u8(s.replica.writer);
}

function readSnapshot(r: ByteReader): Snapshot {
  const version = r.u8();
  if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_VERSION_REPLICATED) throw new DecodeError(`snapshot: unknown version ${version}`);
  const network = r.string(MAX_NETWORK_ID);
  const shard = r.string(16);
  if (!/^[012]*$/.test(shard)) throw new DecodeError('snapshot: shard id is not ternary digits');
  const epoch = safeNumber(r.u64(), 'epoch');
  const stateRoot = r.fixed(32);
  const txRoot = r.fixed(32);
  const outboxRoot = r.fixed(32);
  const txCount = r.u64();
  const supply = r.u64();
  const outflow = r.u64();
  const inflow = r.u64();
  const fees = r.u64();
  const totalOutflow = r.u64();
  const totalInflow = r.u64();
  const totalFees = r.u64();
  const lamport = r.u64();
  const n = r.u32();
  if (n > MAX_VECTOR_CLOCK) throw new DecodeError(`snapshot: vector clock of ${n} entries exceeds ${MAX_VECTOR_CLOCK}`);
  const vectorClock: number[] = [];
  for (let i = 0; i < n; i++) vectorClock.push(safeNumber(r.u64(), 'vector clock entry'));
  const hlc = r.u64();
  const prevSnapshotHash = r.fixed(32);
  const base: Snapshot = { network, shard: shard as ShardId, epoch, stateRoot, txRoot, outboxRoot, txCount, supply, outflow, inflow, fees, totalOutflow, totalInflow, totalFees, lamport, vectorClock, hlc, prevSnapshotHash };
  if (version === SNAPSHOT_VERSION_REPLICATED) base.replica = { term: r.u64(), writer: r.u8() };
  return base;
}

export function decodeSnapshot(b: Uint8Array): Snapshot {
  const r = new ByteReader(b, 'snapshot');
  const s = readSnapshot(r);
  r.end();
  return s;
}

/** H_snapshot(encoding), the encoding written into a scratch buffer (taggedHashOf). */
export function snapshotHash(s: Snapshot): Uint8Array {
  return taggedHashOf('snapshot', (w) => writeSnapshot(w, s));
}

export function signSnapshot(s: Snapshot, secretKey: Uint8Array): SignedSnapshot {
  return { snapshot: s, signature: sign(snapshotHash(s), secretKey) };
}

export function verifySnapshotSignature(ss: SignedSnapshot, validatorPublicKey: Uint8Array): boolean {
  return verify(snapshotHash(ss.snapshot), ss.signature, validatorPublicKey);
}

export function encodeSignedSnapshot(ss: SignedSnapshot): Uint8Array {
  const body = encodeSnapshot(ss.snapshot);
  return new ByteWriter(body.length + 72).bytes(body).fixed(ss.signature, SIGNATURE_BYTES).finish();
}

export function decodeSignedSnapshot(b: Uint8Array): SignedSnapshot {
  const r = new ByteReader(b, 'signed snapshot');
  const snapshot = decodeSnapshot(r.bytes(1 << 20));
  const signature = r.fixed(SIGNATURE_BYTES);
  r.end();
  return { snapshot, signature };
}

/** JSON view for the HTTP API and CLI (never hashed). */
export function snapshotToJson(s: Snapshot): Record<string, unknown> {
  return {
    network: s.network, shard: s.shard, epoch: s.epoch,
    stateRoot: toHex(s.stateRoot), txRoot: toHex(s.txRoot), outboxRoot: toHex(s.outboxRoot),
    txCount: s.txCount.toString(), supply: s.supply.toString(), outflow: s.outflow.toString(),
    inflow: s.inflow.toString(), fees: s.fees.toString(),
    totalOutflow: s.totalOutflow.toString(), totalInflow: s.totalInflow.toString(), totalFees: s.totalFees.toString(),
    lamport: s.lamport.toString(),
    vectorClock: s.vectorClock, hlc: s.hlc.toString(), prevSnapshotHash: toHex(s.prevSnapshotHash),
    ...(s.replica ? { term: s.replica.term.toString(), writer: s.replica.writer } : {}),
    hash: toHex(snapshotHash(s)),
  };
}

export function genesisPrevHash(): Uint8Array {
  return ZERO32;
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`snapshot: ${what} ${v} too large`);
  return Number(v);
}
