// Cross-shard overhead benchmark (`npm run bench:xshard`). Two parts, each comparing 0% with 100%
// cross-shard traffic in the same run:
//
// 1. In-process engines (3 shards, depth 1, each its own LevelDB): committed transactions per second
//    and CPU time per transaction. Every measured run is a fresh child process (this script with
//    BENCH_ONLY) that first runs a discarded warm-up of its own mode: runs back to back in one process
//    inherit each other's heap and JIT state, which moved one mode's tps by up to 1.7x between
//    consecutive runs of the same code (measured), more than the difference being measured. An epoch = every shard takes its pre-signed transactions and
//    seals; then every source builds a receipt batch per destination (its signed snapshot, ONE proof
//    of the destination's outbox leaf, the receipts), which is encoded, decoded, verified, chained
//    and queued at the destination and credited at its next seal. The cross-shard run pays all of
//    that inside the timed loop. Debit-to-credit latency: ms from the source seal that debited to the
//    destination seal that credited (pipelined delivery), and in epoch ticks in the randomized
//    simulation (src/sim/xshard.ts: late, duplicated, out-of-order delivery with restarts).
//    Signature verification is off in both runs (it costs the same per tx either way). Each run also
//    prints its CPU per committed tx by step, on the main thread (process.threadCpuUsage: not moved by
//    other processes' load), and for the process's other threads (V8 GC helpers, LevelDB's worker).
// 2. The 9-shard cluster (`smt cluster up`: 9 node processes, libp2p gossip, triadic aggregation,
//    receipts pushed/pulled once the source epoch is final): the same pre-signed load through the
//    HTTP API for a bounded time, half the funded accounts sending to their own shard, the other
//    half to other shards; committed tps of each phase, and debit-to-credit latency (destination
//    epoch that credited - source epoch that debited, times epochMs) over a sample of the transfers.
//
// Last line: one JSON object. Env knobs: BENCH_EPOCHS (16; each measured run starts with a warm-up
// of 3 epochs of its own mode, not counted: compiling, a one-off cost), BENCH_TXS_PER_SHARD (3000 per epoch),
// BENCH_USERS_PER_SHARD (100), BENCH_REPEAT (5 alternating local/cross pairs of child processes; best of each, and the median of the pairs' ratios),
// BENCH_ONLY (local|cross: one run in this process, for profiling; with BENCH_WARM=1 after a warm-up, with BENCH_JSON=1 its figures as the last line),
// BENCH_CLUSTER (1; 0 skips part 2), BENCH_CLUSTER_SECONDS (15 s of load per phase),
// BENCH_CLUSTER_ACCOUNTS (5400), BENCH_CLUSTER_PER_ACCOUNT (60), BENCH_EPOCH_MS (1000).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { allShards, shardIndex } from '../src/core/ids.js';
import type { Genesis } from '../src/core/genesis.js';
import { Shard, type SealedEvent } from '../src/shard/shard.js';
import { decodeSignedTxFull, encodeSignedTx, signTransfer, txIdOfTransferBytes } from '../src/shard/tx.js';
import { decodeReceiptBatch } from '../src/shard/receipts.js';
import { simKey, XShardSim } from '../src/sim/xshard.js';
import type { KeyPair } from '../src/core/ed25519.js';
import { toHex } from '../src/core/bytes.js';
import { loadKeyFile } from '../src/core/keyfile.js';
import { initNetwork } from '../src/node/network-dir.js';
import { loadLayout } from '../src/cluster/cluster.js';
import { apiUrl, findFreePortBases, SMT_BIN } from '../src/cluster/supervisor.js';
import { driveLoad, json, teardownCluster, waitCommitted } from './cluster-load.js';

const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const EPOCHS = env('BENCH_EPOCHS', 16);
const WARMUP_EPOCHS = 3;
const PER_SHARD = env('BENCH_TXS_PER_SHARD', 3000);
const USERS = env('BENCH_USERS_PER_SHARD', 100);
const DEPTH = 1;

interface Run { tps: number; cpuSeconds: number; txs: number; seconds: number; latP50ms: number; latP99ms: number; receipts: number; cpuUsPerTx: Record<string, number> }

/** CPU ms of the calling thread (main-thread work, whatever the other threads and processes do); wall ms if unsupported. */
const threadMs = (): number => {
  const f = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
  if (!f) return performance.now();
  const u = f.call(process);
  return (u.user + u.system) / 1000;
};

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Percentile of values weighted by counts. */
function weightedPct(xs: [number, number][], p: number): number {
  const s = [...xs].sort((a, b) => a[0] - b[0]);
  const total = s.reduce((a, [, n]) => a + n, 0);
  const target = Math.min(total - 1, Math.floor((p / 100) * total));
  let seen = 0;
  for (const [v, n] of s) {
    seen += n;
    if (seen > target) return v;
  }
  return 0;
}

function setup(): { genesis: Genesis; validators: KeyPair[]; users: { key: KeyPair; address: Uint8Array }[][] } {
  const ids = allShards(DEPTH);
  const validators = ids.map((_, i) => simKey('bench-validator', i));
  const users: { key: KeyPair; address: Uint8Array }[][] = ids.map(() => []);
  for (let i = 0; users.some((u) => u.length < USERS); i++) {
    const key = simKey('bench-user', i);
    const address = addressFromPublicKey(key.publicKey);
    const h = shardIndex(homeShard(address, DEPTH));
    if (users[h]!.length < USERS) users[h]!.push({ key, address });
  }
  const genesis: Genesis = {
    networkId: 'smt-bench', depth: DEPTH, epochMs: 1000, genesisTime: 0,
    allocations: users.flat().map((u) => ({ address: u.address, amount: 1n << 40n })),
    validators: new Map(ids.map((s, i) => [s, validators[i]!.publicKey])),
  };
  return { genesis, validators, users };
}

/** Pre-signed txs[epoch][shard]: senders round-robin, recipient local or on the next shard. */
function presign(genesis: Genesis, users: { key: KeyPair; address: Uint8Array }[][], cross: boolean): Uint8Array[][][] {
  const n = users.length;
  const nonces = users.map((u) => u.map(() => 0n));
  const out: Uint8Array[][][] = [];
  for (let e = 0; e < EPOCHS; e++) {
    const perShard: Uint8Array[][] = [];
    for (let s = 0; s < n; s++) {
      const txs: Uint8Array[] = [];
      for (let k = 0; k < PER_SHARD; k++) {
        const ui = k % USERS;
        const u = users[s]![ui]!;
        const dstShard = cross ? (s + 1 + (k % (n - 1))) % n : s;
        const to = users[dstShard]![(ui + 1 + k) % USERS]!.address;
        txs.push(encodeSignedTx(signTransfer({ network: genesis.networkId, from: u.key.publicKey, to, amount: 1n + BigInt(k % 7), fee: 1n, nonce: nonces[s]![ui]!++, ts: 0n }, u.key.secretKey)));
      }
      perShard.push(txs);
    }
    out.push(perShard);
  }
  return out;
}

async function run(label: string, genesis: Genesis, validators: KeyPair[], txs: Uint8Array[][][]): Promise<Run> {
  const ids = allShards(DEPTH);
  const dirs = ids.map(() => mkdtempSync(join(tmpdir(), 'smt-bench-xshard-')));
  // nonce window: each sender has PER_SHARD/USERS txs per epoch
  const shards = await Promise.all(ids.map((s, i) => Shard.open({
    dataDir: dirs[i]!, genesis, shard: s, validatorKey: validators[i]!, verifySignatures: false, verifyWorkers: 0,
    nonceWindow: Math.max(64, Math.ceil(PER_SHARD / USERS) * 2), mempoolMax: PER_SHARD * 4,
  })));
  const sealedAt: number[][] = ids.map(() => []); // [src][epoch] ms
  const lat: [ms: number, receipts: number][] = []; // one entry per credited batch, weighted (no per-receipt array in the timed loop)
  let receipts = 0;
  const cursors = ids.map(() => ids.map(() => 0n)); // [dst][src] seq already handed over
  const pendingDebit: { dst: number; src: number; epoch: number; n: number }[] = [];
  let committed = 0;
  const phase = { seal: 0, build: 0, codec: 0, verify: 0 };
  const mainMs = { submit: 0, seal: 0, build: 0, decode: 0, verify: 0 }; // main-thread CPU per step
  const threads0 = threadCpu();
  const sealPhases: Record<string, number> = {};
  for (const sh of shards) sh.events.on('sealed', (ev: SealedEvent) => { for (const [k, v] of Object.entries(ev.phases)) sealPhases[k] = (sealPhases[k] ?? 0) + v; });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const epochs = txs.length; // EPOCHS, or fewer for the warm-up
  for (let e = 0; e <= epochs; e++) {
    for (let s = 0; s < ids.length; s++) {
      if (e < epochs) {
        const c0 = threadMs();
        const res = await shards[s]!.submit(txs[e]![s]!);
        mainMs.submit += threadMs() - c0;
        const bad = res.find((r) => !r.ok);
        if (bad) throw new Error(`${label}: refused ${JSON.stringify(bad)}`);
      }
      const ts = performance.now();
      const cs = threadMs();
      const ss = await shards[s]!.sealEpoch();
      mainMs.seal += threadMs() - cs;
      phase.seal += performance.now() - ts;
      committed += Number(ss.snapshot.txCount);
      const now = performance.now();
      sealedAt[s]![ss.snapshot.epoch] = now;
      // credits that landed in this seal: receipts handed over before it
      for (let k = pendingDebit.length - 1; k >= 0; k--) {
        const p = pendingDebit[k]!;
        if (p.dst !== s) continue;
        if (p.n > 0) lat.push([now - sealedAt[p.src]![p.epoch]!, p.n]);
        pendingDebit.splice(k, 1);
      }
    }
    // delivery: every source hands each destination the receipts after the cursor
    for (let s = 0; s < ids.length; s++) {
      for (let d = 0; d < ids.length; d++) {
        if (s === d) continue;
        for (;;) {
          let t = performance.now();
          let c = threadMs();
          const b = await shards[s]!.receiptBatchBytes(ids[d]!, cursors[d]![s]!, 4096); // encoded, as a node sends it
          phase.build += performance.now() - t;
          mainMs.build += threadMs() - c;
          if (!b || b.receipts === 0) break;
          t = performance.now();
          c = threadMs();
          const decoded = decodeReceiptBatch(b.bytes);
          phase.codec += performance.now() - t;
          mainMs.decode += threadMs() - c;
          t = performance.now();
          c = threadMs();
          const r = await shards[d]!.receiveReceipts(decoded);
          phase.verify += performance.now() - t;
          mainMs.verify += threadMs() - c;
          cursors[d]![s] = b.count;
          receipts += r.queued;
          pendingDebit.push({ dst: d, src: s, epoch: b.epoch, n: r.queued });
        }
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // CPU per committed tx: main thread per step, then the process's other threads (GC helpers, LevelDB)
  const threads1 = threadCpu();
  const cpuUsPerTx: Record<string, number> = {};
  for (const [k, v] of Object.entries(mainMs)) cpuUsPerTx[`main.${k}`] = +((v * 1000) / committed).toFixed(2);
  for (const [k, v] of Object.entries(threads1)) if (k !== 'MainThread') cpuUsPerTx[k] = +((((v - (threads0[k] ?? 0)) * 1e6) / committed)).toFixed(2);
  console.log(`  ${label}: ms in seal ${phase.seal.toFixed(0)} (${Object.entries(sealPhases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}), batch build+proof+encode ${phase.build.toFixed(0)}, decode ${phase.codec.toFixed(0)}, verify+chain+queue ${phase.verify.toFixed(0)}`);
  for (const s of shards) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  // sample latency: at most one value per receipt is fine, percentiles over all
  console.log(`  ${label}: CPU us per tx: ${Object.entries(cpuUsPerTx).filter(([, v]) => v >= 0.01).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return { tps: committed / seconds, cpuSeconds, txs: committed, seconds, latP50ms: weightedPct(lat, 50), latP99ms: weightedPct(lat, 99), receipts, cpuUsPerTx };
}

async function simLatency(): Promise<{ p50: number; p99: number; n: number }> {
  const sim = await XShardSim.create({ depth: 1, usersPerShard: 6, amount: 1_000_000n, seed: 12345 });
  try {
    for (let k = 0; k < 25; k++) await sim.step(30, 1);
    await sim.drain();
    const l = sim.stats.latencies;
    return { p50: pct(l, 50), p99: pct(l, 99), n: l.length };
  } finally {
    await sim.close();
  }
}

const la = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** A GET that survives a node being briefly unreachable on a saturated machine (3 tries). */
async function getJson<T = any>(url: string): Promise<T> {
  for (let k = 0; ; k++) {
    try {
      return await json<T>(url);
    } catch (e) {
      if (k >= 2) throw e;
      await sleep(500);
    }
  }
}

interface ClusterPhase { label: string; accepted: number; committed: number; seconds: number; tps: number; refused: number; loadavg: number[] }
interface ClusterResult {
  shards: number; cpus: number; epochMs: number; local: ClusterPhase; cross: ClusterPhase; overheadRatio: number; overheadPct: number;
  latencyMs: { p50: number; p99: number; sampled: number; credited: number };
}

/** Part 2: the 9-shard cluster, 0% then 100% cross-shard load, same cluster, same run. */
async function clusterBench(): Promise<ClusterResult> {
  const DEPTH2 = 2;
  const SECONDS = env('BENCH_CLUSTER_SECONDS', 15);
  const ACCOUNTS = env('BENCH_CLUSTER_ACCOUNTS', 5400);
  const PER_ACCOUNT = env('BENCH_CLUSTER_PER_ACCOUNT', 60); // <= the mempool's nonce window (64)
  const EPOCH_MS = env('BENCH_EPOCH_MS', 1000);
  const BATCH = 1000;
  const INFLIGHT = 2;
  const tmp = mkdtempSync(join(tmpdir(), 'smt-bench-xshard-cluster-'));
  const netDir = join(tmp, 'net');
  let started = false;
  try {
    const { genesis: g, accounts } = initNetwork({ dir: netDir, depth: DEPTH2, accounts: ACCOUNTS, epochMs: EPOCH_MS, networkId: 'bench-xshard', balance: 1_000_000_000n, force: false });
    const keys = accounts.map((a) => loadKeyFile(join(netDir, a.keyFile)));
    const shardsN = 3 ** DEPTH2;
    const byShard = new Map<string, number[]>();
    accounts.forEach((a, i) => byShard.set(a.shard, [...(byShard.get(a.shard) ?? []), i]));
    const shardIds = [...byShard.keys()].sort();
    // Disjoint senders per phase (even / odd position on their shard): a phase cut short by the
    // time limit leaves nonce gaps only in its own senders. Nonce-major order, as bench:cluster.
    const presignPhase = (cross: boolean): Map<string, string[]> => {
      const out = new Map<string, string[]>();
      shardIds.forEach((s, si) => {
        const senders = byShard.get(s)!.filter((_, j) => j % 2 === (cross ? 1 : 0));
        const list: string[] = [];
        for (let n = 0; n < PER_ACCOUNT; n++) {
          senders.forEach((idx, j) => {
            const k = keys[idx]!;
            const dstShard = cross ? shardIds[(si + 1 + ((j + n) % (shardsN - 1))) % shardsN]! : s;
            const pool = byShard.get(dstShard)!;
            const to = keys[pool[(j * 7 + n + 1) % pool.length]!]!.address;
            const t = { network: g.networkId, from: k.keyPair.publicKey, to, amount: 1n + BigInt(n % 5), fee: 1n, nonce: BigInt(n), ts: BigInt(Date.now()) << 16n };
            list.push(toHex(encodeSignedTx(signTransfer(t, k.keyPair.secretKey))));
          });
        }
        out.set(s, list);
      });
      return out;
    };
    const t0 = performance.now();
    const loads = { local: presignPhase(false), cross: presignPhase(true) };
    console.log(`  cluster: ${shardsN} shards, ${ACCOUNTS} accounts (half per phase), pre-signed 2 x ${[...loads.local.values()].reduce((a, l) => a + l.length, 0)} transfers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const [apiBase, p2pBase] = await findFreePortBases(shardsN);
    started = true;
    execFileSync(process.execPath, [SMT_BIN, 'cluster', 'up', '--network', netDir, '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', '90'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const layout = loadLayout(netDir);
    const nodes = layout.shards.map((s) => ({ shard: s.shard as string, url: apiUrl(s) }));
    const urlOf = new Map(nodes.map((n) => [n.shard, n.url]));
    await sleep(2 * EPOCH_MS);
    const health = async (): Promise<{ committedTotal: number }[]> => Promise.all(nodes.map((n) => getJson(`${n.url}/v1/health`)));

    const phase = async (label: 'local' | 'cross'): Promise<ClusterPhase> => {
      const lists = loads[label];
      const h0 = await health();
      const tStart = performance.now();
      const { accepted, refused } = await driveLoad(nodes, lists, { seconds: SECONDS, batch: BATCH, inflight: INFLIGHT });
      const acceptedTotal = [...accepted.values()].reduce((a, b) => a + b, 0);
      const { committedAt, h1 } = await waitCommitted(nodes, health, h0, accepted, 90_000, label);
      const seconds = (Math.max(...committedAt.values()) - tStart) / 1000;
      const committed = h1.reduce((a, h, i) => a + h.committedTotal - h0[i]!.committedTotal, 0);
      const r: ClusterPhase = { label, accepted: acceptedTotal, committed, seconds: +seconds.toFixed(2), tps: Math.round(committed / seconds), refused, loadavg: loadavg().map((x) => +x.toFixed(2)) };
      console.log(`  cluster ${label === 'local' ? '0%  ' : '100%'} cross-shard: ${committed} committed in ${r.seconds} s = ${r.tps} tps (${refused} refused; loadavg ${la()})`);
      return r;
    };
    const local = await phase('local');
    await sleep(2 * EPOCH_MS);
    const cross = await phase('cross');
    // debit-to-credit latency: a sample of the cross-shard transfers, from their two halves' epochs
    const sample: { txid: string; src: string; dst: string; seq: string }[] = [];
    for (const [s, list] of loads.cross) {
      for (let i = 0; i < list.length && sample.length < 50 * (shardIds.indexOf(s) + 1); i += Math.max(1, Math.floor(list.length / 60))) {
        type St = { status: string; crossShard?: { dstShard: string; seq?: string } };
        const st = await getJson<St>(`${urlOf.get(s)}/v1/tx/${txidOfHex(list[i]!)}`).catch(() => ({ status: 'unreachable' }) as St);
        if (st.status === 'committed' && st.crossShard?.seq !== undefined) sample.push({ txid: txidOfHex(list[i]!), src: s, dst: st.crossShard.dstShard, seq: st.crossShard.seq });
      }
    }
    const lats: number[] = [];
    const waitUntil = performance.now() + 30_000;
    for (const t of sample) {
      for (;;) {
        const st = await getJson<{ credit?: { epoch: number; srcEpoch: number } }>(`${urlOf.get(t.dst)}/v1/tx/${t.txid}?src=${t.src}&seq=${t.seq}`).catch(() => ({}) as { credit?: { epoch: number; srcEpoch: number } });
        if (st.credit) { lats.push((st.credit.epoch - st.credit.srcEpoch) * EPOCH_MS); break; }
        if (performance.now() > waitUntil) break;
        await sleep(200);
      }
    }
    const ratio = cross.tps / local.tps;
    console.log(`  cluster overhead: ${((1 - ratio) * 100).toFixed(1)}%; debit-to-credit (dst credit epoch - src debit epoch) x ${EPOCH_MS} ms: p50 ${pct(lats, 50)} p99 ${pct(lats, 99)} ms (${lats.length}/${sample.length} sampled transfers credited)`);
    return {
      shards: shardsN, cpus: availableParallelism(), epochMs: EPOCH_MS, local, cross, overheadRatio: +ratio.toFixed(4), overheadPct: +((1 - ratio) * 100).toFixed(2),
      latencyMs: { p50: pct(lats, 50), p99: pct(lats, 99), sampled: sample.length, credited: lats.length },
    };
  } finally {
    teardownCluster(SMT_BIN, netDir, tmp, started);
  }
}

function txidOfHex(txHex: string): string {
  return toHex(txIdOfTransferBytes(decodeSignedTxFull(Buffer.from(txHex, 'hex')).transferBytes));
}

const { genesis, validators, users } = setup();
const ONLY = process.env.BENCH_ONLY;
console.log(`bench:xshard: ${allShards(DEPTH).length} in-process shards, ${EPOCHS} epochs x ${PER_SHARD} tx per shard; signature checks off; loadavg ${la()}`);
/** CPU seconds per thread name of this process (Linux /proc; {} elsewhere): where background CPU goes. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const t of readdirSync('/proc/self/task')) {
      const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')).replace(/[0-9]+$/, '#');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    }
  } catch { /* not Linux */ }
  return out;
}

if (ONLY === 'local' || ONLY === 'cross') {
  const txs = presign(genesis, users, ONLY === 'cross');
  if (process.env.BENCH_WARM === '1') await run(`warm-up ${ONLY}`, genesis, validators, txs.slice(0, WARMUP_EPOCHS));
  const before = threadCpu();
  const r = await run(ONLY, genesis, validators, txs);
  const after = threadCpu();
  console.log(`  CPU s per thread during the run: ${Object.entries(after).map(([k, v]) => `${k} ${(v - (before[k] ?? 0)).toFixed(2)}`).join(', ')}`);
  console.log(`${ONLY}: ${r.txs} tx in ${r.seconds.toFixed(2)} s = ${r.tps.toFixed(0)} tps, ${((r.cpuSeconds / r.txs) * 1e6).toFixed(1)} us CPU per tx`);
  if (process.env.BENCH_JSON === '1') console.log(JSON.stringify(r));
  process.exit(0);
}

/** One measured run in a fresh child process (warm-up of its own mode first, discarded). */
function runChild(mode: 'local' | 'cross'): Run {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_ONLY: mode, BENCH_WARM: '1', BENCH_JSON: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 << 20,
  });
  if (child.status !== 0) throw new Error(`bench:xshard: the ${mode} run failed (exit ${child.status})`);
  const lines = child.stdout.trim().split('\n');
  for (const l of lines.slice(0, -1)) if (l.startsWith(`  ${mode}:`)) console.log(l); // its per-step lines
  return JSON.parse(lines.at(-1)!) as Run;
}
// Alternating pairs (local, cross, local, cross, ...): each mode's best run, so that a burst of load
// from other processes during one run does not decide the ratio.
const REPEAT = Math.max(1, env('BENCH_REPEAT', 5));
const best = (a: Run | undefined, b: Run): Run => (!a ? b : { ...b, tps: Math.max(a.tps, b.tps), cpuSeconds: Math.min(a.cpuSeconds, b.cpuSeconds), seconds: Math.min(a.seconds, b.seconds) });
let local: Run | undefined;
let cross: Run | undefined;
const breakdown: { local?: Record<string, number>; cross?: Record<string, number> } = {}; // of the lowest-CPU run of each mode
const pairs: { local: number; cross: number; cpuLocalUs: number; cpuCrossUs: number; loadavg: number }[] = [];
for (let k = 0; k < REPEAT; k++) {
  const l = runChild('local');
  const c = runChild('cross');
  if (!local || l.cpuSeconds < local.cpuSeconds) breakdown.local = l.cpuUsPerTx;
  if (!cross || c.cpuSeconds < cross.cpuSeconds) breakdown.cross = c.cpuUsPerTx;
  local = best(local, l);
  cross = best(cross, { ...c, latP50ms: c.latP50ms, latP99ms: c.latP99ms });
  pairs.push({ local: Math.round(l.tps), cross: Math.round(c.tps), cpuLocalUs: +(1e6 * l.cpuSeconds / l.txs).toFixed(2), cpuCrossUs: +(1e6 * c.cpuSeconds / c.txs).toFixed(2), loadavg: +loadavg()[0]!.toFixed(2) });
  console.log(`  pair ${k + 1}/${REPEAT}: ${l.tps.toFixed(0)} tps local, ${c.tps.toFixed(0)} tps cross (${(1e6 * l.cpuSeconds / l.txs).toFixed(1)} vs ${(1e6 * c.cpuSeconds / c.txs).toFixed(1)} us CPU per tx; loadavg ${la()})`);
}
console.log(`0% cross-shard:   ${local!.txs} tx, best ${local!.seconds.toFixed(2)} s = ${local!.tps.toFixed(0)} tps (best of ${REPEAT})`);
console.log(`100% cross-shard: ${cross!.txs} tx, best ${cross!.seconds.toFixed(2)} s = ${cross!.tps.toFixed(0)} tps (best of ${REPEAT}; ${cross!.receipts} receipts delivered and credited per run; loadavg ${la()})`);
const overhead = 1 - cross!.tps / local!.tps;
// each pair ran back to back: the median of the pairs' overheads is the figure least moved by load bursts
const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2; // even count: the mean of the middle two
};
const medianPairOverhead = median(pairs.map((p) => 1 - p.cross / p.local));
const medianPairCpuOverhead = median(pairs.map((p) => 1 - p.cpuLocalUs / p.cpuCrossUs));
console.log(`overhead: ${(overhead * 100).toFixed(1)}% best vs best, ${(medianPairOverhead * 100).toFixed(1)}% median of the ${pairs.length} pairs (goal <= 5%); CPU per tx: ${(medianPairCpuOverhead * 100).toFixed(1)}% median of the pairs`);
// On a shared machine wall-clock tps follows the load; CPU time per committed tx does not.
const cpuLocal = (local!.cpuSeconds / local!.txs) * 1e6;
const cpuCross = (cross!.cpuSeconds / cross!.txs) * 1e6;
console.log(`CPU per committed tx (the run's process, best run of each mode): ${cpuLocal.toFixed(1)} us local, ${cpuCross.toFixed(1)} us cross-shard -> CPU overhead ${((1 - cpuLocal / cpuCross) * 100).toFixed(1)}%; 1-core-equivalent tps ${(1e6 / cpuLocal).toFixed(0)} vs ${(1e6 / cpuCross).toFixed(0)}`);
console.log(`debit-to-credit latency (pipelined, ms, last cross run): p50 ${cross!.latP50ms.toFixed(0)} p99 ${cross!.latP99ms.toFixed(0)}`);
const sim = await simLatency();
console.log(`debit-to-credit latency (simulation, epoch ticks, random delay/duplication/restarts): p50 ${sim.p50} p99 ${sim.p99} (n=${sim.n})`);
let cluster: ClusterResult | null = null;
if (env('BENCH_CLUSTER', 1) !== 0) {
  try {
    cluster = await clusterBench();
  } catch (e) {
    console.log(`  cluster part failed: ${(e as Error).message}`);
  }
}
console.log(JSON.stringify({
  bench: 'xshard', loadavg: loadavg().map((x) => +x.toFixed(2)), cpus: availableParallelism(),
  inProcess: {
    shards: allShards(DEPTH).length, epochs: EPOCHS, txsPerShardEpoch: PER_SHARD, bestOf: REPEAT, pairs,
    tpsLocal: Math.round(local!.tps), tpsCross: Math.round(cross!.tps), overheadRatio: Number((cross!.tps / local!.tps).toFixed(4)), overheadPct: Number((overhead * 100).toFixed(2)), medianPairOverheadPct: Number((medianPairOverhead * 100).toFixed(2)), medianPairCpuOverheadPct: Number((medianPairCpuOverhead * 100).toFixed(2)),
    cpuUsPerTxLocal: +cpuLocal.toFixed(1), cpuUsPerTxCross: +cpuCross.toFixed(1), cpuOverheadPct: Number(((1 - cpuLocal / cpuCross) * 100).toFixed(2)),
    cpuUsPerTxBreakdown: breakdown,
    latencyMs: { p50: Math.round(cross!.latP50ms), p99: Math.round(cross!.latP99ms) },
    simLatencyEpochs: { p50: sim.p50, p99: sim.p99, n: sim.n },
  },
  cluster,
}));
