// Commitment trees from everyone's signed snapshots: every node keeps all 3^D snapshots of recent
// epochs (signature-checked against genesis) and, once an epoch's are all here, builds its tree
// natively on the previous one (`buildTree`, chained from the genesis pseudo-tree at epoch -1), every
// epoch, proved or not (on a node that can verify proofs: see advance). Trees are kept while their
// epoch may still be proved.
import { shardIndex } from '../../core/ids.js';
import { buildTree, genesisTreeOf, type CommitmentTree } from '../../proof/tree.js';
import type { Hasher } from '../../proof/commitment.js';
import type { SignedSnapshot } from '../../shard/snapshot.js';
import { verifyShardSnapshot } from '../../replica/keys.js';
import { ACCEPT, ignore, reject, type ValidationOutcome } from '../../gossip/validation.js';
import type { ProvingContext } from './context.js';

export const SNAPSHOT_WINDOW = 64; // epochs of others' snapshots kept in memory (served to catching-up peers)

export class CommitmentTrees {
  private readonly c: ProvingContext;
  H: Hasher = () => {
    throw new Error('Poseidon not built yet');
  };
  /** Poseidon built and the head tree known (boot, off the start-up path). */
  ready = false;
  /** A tree could not be built (broken supply arithmetic): nothing after it can be chained. */
  failed = false;
  head: CommitmentTree;
  newestSeen = -1;
  readonly snaps = new Map<number, (SignedSnapshot | undefined)[]>();
  readonly trees = new Map<number, CommitmentTree>();
  readonly builtAt = new Map<number, number>();
  readonly sealedAt = new Map<number, number>();
  readonly fetchedAt = new Map<number, number>();
  readonly firstSeenAt = new Map<number, number>();
  private prunedAt = -1;
  /** Called for each tree built (in epoch order), after it became the head. */
  onBuilt: (t: CommitmentTree) => void = () => {};

  constructor(c: ProvingContext, head: CommitmentTree) {
    this.c = c;
    this.head = head;
  }

  /** Boot: Poseidon built; the head is the stored tree or, without one, the genesis pseudo-tree. */
  start(H: Hasher, haveTree: boolean): void {
    this.H = H;
    if (!haveTree) this.head = genesisTreeOf(H, this.c.genesis);
    this.trees.set(this.head.epoch, this.head);
    this.ready = true;
  }

  /** The tree a proof of epoch e is chained on: e-1's (the genesis pseudo-tree for e = 0). */
  previous(e: number): CommitmentTree | undefined {
    return e === 0 ? genesisTreeOf(this.H, this.c.genesis) : this.trees.get(e - 1);
  }

  check(ss: SignedSnapshot): ValidationOutcome {
    const s = ss.snapshot;
    if (s.network !== this.c.genesis.networkId) return reject('wrong-network');
    if (s.shard.length !== this.c.depth) return reject('invalid', 'not a shard of this network');
    if (!verifyShardSnapshot(this.c.genesis, ss)) return reject('bad-signature');
    return s.epoch <= this.head.epoch ? ignore('stale') : ACCEPT;
  }

  add(ss: SignedSnapshot): void {
    const e = ss.snapshot.epoch;
    if (e <= this.head.epoch) return;
    let a = this.snaps.get(e);
    if (!a) this.snaps.set(e, (a = new Array<SignedSnapshot | undefined>(this.c.n)));
    a[shardIndex(ss.snapshot.shard)] ??= ss;
    if (!this.firstSeenAt.has(e)) this.firstSeenAt.set(e, Date.now());
    if (e > this.newestSeen) this.newestSeen = e;
  }

  /**
   * Builds every tree whose snapshots are all here, in order. A node that cannot verify proofs (no
   * keys pinned by genesis, or other keys here) builds none: nothing it does reads a tree (it neither
   * proves nor admits proofs); building them, and what each new tree wakes, took nine such idle
   * nodes from 0.14-0.16 to 0.19-0.21 of a core (bench:cluster, whose network pins no keys). It still keeps
   * others' snapshots for its peers (SNAPSHOT_WINDOW epochs behind the newest seen).
   */
  advance(): void {
    if (!this.c.canVerify) return this.prune(this.newestSeen);
    if (this.failed || !this.ready) return;
    for (;;) {
      const e = this.head.epoch + 1;
      const a = this.snaps.get(e);
      if (!a || a.filter(Boolean).length !== this.c.n) return;
      let t: CommitmentTree;
      try {
        t = buildTree(this.H, a.map((x) => x!.snapshot), this.head);
      } catch (err) {
        // The circuits could not prove this epoch (broken supply arithmetic): nothing after it can
        // be chained either. Loud, once.
        this.failed = true;
        this.c.log.error({ epoch: e, err: (err as Error).message }, 'cannot build the commitment tree: proving stops here');
        return;
      }
      this.head = t;
      this.trees.set(e, t);
      this.builtAt.set(e, Date.now());
      // trees stay as long as their epoch may still be proved (a proof needs its tree and the previous one)
      for (const k of [...this.trees.keys()]) if (k < e - this.c.treeWindow) this.trees.delete(k);
      this.prune(e);
      this.onBuilt(t);
    }
  }

  /** Others' snapshots stay a while behind epoch `e` for peers that catch up; the timing marks as long as trees may be proved. Once per epoch. */
  private prune(e: number): void {
    if (e <= this.prunedAt) return;
    this.prunedAt = e;
    for (const k of this.snaps.keys()) if (k < e - SNAPSHOT_WINDOW) this.snaps.delete(k);
    for (const m of [this.firstSeenAt, this.fetchedAt, this.builtAt, this.sealedAt]) for (const k of m.keys()) if (k < e - Math.max(SNAPSHOT_WINDOW, this.c.treeWindow)) m.delete(k);
  }
}
