// The proofs this node holds: recent triad proofs in memory (by epoch and path) and in the proof
// store (<data>/proofs), global proofs in the store, the hashes a new global proof may link to, and
// the latest global proof's epoch. Only admitted proofs (admission.ts) or proofs made here get here.
import { DecodeError, toHex } from '../../core/bytes.js';
import { proofBytesOf } from '../../proof/encoding.js';
import { globalProofHash, verifyGlobalProof, type GlobalStateProof } from '../../proof/global.js';
import { sig, type TriadProof } from '../../proof/triad-proof.js';
import { verify } from '../../proof/verifier.js';
import type { Groth16Proof } from 'snarkjs';
import type { ProofStore } from '../proof-store.js';
import type { ProvingContext } from './context.js';
import type { CommitmentTrees } from './trees.js';

export const MAX_VARIANTS = 3; // re-randomised valid variants of a held global proof remembered per epoch (link targets)
export const MAX_GLOBAL_HASHES = 256; // hashes of recent held global proofs (and variants): what a new proof may link to

export class ProofHoldings {
  private readonly c: ProvingContext;
  private readonly trees: CommitmentTrees;
  readonly store: ProofStore;
  readonly proofs = new Map<number, Map<string, TriadProof>>(); // recent epochs, by path
  readonly globalHashes = new Map<string, number>(); // hex hash of a held global proof (or variant) -> epoch
  readonly variants = new Map<number, number>();
  /** Child proofs seen on the topic and left unpaired by a later-turn prover of their parent (notesProof): epoch -> paths. */
  readonly noted = new Map<number, Set<string>>();
  latestGlobal = -1;
  /** Proofs at the apex checked at use (paired unless paired here before: verdicts are kept) and dropped there (they did not pair). */
  readonly onUse = { checked: 0, dropped: 0 };
  /** Proofs at the apex made here (statementKey, the latest MAX_GLOBAL_HASHES): not paired at use, as they were never paired before. */
  private readonly made = new Set<string>();
  /** Called when a proof becomes held here (route look-ups that failed before may succeed now). */
  onHeld: (key: string) => void = () => {};

  constructor(c: ProvingContext, trees: CommitmentTrees, store: ProofStore) {
    this.c = c;
    this.trees = trees;
    this.store = store;
  }

  async load(): Promise<void> {
    const latest = await this.store.latestGlobal();
    if (latest) this.setLatestGlobal(latest.epoch);
    for (const g of await this.store.recentGlobals(MAX_GLOBAL_HASHES)) this.rememberGlobal(toHex(globalProofHash(g.stored.proof)), g.epoch);
  }

  proofsOf(e: number): Map<string, TriadProof> {
    let m = this.proofs.get(e);
    if (!m) this.proofs.set(e, (m = new Map()));
    return m;
  }

  /** A child proof noted (not paired, not held): it exists, so this later-turn prover's lease clock for its parent runs. */
  note(path: string, e: number): void {
    let s = this.noted.get(e);
    if (!s) this.noted.set(e, (s = new Set()));
    if (s.has(path)) return;
    s.add(path);
    this.c.kick();
  }

  isNoted(e: number, path: string): boolean {
    return this.noted.get(e)?.has(path) ?? false;
  }

  /** Drops in-memory proofs and variant counts of epochs no longer proved (behind the tree window of epoch `head`). */
  prune(head: number): void {
    for (const k of [...this.proofs.keys()]) if (k < head - this.c.treeWindow) this.proofs.delete(k);
    for (const k of [...this.noted.keys()]) if (k < head - this.c.treeWindow) this.noted.delete(k);
    for (const k of [...this.variants.keys()]) if (k < head - this.c.treeWindow) this.variants.delete(k);
  }

  rememberGlobal(hashHex: string, e: number): void {
    this.globalHashes.delete(hashHex);
    this.globalHashes.set(hashHex, e);
    while (this.globalHashes.size > MAX_GLOBAL_HASHES) this.globalHashes.delete(this.globalHashes.keys().next().value!);
  }

  async acceptTriad(p: TriadProof): Promise<void> {
    const e = Number(sig.epoch(p.publicSignals));
    const m = this.proofsOf(e);
    if (m.has(p.path)) return;
    m.set(p.path, p);
    this.onHeld(`t/${p.path}@${e}`);
    this.c.timelines.mark(e, p.path || 'apex');
    this.c.kick(); // a parent's children may all be here now
    // pruned against the tree head, never against the incoming epoch (one far ahead evicted everything)
    for (const k of [...this.proofs.keys()]) if (k < this.trees.head.epoch - this.c.treeWindow) this.proofs.delete(k);
    await this.store.putTriad(e, p).catch((err) => this.c.log.warn({ err }, 'cannot store triad proof'));
  }

  async acceptGlobal(g: GlobalStateProof, at: number): Promise<void> {
    const e = Number(sig.epoch(g.publicSignals));
    this.rememberGlobal(toHex(globalProofHash(g)), e); // a variant accepted concurrently is still a valid link target
    if (await this.store.hasGlobal(e)) return;
    await this.store.putGlobal(e, { proof: g, receivedAt: at });
    this.setLatestGlobal(e);
    this.onHeld(`g@${e}`);
    this.c.stateChanged();
    this.c.timelines.mark(e, 'global', undefined, at);
    const sealed = this.trees.sealedAt.get(e);
    const latencyMs = sealed === undefined ? undefined : at - sealed;
    if (latencyMs !== undefined) this.c.metrics.latency.observe(latencyMs / 1000);
    this.c.log.info({ epoch: e, commitment: sig.commitment(g.publicSignals).toString(16).slice(0, 16), latencyMs }, 'global state proof held');
  }

  /**
   * Whether stored global proof g of epoch e pairs, checked before it is served or linked to: a node
   * takes some unpaired (admission.ts, pairsApex). One that does not pair is dropped here (a forged
   * proof with the right signals); the caller then looks for it at peers or takes an earlier one.
   * The verifier keeps verdicts, so a proof paired here before (on arrival, or at an earlier use)
   * costs no second pairing.
   */
  async usableGlobal(e: number, g: GlobalStateProof): Promise<boolean> {
    if (this.made.has(statementKey(g))) return true;
    this.onUse.checked++;
    let ok = false;
    try {
      ok = await verifyGlobalProof(g);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err; // points that do not decompress (stored as received)
    }
    if (ok) return true;
    this.onUse.dropped++;
    const h = toHex(globalProofHash(g));
    this.c.log.warn({ epoch: e, hash: h.slice(0, 16) }, 'a global proof taken unpaired does not pair: dropped');
    this.globalHashes.delete(h);
    const now = await this.store.global(e);
    if (now && toHex(globalProofHash(now.proof)) === h) await this.store.deleteGlobal(e);
    if (this.latestGlobal === e) this.latestGlobal = (await this.store.latestGlobal())?.epoch ?? -1;
    return false;
  }

  /** As usableGlobal for a stored triad proof: only the apex's may have been taken unpaired. */
  async usableTriad(e: number, p: TriadProof): Promise<boolean> {
    if (p.path !== '' || this.made.has(statementKey(p))) return true;
    this.onUse.checked++;
    let ok = false;
    try {
      ok = await verify(p.kind, p.publicSignals, p.proof);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
    }
    if (ok) return true;
    this.onUse.dropped++;
    this.c.log.warn({ epoch: e }, 'an apex triad proof taken unpaired does not pair: dropped');
    if (this.proofs.get(e)?.get('') !== undefined) this.proofs.get(e)!.delete('');
    await this.store.deleteTriad('', e);
    return false;
  }

  /** A proof at the apex made here (the apex triad proof; its global proof has the same statement and proof). */
  madeHere(p: TriadProof): void {
    this.made.add(statementKey(p));
    while (this.made.size > MAX_GLOBAL_HASHES) this.made.delete(this.made.values().next().value!);
  }

  setLatestGlobal(e: number): void {
    if (e > this.latestGlobal) {
      this.latestGlobal = e;
      this.c.metrics.epoch.set(e);
    }
  }
}

/** A proof's statement and points (compressed: a stored proof's are not decompressed for it), as one string: a global proof and the apex triad proof it carries have the same. */
function statementKey(p: { publicSignals: readonly string[]; proof: Groth16Proof }): string {
  return `${p.publicSignals.join(',')}/${toHex(proofBytesOf(p))}`;
}
