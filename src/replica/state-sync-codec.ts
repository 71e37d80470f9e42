// The state-sync messages of a replicated shard (docs/REPLICAS.md "State sync"): a follower asks
// another replica, signed like a pull (tag `replica-state`), for
//   kind 0  its manifest: its latest committed signed snapshot and the first epoch whose entry it holds;
//   kind 1  trie records by locator (gen || hash, or a root's hash alone), answered in order;
//   kind 2  account addresses in ascending order after a given one.
// The answers are not signed: every record is checked against the state root of a signed snapshot,
// every address against the verified trie's leaves (state-sync-verify.ts). Canonical binary, strict
// decoders, every count bounded.
//   request  = u8 1 | str network | str shard | u8 replica | u64 at | u8 kind | body
//     kind 1 = u16 n (1..MAX_LOCATORS) | n x (u8 len (32 or 36) | len bytes)
//     kind 2 = u8 hasAfter | 20 after | u32 limit (1..MAX_ADDRESSES)
//   manifest = u8 1 | u8 has | [bytes signed snapshot | u64 firstEntry + 1 | u64 committedTotal]
//   records  = u8 1 | u32 n | n x (u8 found | [u32 gen | bytes record])
//   addresses= u8 1 | u32 n | n x 20 | u8 more
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, type SignedSnapshot } from '../shard/snapshot.js';

const VERSION = 1;
/** Locators per records request. */
export const MAX_LOCATORS = 1024;
/** Addresses per addresses request. */
export const MAX_ADDRESSES = 20_000;
/** A trie record is at most this long (a leaf's value is at most 64 KiB). */
export const MAX_RECORD_BYTES = 1 << 20;

export type StateRequest =
  | { network: string; shard: string; replica: number; at: number; kind: 'manifest' }
  | { network: string; shard: string; replica: number; at: number; kind: 'records'; locators: Uint8Array[] }
  | { network: string; shard: string; replica: number; at: number; kind: 'addresses'; after: Uint8Array | null; limit: number };

export interface Manifest {
  signed: SignedSnapshot;
  /** The first epoch whose replication entry the answering replica holds (0: its whole history). */
  firstEntry: number;
  /** Transactions committed since genesis (statistics only: not in any hash, not checked). */
  committedTotal: bigint;
}

export interface FoundRecord {
  gen: number;
  bytes: Uint8Array;
}

const KINDS = ['manifest', 'records', 'addresses'] as const;

export function encodeStateRequest(m: StateRequest): Uint8Array {
  const w = new ByteWriter(64).u8(VERSION).string(m.network).string(m.shard).u8(m.replica).u64(BigInt(m.at)).u8(KINDS.indexOf(m.kind));
  if (m.kind === 'records') {
    if (m.locators.length < 1 || m.locators.length > MAX_LOCATORS) throw new RangeError(`state request: ${m.locators.length} locators (1..${MAX_LOCATORS})`);
    w.u16(m.locators.length);
    for (const l of m.locators) w.u8(l.length).fixed(l);
  } else if (m.kind === 'addresses') {
    w.u8(m.after ? 1 : 0).fixed(m.after ?? new Uint8Array(20), 20).u32(m.limit);
  }
  return w.finish();
}

export function decodeStateRequest(b: Uint8Array): StateRequest {
  const r = new ByteReader(b, 'state request');
  const v = r.u8();
  if (v !== VERSION) throw new DecodeError(`state request: unknown version ${v}`);
  const head = { network: r.string(64), shard: r.string(16), replica: r.u8(), at: Number(r.u64()) };
  const k = r.u8();
  let m: StateRequest;
  if (k === 0) m = { ...head, kind: 'manifest' };
  else if (k === 1) {
    const n = r.u16();
    if (n < 1 || n > MAX_LOCATORS) throw new DecodeError(`state request: ${n} locators (1..${MAX_LOCATORS})`);
    const locators: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const len = r.u8();
      if (len !== 32 && len !== 36) throw new DecodeError(`state request: a locator of ${len} bytes (32 or 36)`);
      locators.push(r.fixed(len));
    }
    m = { ...head, kind: 'records', locators };
  } else if (k === 2) {
    const has = r.u8();
    if (has > 1) throw new DecodeError('state request: hasAfter is 0 or 1');
    const after = r.fixed(20);
    const limit = r.u32();
    if (limit < 1 || limit > MAX_ADDRESSES) throw new DecodeError(`state request: limit ${limit} (1..${MAX_ADDRESSES})`);
    m = { ...head, kind: 'addresses', after: has ? after : null, limit };
  } else throw new DecodeError(`state request: unknown kind ${k}`);
  r.end();
  return m;
}

export function encodeManifest(m: Manifest | undefined): Uint8Array {
  const w = new ByteWriter(1024).u8(VERSION).u8(m ? 1 : 0);
  if (m) w.bytes(encodeSignedSnapshot(m.signed)).u64(BigInt(m.firstEntry) + 1n).u64(m.committedTotal);
  return w.finish();
}

export function decodeManifest(b: Uint8Array): Manifest | undefined {
  const r = new ByteReader(b, 'state manifest');
  const v = r.u8();
  if (v !== VERSION) throw new DecodeError(`state manifest: unknown version ${v}`);
  const has = r.u8();
  if (has > 1) throw new DecodeError('state manifest: has is 0 or 1');
  if (!has) {
    r.end();
    return undefined;
  }
  const signed = decodeSignedSnapshot(r.bytes(1 << 20));
  const fe = r.u64();
  if (fe === 0n || fe > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('state manifest: first entry out of range');
  const committedTotal = r.u64();
  r.end();
  return { signed, firstEntry: Number(fe) - 1, committedTotal };
}

export function encodeRecords(rs: (FoundRecord | undefined)[]): Uint8Array {
  const w = new ByteWriter(16 + rs.reduce((a, x) => a + 9 + (x?.bytes.length ?? 0), 0)).u8(VERSION).u32(rs.length);
  for (const x of rs) {
    if (!x) w.u8(0);
    else w.u8(1).u32(x.gen).bytes(x.bytes);
  }
  return w.finish();
}

export function decodeRecords(b: Uint8Array): (FoundRecord | undefined)[] {
  const r = new ByteReader(b, 'state records');
  const v = r.u8();
  if (v !== VERSION) throw new DecodeError(`state records: unknown version ${v}`);
  const n = r.u32();
  if (n > MAX_LOCATORS) throw new DecodeError(`state records: ${n} records`);
  const out: (FoundRecord | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const f = r.u8();
    if (f > 1) throw new DecodeError('state records: found is 0 or 1');
    if (!f) out.push(undefined);
    else {
      const gen = r.u32();
      if (gen > 0x7fffffff) throw new DecodeError('state records: generation out of range');
      out.push({ gen, bytes: r.bytes(MAX_RECORD_BYTES) });
    }
  }
  r.end();
  return out;
}

export function encodeAddresses(addrs: Uint8Array[], more: boolean): Uint8Array {
  const w = new ByteWriter(8 + 20 * addrs.length).u8(VERSION).u32(addrs.length);
  for (const a of addrs) w.fixed(a, 20);
  return w.u8(more ? 1 : 0).finish();
}

export function decodeAddresses(b: Uint8Array): { addresses: Uint8Array[]; more: boolean } {
  const r = new ByteReader(b, 'state addresses');
  const v = r.u8();
  if (v !== VERSION) throw new DecodeError(`state addresses: unknown version ${v}`);
  const n = r.u32();
  if (n > MAX_ADDRESSES) throw new DecodeError(`state addresses: ${n} addresses`);
  const addresses: Uint8Array[] = [];
  for (let i = 0; i < n; i++) addresses.push(r.fixed(20));
  const more = r.u8();
  if (more > 1) throw new DecodeError('state addresses: more is 0 or 1');
  r.end();
  return { addresses, more: more === 1 };
}
