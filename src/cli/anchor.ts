// Anchors a proof's root to a signed snapshot: fetches the snapshot of an epoch, checks the shard
// validator's signature over its canonical encoding, and returns it. With --network DIR the key comes
// from the genesis file (trusted); otherwise from the node's own answer (self-reported).
import { fromHex } from '../core/bytes.js';
import type { ShardId } from '../core/ids.js';
import { decodeSignedSnapshot, verifySnapshotSignature, type SignedSnapshot } from '../shard/snapshot.js';
import { loadNetworkGenesis } from '../node/network-dir.js';
import { CliError, nodeRequest } from './client.js';
import { snapshotSignerKey } from '../replica/keys.js';

export interface SnapshotResponse {
  snapshot: Record<string, unknown> & { shard: string; epoch: number };
  signature: string;
  validator: string;
  encoded: string;
}

export interface AnchoredSnapshot {
  signed: SignedSnapshot;
  response: SnapshotResponse;
  signatureValid: boolean;
  keySource: 'genesis validator key' | 'validator key reported by the node';
}

export async function fetchSignedSnapshot(node: string, epoch: number | 'latest', networkDir?: string): Promise<AnchoredSnapshot> {
  const { body } = await nodeRequest<SnapshotResponse>(node, `v1/snapshot/${epoch}`);
  const signed = decodeSignedSnapshot(fromHex(body.encoded));
  if (epoch !== 'latest' && signed.snapshot.epoch !== epoch) throw new CliError(`asked for the snapshot of epoch ${epoch}, the node sent epoch ${signed.snapshot.epoch}`);
  let key = fromHex(body.validator, 32);
  let keySource: AnchoredSnapshot['keySource'] = 'validator key reported by the node';
  if (networkDir !== undefined) {
    const genesis = loadNetworkGenesis(networkDir);
    if (!genesis.validators.has(signed.snapshot.shard as ShardId)) throw new CliError(`shard "${signed.snapshot.shard}" is not in the genesis of ${networkDir}`);
    // a replicated shard's snapshot is signed by its writer replica (docs/REPLICAS.md); empty: no key may sign it
    key = snapshotSignerKey(genesis, signed.snapshot) ?? new Uint8Array(32);
    keySource = 'genesis validator key';
  }
  return { signed, response: body, signatureValid: verifySnapshotSignature(signed, key), keySource };
}
