// The triad aggregate (docs/PROTOCOL.md): what the three members of a triad agree on for one epoch.
// It commits to its three children (shard snapshots at the lowest level, child triad aggregates
// above), sums their supply and flows, and chains to the triad's previous aggregate.
// Canonical binary encoding; aggregateHash = H_aggregate(encoding). Pure: no I/O.
import { ByteReader, ByteWriter, DecodeError, bytesEqual, toHex } from '../core/bytes.js';
import { taggedHashOf } from '../core/hash.js';
import { MAX_DEPTH } from '../core/genesis.js';
import type { TriadPath } from '../core/ids.js';
import { snapshotHash, MAX_NETWORK_ID, type Snapshot } from '../shard/snapshot.js';

export const AGGREGATE_VERSION = 1;
export const ZERO_HASH: Uint8Array = new Uint8Array(32);
const U64_MAX = (1n << 64n) - 1n;

/** One child as included in an aggregate. */
export interface ChildRef {
  /** snapshotHash for a shard child, aggregateHash for a triad child; zero if never seen. */
  commitment: Uint8Array;
  /** The child's epoch actually included (older than the aggregate's epoch when carried). */
  epoch: number;
  /** The child was missing past the timeout: its previous commitment is carried forward. */
  carried: boolean;
  /** The child's supply as included; carried with the commitment so the sum stays meaningful. */
  supply: bigint;
  /** The child's cumulative totals since genesis as included (carried with the commitment too). */
  totalOutflow: bigint;
  totalInflow: bigint;
  totalFees: bigint;
}

export interface TriadAggregate {
  network: string;
  path: TriadPath;
  epoch: number;
  children: [ChildRef, ChildRef, ChildRef];
  supply: bigint; // sum of the children's supply
  outflow: bigint; // sums over the children included in this epoch (carried children add 0)
  inflow: bigint;
  fees: bigint;
  txCount: bigint;
  // Cumulative since genesis, summed over all children including carried ones (their last values):
  // what a global snapshot needs to check conservation (src/hierarchy/conservation.ts).
  totalOutflow: bigint;
  totalInflow: bigint;
  totalFees: bigint;
  prevAggregateHash: Uint8Array; // aggregateHash of this triad's previous final aggregate, or zero
}

export class AggregateInputError extends Error {
  override name = 'AggregateInputError';
}

export function encodeAggregate(a: TriadAggregate): Uint8Array {
  const w = new ByteWriter(320);
  writeAggregate(w, a);
  return w.finish();
}

function writeAggregate(w: ByteWriter, a: TriadAggregate): void {
  w.u8(AGGREGATE_VERSION).string(a.network).string(a.path).u64(BigInt(a.epoch));
  for (const c of a.children) {
    w.fixed(c.commitment, 32).u64(BigInt(c.epoch)).u8(c.carried ? 1 : 0).u64(c.supply);
    w.u64(c.totalOutflow).u64(c.totalInflow).u64(c.totalFees);
  }
  w.u64(a.supply).u64(a.outflow).u64(a.inflow).u64(a.fees).u64(a.txCount);
  w.u64(a.totalOutflow).u64(a.totalInflow).u64(a.totalFees).fixed(a.prevAggregateHash, 32);
}

export function readAggregate(r: ByteReader): TriadAggregate {
  const version = r.u8();
  if (version !== AGGREGATE_VERSION) throw new DecodeError(`aggregate: unknown version ${version}`);
  const network = r.string(MAX_NETWORK_ID);
  const path = r.string(MAX_DEPTH);
  if (!/^[012]*$/.test(path)) throw new DecodeError('aggregate: path is not ternary digits');
  const epoch = safeEpoch(r.u64());
  const children: ChildRef[] = [];
  for (let i = 0; i < 3; i++) {
    const commitment = r.fixed(32);
    const cEpoch = safeEpoch(r.u64());
    const flag = r.u8();
    if (flag > 1) throw new DecodeError(`aggregate: child ${i} carried flag must be 0 or 1, got ${flag}`);
    children.push({ commitment, epoch: cEpoch, carried: flag === 1, supply: r.u64(), totalOutflow: r.u64(), totalInflow: r.u64(), totalFees: r.u64() });
  }
  const supply = r.u64();
  const outflow = r.u64();
  const inflow = r.u64();
  const fees = r.u64();
  const txCount = r.u64();
  const totalOutflow = r.u64();
  const totalInflow = r.u64();
  const totalFees = r.u64();
  const prevAggregateHash = r.fixed(32);
  return {
    network, path: path as TriadPath, epoch, children: children as [ChildRef, ChildRef, ChildRef],
    supply, outflow, inflow, fees, txCount, totalOutflow, totalInflow, totalFees, prevAggregateHash,
  };
}

export function decodeAggregate(b: Uint8Array): TriadAggregate {
  const r = new ByteReader(b, 'aggregate');
  const a = readAggregate(r);
  r.end();
  return a;
}

/** H_aggregate(encoding), the encoding written into a scratch buffer (taggedHashOf). */
export function aggregateHash(a: TriadAggregate): Uint8Array {
  return taggedHashOf('aggregate', (w) => writeAggregate(w, a));
}

/** What a parent needs from a child, whichever kind it is. */
export type ChildInput = { kind: 'snapshot'; snapshot: Snapshot } | { kind: 'aggregate'; aggregate: TriadAggregate };

interface ChildSummary {
  path: string;
  network: string;
  epoch: number;
  commitment: Uint8Array;
  supply: bigint;
  outflow: bigint;
  inflow: bigint;
  fees: bigint;
  txCount: bigint;
  totalOutflow: bigint;
  totalInflow: bigint;
  totalFees: bigint;
}

function summarize(c: ChildInput): ChildSummary {
  if (c.kind === 'snapshot') {
    const s = c.snapshot;
    return { path: s.shard, network: s.network, epoch: s.epoch, commitment: snapshotHash(s), supply: s.supply, outflow: s.outflow, inflow: s.inflow, fees: s.fees, txCount: s.txCount, totalOutflow: s.totalOutflow, totalInflow: s.totalInflow, totalFees: s.totalFees };
  }
  const a = c.aggregate;
  return { path: a.path, network: a.network, epoch: a.epoch, commitment: aggregateHash(a), supply: a.supply, outflow: a.outflow, inflow: a.inflow, fees: a.fees, txCount: a.txCount, totalOutflow: a.totalOutflow, totalInflow: a.totalInflow, totalFees: a.totalFees };
}

/** The path of the node a child input speaks for (shard id or triad path). */
export function childInputPath(c: ChildInput): string {
  return c.kind === 'snapshot' ? c.snapshot.shard : c.aggregate.path;
}

/**
 * Places child inputs, received in any order, at their positions in triad `path`.
 * Refuses inputs that are not children of `path` and two different inputs for one position.
 */
export function arrangeChildren(path: TriadPath, inputs: ChildInput[]): [ChildInput | null, ChildInput | null, ChildInput | null] {
  const out: [ChildInput | null, ChildInput | null, ChildInput | null] = [null, null, null];
  for (const c of inputs) {
    const p = childInputPath(c);
    if (p.length !== path.length + 1 || !p.startsWith(path)) throw new AggregateInputError(`${JSON.stringify(p)} is not a child of triad ${JSON.stringify(path)}`);
    const pos = p.charCodeAt(p.length - 1) - 48;
    const prev = out[pos];
    if (prev && !bytesEqual(summarize(prev).commitment, summarize(c).commitment)) {
      throw new AggregateInputError(`conflicting inputs for child ${p}`);
    }
    out[pos] = c;
  }
  return out;
}

export interface ComputeAggregateInput {
  network: string;
  path: TriadPath;
  epoch: number;
  /** By position; null = missing past the timeout, carried forward from `prev`. */
  children: readonly [ChildInput | null, ChildInput | null, ChildInput | null];
  /** This triad's latest final aggregate before `epoch`, or null if none. */
  prev: TriadAggregate | null;
  /** Genesis supply under each child (genesis-supply.ts): carried for a child missing with no previous ref. */
  genesisSupply?: readonly [bigint, bigint, bigint];
}

/**
 * The deterministic rule every member applies: same inputs -> byte-identical aggregate.
 * A present child must be the child at that position, of the same network and epoch.
 * A missing child carries its previous ChildRef (commitment, epoch, supply) with flows of zero,
 * or a zero commitment if the triad has no previous aggregate.
 */
export function computeAggregate(input: ComputeAggregateInput): TriadAggregate {
  const { network, path, epoch, prev } = input;
  if (prev) {
    if (prev.network !== network || prev.path !== path) throw new AggregateInputError(`prev aggregate is for ${prev.network}/${JSON.stringify(prev.path)}, not ${network}/${JSON.stringify(path)}`);
    if (prev.epoch >= epoch) throw new AggregateInputError(`prev aggregate epoch ${prev.epoch} is not before ${epoch}`);
  }
  const children: ChildRef[] = [];
  let supply = 0n, outflow = 0n, inflow = 0n, fees = 0n, txCount = 0n, totalOutflow = 0n, totalInflow = 0n, totalFees = 0n;
  for (let i = 0; i < 3; i++) {
    const c = input.children[i];
    if (c) {
      const s = summarize(c);
      if (s.path !== path + String(i)) throw new AggregateInputError(`child at position ${i} of ${JSON.stringify(path)} is ${JSON.stringify(s.path)}`);
      if (s.network !== network) throw new AggregateInputError(`child ${s.path} is of network ${s.network}, not ${network}`);
      if (s.epoch !== epoch) throw new AggregateInputError(`child ${s.path} is of epoch ${s.epoch}, not ${epoch}`);
      children.push({ commitment: s.commitment, epoch: s.epoch, carried: false, supply: s.supply, totalOutflow: s.totalOutflow, totalInflow: s.totalInflow, totalFees: s.totalFees });
      supply += s.supply; outflow += s.outflow; inflow += s.inflow; fees += s.fees; txCount += s.txCount;
      totalOutflow += s.totalOutflow; totalInflow += s.totalInflow; totalFees += s.totalFees;
    } else {
      const p = prev?.children[i];
      const ref: ChildRef = p
        ? { commitment: p.commitment, epoch: p.epoch, carried: true, supply: p.supply, totalOutflow: p.totalOutflow, totalInflow: p.totalInflow, totalFees: p.totalFees }
        : { commitment: ZERO_HASH, epoch: 0, carried: true, supply: input.genesisSupply?.[i] ?? 0n, totalOutflow: 0n, totalInflow: 0n, totalFees: 0n };
      children.push(ref);
      supply += ref.supply;
      totalOutflow += ref.totalOutflow; totalInflow += ref.totalInflow; totalFees += ref.totalFees;
    }
  }
  for (const [k, v] of Object.entries({ supply, outflow, inflow, fees, txCount, totalOutflow, totalInflow, totalFees })) {
    if (v > U64_MAX) throw new AggregateInputError(`aggregate ${k} overflows u64`);
  }
  return {
    network, path, epoch, children: children as [ChildRef, ChildRef, ChildRef],
    supply, outflow, inflow, fees, txCount, totalOutflow, totalInflow, totalFees,
    prevAggregateHash: prev ? aggregateHash(prev) : ZERO_HASH,
  };
}

export function isZeroHash(h: Uint8Array): boolean {
  return h.length === 32 && h.every((b) => b === 0);
}

/** JSON view for the HTTP API and CLI (never hashed). */
export function aggregateToJson(a: TriadAggregate): Record<string, unknown> {
  return {
    network: a.network, path: a.path, epoch: a.epoch,
    children: a.children.map((c) => ({
      commitment: toHex(c.commitment), epoch: c.epoch, carried: c.carried, supply: c.supply.toString(),
      totalOutflow: c.totalOutflow.toString(), totalInflow: c.totalInflow.toString(), totalFees: c.totalFees.toString(),
    })),
    supply: a.supply.toString(), outflow: a.outflow.toString(), inflow: a.inflow.toString(),
    fees: a.fees.toString(), txCount: a.txCount.toString(),
    totalOutflow: a.totalOutflow.toString(), totalInflow: a.totalInflow.toString(), totalFees: a.totalFees.toString(), prevAggregateHash: toHex(a.prevAggregateHash),
    hash: toHex(aggregateHash(a)),
  };
}

function safeEpoch(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`aggregate: epoch ${v} too large`);
  return Number(v);
}
