// Catch-up protocol /smt/<network>/fetch/1: one request, one response per stream. A node that
// restarted or missed gossip asks a peer for a snapshot, a final aggregate or a global snapshot.
// The response body is the record's canonical encoding, or empty if the peer does not have it;
// every fetched record is verified like a gossiped one before use.
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';

// receipts: path = source shard id || destination shard id, epoch field = first seq wanted; the
// response is a receipt batch (src/shard/receipts.ts) proven against the source's latest final epoch.
// roundSigs: path = triad path; the response is the member signatures the peer holds for that
// round (encoding.ts encodeRoundSigs): a round whose signatures were lost in transit recovers them.
export const FetchKind = { snapshot: 1, finalAggregate: 2, globalLatest: 3, globalAt: 4, receipts: 5, roundSigs: 6 } as const;
export type FetchKind = (typeof FetchKind)[keyof typeof FetchKind];

export interface FetchRequest {
  kind: FetchKind;
  path: string; // shard id (snapshot) or triad path (final aggregate); '' otherwise
  epoch: number; // ignored for globalLatest
}

export function fetchProtocol(networkId: string): string {
  return `/smt/${networkId}/fetch/1`;
}

export function encodeFetchRequest(r: FetchRequest): Uint8Array {
  return new ByteWriter(32).u8(r.kind).string(r.path).u64(BigInt(r.epoch)).finish();
}

export function decodeFetchRequest(b: Uint8Array): FetchRequest {
  const r = new ByteReader(b, 'fetch request');
  const kind = r.u8();
  if (kind < 1 || kind > 6) throw new DecodeError(`fetch request: unknown kind ${kind}`);
  const path = r.string(16);
  if (!/^[012]*$/.test(path)) throw new DecodeError('fetch request: path is not ternary digits');
  const e = r.u64();
  if (e > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('fetch request: epoch too large');
  r.end();
  return { kind: kind as FetchKind, path, epoch: Number(e) };
}
