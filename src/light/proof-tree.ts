// (c, audited mode) The whole tree of triad proofs of an epoch, checked after the apex (proofs.ts):
// every triad proof verifies, opens (Poseidon) to its listed children, sums and previous commitment,
// every parent folds exactly its children's commitments, and the apex triad proof is the global
// proof's. Separate from proofs.ts because Poseidon (circomlibjs) is needed only here.
import { fromHex } from '../core/bytes.js';
import type { Hasher } from '../proof/commitment.js';
import { triadLevels } from '../proof/tree.js';
import { verifyProofTree } from '../proof/tree-prover.js';
import { decodeTriadProof, sig, type TriadProof } from '../proof/triad-proof.js';
import type { LightClient } from './client.js';
import { CERTIFIES_TREE, LAX, verifyGlobalProofApex, type ProofVerdict, type VerifyFn } from './proofs.js';

export async function verifyGlobalProofTree(lc: LightClient, epoch: number | 'latest', verifyOne: VerifyFn, H: Hasher): Promise<ProofVerdict> {
  // the apex triad proof is the global proof's own: one pairing check per distinct proof
  const seen = new Map<string, Promise<boolean>>();
  const verify: VerifyFn = (kind, signals, proof) => {
    const k = JSON.stringify([kind, signals, proof]);
    let r = seen.get(k);
    if (!r) seen.set(k, (r = verifyOne(kind, signals, proof)));
    return r;
  };
  const v = await verifyGlobalProofApex(lc, epoch, verify);
  if (!v.proof) return { ...v, mode: 'tree' };
  const depth = lc.genesis.depth;
  const e = v.epoch;
  const proofs = new Map<string, TriadProof>();
  const problems: string[] = [];
  for (const level of triadLevels(depth)) {
    for (const path of level) {
      const { status, body } = await lc.get<{ encoded?: string; error?: { message?: string } }>(lc.node, `v1/proof/triad/${path === '' ? 'apex' : path}/${e}`);
      if (status !== 200 || typeof body.encoded !== 'string') continue; // reported missing below
      try {
        proofs.set(path, decodeTriadProof(fromHex(body.encoded), LAX));
      } catch (err) {
        problems.push(`triad ${JSON.stringify(path)}: undecodable proof (${(err as Error).message})`);
      }
    }
  }
  problems.push(...(await verifyProofTree(H, verify, { depth, epoch: e, proofs })));
  const apex = proofs.get('');
  if (apex && apex.publicSignals.some((s, i) => s !== v.proof.publicSignals[i])) problems.push('the apex triad proof is not the global proof\'s');
  for (const [p, tp] of proofs) if (Number(sig.epoch(tp.publicSignals)) !== e) problems.push(`triad ${JSON.stringify(p)}: proof of another epoch`);
  const total = (3 ** depth - 1) / 2;
  const checks = [...v.checks, { what: `tree: ${proofs.size} of ${total} triad proofs; each verifies, opens to its children, children's commitments and sums match`, ok: problems.length === 0, ...(problems.length ? { detail: problems.join('; ') } : {}) }];
  const bad = checks.find((c) => !c.ok);
  return { ...v, mode: 'tree', ok: !bad, checks, ...(bad ? { failure: `${bad.what}${bad.detail ? ` (${bad.detail})` : ''}: FAILED` } : { failure: undefined }), certifies: CERTIFIES_TREE };
}
