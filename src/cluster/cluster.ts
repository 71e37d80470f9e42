// `smt cluster up|down|status|logs`: a whole local network as child processes on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadGenesis, replicaKeys } from '../core/genesis.js';
import { makeLayout, parseLayout, processName, replicasOf, type ClusterLayout, type ShardProcessLayout } from './layout.js';
import { findWriter } from './discover.js';
import { StartPacer } from './start-pacer.js';
import { allShards } from '../core/ids.js';
import { circuitsBuilt } from '../proof/artifacts.js';
import { apiUrl, getJson, isAlive, portFree, proverPid, proverUrlOf, readPid, SMT_BIN, sleep, startProver, startShard, stopProver, stopShard, tailLog } from './supervisor.js';

export class ClusterError extends Error {
  override name = 'ClusterError';
}

export interface UpOptions {
  network: string;
  depth: number;
  accounts: number;
  epochMs: number;
  /** Genesis time of a newly created devnet: this many seconds after its creation (default 0). */
  genesisDelayS?: number;
  /** Replicas per shard of a newly created devnet (default 1); an existing network's genesis decides. */
  replicas?: number;
  apiBasePort?: number;
  p2pBasePort?: number;
  timeoutMs: number;
  /** At most this many shard processes starting at once (spawned, API not answering yet); 0 = all at once. */
  startConcurrency?: number;
  waitGlobal: boolean;
  print: (line: string) => void;
}

export function layoutPath(netDir: string): string {
  return join(netDir, 'cluster.json');
}

export function loadLayout(netDir: string): ClusterLayout {
  const p = layoutPath(netDir);
  if (!existsSync(p)) throw new ClusterError(`no cluster at ${netDir} (missing cluster.json): run \`smt cluster up --network ${netDir}\` first`);
  return parseLayout(JSON.parse(readFileSync(p, 'utf8')));
}

interface Health {
  ok?: boolean;
  live?: boolean;
  reasons?: string[];
  epoch?: number;
  peers?: number;
  tps?: number;
  globalEpoch?: number | null;
  /** A replicated shard's replica (docs/REPLICAS.md). */
  replica?: { role?: string; term?: string; writer?: number | null; lag?: number; committed?: number };
}

export async function clusterUp(o: UpOptions): Promise<ClusterLayout> {
  const netDir = resolve(o.network);
  if (!existsSync(join(netDir, 'genesis.json'))) {
    const replicas = o.replicas ?? 1;
    o.print(`creating a depth-${o.depth} devnet (${3 ** o.depth} shards${replicas > 1 ? ` x ${replicas} replicas` : ''}) in ${netDir}`);
    execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--depth', String(o.depth), '--dir', netDir, '--accounts', String(o.accounts), '--epoch-ms', String(o.epochMs), ...(o.genesisDelayS ? ['--genesis-delay', String(o.genesisDelayS)] : []), ...(replicas > 1 ? ['--replicas', String(replicas)] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const genesis = loadGenesis(join(netDir, 'genesis.json'));
  // every shard of a cluster has the same number of replicas (network init --replicas)
  const replicas = Math.max(...allShards(genesis.depth).map((s) => replicaKeys(genesis, s).length));
  if (o.replicas !== undefined && o.replicas !== replicas) throw new ClusterError(`--replicas ${o.replicas}, but the network at ${netDir} has ${replicas} replica(s) per shard in its genesis (--replicas applies to a newly created devnet)`);
  let layout: ClusterLayout;
  if (existsSync(layoutPath(netDir)) && o.apiBasePort === undefined && o.p2pBasePort === undefined) {
    layout = loadLayout(netDir);
  } else {
    layout = makeLayout(genesis.depth, { apiBasePort: o.apiBasePort, p2pBasePort: o.p2pBasePort, replicas });
    writeFileSync(layoutPath(netDir), JSON.stringify(layout, null, 2) + '\n');
  }
  for (const s of allShards(genesis.depth)) {
    const have = replicasOf(layout, s).length;
    if (have !== replicaKeys(genesis, s).length) throw new ClusterError(`cluster.json lists ${have} process(es) for shard ${s || 'root'} but its genesis has ${replicaKeys(genesis, s).length} replica(s)`);
  }
  if (layout.shards.length !== 3 ** genesis.depth * replicas) throw new ClusterError(`cluster.json lists ${layout.shards.length} processes but genesis has ${3 ** genesis.depth} shards x ${replicas} replicas`);

  // Part of the cluster stopped (a process killed or crashed): start only those, as an operator
  // restarting one node would; the running ones and their prover service are left alone.
  const running = layout.shards.filter((s) => isAlive(readPid(netDir, s)));
  if (running.length === layout.shards.length) throw new ClusterError(`cluster already running (${running.length} shard processes): \`smt cluster down --network ${o.network}\` first`);
  const partial = running.length > 0;
  const toStart = layout.shards.filter((s) => !running.includes(s));
  for (const s of toStart) {
    for (const port of [s.apiPort, s.p2pPort]) {
      if (!(await portFree(s.apiHost, port))) throw new ClusterError(`port ${s.apiHost}:${port} (shard ${s.shard || 'root'}) is in use: stop what holds it or pass --api-base-port/--p2p-base-port`);
    }
  }

  // One bounded prover pool for all the nodes of this machine (docs/PROOFS.md §3), started first so
  // every node is given its URL; without circuits, or with proving off, the nodes make no proofs.
  if (genesis.depth > 0 && process.env.SMT_NO_PROVE !== '1' && circuitsBuilt() && !(partial && isAlive(proverPid(netDir)))) {
    if (isAlive(proverPid(netDir))) await stopProver(netDir, 5000);
    try {
      const url = await startProver(netDir);
      o.print(`prover service (one pool for all shards) at ${url}`);
    } catch (e) {
      o.print(`prover service did not start (${(e as Error).message}): each node proves with its own prover`);
    }
  }
  if (partial) o.print(`${running.length} of ${layout.shards.length} shard processes already running: starting the stopped ones (${toStart.map(processName).join(', ')})`);
  else o.print(`starting ${layout.shards.length} shard processes (network ${genesis.networkId}, epoch ${genesis.epochMs} ms${replicas > 1 ? `, ${replicas} replicas per shard` : ''})`);
  const pacer = new StartPacer(toStart, o.startConcurrency ?? 0);
  if (pacer.notStarted > 0 && (o.startConcurrency ?? 0) > 0 && o.startConcurrency! < toStart.length) o.print(`  at most ${o.startConcurrency} starting at once (a process is starting until its API answers)`);
  const spawned = new Set<string>();
  const answered = new Set<string>(running.map(processName));

  const deadline = Date.now() + o.timeoutMs;
  const healthy = new Set<string>(running.map(processName));
  // a failed start stops what this call started (all of a cluster started from nothing)
  const giveUp = async (): Promise<void> => {
    if (partial) await Promise.all(toStart.map((s) => stopShard(netDir, s, 5000)));
    else await clusterDown(netDir, 5000, () => {});
  };
  // 27 processes starting on 2 cores answer slowly: poll them less often than a few
  const pollMs = Math.min(1000, Math.max(250, 40 * layout.shards.length));
  let last = '';
  while (healthy.size < layout.shards.length) {
    for (const s of pacer.next((x) => answered.has(processName(x)))) {
      startShard(netDir, layout, s);
      spawned.add(processName(s));
    }
    const waiting = layout.shards.filter((s) => !healthy.has(processName(s)) && (spawned.has(processName(s)) || answered.has(processName(s))));
    const dead = waiting.find((s) => !isAlive(readPid(netDir, s)));
    if (dead) {
      const tail = tailLog(netDir, dead); // before the others are stopped: their shutdown is not the cause
      await giveUp();
      throw new ClusterError(`shard ${processName(dead)} exited during start; last log lines:\n${tail}`);
    }
    // all at once, with time to answer: one slow answer must not cost the others a round
    await Promise.all(waiting.map(async (s) => {
      const h = (await getJson(`${apiUrl(s)}/v1/health`, 3000)) as Health | undefined;
      if (h) answered.add(processName(s)); // answering (ready or not): its start-up is done
      if (h?.ok) healthy.add(processName(s));
    }));
    const line = pacer.notStarted > 0 || answered.size < layout.shards.length
      ? `  healthy: ${healthy.size}/${layout.shards.length} (answering ${answered.size}, not started yet ${pacer.notStarted})`
      : `  healthy: ${healthy.size}/${layout.shards.length}`;
    if (line !== last) {
      o.print(line);
      last = line;
    }
    if (healthy.size === layout.shards.length) break;
    if (Date.now() > deadline) {
      const bad = layout.shards.filter((s) => !healthy.has(processName(s)));
      const tail = tailLog(netDir, bad[0]!);
      await giveUp();
      throw new ClusterError(`timed out waiting for shards ${bad.map(processName).join(', ')} to become healthy; last log lines of ${processName(bad[0]!)}:\n${tail}`);
    }
    await sleep(pollMs);
  }

  if (o.waitGlobal && genesis.depth > 0) {
    o.print('  waiting for the first final global snapshot...');
    for (;;) {
      const g = (await getJson(`${apiUrl(layout.shards[0]!)}/v1/global/latest`, 3000)) as { epoch?: number; root?: string } | undefined;
      if (g && g.epoch !== undefined) {
        o.print(`  global snapshot final: epoch ${g.epoch}, root ${g.root}`);
        break;
      }
      if (Date.now() > deadline) throw new ClusterError('timed out waiting for the first final global snapshot (the shards are up: see `smt cluster logs SHARD`)');
      await sleep(250);
    }
  }
  return layout;
}

export async function clusterDown(network: string, graceMs: number, print: (l: string) => void): Promise<void> {
  const netDir = resolve(network);
  const layout = loadLayout(netDir);
  const results = await Promise.all(layout.shards.map(async (s) => [s, await stopShard(netDir, s, graceMs)] as const));
  for (const [s, how] of results) print(`  shard ${processName(s)}: ${how}`);
  const prover = await stopProver(netDir, graceMs);
  if (prover !== 'not-running') print(`  prover service: ${prover}`);
}

export interface ShardStatus {
  shard: string;
  /** A replicated shard's replica index. */
  replica?: number;
  pid: number | undefined;
  alive: boolean;
  api: string;
  health: Health | undefined;
  /** The node's newest global proof and how old it is (/v1/proof/status), when it runs the proving layer. */
  proof?: { latestGlobalProofEpoch: number; ageEpochs: number | null; ageSeconds: number | null; every?: number; cadence?: string };
}

interface ProofStatusJson {
  freshness?: { latestGlobalProofEpoch: number; ageEpochs: number | null; ageSeconds: number | null };
  cadence?: { every: number; source: string };
}

export async function clusterStatus(network: string): Promise<ShardStatus[]> {
  const netDir = resolve(network);
  const layout = loadLayout(netDir);
  return Promise.all(
    layout.shards.map(async (s) => {
      const pid = readPid(netDir, s);
      const alive = isAlive(pid);
      const health = alive ? ((await getJson(`${apiUrl(s)}/v1/health`, 1500)) as Health | undefined) : undefined;
      const ps = alive && health ? ((await getJson(`${apiUrl(s)}/v1/proof/status`, 1500)) as ProofStatusJson | undefined) : undefined;
      const proof = ps?.freshness ? { ...ps.freshness, every: ps.cadence?.every, cadence: ps.cadence?.source } : undefined;
      return { shard: s.shard, ...(s.replica !== undefined ? { replica: s.replica } : {}), pid, alive, api: apiUrl(s), health, ...(proof ? { proof } : {}) };
    }),
  );
}

/** The cluster's prover service: its pid and URL when running. */
export function clusterProver(network: string): { pid: number | undefined; url: string | undefined } {
  const netDir = resolve(network);
  return { pid: proverPid(netDir), url: proverUrlOf(netDir) };
}

/** Shard id -> API base URL (replica 0's for a replicated shard) from the network dir's cluster.json; undefined if there is none (or it is unreadable). */
export function clusterApiUrls(network: string): Map<string, string> | undefined {
  const all = clusterReplicaUrls(network);
  return all && new Map([...all].map(([s, urls]) => [s, urls[0]!]));
}

/** Shard id -> every replica's API base URL, in replica order (one for a single-replica shard); undefined without a readable cluster.json. */
export function clusterReplicaUrls(network: string): Map<string, string[]> | undefined {
  try {
    const layout = loadLayout(resolve(network));
    const out = new Map<string, string[]>();
    for (const s of layout.shards) if (!out.has(s.shard)) out.set(s.shard, replicasOf(layout, s.shard).map(apiUrl));
    return out;
  } catch {
    return undefined;
  }
}

/**
 * The API URL to use for `shard` from cluster.json: a single-replica shard's node, or a replicated
 * shard's current writer (asked of its replicas, docs/REPLICAS.md), else any replica that answers.
 */
export async function clusterNodeUrl(network: string, shard: string): Promise<string | undefined> {
  const urls = clusterReplicaUrls(network)?.get(shard);
  if (!urls || urls.length === 0) return undefined;
  return (await findWriter(urls)) ?? urls[0];
}

export function shardLayout(network: string, shard: string): ShardProcessLayout {
  const layout = loadLayout(resolve(network));
  // "01" is replica 0 of shard 01, "01.r2" its replica 2
  const s = layout.shards.find((x) => processName(x) === shard || x.shard === shard || (shard === 'root' && x.shard === ''));
  if (!s) throw new ClusterError(`no shard ${JSON.stringify(shard)} in this cluster; shards: ${layout.shards.map(processName).join(', ')}`);
  return s;
}

/** Funded test accounts written by `network init`: file name and address. */
export function testAccounts(network: string): Array<{ file: string; address: string }> {
  const dir = join(resolve(network), 'accounts');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.key'))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    .map((f) => {
      try {
        const j = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { address?: string };
        return { file: join(dir, f), address: j.address ?? '?' };
      } catch {
        return { file: join(dir, f), address: '?' };
      }
    });
}
