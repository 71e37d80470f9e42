// (c) The epoch's global state proof, checked by the light client: the apex Groth16 proof under the
// circuits' verification key and its link to the previous global proof (or to the genesis hash).
// What this certifies (docs/PROOFS.md §3): the apex prover knew an opening of the epoch's global
// commitment with these global sums, chained to the previous commitment; it trusts the provers
// below unless the whole tree is audited too (proof-tree.ts). Isomorphic: the Groth16 check is
// snarkjs's curve code (its browser build in the page), the keys are passed in.
import type { Groth16Proof, VerificationKey } from 'snarkjs';
import { fromHex, toHex } from '../core/bytes.js';
import { genesisHash } from '../core/genesis.js';
import type { CircuitKind } from '../proof/artifacts.js';
import { apexKind, decodeGlobalProof, globalProofHash, type GlobalStateProof } from '../proof/global.js';
import { sig } from '../proof/triad-proof.js';
import { verifyWithKey } from '../proof/verifier.js';
import { LightFetchError, type LightClient } from './client.js';

/** One Groth16 check, complete: the proof's points on their curves and B in G2's prime-order subgroup (as verifyWithKey). */
export type VerifyFn = (kind: CircuitKind, publicSignals: readonly string[], proof: Groth16Proof) => Promise<boolean>;

/**
 * How the light client decodes proofs: every one it decodes is verified next (VerifyFn checks B's
 * subgroup in wasm, about 1 ms), so the decoder's own BigInt subgroup check (about 7 ms, most of a
 * decode) would only repeat it.
 */
export const LAX = { subgroupCheck: false } as const;

export interface ProofCheck {
  what: string;
  ok: boolean;
  detail?: string;
}

export interface ProofVerdict {
  epoch: number;
  mode: 'apex' | 'tree';
  ok: boolean;
  checks: ProofCheck[];
  /** The first failed check, naming the proof. */
  failure?: string;
  /** What a passing verdict certifies (docs/PROOFS.md §3). */
  certifies: string;
  proof: GlobalStateProof;
}

interface GlobalProofJson {
  epoch: number;
  encoded: string;
  proveEvery: number;
  prevEpoch: number | null;
}

export const CERTIFIES_APEX = 'the apex prover knew an opening of the global commitment with these global sums (supply, outflow, inflow, fees), chained to the previous epoch\'s commitment; the provers below the apex are trusted (audit them with the whole tree)';
export const CERTIFIES_TREE = 'every triad proof of the epoch verifies and every parent folds exactly its children\'s commitments and sums, down to commitments of the shard snapshots: the global sums follow from the shards\' own snapshot fields, with no prover trusted';

export function keyVerifier(vkeys: Partial<Record<CircuitKind, VerificationKey>>): VerifyFn {
  return async (kind, signals, proof) => {
    const vk = vkeys[kind];
    if (!vk) throw new Error(`no verification key for ${kind}`);
    return verifyWithKey(vk, signals, proof);
  };
}

async function fetchGlobal(lc: LightClient, epoch: number | 'latest'): Promise<GlobalProofJson> {
  const { status, body } = await lc.get<GlobalProofJson & { error?: { code?: string; message?: string } }>(lc.node, `v1/proof/global/${epoch}`);
  if (status !== 200) throw new LightFetchError(status, body.error?.code ?? 'error', body.error?.message ?? `HTTP ${status}`);
  return body;
}

/** The apex proof of `epoch` and its link; `verify` checks one Groth16 proof. */
export async function verifyGlobalProofApex(lc: LightClient, epoch: number | 'latest', verify: VerifyFn): Promise<ProofVerdict> {
  const gj = await fetchGlobal(lc, epoch);
  const checks: ProofCheck[] = [];
  let gp: GlobalStateProof;
  try {
    gp = decodeGlobalProof(fromHex(gj.encoded), LAX);
  } catch (e) {
    const failure = `global proof of epoch ${gj.epoch}: undecodable (${(e as Error).message})`;
    return { epoch: gj.epoch, mode: 'apex', ok: false, checks: [{ what: 'global proof decodes', ok: false, detail: failure }], failure, certifies: CERTIFIES_APEX, proof: undefined as never };
  }
  const e = Number(sig.epoch(gp.publicSignals));
  const depthOk = gp.depth === lc.genesis.depth;
  const apexOk = depthOk && e === gj.epoch && (epoch === 'latest' || e === epoch) && sig.pathEnc(gp.publicSignals) === 1n && (await verify(apexKind(gp.depth), gp.publicSignals, gp.proof));
  checks.push({ what: `apex Groth16 proof of epoch ${e} (${apexKind(gp.depth)} key, depth ${gp.depth})`, ok: apexOk, ...(depthOk ? {} : { detail: `depth ${gp.depth}, genesis says ${lc.genesis.depth}` }) });
  const prevHash = toHex(gp.prevGlobalProofHash);
  const pe = gj.prevEpoch ?? e - gj.proveEvery;
  if (e === 0 || pe < 0) {
    checks.push({ what: 'link: the first global proof names the genesis hash', ok: prevHash === toHex(genesisHash(lc.genesis)) });
  } else {
    try {
      const prev = await fetchGlobal(lc, pe);
      const pg = decodeGlobalProof(fromHex(prev.encoded), LAX);
      const adjacent = pe === e - 1;
      const ok = Number(sig.epoch(pg.publicSignals)) === pe && pe < e && toHex(globalProofHash(pg)) === prevHash && (await verify(apexKind(pg.depth), pg.publicSignals, pg.proof)) && (!adjacent || sig.commitment(pg.publicSignals) === sig.prevCommitment(gp.publicSignals));
      checks.push({ what: `link: the previous global proof (epoch ${pe}) has the hash this one names and verifies${adjacent ? '; its commitment is this proof\'s prevCommitment' : ''}`, ok });
    } catch (err) {
      checks.push({ what: `link to the global proof of epoch ${pe}`, ok: false, detail: (err as Error).message });
    }
  }
  const bad = checks.find((c) => !c.ok);
  return { epoch: e, mode: 'apex', ok: !bad, checks, ...(bad ? { failure: `${bad.what}${bad.detail ? ` (${bad.detail})` : ''}: FAILED` } : {}), certifies: CERTIFIES_APEX, proof: gp };
}
