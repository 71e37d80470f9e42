// The commitment tree of one epoch (pure: no I/O, no proving). From the 3^D shard snapshots of
// epoch e and the tree of epoch e-1 it computes every shard and triad commitment with its opening,
// and the exact circuit inputs of every triad proof. The tree before epoch 0 is a genesis
// pseudo-tree at epoch -1 (field r-1) that carries each shard's genesis supply.
import { allShards, shardFromIndex, shardIndex, type ShardId, type TriadPath } from '../core/ids.js';
import { allocationsOf, genesisHash, type Genesis } from '../core/genesis.js';
import type { Snapshot } from '../shard/snapshot.js';
import {
  epochField, limbs, pathEnc, shardBody, shardBodyFields, shardCommitment, sumsArray, triadCommitment,
  type Hasher, type ShardBodyFields, type Sums, type TriadOpening,
} from './commitment.js';
import type { CircuitKind } from './artifacts.js';

export class TreeError extends Error {
  override name = 'TreeError';
}

const U64_MAX = (1n << 64n) - 1n;

export interface ShardNode {
  shard: ShardId;
  body: ShardBodyFields;
  bodyHash: bigint;
  supply: bigint;
  prev: bigint; // previous shard commitment
  commitment: bigint;
}

export interface TriadNode {
  path: TriadPath;
  opening: TriadOpening;
  commitment: bigint;
}

export interface CommitmentTree {
  depth: number;
  epoch: number; // -1 for the genesis pseudo-tree
  shards: ShardNode[]; // by shard index
  triads: Map<string, TriadNode>; // by path; "" is the apex
}

/** Triad paths level by level, bottom-up: lengths D-1, D-2, ..., 0 (the apex last). */
export function triadLevels(depth: number): TriadPath[][] {
  if (!Number.isInteger(depth) || depth < 1) throw new TreeError(`depth ${depth} must be >= 1`);
  const levels: TriadPath[][] = [];
  for (let len = depth - 1; len >= 0; len--) {
    levels.push(Array.from({ length: 3 ** len }, (_, i) => (len === 0 ? '' : shardFromIndex(i, len)) as string as TriadPath));
  }
  return levels;
}

export function circuitKindOf(depth: number, path: string): CircuitKind {
  return path.length === depth - 1 ? 'triad_leaf' : 'triad_inner';
}

function childCommitment(tree: CommitmentTree, path: string, i: number): bigint {
  const child = path + String(i);
  if (child.length === tree.depth) return tree.shards[shardIndex(child as ShardId)]!.commitment;
  return tree.triads.get(child)!.commitment;
}

function childSums(tree: CommitmentTree, path: string, i: number): Sums {
  const child = path + String(i);
  if (child.length === tree.depth) {
    const s = tree.shards[shardIndex(child as ShardId)]!;
    return { supply: s.supply, outflow: s.body.outflow, inflow: s.body.inflow, fees: s.body.fees };
  }
  return tree.triads.get(child)!.opening.sums;
}

function foldTriads(H: Hasher, tree: CommitmentTree, prev: CommitmentTree | null): void {
  for (const level of triadLevels(tree.depth)) {
    for (const path of level) {
      const sums: Sums = { supply: 0n, outflow: 0n, inflow: 0n, fees: 0n };
      const children = [0, 1, 2].map((i) => childCommitment(tree, path, i)) as [bigint, bigint, bigint];
      for (let i = 0; i < 3; i++) {
        const c = childSums(tree, path, i);
        sums.supply += c.supply;
        sums.outflow += c.outflow;
        sums.inflow += c.inflow;
        sums.fees += c.fees;
      }
      const opening: TriadOpening = {
        pathEnc: pathEnc(path), epoch: epochField(tree.epoch), children, sums,
        prev: prev ? prev.triads.get(path)!.commitment : 0n,
      };
      tree.triads.set(path, { path, opening, commitment: triadCommitment(H, opening) });
    }
  }
}

/**
 * The chain's origin: epoch -1, every root zero, the snapshot-hash limbs carrying the genesis hash,
 * each shard's supply its genesis allocation, every previous commitment zero.
 */
export function genesisTree(H: Hasher, depth: number, genesisHash: Uint8Array, shardSupplies: bigint[]): CommitmentTree {
  if (shardSupplies.length !== 3 ** depth) throw new TreeError(`genesis: want ${3 ** depth} shard supplies, got ${shardSupplies.length}`);
  const gh = limbs(genesisHash);
  const shards = shardSupplies.map((supply, i): ShardNode => {
    if (supply < 0n || supply > U64_MAX) throw new TreeError(`genesis: shard ${i} supply out of u64 range`);
    const shard = shardFromIndex(i, depth);
    const body: ShardBodyFields = {
      shardEnc: pathEnc(shard), epoch: epochField(-1), stateRoot: [0n, 0n], txRoot: [0n, 0n], outboxRoot: [0n, 0n],
      txCount: 0n, outflow: 0n, inflow: 0n, fees: 0n, snapshotHash: gh,
    };
    const bodyHash = shardBody(H, body);
    return { shard, body, bodyHash, supply, prev: 0n, commitment: shardCommitment(H, bodyHash, supply, 0n) };
  });
  const tree: CommitmentTree = { depth, epoch: -1, shards, triads: new Map() };
  foldTriads(H, tree, null);
  return tree;
}

/** The genesis pseudo-tree of a network: what epoch 0's proofs chain to. */
export function genesisTreeOf(H: Hasher, g: Genesis): CommitmentTree {
  const supplies = allShards(g.depth).map((s) => allocationsOf(g, s).reduce((t, a) => t + a.amount, 0n));
  return genesisTree(H, g.depth, genesisHash(g), supplies);
}

/**
 * The tree of epoch prev.epoch + 1 from all 3^D snapshots of that epoch. Throws TreeError when the
 * snapshots could not satisfy the circuits (wrong count/order/epoch, broken supply arithmetic).
 */
export function buildTree(H: Hasher, snapshots: readonly Snapshot[], prev: CommitmentTree): CommitmentTree {
  const depth = prev.depth;
  const epoch = prev.epoch + 1;
  if (snapshots.length !== 3 ** depth) throw new TreeError(`want ${3 ** depth} snapshots, got ${snapshots.length}`);
  const shards = snapshots.map((s, i) => {
    const want = shardFromIndex(i, depth);
    if (s.shard !== want) throw new TreeError(`snapshot ${i} is for shard ${s.shard}, want ${want}`);
    if (s.epoch !== epoch) throw new TreeError(`snapshot of shard ${s.shard} is for epoch ${s.epoch}, want ${epoch}`);
    checkShard(s, prev.shards[i]!.supply, epoch);
    return { body: shardBodyFields(s), supply: s.supply };
  });
  return buildTreeFromFields(H, shards, prev);
}

/**
 * The same from field-encoded shards, without the arithmetic checks: the circuits' view. Used by
 * buildTree, and by tests to build trees the circuits must refuse.
 */
export function buildTreeFromFields(H: Hasher, fields: readonly { body: ShardBodyFields; supply: bigint }[], prev: CommitmentTree): CommitmentTree {
  const shards = fields.map(({ body, supply }, i): ShardNode => {
    const p = prev.shards[i]!;
    const bodyHash = shardBody(H, body);
    return { shard: shardFromIndex(i, prev.depth), body, bodyHash, supply, prev: p.commitment, commitment: shardCommitment(H, bodyHash, supply, p.commitment) };
  });
  const tree: CommitmentTree = { depth: prev.depth, epoch: prev.epoch + 1, shards, triads: new Map() };
  foldTriads(H, tree, prev);
  return tree;
}

/** What the leaf circuit will check of one shard. */
function checkShard(s: Snapshot, prevSupply: bigint, epoch: number): void {
  for (const [k, v] of [['supply', s.supply], ['outflow', s.outflow], ['inflow', s.inflow], ['fees', s.fees]] as const) {
    if (v < 0n || v > U64_MAX) throw new TreeError(`shard ${s.shard}: ${k} out of u64 range`);
  }
  if (s.supply + s.outflow + s.fees !== prevSupply + s.inflow) {
    throw new TreeError(`shard ${s.shard} epoch ${epoch}: supply ${s.supply} != previous ${prevSupply} - outflow ${s.outflow} + inflow ${s.inflow} - fees ${s.fees}`);
  }
}

/** Public signals of a triad proof, in the circuits' order. */
export const PUBLIC_SIGNAL_NAMES = ['pathEnc', 'epoch', 'commitment', 'prevCommitment', 'supply', 'outflow', 'inflow', 'fees'] as const;

export function publicSignalsOf(node: TriadNode): bigint[] {
  const o = node.opening;
  return [o.pathEnc, o.epoch, node.commitment, o.prev, ...sumsArray(o.sums)];
}

export type CircuitInput = Record<string, string | string[] | string[][]>;

const str = (v: bigint): string => v.toString();
const strs = (v: readonly bigint[]): string[] => v.map(str);

/** The full witness input (public and private) of the triad proof at `path`. */
export function triadInput(tree: CommitmentTree, prev: CommitmentTree, path: string): { kind: CircuitKind; input: CircuitInput } {
  const node = tree.triads.get(path);
  const prevNode = prev.triads.get(path);
  if (!node || !prevNode) throw new TreeError(`no triad ${JSON.stringify(path)} in the trees`);
  if (prev.epoch + 1 !== tree.epoch || prev.depth !== tree.depth) throw new TreeError('prev tree is not the previous epoch of the same network');
  const input: CircuitInput = {};
  PUBLIC_SIGNAL_NAMES.forEach((name, i) => (input[name] = str(publicSignalsOf(node)[i]!)));
  input.prevSums = strs(sumsArray(prevNode.opening.sums));
  input.prevTriadPrev = str(prevNode.opening.prev);
  const kind = circuitKindOf(tree.depth, path);
  if (kind === 'triad_leaf') {
    const sh = [0, 1, 2].map((i) => tree.shards[shardIndex((path + String(i)) as ShardId)]!);
    const ps = [0, 1, 2].map((i) => prev.shards[shardIndex((path + String(i)) as ShardId)]!);
    input.stateRoot = sh.map((s) => strs(s.body.stateRoot));
    input.txRoot = sh.map((s) => strs(s.body.txRoot));
    input.outboxRoot = sh.map((s) => strs(s.body.outboxRoot));
    input.snapshotHash = sh.map((s) => strs(s.body.snapshotHash));
    input.txCount = sh.map((s) => str(s.body.txCount));
    input.shardSupply = sh.map((s) => str(s.supply));
    input.shardOutflow = sh.map((s) => str(s.body.outflow));
    input.shardInflow = sh.map((s) => str(s.body.inflow));
    input.shardFees = sh.map((s) => str(s.body.fees));
    input.prevBody = ps.map((s) => str(s.bodyHash));
    input.prevSupply = ps.map((s) => str(s.supply));
    input.prevPrev = ps.map((s) => str(s.prev));
  } else {
    const ch = [0, 1, 2].map((i) => tree.triads.get(path + String(i))!);
    input.childChildren = ch.map((c) => strs(c.opening.children));
    input.childSums = ch.map((c) => strs(sumsArray(c.opening.sums)));
    input.childPrev = ch.map((c) => str(c.opening.prev));
  }
  return { kind, input };
}
