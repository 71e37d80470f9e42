// What a node checks of a proof someone else made before it accepts, stores, serves or relays it
// (pure: no I/O). The circuits check no signatures and the testnet's Groth16 setup is public, so
// anyone can make a valid proof of invented inputs: a proof is only worth keeping if its public
// signals are the commitments this node computed itself from signed state. src/node/proving/admission.ts
// runs these checks; docs/PROOFS.md ("Accepting a proof") lists them.
import { randomInt } from 'node:crypto';
import { KeyedBuckets } from '../core/token-bucket.js';
import { shardCommitments, type GlobalSnapshot } from '../hierarchy/global.js';
import type { Groth16Proof } from 'snarkjs';
import { limbs } from './commitment.js';
import { rawProofBytes } from './encoding.js';
import { bytesEqual } from '../core/bytes.js';
import { PUBLIC_SIGNAL_NAMES, publicSignalsOf, type CommitmentTree, type TriadNode } from './tree.js';

/** The largest epoch a proof can carry: the circuits range-check epoch < 2^53 (a safe integer). */
export const MAX_PROOF_EPOCH = Number.MAX_SAFE_INTEGER;

/** A proof's epoch signal as a number, or undefined if it is beyond MAX_PROOF_EPOCH. */
export function proofEpoch(signals: readonly string[]): number | undefined {
  const e = BigInt(signals[1] ?? '-1');
  return e >= 0n && e <= BigInt(MAX_PROOF_EPOCH) ? Number(e) : undefined;
}

/**
 * How far past its own wall-clock epoch a node takes proofs: clock skew between nodes, never the
 * far future (an epoch no snapshot exists for can only be invented). 10 s or 2 epochs.
 */
export function futureMarginEpochs(epochMs: number): number {
  return Math.max(2, Math.ceil(10_000 / epochMs));
}

/** Null if epoch e is one a proof may carry now, else why not. */
export function epochOutOfRange(e: number | undefined, clockEpoch: number, margin: number): string | null {
  if (e === undefined) return `epoch beyond ${MAX_PROOF_EPOCH}`;
  if (e > clockEpoch + margin) return `epoch ${e} is beyond the wall-clock epoch ${clockEpoch} + ${margin}`;
  return null;
}

/**
 * Whether two Groth16 proofs with their public signals are the same statement and the same proof
 * (every signal and every point coordinate equal): one's pairing verdict is the other's. A global
 * proof carries its epoch's apex triad proof unchanged, so a node that paired the apex does not
 * pair it again (different representations of equal points compare unequal: they are paired).
 */
export function sameProof(a: { publicSignals: readonly string[]; proof: Groth16Proof }, b: { publicSignals: readonly string[]; proof: Groth16Proof }): boolean {
  if (a.publicSignals.length !== b.publicSignals.length || a.publicSignals.some((s, i) => s !== b.publicSignals[i])) return false;
  // both still compressed as received (deferred points): the canonical encoding is one per proof
  const ra = rawProofBytes(a);
  const rb = rawProofBytes(b);
  if (ra && rb) return bytesEqual(ra, rb);
  const p = a.proof;
  const q = b.proof;
  const eq = (x: readonly unknown[], y: readonly unknown[]): boolean => x.length === y.length && x.every((v, i) => (Array.isArray(v) ? Array.isArray(y[i]) && eq(v, y[i] as unknown[]) : v === y[i]));
  return eq(p.pi_a, q.pi_a) && eq(p.pi_b, q.pi_b) && eq(p.pi_c, q.pi_c);
}

/** Null if `signals` are exactly the public signals of `mine` (the triad as this node built it), else which differ. */
export function signalsMismatch(mine: TriadNode, signals: readonly string[]): string | null {
  const want = publicSignalsOf(mine);
  const bad = PUBLIC_SIGNAL_NAMES.filter((_, i) => String(want[i]) !== signals[i]);
  return bad.length === 0 ? null : `${bad.join(', ')} differ from the commitment tree built here from signed snapshots`;
}

/**
 * Null if the tree of epoch e agrees with the final (2-of-3 signed) global snapshot of e: every shard
 * the global snapshot includes at epoch e itself (not carried from an earlier epoch) is in the tree
 * with the same snapshot hash. Else the first disagreement.
 */
export function treeVsGlobal(tree: CommitmentTree, g: GlobalSnapshot): string | null {
  if (g.aggregate.epoch !== tree.epoch) return `global snapshot is of epoch ${g.aggregate.epoch}, tree of ${tree.epoch}`;
  const included = shardCommitments(g, tree.depth);
  for (let i = 0; i < included.length; i++) {
    const c = included[i]!;
    if (c.carried || c.epoch !== tree.epoch) continue;
    const s = tree.shards[i];
    if (!s || s.shard !== c.shard) return `tree has no shard ${c.shard}`;
    const [hi, lo] = limbs(c.commitment);
    if (s.body.snapshotHash[0] !== hi || s.body.snapshotHash[1] !== lo) return `shard ${c.shard}: the snapshot in the tree is not the one the final global snapshot includes`;
  }
  return null;
}

/**
 * Proofs waiting for the signed state that decides them (a tree not built yet, a global snapshot not
 * final yet), bounded per key (one (kind, path, epoch)) and in total. Entering never evicts: when
 * full, the newcomer is turned away (and fetched later if it was wanted), so nothing an attacker
 * sends can push out proofs already waiting.
 */
export class HoldQueue {
  private readonly perKey = new Map<string, number>();
  private total = 0;
  readonly maxPerKey: number;
  readonly maxTotal: number;

  constructor(maxPerKey = 2, maxTotal = 64) {
    this.maxPerKey = maxPerKey;
    this.maxTotal = maxTotal;
  }

  /** Whether tryEnter(key) would succeed now. */
  hasRoom(key: string): boolean {
    return (this.perKey.get(key) ?? 0) < this.maxPerKey && this.total < this.maxTotal;
  }

  tryEnter(key: string): boolean {
    const n = this.perKey.get(key) ?? 0;
    if (n >= this.maxPerKey || this.total >= this.maxTotal) return false;
    this.perKey.set(key, n + 1);
    this.total++;
    return true;
  }

  leave(key: string): void {
    const n = this.perKey.get(key);
    if (!n) return;
    if (n === 1) this.perKey.delete(key);
    else this.perKey.set(key, n - 1);
    this.total--;
  }

  get size(): number {
    return this.total;
  }
}

/** Keys recently found missing everywhere (not asked again until `ttlMs` passes), at most `max` remembered. */
export class NegativeCache {
  private readonly until = new Map<string, number>();
  readonly ttlMs: number;
  readonly max: number;

  constructor(ttlMs: number, max = 1024) {
    this.ttlMs = ttlMs;
    this.max = max;
  }

  has(key: string, now = Date.now()): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t > now) return true;
    this.until.delete(key);
    return false;
  }

  add(key: string, now = Date.now()): void {
    this.until.delete(key);
    this.until.set(key, now + this.ttlMs);
    // Map keeps insertion order: the first keys are the oldest
    while (this.until.size > this.max) this.until.delete(this.until.keys().next().value!);
  }

  delete(key: string): void {
    this.until.delete(key);
  }

  get size(): number {
    return this.until.size;
  }
}

/**
 * Spot checks of the proofs a node leaves unpaired (docs/PROOFS.md "Spot checks"). On the proofs
 * topic a triad proof below the apex that this node does not fold is checked by its public signals
 * alone, its points never decoded, and Ignored: a sender could fill the points with anything and
 * never be penalised. So 1 in `oneIn` of them, drawn at random (the sender cannot tell which), is
 * paired anyway, and Rejected if it fails: a sender of such proofs meets three Rejections, and
 * gossipsub's graylist, after 3 x oneIn of them on average. Pairings of this kind are budgeted per
 * sender (a token bucket: `burst`, then `perSecond`): a flood of valid proofs, which are Ignored as
 * before, cannot make this node pair more than that. Pure apart from its randomness and clock.
 */
export const SPOT_CHECK = { oneIn: 32, burst: 4, perSecond: 0.25 } as const;

export interface SpotCheckOptions {
  oneIn: number;
  burst: number;
  perSecond: number;
  /** Senders whose budgets are remembered (the oldest is forgotten first: it starts again full). */
  maxSenders?: number;
  /** True for a proof drawn for a check (default: 1 in oneIn from crypto randomness); tests pin it. */
  draw?: () => boolean;
  /** Milliseconds (default Date.now); tests pin it. */
  now?: () => number;
}

export class SpotChecks {
  /** drawn: proofs drawn for a check; paired: checked; overBudget: drawn but not checked (the sender's budget was spent); failed: checked and Rejected. */
  readonly counters = { drawn: 0, paired: 0, overBudget: 0, failed: 0 };
  readonly oneIn: number;
  private readonly draw: () => boolean;
  private readonly budgets: KeyedBuckets;

  constructor(o: SpotCheckOptions = SPOT_CHECK) {
    if (!Number.isSafeInteger(o.oneIn) || o.oneIn < 1) throw new RangeError('spot checks: oneIn must be a positive integer');
    this.oneIn = o.oneIn;
    this.draw = o.draw ?? (() => randomInt(this.oneIn) === 0);
    this.budgets = new KeyedBuckets({ capacity: o.burst, refillPerSecond: o.perSecond, now: o.now, maxKeys: o.maxSenders ?? 1024 });
  }

  /** Whether to pair the unneeded proof `from` sent (counted as paired when true). */
  pick(from: string): boolean {
    if (!this.draw()) return false;
    this.counters.drawn++;
    if (!this.budgets.get(from).take()) {
      this.counters.overBudget++;
      return false;
    }
    this.counters.paired++;
    return true;
  }
}
