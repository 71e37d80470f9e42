// docker-compose for the same network `smt cluster up` runs: one service per shard, genesis and keys
// from the network directory mounted read-only, each shard's data in a named volume, API ports
// published on 127.0.0.1 only. Generated from the same layout as the local cluster (pure).
import { allShards, type ShardId } from '../core/ids.js';
import { DEFAULT_API_BASE_PORT, DEFAULT_P2P_BASE_PORT, shardDirName } from './layout.js';

export const CONTAINER_API_PORT = DEFAULT_API_BASE_PORT;
export const CONTAINER_P2P_PORT = DEFAULT_P2P_BASE_PORT;

export function serviceName(shard: ShardId): string {
  return `shard-${shardDirName(shard)}`;
}

export function composeCommand(shard: ShardId, depth: number): string[] {
  const peers = allShards(depth)
    .filter((s) => s !== shard)
    .map((s) => `/dns4/${serviceName(s)}/tcp/${CONTAINER_P2P_PORT}`);
  return [
    'node', 'start',
    '--network', '/net',
    '--shard', shard,
    '--data', '/data',
    '--api', `0.0.0.0:${CONTAINER_API_PORT}`,
    '--p2p', `0.0.0.0:${CONTAINER_P2P_PORT}`,
    '--peers', peers.join(','),
  ];
}

export interface ComposeFile {
  services: Record<string, unknown>;
  volumes: Record<string, null>;
}

export function composeFor(depth: number, netDir = './devnet', apiBasePort = DEFAULT_API_BASE_PORT): ComposeFile {
  const services: Record<string, unknown> = {};
  const volumes: Record<string, null> = {};
  allShards(depth).forEach((shard, i) => {
    const vol = `data-${shardDirName(shard)}`;
    volumes[vol] = null;
    services[serviceName(shard)] = {
      build: '.',
      image: 'smt-node:local',
      command: composeCommand(shard, depth),
      volumes: [`${netDir}:/net:ro`, `${vol}:/data`],
      ports: [`127.0.0.1:${apiBasePort + i}:${CONTAINER_API_PORT}`],
      restart: 'unless-stopped',
      stop_grace_period: '15s',
    };
  });
  return { services, volumes };
}
