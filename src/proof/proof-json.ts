// The HTTP API's JSON views of proofs (GET /v1/proof/global/:epoch and /v1/proof/triad/:path/:epoch),
// one place for the node's routes and for tools that serve the same answers without a node (the
// light-client benchmark). Never hashed: the canonical encodings travel as hex in `encoded`.
import { toHex } from '../core/bytes.js';
import { apexKind, encodeGlobalProof, globalProofHash, type GlobalStateProof } from './global.js';
import { encodeTriadProof, sig, type TriadProof } from './triad-proof.js';

export interface GlobalProofContext {
  proveEvery: number;
  /** When this node received (or made) the proof, ms since the epoch. */
  receivedAt: number;
  /** The epoch of the global proof this one links to, if known here (null for genesis or unknown). */
  prevEpoch: number | null;
}

export function globalProofJson(epoch: number, g: GlobalStateProof, ctx: GlobalProofContext): Record<string, unknown> {
  const s = g.publicSignals;
  const sums = sig.sums(s);
  const encoded = encodeGlobalProof(g);
  return {
    epoch, depth: g.depth, circuit: apexKind(g.depth), encoded: toHex(encoded), bytes: encoded.length,
    hash: toHex(globalProofHash(g)), prevGlobalProofHash: toHex(g.prevGlobalProofHash),
    publicSignals: s, commitment: sig.commitment(s).toString(), prevCommitment: sig.prevCommitment(s).toString(),
    supply: sums.supply.toString(), outflow: sums.outflow.toString(), inflow: sums.inflow.toString(), fees: sums.fees.toString(),
    proveEvery: ctx.proveEvery, receivedAt: ctx.receivedAt, prevEpoch: ctx.prevEpoch,
  };
}

export function triadProofJson(path: string, epoch: number, p: TriadProof): Record<string, unknown> {
  return { path, epoch, kind: p.kind, encoded: toHex(encodeTriadProof(p)), publicSignals: p.publicSignals, children: p.children.map(String) };
}
