// The local cluster's layout (pure): which ports and directories each shard process uses. Written to
// <network>/cluster.json so `cluster up`, `status`, `down` and docker-compose agree on one layout.
import { allShards, type ShardId } from '../core/ids.js';

export const DEFAULT_API_BASE_PORT = 7700;
export const DEFAULT_P2P_BASE_PORT = 7800;

export interface ShardProcessLayout {
  shard: ShardId;
  /** A replicated shard's replica index (docs/REPLICAS.md); absent for a single-replica shard. */
  replica?: number;
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

/** A process's name on disk: the shard's, with `.rN` for replica N >= 1 of a replicated shard. */
export function processName(s: { shard: string; replica?: number }): string {
  return (s.shard === '' ? 'root' : s.shard) + (s.replica ? `.r${s.replica}` : '');
}

/**
 * One process per shard, or with `replicas` > 1 one per replica of every shard: replica 0 of every
 * shard first (the ports a single-replica layout uses), then replica 1 of every shard, and so on.
 */
export function makeLayout(depth: number, opts: { host?: string; apiBasePort?: number; p2pBasePort?: number; replicas?: number } = {}): ClusterLayout {
  const host = opts.host ?? '127.0.0.1';
  const apiBase = opts.apiBasePort ?? DEFAULT_API_BASE_PORT;
  const p2pBase = opts.p2pBasePort ?? DEFAULT_P2P_BASE_PORT;
  const replicas = opts.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 7) throw new LayoutError(`replicas must be 1..7, got ${replicas}`);
  const shards = allShards(depth);
  const n = shards.length * replicas;
  if (apiBase + n > 65535 || p2pBase + n > 65535) throw new LayoutError('port range exceeds 65535');
  const overlap = apiBase < p2pBase + n && p2pBase < apiBase + n;
  if (overlap) throw new LayoutError(`API ports ${apiBase}+ and p2p ports ${p2pBase}+ overlap for ${n} processes`);
  const out: ShardProcessLayout[] = [];
  for (let r = 0; r < replicas; r++) {
    shards.forEach((shard, i) => {
      const k = r * shards.length + i;
      const name = processName({ shard, ...(replicas > 1 ? { replica: r } : {}) });
      out.push({
        shard,
        ...(replicas > 1 ? { replica: r } : {}),
        apiHost: host,
        apiPort: apiBase + k,
        p2pHost: host,
        p2pPort: p2pBase + k,
        dataDir: `data/${name}`,
        logFile: `logs/${name}.log`,
        pidFile: `run/${name}.pid`,
      });
    });
  }
  return { version: 1, shards: out };
}

/**
 * Multiaddrs of every other process's p2p listener: the peers a shard (replica) dials at start. With
 * `peerIdOf` (the genesis binds each validator key to a peer id), each ends in /p2p/<id>, so a node
 * knows a peer that dialled it first is the one it would dial, and does not open a second connection.
 */
export function peersOf(layout: ClusterLayout, shard: ShardId, replica?: number, peerIdOf?: (s: ShardProcessLayout) => string | undefined): string[] {
  return layout.shards.filter((s) => s.shard !== shard || (replica !== undefined && (s.replica ?? 0) !== replica)).map((s) => {
    const id = peerIdOf?.(s);
    return `/ip4/${s.p2pHost}/tcp/${s.p2pPort}${id ? `/p2p/${id}` : ''}`;
  });
}

/** The processes of `shard`, in replica order (one for a single-replica shard). */
export function replicasOf(layout: ClusterLayout, shard: ShardId): ShardProcessLayout[] {
  return layout.shards.filter((s) => s.shard === shard).sort((a, b) => (a.replica ?? 0) - (b.replica ?? 0));
}

export function parseLayout(json: unknown): ClusterLayout {
  const j = json as ClusterLayout;
  if (!j || j.version !== 1 || !Array.isArray(j.shards)) throw new LayoutError('cluster.json: not a version 1 cluster layout');
  for (const s of j.shards) {
    if (typeof s.shard !== 'string' || !/^[012]*$/.test(s.shard)) throw new LayoutError(`cluster.json: bad shard id ${JSON.stringify(s.shard)}`);
    if (s.replica !== undefined && (!Number.isInteger(s.replica) || s.replica < 0 || s.replica > 6)) throw new LayoutError(`cluster.json: shard ${s.shard}: bad replica ${JSON.stringify(s.replica)}`);
    for (const k of ['apiPort', 'p2pPort'] as const) {
      if (!Number.isInteger(s[k]) || s[k] < 0 || s[k] > 65535) throw new LayoutError(`cluster.json: shard ${s.shard}: bad ${k}`);
    }
  }
  return j;
}
