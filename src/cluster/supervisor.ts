// Runs a local cluster as child processes: one `smt node start` per shard, detached, each with its
// own data dir, log file and pid file under the network dir, so `cluster down/status/logs` can find
// them from another shell.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peersOf, replicasOf, type ClusterLayout, type ShardProcessLayout } from './layout.js';
import { loadGenesis } from '../core/genesis.js';
import { validatorPeers } from '../gossip/identity.js';
import { niceSessionOf } from '../core/cpu-priority.js';
import { PROVER_NICE } from '../proof/prover.js';

export const SMT_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/smt.mjs');

export function readPid(netDir: string, s: ShardProcessLayout): number | undefined {
  const f = join(netDir, s.pidFile);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Each process's libp2p peer id (its validator key's, from the genesis), if the genesis is readable. */
function peerIdsOf(netDir: string): ((s: ShardProcessLayout) => string | undefined) | undefined {
  let ids: ReadonlyMap<string, readonly string[]>;
  try {
    ids = validatorPeers(loadGenesis(join(netDir, 'genesis.json'))).replicasOf;
  } catch {
    return undefined;
  }
  return (s) => ids.get(s.shard)?.[s.replica ?? 0];
}

/**
 * Node/V8 flags for every node process of a local cluster, from SMT_CLUSTER_NODE_FLAGS
 * (space-separated; none by default): how such flags are measured under load (docs/NETWORK.md).
 */
export function clusterNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.SMT_CLUSTER_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
}

export function nodeArgs(netDir: string, layout: ClusterLayout, s: ShardProcessLayout): string[] {
  const prover = proverUrlOf(netDir);
  // a replica of a replicated shard: its index and every replica's API, in replica order
  const replica = s.replica === undefined ? [] : ['--replica', String(s.replica), '--replica-urls', replicasOf(layout, s.shard).map(apiUrl).join(',')];
  return [
    ...clusterNodeFlags(),
    SMT_BIN, 'node', 'start',
    '--network', netDir,
    '--shard', s.shard,
    '--data', join(netDir, s.dataDir),
    '--api', `${s.apiHost}:${s.apiPort}`,
    // a one-shard network (depth 0) has no one to gossip with
    ...(s.shard === '' ? [] : ['--p2p', `${s.p2pHost}:${s.p2pPort}`, '--peers', peersOf(layout, s.shard, s.replica, peerIdsOf(netDir)).join(',')]),
    ...replica,
    // every shard of a local cluster shares this machine's cores: one verifier thread each
    '--verify-workers', '1',
    // the machine's shared prover pool, when the cluster runs one (startProver)
    ...(prover ? ['--prover-url', prover] : []),
  ];
}

/** Where the cluster's prover service keeps its pid, port and log, relative to the network dir. */
export const PROVER_FILES = { pid: 'run/prover.pid', port: 'run/prover.port', log: 'logs/prover.log' };

/** The URL of the cluster's running prover service, if there is one. */
export function proverUrlOf(netDir: string): string | undefined {
  const pidF = join(netDir, PROVER_FILES.pid);
  const portF = join(netDir, PROVER_FILES.port);
  if (!existsSync(pidF) || !existsSync(portF)) return undefined;
  const pid = Number(readFileSync(pidF, 'utf8').trim());
  const port = Number(readFileSync(portF, 'utf8').trim());
  if (!isAlive(pid) || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return `http://127.0.0.1:${port}`;
}

export function proverPid(netDir: string): number | undefined {
  const f = join(netDir, PROVER_FILES.pid);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Starts the cluster's prover service (`smt prover serve`, one bounded pool for all its nodes),
 * detached like the shards, and resolves with its URL once it listens.
 */
export async function startProver(netDir: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<string> {
  for (const d of [dirname(PROVER_FILES.pid), dirname(PROVER_FILES.log)]) mkdirSync(join(netDir, d), { recursive: true });
  rmSync(join(netDir, PROVER_FILES.port), { force: true });
  const log = openSync(join(netDir, PROVER_FILES.log), 'a');
  let pid: number;
  try {
    const child = spawn(process.execPath, [SMT_BIN, 'prover', 'serve', '--network', netDir, '--port-file', join(netDir, PROVER_FILES.port)], { detached: true, stdio: ['ignore', log, log], env });
    if (child.pid === undefined) throw new Error('could not start the prover service');
    pid = child.pid;
    writeFileSync(join(netDir, PROVER_FILES.pid), `${pid}\n`);
    child.unref();
  } finally {
    closeSync(log);
  }
  // Started detached, the service leads its own session, which with Linux autogroups shares the CPU
  // evenly with each node's session whatever its provers' nice: nice the session itself, so proofs
  // take what the nodes leave (the kernel takes one such write per 100 ms: retried while waiting).
  let niced = false;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    niced ||= niceSessionOf(pid, PROVER_NICE);
    const url = proverUrlOf(netDir);
    if (url && (niced || !existsSync('/proc/self/autogroup') || Date.now() > deadline)) return url;
    if (!isAlive(pid)) throw new Error(`the prover service exited during start; see ${join(netDir, PROVER_FILES.log)}`);
    if (Date.now() > deadline) throw new Error(`the prover service did not listen within ${timeoutMs} ms; see ${join(netDir, PROVER_FILES.log)}`);
    await sleep(100);
  }
}

/** Stops the cluster's prover service like stopShard. */
export async function stopProver(netDir: string, graceMs = 10_000): Promise<'stopped' | 'killed' | 'not-running'> {
  return stopPid(netDir, PROVER_FILES.pid, proverPid(netDir), graceMs, [PROVER_FILES.port]);
}

/** Starts one shard process detached from this one, logs appended to its log file. */
export function startShard(netDir: string, layout: ClusterLayout, s: ShardProcessLayout, env: NodeJS.ProcessEnv = process.env): number {
  for (const d of [s.dataDir, dirname(s.logFile), dirname(s.pidFile)]) mkdirSync(join(netDir, d), { recursive: true });
  const log = openSync(join(netDir, s.logFile), 'a');
  try {
    const child = spawn(process.execPath, nodeArgs(netDir, layout, s), { detached: true, stdio: ['ignore', log, log], env });
    if (child.pid === undefined) throw new Error(`could not start shard ${s.shard}`);
    writeFileSync(join(netDir, s.pidFile), `${child.pid}\n`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** SIGTERM (graceful), then SIGKILL after `graceMs`. Resolves once the process is gone. */
export async function stopShard(netDir: string, s: ShardProcessLayout, graceMs = 10_000): Promise<'stopped' | 'killed' | 'not-running'> {
  return stopPid(netDir, s.pidFile, readPid(netDir, s), graceMs);
}

async function stopPid(netDir: string, pidFile: string, pid: number | undefined, graceMs: number, alsoRemove: string[] = []): Promise<'stopped' | 'killed' | 'not-running'> {
  const cleanup = (): void => {
    for (const f of [pidFile, ...alsoRemove]) rmSync(join(netDir, f), { force: true });
  };
  if (!isAlive(pid)) {
    cleanup();
    return 'not-running';
  }
  process.kill(pid!, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) break;
    await sleep(100);
  }
  let how: 'stopped' | 'killed' = 'stopped';
  if (isAlive(pid)) {
    process.kill(pid!, 'SIGKILL');
    how = 'killed';
    while (isAlive(pid)) await sleep(50);
  }
  cleanup();
  return how;
}

export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, host, () => srv.close(() => res(true)));
  });
}

/** Port reservations shared by the processes of this machine (see reservePort). */
const RESERVATIONS = join(tmpdir(), 'smt-port-reservations');
/** A reservation older than this is stale (its owner bound the port long ago, or died). */
const RESERVATION_MS = 10 * 60_000;

/**
 * Claims `port` for this process for a while: a free port is only checked, not held, until its
 * user binds it, so two processes (or two callers in one) searching at once could pick the same
 * one (seen: EADDRINUSE in a 9-node test running beside another test file). A file created with
 * O_EXCL per port makes every claim unique.
 */
function reservePort(port: number): boolean {
  const f = join(RESERVATIONS, String(port));
  try {
    mkdirSync(RESERVATIONS, { recursive: true });
    writeFileSync(f, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    try {
      if (Date.now() - statSync(f).mtimeMs < RESERVATION_MS) return false;
      writeFileSync(f, String(process.pid));
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * API and p2p base ports with `n` free consecutive ports each, for tests and benchmarks that run
 * clusters side by side. Chosen at random below the kernel's ephemeral range (32768+), where other
 * processes' outgoing connections could take a port between this check and the shard's bind, and
 * reserved (reservePort) so that concurrent searches never hand out the same port.
 */
export async function findFreePortBases(n: number, host = '127.0.0.1'): Promise<[api: number, p2p: number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const api = 10_000 + Math.floor(Math.random() * 10_000);
    const p2p = api + 11_000;
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = reservePort(api + i) && reservePort(p2p + i) && (await portFree(host, api + i)) && (await portFree(host, p2p + i));
    if (ok) return [api, p2p];
  }
  throw new Error(`no ${n} free consecutive ports found on ${host} after 50 tries`);
}

export async function getJson(url: string, timeoutMs = 2000): Promise<unknown | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    // 503 carries a body too: /v1/health of a node that is not ready says why
    if (!r.ok && r.status !== 503) return undefined;
    return await r.json();
  } catch {
    return undefined;
  }
}

export function apiUrl(s: ShardProcessLayout): string {
  return `http://${s.apiHost}:${s.apiPort}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The last `n` lines of a shard's log, for error reports. */
export function tailLog(netDir: string, s: ShardProcessLayout, n = 20): string {
  const f = join(netDir, s.logFile);
  if (!existsSync(f)) return '(no log file)';
  const lines = readFileSync(f, 'utf8').trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}
