// What every part of the proving layer shares: the node's configuration, the clock, the set of
// proofs already verified here, the epoch timelines and metrics, and "signed state changed" wake-ups.
import type { Logger } from 'pino';
import type { Genesis } from '../../core/genesis.js';
import type { GlobalSnapshot } from '../../hierarchy/global.js';
import type { P2PNode } from '../../gossip/p2p.js';
import type { SealedEvent, Shard } from '../../shard/shard.js';
import type { SignedSnapshot } from '../../shard/snapshot.js';
import type { CadencePlan } from '../../proof/cadence.js';
import type { ProvingMetrics, Timelines } from './metrics.js';

/** What the proving layer needs of the aggregation layer: final global snapshots, word when one becomes final, and every shard's validated snapshot as it arrives. */
export interface FinalGlobals {
  globalAt(epoch: number): Promise<GlobalSnapshot | undefined>;
  onGlobal(listener: () => void): () => void;
  onSnapshot?(listener: (ss: SignedSnapshot) => void): () => void;
}

/** The cadence in force and where it comes from, for /v1/proof/status. */
export interface Cadence {
  plan: CadencePlan;
  /** 'fixed' (--prove-every), 'pool' (the shared prover service's plan, from measured capacity), 'assumed' (automatic, reference costs). */
  source: 'fixed' | 'pool' | 'assumed';
  why: string;
  /** The pool's estimate of the newest global proof's worst age under this cadence (epochs), when it chose it. */
  expectedAgeEpochs?: number;
  /** The pool plan's version this node holds (the long poll asks for a later one). */
  version?: number;
}

export interface ProvingContext {
  readonly shard: Shard;
  readonly genesis: Genesis;
  readonly depth: number;
  /** 3^depth: shards, i.e. snapshots per epoch tree. */
  readonly n: number;
  readonly p2p: P2PNode;
  readonly net: FinalGlobals | undefined;
  readonly log: Logger;
  /** This node proves (--prove and circuits pinned by genesis). */
  readonly prove: boolean;
  readonly canVerify: boolean;
  /** Why this node neither proves nor accepts proofs (no artifacts, no pin in genesis, other keys), or null. */
  readonly proofsOff: string | null;
  readonly leaseMs: number;
  /** Which epochs are proved (shared by every node of a prover pool; fixed otherwise). */
  readonly cadence: Cadence;
  /** Epochs a lowest-level proof may still be started after its epoch sealed. */
  readonly leafWindow: number;
  /** Epochs trees (and recent proofs) are kept behind the head. */
  readonly treeWindow: number;
  readonly metrics: ProvingMetrics;
  readonly timelines: Timelines;
  /** Proof objects verified on arrival (gossip validation, fetch) or made here: not paired again. */
  readonly verified: WeakSet<object>;
  closed: boolean;
  /** Subscribes to this shard's snapshots as they may be shared: every seal, or a replicated shard's committed ones (docs/REPLICAS.md); returns an unsubscribe. */
  ownSnapshots(f: (ev: SealedEvent) => void): () => void;
  /** This shard's snapshot of epoch e if it may be shared (a replicated shard: only a committed one; a deposed writer's or a follower's uncommitted epoch may never be the shard's). */
  ownSnapshot(e: number): Promise<SignedSnapshot | undefined>;
  /** The latest epoch the wall clock has sealed. */
  clockEpoch(): number;
  /** Asks the scheduler to look for due work as soon as the event loop is free. */
  kick(): void;
  /** Wakes whatever waits for signed state (a tree built, a global snapshot final, a global proof accepted). */
  stateChanged(): void;
  /** Resolves on the next stateChanged(), or after `ms`. */
  stateChange(ms: number): Promise<void>;
}

/** The latest epoch the wall clock has sealed (epoch e seals at genesisTime + (e+1) * epochMs). */
export function clockEpochOf(genesis: Genesis, now = Date.now()): number {
  return Math.floor((now - genesis.genesisTime) / genesis.epochMs) - 1;
}

/** stateChanged / stateChange of a ProvingContext. */
export class StateWaiters {
  private readonly waiters = new Set<() => void>();

  changed(): void {
    for (const w of [...this.waiters]) w();
  }

  next(ms: number): Promise<void> {
    return new Promise((resolveP) => {
      const done = (): void => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolveP();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}
