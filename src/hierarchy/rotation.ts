// Who acts for a triad or a subtree in an epoch is computed, not elected (docs/PROTOCOL.md): a rotation
// over the three child positions, with the next in turn taking over after a lease expires.
// Pure: every node derives the same answer from (path, epoch).
import type { ShardId } from '../core/ids.js';

/**
 * The order in which the children of `path` take turns in `epoch`: position (e + o + k) mod 3 for
 * k = 0, 1, 2, where o = path length + sum of the path's digits. The offset spreads the first turn
 * over different positions in different triads and levels instead of always the same one.
 */
export function publisherOrder(path: string, epoch: number): [number, number, number] {
  let o = path.length;
  for (const c of path) o += c.charCodeAt(0) - 48;
  const first = (epoch + o) % 3;
  return [first, (first + 1) % 3, (first + 2) % 3];
}

/** The turn in force `elapsedMs` after the triad's work became due: one lease per turn, last turn sticks. */
export function turnAt(elapsedMs: number, leaseMs: number): number {
  if (elapsedMs < 0) return 0;
  return Math.min(2, Math.floor(elapsedMs / leaseMs));
}

/** The child position that publishes for triad `path` in `epoch` at `elapsedMs` into its turn. */
export function publisherAt(path: string, epoch: number, elapsedMs: number, leaseMs: number): number {
  return publisherOrder(path, epoch)[turnAt(elapsedMs, leaseMs)]!;
}

/**
 * The shard that signs for the subtree `childPath` in `epoch` on turn `attempt` (0..2).
 * A shard child signs for itself (attempt 0 only). A triad child signs through one shard: the first
 * step down takes the attempt-th position of the rotation, every further step the first one. The
 * three attempts land in three different sub-subtrees, so one crashed shard blocks at most one.
 */
export function signerFor(childPath: string, epoch: number, depth: number, attempt = 0): ShardId {
  if (childPath.length > depth) throw new RangeError(`path ${JSON.stringify(childPath)} is deeper than ${depth}`);
  if (!Number.isInteger(attempt) || attempt < 0 || attempt > 2) throw new RangeError(`attempt must be 0..2, got ${attempt}`);
  if (childPath.length === depth) {
    if (attempt !== 0) throw new RangeError('a shard signs for itself: attempt must be 0');
    return childPath as ShardId;
  }
  let s = childPath + String(publisherOrder(childPath, epoch)[attempt]);
  while (s.length < depth) s += String(publisherOrder(s, epoch)[0]);
  return s as ShardId;
}

/**
 * Number of signing attempts a member subtree may use: 1, for shards and triads alike. With one
 * signer per member position and epoch, each position signs at most one version of an aggregate, so
 * at most one version can gather 2 of 3 (honest nodes cannot fork finality). Allowing later
 * attempts (a lease-based take-over by another shard of the subtree) let a position sign two
 * versions built from different local views (e.g. different `prev` links under load), and both
 * became final: the chaos test saw split global roots at depth 2. A crashed signer now costs its
 * position that epoch; 2-of-3 still finalises, and the rotation picks another shard next epoch.
 * `signerFor` keeps the attempt parameter so the wire format can carry later attempts if a
 * take-over rule that cannot equivocate is added.
 */
export const MAX_SIGNING_ATTEMPTS = 1;
export function attemptsFor(_childPath: string, _depth: number): number {
  return MAX_SIGNING_ATTEMPTS;
}

/** If `shard` signs for the member subtree `childPath` in `epoch`, the attempt it signs on. */
export function attemptOf(shard: ShardId, childPath: string, epoch: number, depth: number): number | undefined {
  for (let a = 0; a < attemptsFor(childPath, depth); a++) if (signerFor(childPath, epoch, depth, a) === shard) return a;
  return undefined;
}
