// Proving execution: the queue of this node's due proofs, run one at a time in the niced prover
// child (src/proof/prover.ts). Above the lowest level the three child proofs are verified and
// linked first (`verifyChildren`); the apex proof becomes the epoch's global state proof, linked to
// the latest earlier global proof held here.
import { genesisHash } from '../../core/genesis.js';
import { globalFromApex, globalProofHash, type GlobalStateProof } from '../../proof/global.js';
import { Prover } from '../../proof/prover.js';
import { proveTriad, verifyChildren, type VerifyFn } from '../../proof/tree-prover.js';
import { verify } from '../../proof/verifier.js';
import type { ProvingContext } from './context.js';
import type { ProofFetch } from './fetch.js';
import type { ProofGossip } from './gossip.js';
import type { ProofHoldings } from './holdings.js';
import type { Task } from './schedule.js';
import type { CommitmentTrees } from './trees.js';

export class ProofRunner {
  private readonly c: ProvingContext;
  private readonly trees: CommitmentTrees;
  private readonly held: ProofHoldings;
  private readonly gossip: ProofGossip;
  private readonly fetch: ProofFetch;
  readonly queue: Task[] = [];
  prover: Prover | null = null;
  busy = false;
  /** Called when a task leaves the queue (proved, failed or dropped). */
  onDone: (t: Task) => void = () => {};
  private readonly verifyKnown: VerifyFn;

  constructor(c: ProvingContext, trees: CommitmentTrees, held: ProofHoldings, gossip: ProofGossip, fetch: ProofFetch) {
    this.c = c;
    this.trees = trees;
    this.held = held;
    this.gossip = gossip;
    this.fetch = fetch;
    this.verifyKnown = (kind, signals, proof) => (c.verified.has(proof) ? Promise.resolve(true) : verify(kind, signals, proof));
  }

  enqueue(t: Task): void {
    this.queue.push(t);
  }

  async run(): Promise<void> {
    if (this.busy || this.c.closed) return;
    this.busy = true;
    try {
      // Highest level first (it completes an epoch's global proof), then the OLDEST epoch still in
      // the window: every prover then works on the same epochs, so when proving falls behind, whole
      // epochs are skipped (they leave the window for everyone) instead of each triad proving
      // different epochs and no apex ever having its three children.
      while (this.queue.length > 0 && !this.c.closed) {
        this.queue.sort((a, b) => a.path.length - b.path.length || a.epoch - b.epoch);
        const t = this.queue.shift()!;
        if (t.path.length === this.c.depth - 1 && t.epoch < this.c.clockEpoch() - this.c.leafWindow) {
          this.onDone(t);
          continue;
        }
        try {
          await this.proveOne(t);
        } catch (err) {
          this.c.log.warn({ epoch: t.epoch, path: t.path, err: (err as Error).message }, 'triad proof failed');
        } finally {
          this.onDone(t);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async proveOne({ epoch: e, path }: Task): Promise<void> {
    const have = this.held.proofsOf(e);
    if (have.has(path)) return; // someone proved it meanwhile
    const tree = this.trees.trees.get(e);
    const prev = this.trees.previous(e);
    if (!tree || !prev) {
      this.c.log.warn({ epoch: e, path }, 'proof task dropped: commitment tree no longer held');
      return;
    }
    const name = path || 'apex';
    const mark = (step: string, v?: number): void => this.c.timelines.mark(e, `${name}@${step}`, v);
    mark('start');
    if (path.length < this.c.depth - 1) {
      await verifyChildren(this.verifyKnown, tree, have, path);
      mark('verified');
    }
    this.prover ??= new Prover();
    const { proof, ms, witnessMs, proveMs, cpuMs } = await proveTriad(this.prover, tree, prev, path);
    if (this.c.closed) return;
    mark('made');
    if (witnessMs !== undefined) mark('witnessMs', witnessMs);
    if (proveMs !== undefined) mark('proveMs', proveMs);
    if (cpuMs !== undefined) mark('cpuMs', cpuMs);
    this.c.verified.add(proof.proof);
    this.c.metrics.made.inc({ kind: proof.kind });
    this.c.metrics.seconds.observe({ kind: proof.kind }, ms / 1000);
    this.c.log.info({ epoch: e, path, kind: proof.kind, ms: Math.round(ms) }, 'triad proof made');
    await this.held.acceptTriad(proof);
    await this.gossip.publishProof({ type: 'triad', proof });
    if (path === '') {
      const prevG = await this.previousGlobal(e);
      const g = globalFromApex(proof, this.c.depth, prevG ? globalProofHash(prevG) : genesisHash(this.c.genesis));
      await this.held.acceptGlobal(g, Date.now());
      await this.gossip.publishProof({ type: 'global', proof: g });
    }
  }

  /** The global proof the new one links to: the latest earlier one, fetched if the previous proved epoch's is missing. */
  private async previousGlobal(e: number): Promise<GlobalStateProof | undefined> {
    const want = e - this.c.proveEvery;
    if (want >= 0 && !(await this.held.store.global(want))) await this.fetch.global(want);
    return (await this.held.store.latestGlobal(e - 1))?.stored.proof;
  }

  async close(): Promise<void> {
    await this.prover?.close().catch(() => {});
  }
}
