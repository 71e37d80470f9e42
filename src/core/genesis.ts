// The genesis file: everything every node of a network must agree on before the first epoch.
// Stored as JSON for people (genesis.json); its identity is the hash of a canonical binary encoding.
import { readFileSync } from 'node:fs';
import { ByteWriter, fromHex, toHex } from '../core/bytes.js';
import { taggedHash } from './hash.js';
import { allShards, type ShardId } from './ids.js';
import { ADDRESS_BYTES, homeShard } from './address.js';

export const MAX_DEPTH = 6;

export interface Allocation {
  address: Uint8Array; // 20 bytes
  amount: bigint;
}

export interface Genesis {
  networkId: string; // [a-z0-9-]{1,32}
  depth: number; // 3^depth shards
  epochMs: number;
  genesisTime: number; // unix ms; epoch e starts at genesisTime + e * epochMs
  allocations: Allocation[];
  validators: Map<ShardId, Uint8Array>; // shard -> ed25519 public key
  /**
   * Hash of the verification keys of the circuits the network proves with (src/proof/vk-hash.ts),
   * written by `network init` when the circuits are built. Absent: proofs are off for the network.
   */
  proofKeysHash?: Uint8Array;
  /**
   * Replica sets of replicated shards (docs/REPLICAS.md): shard -> replica public keys, replica 0 =
   * the shard's validator key. A shard not listed has one replica (its validator), as before.
   */
  replicas?: Map<ShardId, Uint8Array[]>;
}

export const MAX_REPLICAS = 7;

export class GenesisError extends Error {
  override name = 'GenesisError';
}

interface GenesisJson {
  networkId: string;
  depth: number;
  epochMs: number;
  genesisTime: number;
  allocations: { address: string; amount: string }[];
  validators: Record<string, string>;
  proofKeysHash?: string;
  replicas?: Record<string, string[]>;
}

export function genesisToJson(g: Genesis): GenesisJson {
  return {
    networkId: g.networkId,
    depth: g.depth,
    epochMs: g.epochMs,
    genesisTime: g.genesisTime,
    allocations: g.allocations.map((a) => ({ address: toHex(a.address), amount: a.amount.toString() })),
    validators: Object.fromEntries([...g.validators].map(([s, k]) => [s, toHex(k)])),
    ...(g.proofKeysHash ? { proofKeysHash: toHex(g.proofKeysHash) } : {}),
    ...(g.replicas ? { replicas: Object.fromEntries([...g.replicas].map(([s, ks]) => [s, ks.map(toHex)])) } : {}),
  };
}

export function parseGenesis(json: unknown): Genesis {
  const fail = (m: string): never => {
    throw new GenesisError(`genesis: ${m}`);
  };
  if (typeof json !== 'object' || json === null) fail('not an object');
  const j = json as Partial<GenesisJson>;
  if (typeof j.networkId !== 'string' || !/^[a-z0-9-]{1,32}$/.test(j.networkId)) fail('networkId must match [a-z0-9-]{1,32}');
  if (!Number.isInteger(j.depth) || j.depth! < 0 || j.depth! > MAX_DEPTH) fail(`depth must be an integer in 0..${MAX_DEPTH}`);
  if (!Number.isInteger(j.epochMs) || j.epochMs! < 50 || j.epochMs! > 3_600_000) fail('epochMs must be an integer in 50..3600000');
  if (!Number.isInteger(j.genesisTime) || j.genesisTime! < 0) fail('genesisTime must be a non-negative integer (unix ms)');
  if (!Array.isArray(j.allocations)) fail('allocations must be an array');
  const seen = new Set<string>();
  const allocations: Allocation[] = j.allocations!.map((a, i) => {
    let address: Uint8Array = new Uint8Array();
    try {
      address = fromHex(String(a?.address), ADDRESS_BYTES);
    } catch {
      fail(`allocations[${i}].address is not ${ADDRESS_BYTES} bytes of hex`);
    }
    if (typeof a.amount !== 'string' || !/^[0-9]{1,20}$/.test(a.amount) || BigInt(a.amount) >= 1n << 64n) fail(`allocations[${i}].amount must be a decimal u64 string`);
    const k = toHex(address);
    if (seen.has(k)) fail(`allocations[${i}] repeats address ${k}`);
    seen.add(k);
    return { address, amount: BigInt(a.amount) };
  });
  let total = 0n;
  for (const a of allocations) total += a.amount;
  if (total >= 1n << 64n) fail('total supply exceeds u64');
  const validators = new Map<ShardId, Uint8Array>();
  if (typeof j.validators !== 'object' || j.validators === null) fail('validators must be an object shard -> public key hex');
  for (const shard of allShards(j.depth!)) {
    const k = (j.validators as Record<string, unknown>)[shard];
    try {
      validators.set(shard, fromHex(String(k), 32));
    } catch {
      fail(`validators["${shard}"] must be a 32-byte ed25519 public key in hex`);
    }
  }
  if (Object.keys(j.validators!).length !== validators.size) fail(`validators must list exactly the ${validators.size} shards of depth ${j.depth}`);
  // Optional (genesis files written before it existed stay valid, with proofs off).
  let proofKeysHash: Uint8Array | undefined;
  if (j.proofKeysHash !== undefined) {
    try {
      proofKeysHash = fromHex(String(j.proofKeysHash), 32);
    } catch {
      fail('proofKeysHash must be 32 bytes of hex (the hash of the circuits\' verification keys)');
    }
  }
  const replicas = j.replicas === undefined ? undefined : parseReplicas(j.replicas, validators, fail);
  return { networkId: j.networkId!, depth: j.depth!, epochMs: j.epochMs!, genesisTime: j.genesisTime!, allocations, validators, ...(proofKeysHash ? { proofKeysHash } : {}), ...(replicas ? { replicas } : {}) };
}

function parseReplicas(json: unknown, validators: Map<ShardId, Uint8Array>, fail: (m: string) => never): Map<ShardId, Uint8Array[]> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('replicas must be an object shard -> [public key hex, ...]');
  const out = new Map<ShardId, Uint8Array[]>();
  const seen = new Set<string>([...validators.values()].map(toHex));
  for (const [shard, list] of Object.entries(json as Record<string, unknown>)) {
    const v = validators.get(shard as ShardId);
    if (!v) fail(`replicas names "${shard}", which is not a shard of this network`);
    if (!Array.isArray(list) || list.length < 1 || list.length > MAX_REPLICAS || list.length % 2 === 0) fail(`replicas["${shard}"] must list an odd number of keys from 1 to ${MAX_REPLICAS}`);
    const keys = (list as unknown[]).map((k, i) => {
      try {
        return fromHex(String(k), 32);
      } catch {
        return fail(`replicas["${shard}"][${i}] must be a 32-byte ed25519 public key in hex`);
      }
    });
    if (toHex(keys[0]!) !== toHex(v!)) fail(`replicas["${shard}"][0] must be the shard's validator key`);
    for (let i = 1; i < keys.length; i++) {
      const h = toHex(keys[i]!);
      if (seen.has(h)) fail(`replicas["${shard}"][${i}] repeats a key used elsewhere in the genesis`);
      seen.add(h);
    }
    out.set(shard as ShardId, keys);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function loadGenesis(path: string): Genesis {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GenesisError(`cannot read genesis file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GenesisError(`genesis file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseGenesis(json);
}

/**
 * Canonical binary encoding: the hashed identity of a network. The proof-keys pin, when present, is
 * appended as u8 1 | 32 bytes; a genesis without it encodes (and hashes) exactly as before it existed.
 */
export function encodeGenesis(g: Genesis): Uint8Array {
  const w = new ByteWriter();
  w.string(g.networkId).u8(g.depth).u32(g.epochMs).u64(BigInt(g.genesisTime));
  const allocs = [...g.allocations].sort((a, b) => Buffer.compare(a.address, b.address));
  w.u32(allocs.length);
  for (const a of allocs) w.fixed(a.address, ADDRESS_BYTES).u64(a.amount);
  const shards = allShards(g.depth);
  for (const s of shards) w.fixed(g.validators.get(s)!, 32);
  if (g.proofKeysHash) w.u8(1).fixed(g.proofKeysHash, 32);
  // replica sets (docs/REPLICAS.md), only when present: a genesis without them hashes as before
  if (g.replicas && g.replicas.size > 0) {
    const sets = [...g.replicas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    w.u8(2).u32(sets.length);
    for (const [s, keys] of sets) {
      w.string(s).u8(keys.length);
      for (const k of keys) w.fixed(k, 32);
    }
  }
  return w.finish();
}

export function genesisHash(g: Genesis): Uint8Array {
  return taggedHash('genesis', encodeGenesis(g));
}

export function totalSupply(g: Genesis): bigint {
  return g.allocations.reduce((s, a) => s + a.amount, 0n);
}

/** The replica keys of `shard` (replica 0 first); one key, the validator's, for a single-replica shard. */
export function replicaKeys(g: Pick<Genesis, 'validators' | 'replicas'>, shard: ShardId): Uint8Array[] {
  const r = g.replicas?.get(shard);
  if (r) return r;
  const v = g.validators.get(shard);
  return v ? [v] : [];
}

/** Does `shard` run as a replica set (snapshots of version 2 with term and writer)? */
export function isReplicated(g: Pick<Genesis, 'replicas'>, shard: ShardId): boolean {
  return g.replicas?.has(shard) ?? false;
}

/** Genesis allocations that live on `shard`. */
export function allocationsOf(g: Genesis, shard: ShardId): Allocation[] {
  return g.allocations.filter((a) => homeShard(a.address, g.depth) === shard);
}
