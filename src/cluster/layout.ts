// The local cluster's layout (pure): which ports and directories each shard process uses. Written to
// <network>/cluster.json so `cluster up`, `status`, `down` and docker-compose agree on one layout.
import { allShards, type ShardId } from '../core/ids.js';

export const DEFAULT_API_BASE_PORT = 7700;
export const DEFAULT_P2P_BASE_PORT = 7800;

export interface ShardProcessLayout {
  shard: ShardId;
  apiHost: string;
  apiPort: number;
  p2pHost: string;
  p2pPort: number;
  dataDir: string; // relative to the network dir
  logFile: string; // relative to the network dir
  pidFile: string; // relative to the network dir
}

export interface ClusterLayout {
  version: 1;
  shards: ShardProcessLayout[];
}

export class LayoutError extends Error {
  override name = 'LayoutError';
}

/** Directory names cannot be empty: the single shard of a depth-0 network is called "root" on disk. */
export function shardDirName(shard: ShardId): string {
  return shard === '' ? 'root' : shard;
}

export function makeLayout(depth: number, opts: { host?: string; apiBasePort?: number; p2pBasePort?: number } = {}): ClusterLayout {
  const host = opts.host ?? '127.0.0.1';
  const apiBase = opts.apiBasePort ?? DEFAULT_API_BASE_PORT;
  const p2pBase = opts.p2pBasePort ?? DEFAULT_P2P_BASE_PORT;
  const shards = allShards(depth);
  if (apiBase + shards.length > 65535 || p2pBase + shards.length > 65535) throw new LayoutError('port range exceeds 65535');
  const overlap = apiBase < p2pBase + shards.length && p2pBase < apiBase + shards.length;
  if (overlap) throw new LayoutError(`API ports ${apiBase}+ and p2p ports ${p2pBase}+ overlap for ${shards.length} shards`);
  return {
    version: 1,
    shards: shards.map((shard, i) => ({
      shard,
      apiHost: host,
      apiPort: apiBase + i,
      p2pHost: host,
      p2pPort: p2pBase + i,
      dataDir: `data/${shardDirName(shard)}`,
      logFile: `logs/${shardDirName(shard)}.log`,
      pidFile: `run/${shardDirName(shard)}.pid`,
    })),
  };
}

/** Multiaddrs of every other shard's p2p listener: the peers a shard dials at start. */
export function peersOf(layout: ClusterLayout, shard: ShardId): string[] {
  return layout.shards.filter((s) => s.shard !== shard).map((s) => `/ip4/${s.p2pHost}/tcp/${s.p2pPort}`);
}

export function parseLayout(json: unknown): ClusterLayout {
  const j = json as ClusterLayout;
  if (!j || j.version !== 1 || !Array.isArray(j.shards)) throw new LayoutError('cluster.json: not a version 1 cluster layout');
  for (const s of j.shards) {
    if (typeof s.shard !== 'string' || !/^[012]*$/.test(s.shard)) throw new LayoutError(`cluster.json: bad shard id ${JSON.stringify(s.shard)}`);
    for (const k of ['apiPort', 'p2pPort'] as const) {
      if (!Number.isInteger(s[k]) || s[k] < 0 || s[k] > 65535) throw new LayoutError(`cluster.json: shard ${s.shard}: bad ${k}`);
    }
  }
  return j;
}
