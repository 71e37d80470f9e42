// Which proofs this node makes and when: the cadence (which epochs are proved: cadence.ts), the
// rotation-chosen prover of each triad with its lease, and the scan that queues the due ones.
import { availableParallelism } from 'node:os';
import type { ShardId } from '../../core/ids.js';
import { publisherOrder, signerFor, turnAt } from '../../hierarchy/rotation.js';
import { triadLevels } from '../../proof/tree.js';
import type { ProvingContext } from './context.js';
import type { ProofHoldings } from './holdings.js';
import type { CommitmentTrees } from './trees.js';

/**
 * Measured CPU cost of one proof on the 2-core reference machine (docs/PROOFS.md §7): warm prover,
 * single-threaded curve, witness + Groth16 (npm run bench:proof, "prove cpu").
 */
export const LEAF_PROOF_MS = 1500;
export const INNER_PROOF_MS = 850;

/**
 * Default cadence: assume the whole network runs on this machine (the local-cluster case) and let
 * proving use at most 40% of its cores: one proved epoch's tree costs (3^(D-1)) leaf + (3^(D-1)-1)/2
 * inner proofs. 9 shards, 1 s epochs, 2 cores: 3 x 1.6 + 0.9 = 5.7 s per tree => every 8th epoch.
 */
export function autoProveEvery(depth: number, epochMs: number, cores = availableParallelism()): number {
  const leaves = 3 ** (depth - 1);
  const cost = leaves * LEAF_PROOF_MS + ((leaves - 1) / 2) * INNER_PROOF_MS;
  return Math.max(1, Math.ceil(cost / (0.4 * cores * epochMs)));
}

/**
 * The shard that proves triad `path` on turn `turn` (0..2) of the `round`-th proved epoch
 * (CadencePlan.round: epoch / proveEvery for a fixed cadence; rotating by the epoch itself would
 * pick the same prover for ever whenever proveEvery is a multiple of 3).
 */
export function proverOf(path: string, round: number, depth: number, turn: number): ShardId {
  return signerFor(path + String(publisherOrder(path, round)[turn]!), round, depth, 0);
}

/**
 * Whether `shard` takes triad proof `path` of the `round`-th proved epoch from the proofs topic
 * (pairs, stores and relays it): the apex always (the global proof is its proof); below it, the
 * first prover (turn 0) of the triad above it (it folds the proof into its own), and above the
 * lowest level a prover of the triad itself (a later turn must see that the proof exists). A
 * lowest-level proof is started only within the leaf window, shorter than a lease at the default
 * cadence, so no later turn starts one; with `laterLeafTurns` (a window longer than a lease) the
 * triad's own provers take it too. The parent's later turns only note it (notesProof). Every other
 * node checks the proof's signals against its tree (a contradiction is rejected like anywhere) and
 * leaves it unpaired; asked for it, it fetches it from a peer. Before, every node paired every proof
 * (3 leaf pairings per proved epoch on each of nine), then every turn of the parent's provers did.
 */
export function takesProof(shard: ShardId, path: string, round: number, depth: number, laterLeafTurns: boolean): boolean {
  if (path === '') return true;
  if (proverOf(path.slice(0, -1), round, depth, 0) === shard) return true;
  return (path.length < depth - 1 || laterLeafTurns) && [0, 1, 2].some((k) => proverOf(path, round, depth, k) === shard);
}

/**
 * Whether `shard` notes triad proof `path` from the topic without pairing it: a later-turn prover
 * (1, 2) of the triad above it. The note starts its lease clock for the parent (as holding the
 * proof did); only if its turn comes (the parent's proof still missing a lease later) does it fetch
 * the child proofs from peers, through admission (paired then), and prove. Before, these two
 * provers paired every child proof in case their turn came: 6 of a proved epoch's 17 pairings at 9 shards.
 */
export function notesProof(shard: ShardId, path: string, round: number, depth: number): boolean {
  if (path === '') return false;
  return [1, 2].some((k) => proverOf(path.slice(0, -1), round, depth, k) === shard);
}

/**
 * Whether `shard` pairs a proof at the apex of the `round`-th proved epoch (the apex triad proof or
 * the global proof) when it arrives on the proofs topic: it is the first prover (turn 0) of the apex
 * or of a triad between the apex and the lowest level. A held apex proof ends the apex's turns and a
 * held global proof ends the proving of its epoch above the lowest level, so a forged one with the
 * right signals must not stop the prover whose turn it is. The later turns (1, 2) come a lease after
 * the first, when a forged proof could only stop them if the first prover also failed (as a note
 * of a child proof does not pair it: notesProof). Every other node takes both unpaired (bound to
 * signed state, opened natively) and pairs them when it first uses them: to serve them, or to link a
 * global proof of its own to one (docs/PROOFS.md, "Apex proofs paired on use"). At 9 shards: the
 * apex's first prover, which made it.
 */
export function pairsApex(shard: ShardId, round: number, depth: number): boolean {
  for (const level of triadLevels(depth)) {
    for (const path of level) {
      if (path !== '' && path.length >= depth - 1) continue;
      if (proverOf(path, round, depth, 0) === shard) return true;
    }
  }
  return false;
}

export interface Task {
  epoch: number;
  path: string;
}

// A lowest-level proof is started only for an epoch sealed (by the wall clock) at most
// max(proveEvery epochs, LEAF_WINDOW_MS) ago: one proved epoch in flight, so a start-up catch-up
// (many epochs sealed at once) or an overload skips whole epochs instead of piling up proofs.
export const LEAF_WINDOW_MS = 5_000;
export const TREE_KEEP_MS = 90_000; // trees kept this much longer: an epoch whose leaves are proved still gets its upper levels

export function leafWindowOf(proveEvery: number, epochMs: number): number {
  return Math.max(proveEvery, Math.ceil(LEAF_WINDOW_MS / epochMs));
}

export function treeWindowOf(leafWindow: number, epochMs: number): number {
  return leafWindow + Math.ceil(TREE_KEEP_MS / epochMs) + 2;
}

export class ProofScheduler {
  private readonly c: ProvingContext;
  private readonly trees: CommitmentTrees;
  private readonly held: ProofHoldings;
  /** When each triad's proof of an epoch became due here (epoch -> path -> ms): pruned by whole epochs. */
  private readonly dueAt = new Map<number, Map<string, number>>();
  /** Keys `<path>@<epoch>` queued or being proved here. */
  readonly queued = new Set<string>();
  private readonly enqueue: (t: Task) => void;
  /** Epochs the prover pool skipped: nothing of them is queued again. */
  skipped: (e: number) => boolean = () => false;
  /** Child proofs this node noted but does not hold, needed now (its turn came): fetch them (they arrive through admission, then a scan queues the parent). */
  fetchChildren: (e: number, paths: string[]) => void = () => {};
  /** Called with the oldest epoch still scanned after each scan (older bookkeeping may go). */
  pruned: ((first: number) => void) | undefined;

  constructor(c: ProvingContext, trees: CommitmentTrees, held: ProofHoldings, enqueue: (t: Task) => void) {
    this.c = c;
    this.trees = trees;
    this.held = held;
    this.enqueue = enqueue;
  }

  /** Queues every proof due here now: this node is the prover in turn and its inputs are here. */
  scan(): void {
    const now = Date.now();
    const { depth } = this.c;
    const plan = this.c.cadence.plan;
    const top = this.trees.head.epoch;
    const first = Math.max(0, top - this.c.treeWindow + 2);
    const levels = triadLevels(depth);
    const tooLate = this.c.clockEpoch() - this.c.leafWindow; // a lowest-level proof of an earlier epoch is not started
    for (let e = plan.provedAtOrBefore(top); e >= first; e = plan.previousProved(e)) {
      // a proof of e would land after the newest global proof held (of a later epoch): no use
      if (e <= this.held.latestGlobal) break;
      if (this.skipped(e)) continue;
      if (!this.trees.trees.has(e) || (e !== 0 && !this.trees.trees.has(e - 1))) continue;
      const have = this.held.proofsOf(e);
      let dues = this.dueAt.get(e);
      // Nothing of e can start: its leaves are too late and no parent has a child proof (held or
      // noted) nor a due time from one. Most of the window is such epochs when no proof is made (scanned 4-5 times
      // an epoch: ~100 epochs x every triad, a key string each).
      if (e < tooLate && have.size === 0 && !dues && !this.held.noted.has(e)) continue;
      for (const level of levels) {
        for (const path of level) {
          const key = `${path}@${e}`;
          if (have.has(path) || this.queued.has(key)) continue;
          if (path.length === depth - 1 && e < tooLate) continue; // too late to start this epoch
          let due = dues?.get(path);
          if (due === undefined) {
            const ready = path.length === depth - 1 || [0, 1, 2].every((i) => have.has(path + String(i)) || this.held.isNoted(e, path + String(i)));
            if (!ready) continue;
            due = path.length === depth - 1 ? (this.trees.builtAt.get(e) ?? now) : now;
            if (!dues) this.dueAt.set(e, (dues = new Map()));
            dues.set(path, due);
          }
          const turn = turnAt(now - due, this.c.leaseMs);
          for (let k = 0; k <= turn; k++) {
            if (proverOf(path, plan.round(e), depth, k) === this.c.shard.id) {
              const missing = path.length === depth - 1 ? [] : [0, 1, 2].map((i) => path + String(i)).filter((cp) => !have.has(cp));
              if (missing.length > 0) {
                this.fetchChildren(e, missing); // noted, not held: fetched (and paired) only now that this turn has come
                break;
              }
              this.queued.add(key);
              this.enqueue({ epoch: e, path });
              this.c.timelines.mark(e, `${path || 'apex'}@queued`);
              this.c.log.debug({ epoch: e, path, turn: k }, 'proof task queued');
              break;
            }
          }
        }
      }
    }
    for (const e of this.dueAt.keys()) if (e < first) this.dueAt.delete(e);
    this.pruned?.(first);
  }
}
