// The global snapshot of an epoch = the final apex aggregate (path ""). Its root, the apex
// aggregateHash, commits to every shard's snapshot through the chain of triad aggregates; an
// aggregation path is that chain for one shard, checkable with nothing but the root.
import { ByteReader, ByteWriter, DecodeError, bytesEqual, toHex } from '../core/bytes.js';
import type { ShardId } from '../core/ids.js';
import { aggregateHash, aggregateToJson, encodeAggregate, isZeroHash, readAggregate, ZERO_HASH, type TriadAggregate } from './aggregate.js';
import { memberSigner, type FinalAggregate } from './finality.js';

export type GlobalSnapshot = FinalAggregate;

export function globalRoot(g: GlobalSnapshot): Uint8Array {
  return aggregateHash(g.aggregate);
}

export interface ShardCommitment {
  shard: ShardId;
  commitment: Uint8Array; // the shard's snapshotHash as included (zero if never seen)
  epoch: number; // the shard epoch included
  carried: boolean; // carried at its own level or anywhere above it
  totalOutflow: bigint; // the shard's cumulative outflow as included (0 if never seen)
}

/** Every shard's commitment in a global snapshot, in shard order. */
export function shardCommitments(g: GlobalSnapshot, depth: number): ShardCommitment[] {
  const out: ShardCommitment[] = [];
  const walk = (fa: FinalAggregate | null, path: string, carriedAbove: boolean): void => {
    for (let i = 0; i < 3; i++) {
      const child = path + String(i);
      const ref = fa?.aggregate.children[i];
      const carried = carriedAbove || !ref || ref.carried;
      if (child.length === depth) {
        out.push({ shard: child as ShardId, commitment: ref?.commitment ?? ZERO_HASH, epoch: ref?.epoch ?? 0, carried, totalOutflow: ref?.totalOutflow ?? 0n });
      } else {
        walk(fa?.children?.[i] ?? null, child, carried);
      }
    }
  };
  walk(g, '', false);
  return out;
}

/** The chain of aggregates from a shard's triad (first) up to the apex (last). */
export interface AggregationPath {
  shard: ShardId;
  steps: TriadAggregate[];
}

export class PathUnavailableError extends Error {
  override name = 'PathUnavailableError';
}

export function aggregationPath(g: GlobalSnapshot, shard: ShardId): AggregationPath {
  const steps: TriadAggregate[] = [];
  let fa: FinalAggregate = g;
  for (let level = 0; level < shard.length; level++) {
    steps.push(fa.aggregate);
    if (level === shard.length - 1) break;
    const pos = shard.charCodeAt(level) - 48;
    const next = fa.children?.[pos];
    if (!next) throw new PathUnavailableError(`subtree ${shard.slice(0, level + 1)} has never been included`);
    fa = next;
  }
  return { shard, steps: steps.reverse() };
}

/**
 * True if `path` links `snapshotHash` (the shard's snapshot) to `root` (the global root): at each
 * step the commitment at the child's position is the previous link, and the last step is the apex.
 */
export function verifyAggregationPath(path: AggregationPath, snapshotHash: Uint8Array, root: Uint8Array): boolean {
  const { shard, steps } = path;
  if (steps.length !== shard.length || steps.length === 0) return false;
  let link = snapshotHash;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const childPath = shard.slice(0, shard.length - i);
    if (step.path !== childPath.slice(0, -1)) return false;
    if (i > 0 && step.network !== steps[0]!.network) return false;
    const ref = step.children[childPath.charCodeAt(childPath.length - 1) - 48]!;
    if (isZeroHash(link) || !bytesEqual(ref.commitment, link)) return false;
    link = aggregateHash(step);
  }
  return bytesEqual(link, root);
}

export function encodeAggregationPath(p: AggregationPath): Uint8Array {
  const w = new ByteWriter(1024).string(p.shard).u8(p.steps.length);
  for (const s of p.steps) w.bytes(encodeAggregate(s));
  return w.finish();
}

export function decodeAggregationPath(b: Uint8Array): AggregationPath {
  const r = new ByteReader(b, 'aggregation path');
  const shard = r.string(16);
  if (!/^[012]*$/.test(shard)) throw new DecodeError('aggregation path: shard id is not ternary digits');
  const n = r.u8();
  if (n !== shard.length) throw new DecodeError(`aggregation path: ${n} steps for a shard of depth ${shard.length}`);
  const steps: TriadAggregate[] = [];
  for (let i = 0; i < n; i++) {
    const inner = new ByteReader(r.bytes(4096), 'aggregate');
    steps.push(readAggregate(inner));
    inner.end();
  }
  r.end();
  return { shard: shard as ShardId, steps };
}

/** JSON view of a global snapshot for the HTTP API and CLI (never hashed). */
export function globalToJson(g: GlobalSnapshot, depth: number): Record<string, unknown> {
  return {
    network: g.aggregate.network,
    epoch: g.aggregate.epoch,
    root: toHex(globalRoot(g)),
    final: true, // only final apex aggregates are global snapshots
    signatures: g.signatures.map((s) => ({ member: s.position, attempt: s.attempt, signer: memberSigner(g.aggregate, s.position, s.attempt, depth), signature: toHex(s.signature) })),
    supply: g.aggregate.supply.toString(),
    txCount: g.aggregate.txCount.toString(),
    prevRoot: toHex(g.aggregate.prevAggregateHash),
    shards: shardCommitments(g, depth).map((c) => ({ shard: c.shard, snapshotHash: toHex(c.commitment), epoch: c.epoch, carried: c.carried })),
    aggregate: aggregateToJson(g.aggregate),
  };
}

/** JSON view of an aggregation path (with its canonical encoding in hex, for offline checks). */
export function aggregationPathToJson(p: AggregationPath): Record<string, unknown> {
  return { shard: p.shard, steps: p.steps.map(aggregateToJson), encoded: toHex(encodeAggregationPath(p)) };
}
