// Wire formats of the proving layer (src/node/proving/), separate from the aggregation protocol:
//   gossip topic /smt/<net>/proofs: proofs (envelope kind `proof`, payload = u8 tag | record): tag 1 =
//     a triad proof (triad-proof.ts encoding), tag 2 = a global state proof (global.ts encoding, 418
//     bytes). Every shard's signed snapshot, from which all nodes build the whole commitment tree of
//     every epoch natively, travels on its lowest triad's topic and inside that triad's final on the
//     apex topic (src/gossip/network.ts);
//   request/response protocol /smt/<net>/proof-fetch/1: one request {u8 kind, path, u64 epoch},
//     one response = the record's canonical encoding, or empty if the peer does not have it.
// Everything fetched or gossiped is verified like a gossiped record before use.
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import type { DecodeProofOptions } from '../proof/encoding.js';
import { decodeGlobalProof, encodeGlobalProof, type GlobalStateProof } from '../proof/global.js';
import { decodeTriadProof, encodeTriadProof, type TriadProof } from '../proof/triad-proof.js';

export function proofTopic(networkId: string): string {
  return `/smt/${networkId}/proofs`;
}

export function proofFetchProtocol(networkId: string): string {
  return `/smt/${networkId}/proof-fetch/1`;
}

export type ProofMessage = { type: 'triad'; proof: TriadProof } | { type: 'global'; proof: GlobalStateProof };

const TAG_TRIAD = 1;
const TAG_GLOBAL = 2;

export function encodeProofMessage(m: ProofMessage): Uint8Array {
  const body = m.type === 'triad' ? encodeTriadProof(m.proof) : encodeGlobalProof(m.proof);
  return new ByteWriter(body.length + 1).u8(m.type === 'triad' ? TAG_TRIAD : TAG_GLOBAL).fixed(body).finish();
}

/** `opts` as for decodeProof: a caller that verifies the proof next (the node's admission) may skip the decoder's subgroup check. */
export function decodeProofMessage(b: Uint8Array, opts?: DecodeProofOptions): ProofMessage {
  if (b.length < 1) throw new DecodeError('proof message: empty');
  const body = b.subarray(1);
  if (b[0] === TAG_TRIAD) return { type: 'triad', proof: decodeTriadProof(body, opts) };
  if (b[0] === TAG_GLOBAL) return { type: 'global', proof: decodeGlobalProof(body, opts) };
  throw new DecodeError(`proof message: unknown tag ${b[0]}`);
}

export const ProofFetchKind = { snapshot: 1, triadProof: 2, globalAt: 3, globalLatest: 4 } as const;
export type ProofFetchKind = (typeof ProofFetchKind)[keyof typeof ProofFetchKind];

export interface ProofFetchRequest {
  kind: ProofFetchKind;
  path: string; // shard id (snapshot) or triad path (triad proof); '' otherwise
  epoch: number; // ignored for globalLatest
}

export function encodeProofFetchRequest(r: ProofFetchRequest): Uint8Array {
  return new ByteWriter(32).u8(r.kind).string(r.path).u64(BigInt(r.epoch)).finish();
}

export function decodeProofFetchRequest(b: Uint8Array): ProofFetchRequest {
  const r = new ByteReader(b, 'proof fetch request');
  const kind = r.u8();
  if (kind < 1 || kind > 4) throw new DecodeError(`proof fetch request: unknown kind ${kind}`);
  const path = r.string(16);
  if (!/^[012]*$/.test(path)) throw new DecodeError('proof fetch request: path is not ternary digits');
  const e = r.u64();
  if (e > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('proof fetch request: epoch too large');
  r.end();
  return { kind: kind as ProofFetchKind, path, epoch: Number(e) };
}
