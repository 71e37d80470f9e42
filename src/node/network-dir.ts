// The network directory written by `smt network init` and read by `smt node start`:
//   DIR/genesis.json              the genesis (src/core/genesis.ts)
//   DIR/validators/<shard>.key    one validator key per shard ("root.key" for the depth-0 shard "")
//   DIR/accounts/<i>.key          funded test accounts
//   DIR/accounts.json             index of the test accounts: address, home shard, key file
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../core/bytes.js';
import { generateKeyPair } from '../core/ed25519.js';
import { addressFromPublicKey, homeShard } from '../core/address.js';
import { allShards, type ShardId } from '../core/ids.js';
import { genesisToJson, loadGenesis, parseGenesis, MAX_DEPTH, type Genesis } from '../core/genesis.js';
import { loadKeyFile, writeKeyFile, type LoadedKey } from '../core/keyfile.js';

export class NetworkDirError extends Error {
  override name = 'NetworkDirError';
}

export const genesisPath = (dir: string): string => join(dir, 'genesis.json');
export const accountsIndexPath = (dir: string): string => join(dir, 'accounts.json');
export const accountKeyPath = (dir: string, i: number): string => join(dir, 'accounts', `${i}.key`);
/** "" (the single shard of a depth-0 network) has no digits, so its file is named "root.key" (as in src/cluster). */
export const validatorKeyPath = (dir: string, shard: string): string => join(dir, 'validators', `${shard === '' ? 'root' : shard}.key`);
/** Replica `r`'s key of a replicated shard (docs/REPLICAS.md): replica 0's is the validator key, others `<shard>.r<r>.key`. */
export const replicaKeyPath = (dir: string, shard: string, r: number): string => (r === 0 ? validatorKeyPath(dir, shard) : join(dir, 'validators', `${shard === '' ? 'root' : shard}.r${r}.key`));

export interface InitOptions {
  dir: string;
  depth: number;
  accounts: number;
  epochMs: number;
  networkId: string;
  balance: bigint;
  force: boolean;
  genesisTime?: number;
  /** The circuits' verification-key hash to pin in genesis (src/proof/vk-hash.ts); absent: proofs off. */
  proofKeysHash?: Uint8Array;
  /** Replicas per shard (docs/REPLICAS.md); 1 or absent: single-replica shards, as before. */
  replicas?: number;
}

export interface AccountEntry {
  index: number;
  address: string;
  shard: string;
  keyFile: string;
}

export interface InitResult {
  genesis: Genesis;
  accounts: AccountEntry[];
}

export function initNetwork(o: InitOptions): InitResult {
  if (!Number.isInteger(o.depth) || o.depth < 0 || o.depth > MAX_DEPTH) throw new NetworkDirError(`--depth must be an integer in 0..${MAX_DEPTH}`);
  if (!Number.isInteger(o.accounts) || o.accounts < 0 || o.accounts > 100_000) throw new NetworkDirError('--accounts must be an integer in 0..100000');
  if (existsSync(genesisPath(o.dir))) {
    if (!o.force) throw new NetworkDirError(`${o.dir} already holds a network (genesis.json); use --force to replace it`);
    // --force replaces the whole network: stale keys of an old network must not survive next to a new genesis.
    for (const p of [genesisPath(o.dir), accountsIndexPath(o.dir), join(o.dir, 'validators'), join(o.dir, 'accounts')]) rmSync(p, { recursive: true, force: true });
  }
  const validators = new Map<ShardId, Uint8Array>();
  const validatorKeys = allShards(o.depth).map((s) => {
    const kp = generateKeyPair();
    validators.set(s, kp.publicKey);
    return [s, kp] as const;
  });
  const accountKeys = Array.from({ length: o.accounts }, () => generateKeyPair());
  const nReplicas = o.replicas ?? 1;
  if (!Number.isInteger(nReplicas) || nReplicas < 1 || nReplicas > 7 || nReplicas % 2 === 0) throw new NetworkDirError('--replicas must be 1, 3, 5 or 7');
  const replicaKeyPairs = nReplicas === 1 ? [] : validatorKeys.map(([s, kp]) => [s, [kp, ...Array.from({ length: nReplicas - 1 }, () => generateKeyPair())]] as const);
  const genesis = parseGenesis(genesisToJson({
    networkId: o.networkId,
    depth: o.depth,
    epochMs: o.epochMs,
    genesisTime: o.genesisTime ?? Date.now(),
    allocations: accountKeys.map((kp) => ({ address: addressFromPublicKey(kp.publicKey), amount: o.balance })),
    validators,
    ...(o.proofKeysHash ? { proofKeysHash: o.proofKeysHash } : {}),
    ...(replicaKeyPairs.length > 0 ? { replicas: new Map(replicaKeyPairs.map(([s, kps]) => [s, kps.map((k) => k.publicKey)])) } : {}),
  }));
  mkdirSync(o.dir, { recursive: true });
  for (const [s, kp] of validatorKeys) writeKeyFile(validatorKeyPath(o.dir, s), kp);
  for (const [s, kps] of replicaKeyPairs) kps.forEach((kp, r) => r > 0 && writeKeyFile(replicaKeyPath(o.dir, s, r), kp));
  const accounts: AccountEntry[] = accountKeys.map((kp, index) => {
    const address = addressFromPublicKey(kp.publicKey);
    writeKeyFile(accountKeyPath(o.dir, index), kp);
    return { index, address: toHex(address), shard: homeShard(address, o.depth), keyFile: join('accounts', `${index}.key`) };
  });
  writeFileSync(accountsIndexPath(o.dir), JSON.stringify(accounts, null, 2) + '\n');
  // genesis.json last: its presence marks a complete network directory.
  writeFileSync(genesisPath(o.dir), JSON.stringify(genesisToJson(genesis), null, 2) + '\n');
  return { genesis, accounts };
}

export function loadNetworkGenesis(dir: string): Genesis {
  if (!existsSync(genesisPath(dir))) throw new NetworkDirError(`${dir} is not a network directory (no genesis.json); create one with: smt network init --dir ${dir}`);
  return loadGenesis(genesisPath(dir));
}

export function loadAccountsIndex(dir: string): AccountEntry[] {
  try {
    return JSON.parse(readFileSync(accountsIndexPath(dir), 'utf8')) as AccountEntry[];
  } catch (e) {
    throw new NetworkDirError(`cannot read ${accountsIndexPath(dir)}: ${(e as Error).message}`);
  }
}

/** Replica `r`'s key of `shard`, checked against the genesis' replica set (replica 0 = the validator key). */
export function loadReplicaKey(dir: string, genesis: Genesis, shard: ShardId, r: number): LoadedKey {
  if (r === 0) return loadValidatorKey(dir, genesis, shard);
  const key = loadKeyFile(replicaKeyPath(dir, shard, r));
  const expected = genesis.replicas?.get(shard)?.[r];
  if (!expected || toHex(expected) !== toHex(key.keyPair.publicKey)) throw new NetworkDirError(`replica key ${key.path} does not match replica ${r} of shard "${shard}" in genesis`);
  return key;
}

/** The validator key of `shard`, checked against the genesis' public key for it. */
export function loadValidatorKey(dir: string, genesis: Genesis, shard: ShardId): LoadedKey {
  const key = loadKeyFile(validatorKeyPath(dir, shard));
  const expected = genesis.validators.get(shard);
  if (!expected || toHex(expected) !== toHex(key.keyPair.publicKey)) {
    throw new NetworkDirError(`validator key ${key.path} does not match the genesis validator of shard "${shard}"`);
  }
  return key;
}
