// A replication entry: everything a follower needs to re-execute one sealed epoch of its shard
// (docs/REPLICAS.md "Replication and quorum commit"). Canonical binary, strict decoder:
//   u8 version (=1) | bytes signed snapshot | u32 n | n x bytes signed tx (application order)
//   | u32 k | k x (u32 source shard index | bytes receipt row)      (the groups the epoch credited)
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, type SignedSnapshot } from '../shard/snapshot.js';

export const ENTRY_VERSION = 1;
const MAX_TXS = 1 << 22;
const MAX_TX = 1024;
const MAX_ROW = 1 << 24;

export interface ReplicaEntry {
  signed: SignedSnapshot;
  txs: Uint8Array[];
  credits: { src: number; row: Uint8Array }[];
}

export function encodeEntry(e: ReplicaEntry): Uint8Array {
  let size = 16 + 4 * e.txs.length + 8 * e.credits.length + 512;
  for (const t of e.txs) size += t.length;
  for (const c of e.credits) size += c.row.length;
  const w = new ByteWriter(size);
  w.u8(ENTRY_VERSION).bytes(encodeSignedSnapshot(e.signed)).u32(e.txs.length);
  for (const t of e.txs) w.bytes(t);
  w.u32(e.credits.length);
  for (const c of e.credits) w.u32(c.src).bytes(c.row);
  return w.finish();
}

export function decodeEntry(b: Uint8Array): ReplicaEntry {
  const r = new ByteReader(b, 'replica entry');
  const v = r.u8();
  if (v !== ENTRY_VERSION) throw new DecodeError(`replica entry: unknown version ${v}`);
  const signed = decodeSignedSnapshot(r.bytes(1 << 20));
  const n = r.u32();
  if (n > MAX_TXS) throw new DecodeError(`replica entry: ${n} transactions`);
  const txs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) txs.push(r.bytes(MAX_TX));
  const k = r.u32();
  const credits: ReplicaEntry['credits'] = [];
  for (let i = 0; i < k; i++) credits.push({ src: r.u32(), row: r.bytes(MAX_ROW) });
  r.end();
  return { signed, txs, credits };
}

/** The credited groups of one epoch as the shard stores them (a metadata row of the seal's batch). */
export function encodeCredits(credits: { src: number; row: Uint8Array }[]): Uint8Array {
  const w = new ByteWriter(8 + credits.reduce((a, c) => a + 8 + c.row.length, 0));
  w.u32(credits.length);
  for (const c of credits) w.u32(c.src).bytes(c.row);
  return w.finish();
}

export function decodeCredits(b: Uint8Array): { src: number; row: Uint8Array }[] {
  const r = new ByteReader(b, 'credited groups');
  const k = r.u32();
  const out: { src: number; row: Uint8Array }[] = [];
  for (let i = 0; i < k; i++) out.push({ src: r.u32(), row: r.bytes(MAX_ROW) });
  r.end();
  return out;
}

/** Several encoded entries in one pull answer: u32 n | n x bytes entry (consecutive epochs). */
export function encodeEntries(entries: Uint8Array[]): Uint8Array {
  const w = new ByteWriter(4 + entries.reduce((a, e) => a + 4 + e.length, 0));
  w.u32(entries.length);
  for (const e of entries) w.bytes(e);
  return w.finish();
}

export function decodeEntries(b: Uint8Array): ReplicaEntry[] {
  const r = new ByteReader(b, 'replica entries');
  const n = r.u32();
  if (n > 4096) throw new DecodeError(`replica entries: ${n}`);
  const out: ReplicaEntry[] = [];
  for (let i = 0; i < n; i++) out.push(decodeEntry(r.bytes(1 << 30)));
  r.end();
  return out;
}
