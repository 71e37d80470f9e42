// docker-compose for the same network `smt cluster up` runs: one service per shard, generated from the
// same shard list (pure). Each node container sees only genesis.json and its own validator key, never
// accounts/ or another shard's key, and runs as an unprivileged user with a read-only root filesystem
// and no capabilities. A key file is 0600 and owned by whoever ran `smt network init`, which such a
// user cannot read from a bind mount, so a one-shot `shard-XX-key` service (no network, exits at once)
// copies that one key into the shard's own volume, owned by the node user. API ports are published on
// 127.0.0.1 only. Profile `monitoring` adds Prometheus and Grafana (monitoring/).
import { allShards, type ShardId } from '../core/ids.js';
import { DEFAULT_API_BASE_PORT, DEFAULT_P2P_BASE_PORT, shardDirName } from './layout.js';
import { PROMETHEUS_PORT, GRAFANA_PORT } from './prometheus.js';

export const CONTAINER_API_PORT = DEFAULT_API_BASE_PORT;
export const CONTAINER_P2P_PORT = DEFAULT_P2P_BASE_PORT;
/** The unprivileged user the node runs as (the Dockerfile makes /data its own). */
export const NODE_UID = 10001;
export const DEFAULT_IMAGE = 'smt-node:local';
/** Images for the monitoring profile, pinned (pulled from the public registry by users who have it). */
export const PROMETHEUS_IMAGE = 'prom/prometheus:v2.53.2';
export const GRAFANA_IMAGE = 'grafana/grafana:11.2.0';

/**
 * How deployment YAML is written: YAML 1.1 quoting, because docker-compose v1 (PyYAML) and the Go
 * YAML of Kubernetes and Prometheus read 1.1, where an unquoted `no` is false and `1:30` a number.
 */
export const YAML_OPTS = { lineWidth: 0, version: '1.1' } as const;

export class ComposeError extends Error {
  override name = 'ComposeError';
}

export function serviceName(shard: ShardId): string {
  return `shard-${shardDirName(shard)}`;
}

export function keyServiceName(shard: ShardId): string {
  return `${serviceName(shard)}-key`;
}

/** The key file name `smt network init` writes for a shard (validators/<shard>.key). */
export function keyFileName(shard: ShardId): string {
  return `${shardDirName(shard)}.key`;
}

/** Every other shard's p2p address by its service (DNS) name: the peers a shard keeps connected. */
export function composePeers(shard: ShardId, depth: number, host: (s: ShardId) => string = serviceName): string[] {
  return allShards(depth)
    .filter((s) => s !== shard)
    .map((s) => `/dns4/${host(s)}/tcp/${CONTAINER_P2P_PORT}`);
}

/** `smt node start` arguments of a shard in a container (compose service or Kubernetes pod): network at /net, data at /data. */
export function containerNodeArgs(shard: ShardId, depth: number, host: (s: ShardId) => string = serviceName): string[] {
  return [
    'node', 'start',
    '--network', '/net',
    '--shard', shard,
    '--data', '/data',
    '--api', `0.0.0.0:${CONTAINER_API_PORT}`,
    '--p2p', `0.0.0.0:${CONTAINER_P2P_PORT}`,
    '--peers', composePeers(shard, depth, host).join(','),
  ];
}

export function composeCommand(shard: ShardId, depth: number, host: (s: ShardId) => string = serviceName, apiBase?: number): string[] {
  // all shards of a compose devnet share one machine's cores, as in `smt cluster up`
  const args = [...containerNodeArgs(shard, depth, host), '--verify-workers', '1'];
  // the explorer page (opened on the host) asks each shard's node at its published port
  if (apiBase !== undefined) args.push('--explorer-nodes', allShards(depth).map((s, i) => `${s}=http://127.0.0.1:${apiBase + i}`).join(','));
  return args;
}

/**
 * Ready = the API answers, the shard has sealed an epoch, and it has at least one libp2p peer
 * (deploy/docker/healthcheck.sh, in the image as smt-healthcheck: plain bash, no Node start per probe).
 */
export const HEALTHCHECK_CMD = ['smt-healthcheck', String(CONTAINER_API_PORT)];

export interface ComposeOptions {
  depth: number;
  /** The network directory made by `smt network init`, relative to the compose file. */
  netDir?: string;
  /** First published API port (shard i on base + i), or 'ephemeral' to let Docker pick free ports. */
  apiPorts?: number | 'ephemeral';
  image?: string;
  /** Add `build: .` so `docker compose up --build` builds the image from this checkout. */
  build?: boolean;
  /** Add the `monitoring` profile (Prometheus and Grafana). */
  monitoring?: boolean;
}

export interface ComposeFile {
  services: Record<string, Record<string, unknown>>;
  volumes: Record<string, null>;
}

export function composeFor(o: ComposeOptions): ComposeFile {
  if (!Number.isInteger(o.depth) || o.depth < 1) throw new ComposeError('compose needs a network of depth >= 1 (shards talk over libp2p)');
  const netDir = o.netDir ?? './devnet';
  const image = o.image ?? DEFAULT_IMAGE;
  const apiPorts = o.apiPorts ?? DEFAULT_API_BASE_PORT;
  const services: Record<string, Record<string, unknown>> = {};
  const volumes: Record<string, null> = {};
  const shards = allShards(o.depth);
  shards.forEach((shard, i) => {
    const name = shardDirName(shard);
    const data = `data-${name}`;
    const key = `key-${name}`;
    volumes[data] = null;
    volumes[key] = null;
    services[keyServiceName(shard)] = {
      // it starts first, so it too can build the image (docker-compose v1 would try to pull it)
      ...(o.build ? { build: '.' } : {}),
      image,
      // root only to read a 0600 file of any owner and hand it to the node user; nothing else.
      user: '0:0',
      entrypoint: ['install', '-o', String(NODE_UID), '-g', String(NODE_UID), '-m', '0400', `/in/${keyFileName(shard)}`, `/out/${keyFileName(shard)}`],
      network_mode: 'none',
      cap_drop: ['ALL'],
      cap_add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'],
      security_opt: ['no-new-privileges:true'],
      read_only: true,
      volumes: [`${netDir}/validators/${keyFileName(shard)}:/in/${keyFileName(shard)}:ro`, `${key}:/out`],
    };
    services[serviceName(shard)] = {
      ...(o.build ? { build: '.' } : {}),
      image,
      user: `${NODE_UID}:${NODE_UID}`,
      command: composeCommand(shard, o.depth, serviceName, apiPorts === 'ephemeral' ? undefined : apiPorts),
      volumes: [`${netDir}/genesis.json:/net/genesis.json:ro`, `${key}:/net/validators:ro`, `${data}:/data`],
      ports: [apiPorts === 'ephemeral' ? `127.0.0.1::${CONTAINER_API_PORT}` : `127.0.0.1:${apiPorts + i}:${CONTAINER_API_PORT}`],
      depends_on: { [keyServiceName(shard)]: { condition: 'service_completed_successfully' } },
      healthcheck: {
        test: ['CMD', ...HEALTHCHECK_CMD],
        interval: '10s',
        timeout: '10s', // generous: on a loaded host even the exec into the container takes seconds
        retries: 6,
        start_period: '60s',
      },
      read_only: true,
      tmpfs: ['/tmp'],
      cap_drop: ['ALL'],
      security_opt: ['no-new-privileges:true'],
      restart: 'unless-stopped',
      stop_grace_period: '15s',
      logging: { driver: 'json-file', options: { 'max-size': '20m', 'max-file': '3' } },
    };
  });
  if (o.monitoring) {
    volumes['prometheus-data'] = null;
    volumes['grafana-data'] = null;
    services['prometheus'] = {
      image: PROMETHEUS_IMAGE,
      profiles: ['monitoring'],
      user: '65534:65534', // nobody, as the image itself runs it
      command: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus', '--storage.tsdb.retention.time=7d'],
      volumes: ['./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro', 'prometheus-data:/prometheus'],
      ports: [`127.0.0.1:${PROMETHEUS_PORT}:${PROMETHEUS_PORT}`],
      // scrape targets exist once the nodes are ready (Prometheus would otherwise log them as down)
      depends_on: Object.fromEntries(shards.map((s) => [serviceName(s), { condition: 'service_healthy' }])),
      healthcheck: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`], interval: '5s', timeout: '4s', retries: 12 },
      restart: 'unless-stopped',
    };
    services['grafana'] = {
      image: GRAFANA_IMAGE,
      profiles: ['monitoring'],
      user: '472:472', // the image's grafana user
      environment: {
        GF_AUTH_ANONYMOUS_ENABLED: 'true',
        GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
        GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: '/etc/grafana/dashboards/smt.json',
      },
      volumes: [
        './monitoring/grafana/provisioning:/etc/grafana/provisioning:ro',
        './monitoring/grafana/dashboards:/etc/grafana/dashboards:ro',
        'grafana-data:/var/lib/grafana',
      ],
      ports: [`127.0.0.1:${GRAFANA_PORT}:${GRAFANA_PORT}`],
      depends_on: { prometheus: { condition: 'service_healthy' } },
      healthcheck: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${GRAFANA_PORT}/api/health`], interval: '5s', timeout: '4s', retries: 12 },
      restart: 'unless-stopped',
    };
  }
  return { services, volumes };
}

/** The committed docker-compose.yml: the 9-shard devnet, built from this checkout, with the monitoring profile. */
export function defaultCompose(): ComposeFile {
  return composeFor({ depth: 2, build: true, monitoring: true });
}
