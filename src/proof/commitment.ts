// Native side of the circuits' commitments (circuits/lib/commitments.circom), field for field.
// Field encoding of a snapshot: 32-byte values as (hi, lo) 128-bit big-endian limbs, u64 values as
// single elements, epochs as elements mod r (so the genesis pseudo-epoch -1 is r - 1), tree
// positions as pathEnc = 3^len(path) + value(path), which makes child i of p simply 3*p + i.
import { buildPoseidon, type PoseidonFn } from 'circomlibjs';
import type { Snapshot } from '../shard/snapshot.js';
import { snapshotHash } from '../shard/snapshot.js';
import { nativePoseidon } from './poseidon-native.js';

/** The BN254 scalar field order: every circuit value lives mod r. */
export const FIELD_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Domain tags: ASCII strings as big-endian integers (same literals as the circuits). */
export const TAG_SHARD_BODY = asciiTag('smt/v1/shard-body');
export const TAG_SHARD = asciiTag('smt/v1/shard');
export const TAG_TRIAD = asciiTag('smt/v1/triad');

export function asciiTag(s: string): bigint {
  let v = 0n;
  for (const b of new TextEncoder().encode(s)) v = (v << 8n) | BigInt(b);
  return v;
}

export type Hasher = (inputs: bigint[]) => bigint;

let poseidonPromise: Promise<Hasher> | null = null;
let poseidonWhy = 'not built yet';

/**
 * Poseidon equal to circomlib's Poseidon(n) template, built once per process: the native addon
 * (native/poseidon) when it loads, else circomlibjs's wasm permutation (`wasmPoseidon`).
 */
export function getPoseidon(): Promise<Hasher> {
  poseidonPromise ??= (async () => {
    const n = await nativePoseidon();
    if (n.hash) {
      poseidonWhy = n.why;
      return canonicalInputs(n.hash);
    }
    poseidonWhy = `circomlibjs wasm (${n.why})`;
    return wasmPoseidon();
  })();
  return poseidonPromise;
}

/** Which Poseidon getPoseidon built, for the node's start-up log. */
export function poseidonName(): string {
  return poseidonWhy;
}

/** circomlibjs's wasm permutation, called as directHasher does: the fallback, and the native one's reference. */
export async function wasmPoseidon(): Promise<Hasher> {
  return directHasher(await buildPoseidon());
}

/** The arity check and the reduction mod r of the wasm path, around a hasher that takes [0, r) only. */
function canonicalInputs(h: Hasher): Hasher {
  return (inputs) => {
    const n = inputs.length;
    if (n < 1 || n > 16) throw new RangeError(`poseidon arity ${n} outside 1..16`);
    for (const x of inputs) if (x < 0n || x >= FIELD_R) return h(inputs.map((y) => ((y % FIELD_R) + FIELD_R) % FIELD_R));
    return h(inputs);
  };
}

/** circomlibjs's own calling convention (field elements converted one wasm round trip each): the reference directHasher is tested against. */
export async function referencePoseidon(): Promise<Hasher> {
  const p = await buildPoseidon();
  return (inputs) => {
    if (inputs.length < 1 || inputs.length > 16) throw new RangeError(`poseidon arity ${inputs.length} outside 1..16`);
    return p.F.toObject(p(inputs));
  };
}

/**
 * The same wasm permutation, called without circomlibjs's per-element conversions: each input is
 * written as 4 little-endian u64 words into buffers of our own in the wasm memory and turned into
 * Montgomery form there, the result read back the same way. circomlibjs allocated a few buffers
 * and made a wasm call and a copy per element and per result (about 3/4 of a hash's time here, and
 * garbage); every node hashes each epoch's commitment tree, so that was idle CPU on every node.
 */
function directHasher(p: PoseidonFn): Hasher {
  const F = p.F as unknown as WasmFr;
  const tm = F.tm;
  const ex = tm.instance.exports;
  const toMont = ex.frm_toMontgomery!;
  const fromMont = ex.frm_fromMontgomery!;
  const permute = ex.poseidon!;
  const pState = tm.alloc(32);
  const pIn = tm.alloc(32 * 16);
  const pOut = tm.alloc(32);
  const pRes = tm.alloc(32);
  let view = new DataView(tm.memory.buffer);
  const mem = (): DataView => (view.buffer === tm.memory.buffer ? view : (view = new DataView(tm.memory.buffer)));
  for (let i = 0; i < 32; i += 8) mem().setBigUint64(pState + i, 0n, true); // the initial state: zero (also in Montgomery form)
  return (inputs) => {
    const n = inputs.length;
    if (n < 1 || n > 16) throw new RangeError(`poseidon arity ${n} outside 1..16`);
    const v = mem();
    for (let i = 0; i < n; i++) {
      let x = inputs[i]!;
      if (x < 0n || x >= FIELD_R) x = ((x % FIELD_R) + FIELD_R) % FIELD_R;
      const at = pIn + 32 * i;
      v.setBigUint64(at, BigInt.asUintN(64, x), true);
      v.setBigUint64(at + 8, BigInt.asUintN(64, x >> 64n), true);
      v.setBigUint64(at + 16, BigInt.asUintN(64, x >> 128n), true);
      v.setBigUint64(at + 24, x >> 192n, true);
      toMont(at, at);
    }
    permute(pState, pIn, n, pOut, 1);
    fromMont(pOut, pRes);
    const w = mem();
    return w.getBigUint64(pRes, true) | (w.getBigUint64(pRes + 8, true) << 64n) | (w.getBigUint64(pRes + 16, true) << 128n) | (w.getBigUint64(pRes + 24, true) << 192n);
  };
}

/** What directHasher uses of ffjavascript's wasm field (bn128's Fr, prefix "frm") under circomlibjs's Poseidon. */
interface WasmFr {
  tm: {
    alloc(bytes: number): number;
    memory: { buffer: ArrayBuffer };
    instance: { exports: Record<string, ((...a: number[]) => void) | undefined> };
  };
}

/** 32 bytes -> [hi, lo], each the big-endian value of 16 bytes (< 2^128). */
export function limbs(b: Uint8Array): [bigint, bigint] {
  if (b.length !== 32) throw new RangeError(`limbs: want 32 bytes, got ${b.length}`);
  let hi = 0n;
  let lo = 0n;
  for (let i = 0; i < 16; i++) hi = (hi << 8n) | BigInt(b[i]!);
  for (let i = 16; i < 32; i++) lo = (lo << 8n) | BigInt(b[i]!);
  return [hi, lo];
}

/** Tree position: 3^len + base-3 value. The apex "" is 1; shard "01" of depth 2 is 9 + 1 = 10. */
export function pathEnc(path: string): bigint {
  if (!/^[012]*$/.test(path)) throw new RangeError(`pathEnc: not a ternary path: ${JSON.stringify(path)}`);
  let v = 1n;
  for (const c of path) v = v * 3n + BigInt(c.charCodeAt(0) - 48);
  return v;
}

/** Epoch as a field element; -1 (the genesis pseudo-epoch) is r - 1, matching `epoch - 1` in circuit. */
export function epochField(e: number): bigint {
  if (!Number.isSafeInteger(e) || e < -1) throw new RangeError(`epoch ${e} out of range`);
  return ((BigInt(e) % FIELD_R) + FIELD_R) % FIELD_R;
}

export interface Sums {
  supply: bigint;
  outflow: bigint;
  inflow: bigint;
  fees: bigint;
}

export function sumsArray(s: Sums): [bigint, bigint, bigint, bigint] {
  return [s.supply, s.outflow, s.inflow, s.fees];
}

/** The body of a shard commitment: the ShardBody template's inputs, in order. */
export interface ShardBodyFields {
  shardEnc: bigint;
  epoch: bigint;
  stateRoot: [bigint, bigint];
  txRoot: [bigint, bigint];
  outboxRoot: [bigint, bigint];
  txCount: bigint;
  outflow: bigint;
  inflow: bigint;
  fees: bigint;
  snapshotHash: [bigint, bigint];
}

export function shardBodyFields(s: Snapshot): ShardBodyFields {
  return {
    shardEnc: pathEnc(s.shard),
    epoch: epochField(s.epoch),
    stateRoot: limbs(s.stateRoot),
    txRoot: limbs(s.txRoot),
    outboxRoot: limbs(s.outboxRoot),
    txCount: s.txCount,
    outflow: s.outflow,
    inflow: s.inflow,
    fees: s.fees,
    snapshotHash: limbs(snapshotHash(s)),
  };
}

/** body = Poseidon(TAG_SHARD_BODY, shardEnc, epoch, roots (6 limbs), txCount, outflow, inflow, fees, snapshotHash (2 limbs)). */
export function shardBody(H: Hasher, f: ShardBodyFields): bigint {
  return H([
    TAG_SHARD_BODY, f.shardEnc, f.epoch, ...f.stateRoot, ...f.txRoot, ...f.outboxRoot,
    f.txCount, f.outflow, f.inflow, f.fees, ...f.snapshotHash,
  ]);
}

/** C_shard = Poseidon(TAG_SHARD, body, supply, prevShardCommitment). */
export function shardCommitment(H: Hasher, body: bigint, supply: bigint, prev: bigint): bigint {
  return H([TAG_SHARD, body, supply, prev]);
}

export interface TriadOpening {
  pathEnc: bigint;
  epoch: bigint;
  children: [bigint, bigint, bigint];
  sums: Sums;
  prev: bigint;
}

/** C_triad = Poseidon(TAG_TRIAD, pathEnc, epoch, C_child0..2, supply, outflow, inflow, fees, prevTriadCommitment). */
export function triadCommitment(H: Hasher, o: TriadOpening): bigint {
  return H([TAG_TRIAD, o.pathEnc, o.epoch, ...o.children, ...sumsArray(o.sums), o.prev]);
}
