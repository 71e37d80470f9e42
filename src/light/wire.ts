// The light-client answers' canonical binary form (node -> client). One answer carries everything a
// check needs, so a light client makes one request per question: a state leaf (an account, or a
// destination's inbox cursor for a source shard) or a transaction's record, the trie proof, the
// shard's signed snapshot(s), and the signed aggregation path (each triad aggregate from the
// shard's triad up to the apex with its member signatures). Pure: no I/O; reuses the existing
// encodings of snapshots, aggregates and trie proofs.
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { encodeAggregate, readAggregate, type TriadAggregate } from '../hierarchy/aggregate.js';
import type { MemberSignature } from '../hierarchy/finality.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, type SignedSnapshot } from '../shard/snapshot.js';

export const LIGHT_WIRE_VERSION = 1;
const KIND_STATE = 1;
const KIND_TX = 2;
const MAX_PART = 1 << 16;
// a snapshot carried forward for many epochs under load needs a longer chain to the global epoch that includes it
const MAX_SNAPSHOT_CHAIN = 64;
const SIGNATURE_BYTES = 64; // ed25519

/** One level of the signed path: a triad's aggregate and its members' signatures over its hash. */
export interface SignedStep {
  aggregate: TriadAggregate;
  signatures: MemberSignature[];
}

/** What a state leaf answer proves: an account's (address) or an inbox cursor's (source shard index). */
export type StateLeafId = { kind: 'account'; address: Uint8Array } | { kind: 'inbox-cursor'; srcIndex: number };

export interface StateAnswer {
  globalEpoch: number;
  leaf: StateLeafId;
  snapshot: SignedSnapshot; // the shard snapshot the global epoch includes
  proof: Uint8Array; // encoded trie proof against snapshot.stateRoot
  value: Uint8Array | null; // null: the proof shows absence
  path: SignedStep[]; // lowest triad first, apex last
}

export interface TxAnswer {
  globalEpoch: number;
  txid: Uint8Array;
  value: Uint8Array; // the tx record
  proof: Uint8Array; // encoded trie proof against snapshots[0].txRoot
  /** The snapshot of the tx's epoch first, then each later one up to the one the global epoch includes. */
  snapshots: SignedSnapshot[];
  path: SignedStep[];
}

function writePath(w: ByteWriter, path: readonly SignedStep[]): void {
  w.u8(path.length);
  for (const s of path) {
    w.bytes(encodeAggregate(s.aggregate)).u8(s.signatures.length);
    for (const g of s.signatures) w.u8(g.position).u8(g.attempt).fixed(g.signature, SIGNATURE_BYTES);
  }
}

function readPath(r: ByteReader): SignedStep[] {
  const n = r.u8();
  if (n > 8) throw new DecodeError(`light answer: ${n} path steps, at most 8`);
  const out: SignedStep[] = [];
  for (let i = 0; i < n; i++) {
    const inner = new ByteReader(r.bytes(4096), 'aggregate');
    const aggregate = readAggregate(inner);
    inner.end();
    const k = r.u8();
    if (k > 3) throw new DecodeError(`light answer: ${k} signatures on path step ${i}, at most 3`);
    const signatures: MemberSignature[] = [];
    for (let j = 0; j < k; j++) signatures.push({ position: r.u8(), attempt: r.u8(), signature: r.fixed(SIGNATURE_BYTES) });
    out.push({ aggregate, signatures });
  }
  return out;
}

function header(r: ByteReader, kind: number): number {
  const v = r.u8();
  if (v !== LIGHT_WIRE_VERSION) throw new DecodeError(`light answer: unknown version ${v}`);
  const k = r.u8();
  if (k !== kind) throw new DecodeError(`light answer: kind ${k}, expected ${kind}`);
  const e = r.u64();
  if (e > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('light answer: epoch too large');
  return Number(e);
}

export function encodeStateAnswer(a: StateAnswer): Uint8Array {
  const w = new ByteWriter(2048).u8(LIGHT_WIRE_VERSION).u8(KIND_STATE).u64(BigInt(a.globalEpoch));
  if (a.leaf.kind === 'account') w.u8(0).fixed(a.leaf.address, 20);
  else w.u8(1).u32(a.leaf.srcIndex);
  w.bytes(encodeSignedSnapshot(a.snapshot)).bytes(a.proof);
  if (a.value === null) w.u8(0);
  else w.u8(1).bytes(a.value);
  writePath(w, a.path);
  return w.finish();
}

export function decodeStateAnswer(b: Uint8Array): StateAnswer {
  const r = new ByteReader(b, 'light state answer');
  const globalEpoch = header(r, KIND_STATE);
  const lk = r.u8();
  let leaf: StateLeafId;
  if (lk === 0) leaf = { kind: 'account', address: r.fixed(20) };
  else if (lk === 1) leaf = { kind: 'inbox-cursor', srcIndex: r.u32() };
  else throw new DecodeError(`light state answer: unknown leaf kind ${lk}`);
  const snapshot = decodeSignedSnapshot(r.bytes(MAX_PART));
  const proof = r.bytes(MAX_PART);
  const has = r.u8();
  if (has > 1) throw new DecodeError('light state answer: value flag must be 0 or 1');
  const value = has === 1 ? r.bytes(MAX_PART) : null;
  const path = readPath(r);
  r.end();
  return { globalEpoch, leaf, snapshot, proof, value, path };
}

export function encodeTxAnswer(a: TxAnswer): Uint8Array {
  const w = new ByteWriter(2048).u8(LIGHT_WIRE_VERSION).u8(KIND_TX).u64(BigInt(a.globalEpoch));
  w.fixed(a.txid, 32).bytes(a.value).bytes(a.proof).u8(a.snapshots.length);
  for (const s of a.snapshots) w.bytes(encodeSignedSnapshot(s));
  writePath(w, a.path);
  return w.finish();
}

export function decodeTxAnswer(b: Uint8Array): TxAnswer {
  const r = new ByteReader(b, 'light tx answer');
  const globalEpoch = header(r, KIND_TX);
  const txid = r.fixed(32);
  const value = r.bytes(MAX_PART);
  const proof = r.bytes(MAX_PART);
  const n = r.u8();
  if (n < 1 || n > MAX_SNAPSHOT_CHAIN) throw new DecodeError(`light tx answer: ${n} snapshots, want 1..${MAX_SNAPSHOT_CHAIN}`);
  const snapshots: SignedSnapshot[] = [];
  for (let i = 0; i < n; i++) snapshots.push(decodeSignedSnapshot(r.bytes(MAX_PART)));
  const path = readPath(r);
  r.end();
  return { globalEpoch, txid, value, proof, snapshots, path };
}

export { MAX_SNAPSHOT_CHAIN };

/** Base64 (the answers travel in JSON; 4/3 of the bytes instead of hex's 2x). */
export function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new DecodeError('light answer: not base64');
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new DecodeError('light answer: not base64');
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
