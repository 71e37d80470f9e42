// Shared fixtures for hierarchy and gossip tests: a synthetic network (genesis + validator keys)
// and signed synthetic snapshots. Real codecs and real signatures; nothing mocked.
import { keyPairFromSeed, type KeyPair } from '../src/core/ed25519.js';
import { allShards, type ShardId, type TriadPath } from '../src/core/ids.js';
import { computeAggregate, type ChildInput, type TriadAggregate } from '../src/hierarchy/aggregate.js';
import type { Genesis } from '../src/core/genesis.js';
import { taggedHash } from '../src/core/hash.js';
import { signSnapshot, type SignedSnapshot, type Snapshot } from '../src/shard/snapshot.js';

export interface TestNet {
  genesis: Genesis;
  keys: Map<ShardId, KeyPair>;
}

export function makeTestNet(depth: number, networkId = 'testnet', epochMs = 1000): TestNet {
  const keys = new Map<ShardId, KeyPair>();
  const validators = new Map<ShardId, Uint8Array>();
  for (const s of allShards(depth)) {
    const kp = keyPairFromSeed(taggedHash('test-seed', new TextEncoder().encode(`${networkId}/${s}`)));
    keys.set(s, kp);
    validators.set(s, kp.publicKey);
  }
  return { genesis: { networkId, depth, epochMs, genesisTime: 0, allocations: [], validators }, keys };
}

/** A deterministic synthetic snapshot of `shard` at `epoch`; `salt` varies its roots. */
export function makeSnapshot(net: TestNet, shard: ShardId, epoch: number, salt = 0): Snapshot {
  const h = (tag: string) => taggedHash('test-' + tag, new TextEncoder().encode(`${shard}/${epoch}/${salt}`));
  const idx = parseInt(shard || '0', 3);
  return {
    network: net.genesis.networkId, shard, epoch,
    stateRoot: h('state'), txRoot: h('tx'), outboxRoot: h('outbox'),
    txCount: BigInt(10 + idx + epoch), supply: BigInt(1_000_000 + idx * 1000 - epoch), outflow: BigInt(idx + epoch),
    inflow: BigInt(epoch), fees: BigInt(idx),
    totalOutflow: BigInt((idx + epoch) * (epoch + 1)), totalInflow: BigInt(epoch * (epoch + 1)), totalFees: BigInt(idx * (epoch + 1)),
    lamport: BigInt(epoch + 1),
    vectorClock: new Array(3 ** net.genesis.depth).fill(epoch), hlc: BigInt(epoch) << 16n,
    prevSnapshotHash: new Uint8Array(32),
  };
}

export function makeSignedSnapshot(net: TestNet, shard: ShardId, epoch: number, salt = 0): SignedSnapshot {
  return signSnapshot(makeSnapshot(net, shard, epoch, salt), net.keys.get(shard)!.secretKey);
}

/**
 * The aggregates of every triad of an epoch, bottom-up, by the pure rule (what the network must
 * agree on): `snaps` maps each shard to its snapshot or null (missing: carried), `prev` holds each
 * triad's previous aggregate and is updated.
 */
export function expectedAggregates(net: TestNet, epoch: number, snaps: Map<ShardId, Snapshot | null>, prev: Map<string, TriadAggregate>): Map<string, TriadAggregate> {
  const depth = net.genesis.depth;
  const out = new Map<string, TriadAggregate>();
  for (let level = depth - 1; level >= 0; level--) {
    for (const p of level === 0 ? [''] : allShards(level) as string[]) {
      const path = p as TriadPath;
      const kids = [0, 1, 2].map((i): ChildInput | null => {
        const c = path + String(i);
        if (c.length === depth) {
          const s = snaps.get(c as ShardId);
          return s ? { kind: 'snapshot', snapshot: s } : null;
        }
        const a = out.get(c);
        return a ? { kind: 'aggregate', aggregate: a } : null;
      }) as [ChildInput | null, ChildInput | null, ChildInput | null];
      const agg = computeAggregate({ network: net.genesis.networkId, path, epoch, children: kids, prev: prev.get(path) ?? null });
      out.set(path, agg);
      prev.set(path, agg);
    }
  }
  return out;
}
