// Proves an epoch's commitment tree bottom-up: every lowest-level triad from its shard snapshots,
// then each level above, where the parent's prover first verifies its three child proofs (Groth16
// and the public-signal link to its own opening) before proving on top of them.
import type { Groth16Proof } from 'snarkjs';
import type { CircuitKind } from './artifacts.js';
import type { Hasher } from './commitment.js';
import { publicSignalsOf, triadInput, triadLevels, TreeError, type CircuitInput, type CommitmentTree } from './tree.js';
import { checkChildren, checkOpening, type TriadProof } from './triad-proof.js';

export interface ProveBackend {
  prove(kind: CircuitKind, input: CircuitInput): Promise<{ proof: Groth16Proof; publicSignals: string[]; ms?: number; witnessMs?: number; proveMs?: number; cpuMs?: number }>;
}

export type VerifyFn = (kind: CircuitKind, publicSignals: readonly string[], proof: Groth16Proof) => Promise<boolean>;

export interface ProofTree {
  depth: number;
  epoch: number;
  proofs: Map<string, TriadProof>; // by triad path; "" = apex
}

export interface ProveTreeOptions {
  onProof?: (p: TriadProof, ms: number) => void;
}

/** Proves one triad; the children's proofs (levels above the lowest) must be verified first. */
export async function proveTriad(backend: ProveBackend, tree: CommitmentTree, prev: CommitmentTree, path: string): Promise<{ proof: TriadProof; ms: number; witnessMs?: number; proveMs?: number; cpuMs?: number }> {
  const node = tree.triads.get(path)!;
  const { kind, input } = triadInput(tree, prev, path);
  const t = performance.now();
  const r = await backend.prove(kind, input);
  const ms = r.ms ?? performance.now() - t;
  const want = publicSignalsOf(node).map(String);
  if (r.publicSignals.length !== want.length || r.publicSignals.some((s, i) => s !== want[i])) {
    throw new TreeError(`triad ${JSON.stringify(path)}: prover returned unexpected public signals`);
  }
  return { proof: { path, kind, children: node.opening.children, publicSignals: r.publicSignals, proof: r.proof }, ms, witnessMs: r.witnessMs, proveMs: r.proveMs, cpuMs: r.cpuMs };
}

/** Verifies the three child proofs of `path` and that they are exactly the children `tree` folded. */
export async function verifyChildren(verify: VerifyFn, tree: CommitmentTree, proofs: Map<string, TriadProof>, path: string): Promise<void> {
  const kids: TriadProof[] = [];
  for (let i = 0; i < 3; i++) {
    const cp = path + String(i);
    const p = proofs.get(cp);
    if (!p) throw new TreeError(`no proof for child ${JSON.stringify(cp)}`);
    const want = publicSignalsOf(tree.triads.get(cp)!).map(String);
    if (p.publicSignals.some((s, j) => s !== want[j])) throw new TreeError(`child ${JSON.stringify(cp)}: proof is for other public signals`);
    if (!(await verify(p.kind, p.publicSignals, p.proof))) throw new TreeError(`child ${JSON.stringify(cp)}: proof does not verify`);
    kids.push(p);
  }
  const parent = tree.triads.get(path)!;
  const why = checkChildren({ path, children: parent.opening.children, publicSignals: publicSignalsOf(parent).map(String) }, kids);
  if (why) throw new TreeError(why);
}

export async function proveTree(backend: ProveBackend, verify: VerifyFn, tree: CommitmentTree, prev: CommitmentTree, opts: ProveTreeOptions = {}): Promise<ProofTree> {
  const proofs = new Map<string, TriadProof>();
  for (const level of triadLevels(tree.depth)) {
    for (const path of level) {
      if (path.length < tree.depth - 1) await verifyChildren(verify, tree, proofs, path);
      const { proof, ms } = await proveTriad(backend, tree, prev, path);
      opts.onProof?.(proof, ms);
      proofs.set(path, proof);
    }
  }
  return { depth: tree.depth, epoch: tree.epoch, proofs };
}

/**
 * Audits a whole tree of proofs (`smt proof verify --tree`): every proof verifies, every listed
 * opening hashes to its commitment, every parent folds exactly its children's commitments and sums.
 * Returns the list of problems (empty = all good).
 */
export async function verifyProofTree(H: Hasher, verify: VerifyFn, t: ProofTree): Promise<string[]> {
  const errors: string[] = [];
  for (const level of triadLevels(t.depth)) {
    for (const path of level) {
      const p = t.proofs.get(path);
      if (!p) {
        errors.push(`missing proof for triad ${JSON.stringify(path)}`);
        continue;
      }
      const wantKind: CircuitKind = path.length === t.depth - 1 ? 'triad_leaf' : 'triad_inner';
      if (p.kind !== wantKind || p.path !== path) errors.push(`triad ${JSON.stringify(path)}: wrong circuit or path`);
      if (!(await verify(p.kind, p.publicSignals, p.proof))) errors.push(`triad ${JSON.stringify(path)}: proof does not verify`);
      const o = checkOpening(H, p);
      if (o) errors.push(o);
      if (path.length < t.depth - 1) {
        const kids = [0, 1, 2].map((i) => t.proofs.get(path + String(i)));
        if (kids.every((k) => k)) {
          const c = checkChildren(p, kids as TriadProof[]);
          if (c) errors.push(c);
        }
      }
    }
  }
  return errors;
}
