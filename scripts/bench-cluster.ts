// Goals (issue #20), each a ratio or bound measured in this one run, printed first and last:
//   - nine shards on this machine commit >= 0.9 x what ONE shard alone commits on it (the same run
//     first brings up a one-shard network the same way, loads it the same way for the same time);
//   - nine idle nodes use <= 0.2 of a core in all (utime + stime from /proc/<pid>/stat over 30 s,
//     measured before any load, after a 20 s warm-up: right after `cluster up` the nodes are still
//     starting (catching up, first proofs, code being compiled), which read 1.5-1.8 cores on a slow start);
//   - seal -> global final p99 <= 1.5 epochs under the nine-shard load.
// `--idle-seconds 0` skips the idle measurement (`--idle-warmup <s>` sets its warm-up), `--no-single` the one-shard run; `--json` submits
// {"txs": [hex, ...]} instead of the compact application/octet-stream batch.
//
// Throughput of a whole 9-shard network on this machine: `smt cluster up` (9 real node processes with
// libp2p gossip and triadic aggregation), pre-signed transfers among funded accounts of every shard,
// submitted in batches through each sender's home shard API, all shards concurrently, for a bounded
// time; then waits until every accepted transfer is committed.
//
//   npm run bench:cluster -- [--accounts 5400] [--per-account 60] [--seconds 25] [--batch 1000] [--inflight 2] [--epoch-ms 1000] [--depth 2] [--api-port P]
//   (or env BENCH_ACCOUNTS, BENCH_PER_ACCOUNT, BENCH_SECONDS, BENCH_BATCH, BENCH_INFLIGHT, BENCH_EPOCH_MS, BENCH_DEPTH, BENCH_API_PORT;
//   --api-port: API ports from P, p2p ports from P + 500, instead of free ones found at random;
//   BENCH_SMT_ROOT=<checkout>: that checkout's nodes, e.g. the code before a change)
//
// Reports: aggregate committed tps (first submission -> last commit) and per shard; seal-to-global-
// final latency p50/p99, (a) from the nodes' smt_global_latency_seconds histograms (this node's
// snapshot published -> the epoch's global snapshot final here; bucket-interpolated, all nodes
// merged) and (b) by polling every node's /v1/health globalEpoch every 100 ms (from the epoch's scheduled seal time
// genesisTime + (e+1) * epochMs to the first poll that shows it; includes the seal itself);
// gossip bytes per node per epoch (envelopes in + out at the application, no libp2p framing);
// global epochs with carried shards; peak RSS per node; seal time and event-loop delay under load;
// where the CPU went while loaded (scripts/proc-cpu.ts): the nodes by thread (us per committed tx),
// context switches, this process (the load generator, counted in both halves alike), the cluster's
// prover service, the rest of the machine; then, nine vs one, node CPU per committed tx beyond
// the one shard's, split into the nine's idle cost and what comes with load. The last line is one
// JSON object.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fromHex, toHex } from '../src/core/bytes.js';
import { loadKeyFile } from '../src/core/keyfile.js';
import { homeShard } from '../src/core/address.js';
import { initNetwork } from '../src/node/network-dir.js';
import { encodeSignedTx, signTransfer } from '../src/shard/tx.js';
import { loadLayout } from '../src/cluster/cluster.js';
import { apiUrl, findFreePortBases, proverPid, readPid, SMT_BIN } from '../src/cluster/supervisor.js';
import { driveLoad, json, teardownCluster, waitCommitted } from './cluster-load.js';
import { machineCpu, sumThreads, threadDelta, threadSample, totalCpu, treeCpu } from './proc-cpu.js';
import { epochTimelines, parseNodeLog, spread, type FinalLine, type SealLine } from './epoch-timeline.js';

const arg = (name: string, env: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : process.env[env] ? Number(process.env[env]) : dflt;
};
// enough pre-signed load for ~25 s at ~12k tps (what 2 shared cores commit); the load stops at --seconds anyway
const ACCOUNTS = arg('accounts', 'BENCH_ACCOUNTS', 5400);
const PER_ACCOUNT = arg('per-account', 'BENCH_PER_ACCOUNT', 60); // <= the mempool's nonce window (64)
const SECONDS = arg('seconds', 'BENCH_SECONDS', 25);
const BATCH = arg('batch', 'BENCH_BATCH', 1000);
const INFLIGHT = arg('inflight', 'BENCH_INFLIGHT', 2);
const EPOCH_MS = arg('epoch-ms', 'BENCH_EPOCH_MS', 1000);
const DEPTH = arg('depth', 'BENCH_DEPTH', 2);
const IDLE_SECONDS = arg('idle-seconds', 'BENCH_IDLE_SECONDS', 30);
const IDLE_WARMUP_SECONDS = arg('idle-warmup', 'BENCH_IDLE_WARMUP', 20);
/** First API port (p2p ports from it + 500); 0 = free ports found at random. */
const API_PORT = arg('api-port', 'BENCH_API_PORT', 0);
const SINGLE = !process.argv.includes('--no-single');
// BENCH_SMT_ROOT=<checkout>: run that checkout's nodes (e.g. the code before a change) under this load and accounting
const SMT = process.env.BENCH_SMT_ROOT ? resolve(process.env.BENCH_SMT_ROOT, 'bin/smt.mjs') : SMT_BIN;
const JSON_FORMAT = process.argv.includes('--json'); // submit {"txs": [hex]} instead of the compact binary batch
export const GOAL_CLUSTER_RATIO = 0.9;
export const GOAL_IDLE_CORES = 0.2;
export const GOAL_GLOBAL_P99_EPOCHS = 1.5;
const log = (l: string): void => void process.stderr.write(l + '\n');
const loadText = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat. */
function procCpuSeconds(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 (utime, stime), counted from the state field
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}


/** Prometheus text -> value of `name` (optionally with a label fragment), or the histogram buckets. */
function metricValue(text: string, name: string, labelFragment = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' ') && l.includes(labelFragment));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
function histogram(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of text.split('\n')) {
    if (!l.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(l)![1]!;
    out.set(le === '+Inf' ? Infinity : Number(le), Number(l.split(' ').at(-1)));
  }
  return out;
}
/** Quantile of a cumulative-bucket histogram (linear within the bucket, as Prometheus does). */
function histQuantile(cum: Map<number, number>, q: number): number {
  const bounds = [...cum.keys()].sort((a, b) => a - b);
  const total = cum.get(Infinity) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = cum.get(b)!;
    if (c >= rank) {
      if (b === Infinity) return prevBound;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / Math.max(1, c - prevCount);
    }
    prevBound = b;
    prevCount = c;
  }
  return prevBound;
}


/**
 * Per GC kind, summed over nodes (deltas m1 - m0): pauses, their total ms, and how many took >= 100
 * ms. From smt_gc_pause_seconds (every pause), else (older nodes) prom-client's
 * nodejs_gc_duration_seconds, which keeps one pause per observer batch: a lower bound.
 */
function gcPauses(m1: string[], m0: string[]): Record<string, { count: number; ms: number; over100ms: number }> {
  const out: Record<string, { count: number; ms: number; over100ms: number }> = {};
  const name = m1.some((t) => t.includes('smt_gc_pause_seconds_count')) ? 'smt_gc_pause_seconds' : 'nodejs_gc_duration_seconds';
  const read = (t: string): Map<string, { count: number; sum: number; le100: number }> => {
    const m = new Map<string, { count: number; sum: number; le100: number }>();
    for (const l of t.split('\n')) {
      if (!l.startsWith(name)) continue;
      const kind = /kind="([^"]+)"/.exec(l)?.[1];
      if (!kind) continue;
      const e = m.get(kind) ?? { count: 0, sum: 0, le100: 0 };
      const v = Number(l.split(' ').at(-1));
      if (l.startsWith(`${name}_count`)) e.count = v;
      else if (l.startsWith(`${name}_sum`)) e.sum = v;
      else if (/le="0.1"/.test(l)) e.le100 = v;
      m.set(kind, e);
    }
    return m;
  };
  m1.forEach((t, i) => {
    const b = read(m0[i]!);
    for (const [k, a] of read(t)) {
      const z = b.get(k) ?? { count: 0, sum: 0, le100: 0 };
      const o = (out[k] ??= { count: 0, ms: 0, over100ms: 0 });
      o.count += a.count - z.count;
      o.ms += Math.round((a.sum - z.sum) * 1000);
      o.over100ms += a.count - a.le100 - (z.count - z.le100);
    }
  });
  return out;
}

async function runCluster(DEPTH: number, ACCOUNTS: number, idleSeconds: number) {
const tmp = mkdtempSync(join(tmpdir(), 'smt-bench-cluster-'));
const netDir = join(tmp, 'net');
let started = false;
let single: ChildProcess | undefined;
try {
  const shardsN = 3 ** DEPTH;
  log(`# network: ${shardsN} shards (depth ${DEPTH}), ${ACCOUNTS} accounts, up to ${PER_ACCOUNT} transfers each, epoch ${EPOCH_MS} ms, load for <= ${SECONDS} s`);
  const { genesis, accounts } = initNetwork({ dir: netDir, depth: DEPTH, accounts: ACCOUNTS, epochMs: EPOCH_MS, networkId: 'bench', balance: 1_000_000_000n, force: false });
  const keys = accounts.map((a) => loadKeyFile(join(netDir, a.keyFile)));
  const byShard = new Map<string, number[]>();
  accounts.forEach((a, i) => {
    const s = homeShard(keys[i]!.address, DEPTH);
    if (s !== a.shard) throw new Error('accounts.json disagrees with homeShard');
    byShard.set(s, [...(byShard.get(s) ?? []), i]);
  });
  log(`# accounts per shard: ${[...byShard].sort().map(([s, l]) => `${s}:${l.length}`).join(' ')}`);

  // Pre-sign, per shard, nonce-major (every sender's nonce 0, then nonce 1, ...), recipients on the same shard.
  const t0 = performance.now();
  const perShard = new Map<string, string[] | Uint8Array[]>();
  for (const [s, idx] of byShard) {
    const list: (string | Uint8Array)[] = [];
    for (let n = 0; n < PER_ACCOUNT; n++) {
      for (let j = 0; j < idx.length; j++) {
        const k = keys[idx[j]!]!;
        const to = keys[idx[(j + 1 + n) % idx.length]!]!.address;
        const t = { network: genesis.networkId, from: k.keyPair.publicKey, to: fromHex(toHex(to), 20), amount: 1n + BigInt(n), fee: 1n, nonce: BigInt(n), ts: BigInt(Date.now()) << 16n };
        const b = encodeSignedTx(signTransfer(t, k.keyPair.secretKey));
        list.push(JSON_FORMAT ? toHex(b) : b);
      }
    }
    perShard.set(s, list as string[] | Uint8Array[]);
  }
  const total = [...perShard.values()].reduce((a, l) => a + l.length, 0);
  log(`# pre-signed ${total} transfers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const [apiBase, p2pBase] = API_PORT > 0 ? [API_PORT, API_PORT + 500] : await findFreePortBases(shardsN);
  const tUp = performance.now();
  let nodes: { shard: string; url: string; pid: number; logFile?: string }[];
  if (DEPTH === 0) {
    // One shard alone has no peers: `smt cluster up` gives every node --p2p, which a depth-0 network
    // refuses, so the node is started here with the same arguments otherwise (one verify worker),
    // detached like cluster up's nodes: a session of its own, so that (with Linux autogroups) it
    // shares the cores with this process, the load generator, as each of the nine does.
    const url = `http://127.0.0.1:${apiBase}`;
    single = spawn(process.execPath, [SMT, 'node', 'start', '--network', netDir, '--data', join(netDir, 'data-root'), '--api', `127.0.0.1:${apiBase}`, '--verify-workers', '1', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    const deadline = performance.now() + 90_000;
    for (;;) {
      const h = await json<{ ok?: boolean }>(`${url}/v1/health`).catch(() => undefined);
      if (h?.ok) break;
      if (single.exitCode !== null || performance.now() > deadline) throw new Error('the one-shard node did not become healthy');
      await sleep(250);
    }
    nodes = [{ shard: '', url, pid: single.pid! }];
    log(`# one node up in ${((performance.now() - tUp) / 1000).toFixed(1)} s`);
  } else {
    started = true;
    execFileSync(process.execPath, [SMT, 'cluster', 'up', '--network', netDir, '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', '90'], { stdio: ['ignore', 'ignore', 'inherit'] });
    log(`# cluster up in ${((performance.now() - tUp) / 1000).toFixed(1)} s (first global snapshot final)`);
    const layout = loadLayout(netDir);
    nodes = layout.shards.map((s) => ({ shard: s.shard as string, url: apiUrl(s), pid: readPid(netDir, s)!, logFile: join(netDir, s.logFile) }));
  }
  await sleep(2 * EPOCH_MS); // settle: epochs missed during start are sealed, peers meshed
  let idleCores: number | null = null;
  if (idleSeconds > 0) {
    await sleep(IDLE_WARMUP_SECONDS * 1000);
    // Idle: no client traffic at all during the window (not even health polls).
    const c0 = nodes.map((n) => procCpuSeconds(n.pid));
    const t0 = performance.now();
    await sleep(idleSeconds * 1000);
    const c1 = nodes.map((n) => procCpuSeconds(n.pid));
    const wall = (performance.now() - t0) / 1000;
    const perNode = c1.map((c, i) => (c - c0[i]!) / wall);
    idleCores = Math.round(perNode.reduce((a, b) => a + b, 0) * 1000) / 1000;
    log(`# idle: ${shardsN} nodes used ${idleCores} of a core in all over ${wall.toFixed(1)} s, ${IDLE_WARMUP_SECONDS} s after start-up (per node ${perNode.map((x) => x.toFixed(3)).join(' ')}); load average ${loadText()}`);
  }

  const scrape = async (): Promise<string[]> => Promise.all(nodes.map(async (n) => (await fetch(`${n.url}/metrics`)).text()));
  const health = async (): Promise<{ epoch: number; committedTotal: number; globalEpoch: number | null }[]> => Promise.all(nodes.map((n) => json(`${n.url}/v1/health`)));
  const m0 = await scrape();
  const h0 = await health();
  const epoch0 = Math.max(...h0.map((h) => h.epoch));

  // Poll every node's latest global epoch: first time each (node, epoch) is seen. From /v1/health
  // (its globalEpoch), every 100 ms: the whole global snapshot as JSON 20 times a second cost the
  // nine loaded nodes (180 answers/s) what the one shard's run never paid.
  const seenAt = nodes.map(() => new Map<number, number>());
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await Promise.all(nodes.map(async (n, i) => {
        try {
          const g = await json<{ globalEpoch?: number | null }>(`${n.url}/v1/health`);
          if (typeof g.globalEpoch === 'number' && !seenAt[i]!.has(g.globalEpoch)) seenAt[i]!.set(g.globalEpoch, Date.now());
        } catch { /* busy */ }
      }));
      await sleep(100);
    }
  })();

  // Load: per shard, INFLIGHT workers posting batches to the home shard's API until the time is up.
  // CPU from here to the last commit: the nodes by thread, this process (the load generator), the
  // cluster's prover service (its tree), the whole machine.
  const prover = DEPTH > 0 ? proverPid(netDir) : undefined;
  const cpu0 = { nodes: nodes.map((n) => threadSample(n.pid)), self: process.cpuUsage(), selfThreads: threadSample(process.pid), prover: treeCpu(prover), machine: machineCpu() };
  const tStart = performance.now();
  const { accepted, refused, retries, submitSeconds } = await driveLoad(nodes, perShard, { seconds: SECONDS, batch: BATCH, inflight: INFLIGHT });
  const acceptedTotal = [...accepted.values()].reduce((a, b) => a + b, 0);
  log(`# submitted for ${submitSeconds.toFixed(1)} s: ${acceptedTotal} accepted, ${refused} refused, ${retries} retried batches`);

  // Wait until every accepted transfer is committed (per shard: committedTotal delta).
  const waited = await waitCommitted(nodes, health, h0, accepted, 120_000, 'cluster');
  const cpu1 = { nodes: nodes.map((n) => threadSample(n.pid)), self: process.cpuUsage(cpu0.self), selfThreads: threadSample(process.pid), prover: treeCpu(prover), machine: machineCpu(), at: performance.now() };
  const committedAt = waited.committedAt;
  let h1 = waited.h1;
  const tEnd = Math.max(...committedAt.values());
  await sleep(3 * EPOCH_MS); // let the last epochs' global snapshots finalise
  polling = false;
  await poller;
  const m1 = await scrape();
  h1 = await health();
  const epoch1 = Math.max(...h1.map((h) => h.epoch));
  const seconds = (tEnd - tStart) / 1000;
  const committed = h1.map((h, i) => h.committedTotal - h0[i]!.committedTotal);
  const committedTotal = committed.reduce((a, b) => a + b, 0);
  // an array, not an object: JS orders integer-like keys ("10") before others ("00")
  const perShardTps = nodes.map((n, i) => ({ shard: n.shard, committed: committed[i]!, tps: Math.round(committed[i]! / ((committedAt.get(n.shard)! - tStart) / 1000)) }));

  // latency (a): the nodes' own histograms, merged, deltas over the run
  const merged = new Map<number, number>();
  m1.forEach((t, i) => {
    const after = histogram(t, 'smt_global_latency_seconds');
    const before = histogram(m0[i]!, 'smt_global_latency_seconds');
    for (const [b, c] of after) merged.set(b, (merged.get(b) ?? 0) + c - (before.get(b) ?? 0));
  });
  // seal time under load (merged histograms) and each node's event-loop delay over the run (prom-client
  // resets its delay histogram at every scrape: the last scrape was at the start of the load)
  const sealMerged = new Map<number, number>();
  m1.forEach((t, i) => {
    const after = histogram(t, 'smt_seal_seconds');
    const before = histogram(m0[i]!, 'smt_seal_seconds');
    for (const [b, c] of after) sealMerged.set(b, (sealMerged.get(b) ?? 0) + c - (before.get(b) ?? 0));
  });
  const lagP99 = m1.map((t) => metricValue(t, 'nodejs_eventloop_lag_p99_seconds') * 1000);
  const lagMax = m1.map((t) => metricValue(t, 'nodejs_eventloop_lag_max_seconds') * 1000);
  // GC pauses of the nodes' main isolates over the run (the observers start at the first scrape, the
  // one before the load)
  const gc = gcPauses(m1, m0);
  const heapMb = m1.map((t) => Math.round(metricValue(t, 'nodejs_heap_size_used_bytes') / 2 ** 20));
  // what this benchmark's own health polling cost the nodes: requests and their handling time (request to end of response)
  const healthPolls = m1.reduce((a, t, i) => {
    const d = (suffix: string): number => metricValue(t, `smt_http_request_duration_seconds_${suffix}`, 'route="/v1/health"') - metricValue(m0[i]!, `smt_http_request_duration_seconds_${suffix}`, 'route="/v1/health"');
    return { count: a.count + d('count'), ms: a.ms + d('sum') * 1000 };
  }, { count: 0, ms: 0 });
  // latency (b): polling, from the epoch's scheduled seal time
  const lat: number[] = [];
  for (const m of seenAt) for (const [e, at] of m) if (e > epoch0 && e <= epoch1) lat.push(at - (genesis.genesisTime + (e + 1) * EPOCH_MS));
  lat.sort((a, b) => a - b);
  const epochs = Math.max(1, epoch1 - epoch0);
  // each epoch's critical path from the nodes' log lines: the wait for the last seal, the aggregation after it
  const seals: SealLine[] = [];
  const finals: FinalLine[] = [];
  for (const n of nodes) {
    if (!n.logFile) continue;
    try {
      const l = parseNodeLog(n.shard, readFileSync(n.logFile, 'utf8'));
      seals.push(...l.seals);
      finals.push(...l.finals);
    } catch { /* no log */ }
  }
  const timelines = DEPTH > 0 ? epochTimelines(seals, finals, { genesisTime: genesis.genesisTime, epochMs: EPOCH_MS, shards: shardsN, from: epoch0 + 1, to: epoch1 }) : [];
  const gossip = m1.map((t, i) => {
    const d = (dir: string): number => metricValue(t, 'smt_gossip_bytes_total', `direction="${dir}"`) - metricValue(m0[i]!, 'smt_gossip_bytes_total', `direction="${dir}"`);
    return { in: d('in') / epochs, out: d('out') / epochs };
  });
  // global snapshots of the load epochs: how many carried a shard (a shard late past the timeout)
  let carriedEpochs = 0;
  let globals = 0;
  for (let e = epoch0 + 1; e <= epoch1; e++) {
    const g = await json<{ shards?: { carried: boolean }[] }>(`${nodes[0]!.url}/v1/global/${e}`).catch(() => ({} as { shards?: { carried: boolean }[] }));
    if (!g.shards) continue;
    globals++;
    if (g.shards.some((s) => s.carried)) carriedEpochs++;
  }
  const rss = nodes.map((n) => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${n.pid}/status`, 'utf8'));
      return m ? Math.round(Number(m[1]) / 1024) : null;
    } catch {
      return null;
    }
  });
  // CPU over the loaded window (submission start -> the sample right after the last commit was seen)
  const cpuWall = (cpu1.at - tStart) / 1000;
  const nodeThreads = sumThreads(nodes.map((n, i) => threadDelta(cpu0.nodes[i]!, cpu1.nodes[i]!)));
  const nodeCpu = totalCpu(nodeThreads);
  const selfCpu = (cpu1.self.user + cpu1.self.system) / 1e6;
  const proverCpu = cpu1.prover - cpu0.prover;
  const machineBusy = cpu1.machine.busy - cpu0.machine.busy;
  const machineSteal = cpu1.machine.steal - cpu0.machine.steal;
  const usPerTx = (s: number): number => Math.round((s * 1e6) / Math.max(1, committedTotal));
  const byThread = Object.entries(nodeThreads.cpu).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  const loadCpu = {
    wallSeconds: +cpuWall.toFixed(2),
    nodesCores: +(nodeCpu / cpuWall).toFixed(3), nodesUsPerTx: usPerTx(nodeCpu),
    nodesUsPerTxByThread: Object.fromEntries(byThread.map(([k, v]) => [k, usPerTx(v)])),
    contextSwitchesPerSecond: { voluntary: Math.round(nodeThreads.vcsw / cpuWall), involuntary: Math.round(nodeThreads.ivcsw / cpuWall) },
    generatorCores: +(selfCpu / cpuWall).toFixed(3), generatorUsPerTx: usPerTx(selfCpu),
    generatorUsPerTxByThread: Object.fromEntries(Object.entries(threadDelta(cpu0.selfThreads, cpu1.selfThreads).cpu).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, usPerTx(v)])),
    proverCores: +(proverCpu / cpuWall).toFixed(3),
    machineCores: +(machineBusy / cpuWall).toFixed(3),
    stolenCores: +(machineSteal / cpuWall).toFixed(3),
    otherCores: +((machineBusy - nodeCpu - selfCpu - proverCpu) / cpuWall).toFixed(3),
  };
  const result = {
    bench: 'cluster', shards: shardsN, depth: DEPTH, epochMs: EPOCH_MS, accounts: ACCOUNTS, batch: BATCH, inflight: INFLIGHT,
    presigned: total, accepted: acceptedTotal, committed: committedTotal, refused, seconds: +seconds.toFixed(2), submitSeconds: +submitSeconds.toFixed(2),
    tps: Math.round(committedTotal / seconds), perShardTps,
    globalLatencyMetricsMs: { p50: Math.round(histQuantile(merged, 0.5) * 1000), p99: Math.round(histQuantile(merged, 0.99) * 1000), samples: merged.get(Infinity) ?? 0 },
    globalLatencyPolledMs: { p50: Math.round(quantile(lat, 0.5)), p99: Math.round(quantile(lat, 0.99)), samples: lat.length },
    sealMs: { p50: Math.round(histQuantile(sealMerged, 0.5) * 1000), p99: Math.round(histQuantile(sealMerged, 0.99) * 1000), samples: sealMerged.get(Infinity) ?? 0 },
    eventLoopDelayMs: { p99Max: Math.round(Math.max(...lagP99)), max: Math.round(Math.max(...lagMax)) },
    gcPauses: gc, heapUsedMbPerNode: heapMb, healthPolls: { count: healthPolls.count, ms: Math.round(healthPolls.ms) },
    criticalPath: timelines.length === 0 ? null : {
      epochs: timelines.length,
      lastSealDoneMs: spread(timelines, (t) => t.lastSealDone),
      medianSealDoneMs: spread(timelines, (t) => t.medianSealDone),
      lastSealStartedLateMs: spread(timelines, (t) => t.lastSealStartedLate),
      lastSealMs: spread(timelines, (t) => t.lastSealMs),
      aggregationMs: spread(timelines, (t) => t.aggregationMs),
      spreadMs: spread(timelines, (t) => t.spreadMs),
      worstNodeLatencyMs: spread(timelines, (t) => t.worstNodeLatencyMs),
      worst: [...timelines].sort((a, b) => b.worstNodeLatencyMs - a.worstNodeLatencyMs).slice(0, 4),
    },
    epochs, globalsInWindow: globals, globalsWithCarriedShards: carriedEpochs,
    gossipBytesPerNodePerEpoch: { in: Math.round(gossip.reduce((a, g) => a + g.in, 0) / gossip.length), out: Math.round(gossip.reduce((a, g) => a + g.out, 0) / gossip.length) },
    peakRssMbPerNode: nodes.map((n, i) => ({ shard: n.shard, mb: rss[i] })),
    cpus: (await import('node:os')).availableParallelism(),
    idleCores, loadavg: loadavg()[0], loadCpu,
  };
  console.log(`cluster (${shardsN} shards on ${result.cpus} cores): ${committedTotal} committed in ${result.seconds} s = ${result.tps} tps aggregate; per shard ${perShardTps.map((p) => `${p.shard}:${p.tps}`).join(' ')} tps`);
  console.log(`seal -> global final: p50 ${result.globalLatencyMetricsMs.p50} ms, p99 ${result.globalLatencyMetricsMs.p99} ms (node metrics); from the scheduled epoch end, polled: p50 ${result.globalLatencyPolledMs.p50} ms, p99 ${result.globalLatencyPolledMs.p99} ms`);
  console.log(`CPU while loaded (${loadCpu.wallSeconds} s): machine ${loadCpu.machineCores} cores busy (${loadCpu.stolenCores} stolen by the host); ${shardsN} node(s) ${loadCpu.nodesCores} cores = ${loadCpu.nodesUsPerTx} us/tx (${byThread.map(([k]) => `${k} ${loadCpu.nodesUsPerTxByThread[k]}`).join(', ')}), context switches ${loadCpu.contextSwitchesPerSecond.voluntary}/s voluntary, ${loadCpu.contextSwitchesPerSecond.involuntary}/s preempted; load generator (this process) ${loadCpu.generatorCores} cores = ${loadCpu.generatorUsPerTx} us/tx (${Object.entries(loadCpu.generatorUsPerTxByThread).map(([k, v]) => `${k} ${v}`).join(', ')}); prover service ${loadCpu.proverCores} cores; everything else ${loadCpu.otherCores} cores`);
  console.log(`seal under load: p50 ${result.sealMs.p50} ms, p99 ${result.sealMs.p99} ms (${result.sealMs.samples} seals); event-loop delay over the run: worst node's p99 ${result.eventLoopDelayMs.p99Max} ms, max ${result.eventLoopDelayMs.max} ms`);
  console.log(`GC pauses of the ${shardsN} main isolates while loaded: ${Object.entries(gc).map(([k, v]) => `${k} ${v.count} (${v.ms} ms, ${v.over100ms} >= 100 ms)`).join(', ') || 'none recorded'}; JS heap used at the end ${Math.min(...heapMb)}-${Math.max(...heapMb)} MB per node`);
  const cp = result.criticalPath;
  if (cp) {
    const f = (x: { p50: number; p90: number; max: number }): string => `${x.p50}/${x.p90}/${x.max}`;
    console.log(`critical path over ${cp.epochs} load epochs, p50/p90/max ms: last seal done ${f(cp.lastSealDoneMs)} after the scheduled time (median shard's ${f(cp.medianSealDoneMs)}; the last one started ${f(cp.lastSealStartedLateMs)} late and took ${f(cp.lastSealMs)}), then aggregation to the first global ${f(cp.aggregationMs)}, to every node +${f(cp.spreadMs)}; worst node's seal -> global ${f(cp.worstNodeLatencyMs)}`);
    for (const w of cp.worst) console.log(`  epoch ${w.epoch}: worst node ${w.worstNodeLatencyMs} ms; last seal ${w.lastShard} done at +${w.lastSealDone} (started +${w.lastSealStartedLate}, took ${w.lastSealMs}${w.lastSealPhases ? `: ${Object.entries(w.lastSealPhases).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}), median shard +${w.medianSealDone}; aggregation ${w.aggregationMs}, spread ${w.spreadMs}`);
  }
  console.log(`this benchmark's /v1/health polls: ${healthPolls.count} answered by the nodes in ${Math.round(healthPolls.ms)} ms of handling in all`);
  console.log(`gossip per node per epoch: ${result.gossipBytesPerNodePerEpoch.in} B in, ${result.gossipBytesPerNodePerEpoch.out} B out; ${carriedEpochs}/${globals} global snapshots carried a late shard; peak RSS per node ${Math.min(...rss.filter((x): x is number => x !== null))}-${Math.max(...rss.filter((x): x is number => x !== null))} MB`);
  return result;
} finally {
  if (single && single.exitCode === null) {
    single.kill('SIGTERM');
    await new Promise((r) => single!.once('exit', r));
  }
  teardownCluster(SMT, netDir, tmp, started);
}
}

log(`goals (issue #20): ${3 ** DEPTH} shards >= ${GOAL_CLUSTER_RATIO} x one shard alone (committed tps, same run); ${3 ** DEPTH} idle nodes <= ${GOAL_IDLE_CORES} core in all; seal -> global final p99 <= ${GOAL_GLOBAL_P99_EPOCHS} epochs; load average ${loadText()}${SMT === SMT_BIN ? '' : `; nodes: ${SMT}`}`);
const single = SINGLE ? await runCluster(0, ACCOUNTS, 0) : undefined;
const multi = await runCluster(DEPTH, ACCOUNTS, IDLE_SECONDS);
const ratio = single ? Math.round((multi.tps / single.tps) * 100) / 100 : null;
const p99Epochs = Math.round((multi.globalLatencyMetricsMs.p99 / EPOCH_MS) * 100) / 100;
const p50Epochs = Math.round((multi.globalLatencyMetricsMs.p50 / EPOCH_MS) * 100) / 100;
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
console.log(`load average ${loadText()}`);
if (single) console.log(`RATIO ${multi.shards} shards / one shard alone = ${multi.tps} / ${single.tps} = ${ratio} (goal >= ${GOAL_CLUSTER_RATIO}: ${verdict(ratio! >= GOAL_CLUSTER_RATIO)})`);
if (single) {
  // Node CPU per committed tx, nine vs one: what the nine pay beyond the one shard's per-tx cost and
  // their idle cost over the same window (the rest: overhead that comes with load).
  const idleUs = multi.idleCores === null ? null : Math.round((multi.idleCores * multi.loadCpu.wallSeconds * 1e6) / Math.max(1, multi.committed));
  const beyond = multi.loadCpu.nodesUsPerTx - single.loadCpu.nodesUsPerTx;
  const signed = (x: number): string => (x < 0 ? `- ${-x}` : `+ ${x}`);
  console.log(`WHERE node CPU per committed tx: ${multi.shards} shards ${multi.loadCpu.nodesUsPerTx} us vs one shard ${single.loadCpu.nodesUsPerTx} us: ${signed(beyond)} us${idleUs === null ? '' : ` = idle ${idleUs} (${multi.idleCores} core over the window) ${signed(beyond - idleUs)} with load`}; by thread ${Object.keys({ ...multi.loadCpu.nodesUsPerTxByThread, ...single.loadCpu.nodesUsPerTxByThread }).map((k) => `${k} ${multi.loadCpu.nodesUsPerTxByThread[k] ?? 0}/${single.loadCpu.nodesUsPerTxByThread[k] ?? 0}`).join(', ')}; load generator ${multi.loadCpu.generatorUsPerTx}/${single.loadCpu.generatorUsPerTx} us/tx; prover service ${multi.loadCpu.proverCores} cores; machine ${multi.loadCpu.machineCores}/${single.loadCpu.machineCores} cores busy, ${multi.loadCpu.stolenCores}/${single.loadCpu.stolenCores} stolen`);
}
if (multi.idleCores !== null) console.log(`IDLE ${multi.shards} nodes: ${multi.idleCores} of a core in all over ${IDLE_SECONDS} s (goal <= ${GOAL_IDLE_CORES}: ${verdict(multi.idleCores <= GOAL_IDLE_CORES)})`);
console.log(`LATENCY seal -> global final p99 = ${multi.globalLatencyMetricsMs.p99} ms = ${p99Epochs} epochs of ${EPOCH_MS} ms (goal <= ${GOAL_GLOBAL_P99_EPOCHS}: ${verdict(p99Epochs <= GOAL_GLOBAL_P99_EPOCHS)}), p50 ${p50Epochs} epochs; polled from the scheduled epoch end: p99 ${multi.globalLatencyPolledMs.p99} ms`);
console.log(JSON.stringify({ ...multi, single: single ?? null, ratio, goalRatio: GOAL_CLUSTER_RATIO, goalIdleCores: GOAL_IDLE_CORES, p50Epochs, p99Epochs, goalP99Epochs: GOAL_GLOBAL_P99_EPOCHS }));
