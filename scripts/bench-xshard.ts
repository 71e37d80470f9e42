// Cross-shard overhead benchmark (`npm run bench:xshard`). Two parts, each comparing 0% with 100%
// cross-shard traffic in the same run:
//
// 1. In-process engines (3 shards, depth 1, each its own LevelDB): committed transactions per second
//    and CPU time per transaction. A round = two child processes (this script with
//    BENCH_MODE_PROCESS), one per mode, each first running a discarded warm-up of its own mode, then
//    stepped by the parent epoch by epoch, alternately (one runs while the other waits; the order
//    flips every epoch). The machine's slow spells (other tenants; seconds long) then hit both modes
//    alike: with whole runs one after the other, the same code's local runs ranged from 35 700 to
//    53 600 tps, more than the difference being measured. Separate processes keep each mode's heap,
//    JIT state and CPU accounting its own. An epoch = every shard takes its pre-signed transactions and
//    seals; then every source builds a receipt batch per destination (its signed snapshot, ONE proof
//    of the destination's outbox leaf, the receipts), which is encoded, decoded, verified, chained
//    and queued at the destination and credited at its next seal. The cross-shard run pays all of
//    that inside the timed steps. Debit-to-credit latency: ms from the source seal that debited to the
//    destination seal that credited (pipelined delivery), and in epoch ticks in the randomized
//    simulation (test/sim/xshard.ts: late, duplicated, out-of-order delivery with restarts).
//    Two configurations, each its own set of rounds: signature checks off (the protocol path alone:
//    the strict figure, since verifying costs the same per tx in both modes and would dilute the
//    ratio), then signatures verified in worker threads as a node always does. Each mode's CPU per
//    committed tx is printed by step on its main thread (process.threadCpuUsage: not moved by other
//    processes' load) and for its process's other threads (V8 GC helpers, LevelDB's worker, the
//    signature workers).
// 2. The 9-shard cluster (`smt cluster up`: 9 node processes, libp2p gossip, triadic aggregation,
//    receipts pushed/pulled once the source epoch is final): the same pre-signed load through the
//    HTTP API for a bounded time, half the funded accounts sending to their own shard, the other
//    half to other shards; committed tps of each phase, and debit-to-credit latency (destination
//    epoch that credited - source epoch that debited, times epochMs) over a sample of the transfers.
//
// Last line: one JSON object. Env knobs: BENCH_EPOCHS (16; each mode's process starts with a warm-up
// of 3 epochs of its own mode, not counted: compiling, a one-off cost), BENCH_TXS_PER_SHARD (3000 per epoch),
// BENCH_USERS_PER_SHARD (100), BENCH_REPEAT (10 interleaved rounds, signatures not verified: 5-round figures of the same code spread from 3% to 12%),
// BENCH_REPEAT_SIGS (3 rounds with signatures verified; 0 skips them), BENCH_SYNC (1: fsync every
// seal, as a node; 0 off), BENCH_AA (1: both processes of a round run 0% cross-shard, an A/A test
// that shows the method's own noise), BENCH_ONLY (local|cross: one run in this process, for profiling; with
// BENCH_WARM=1 after a warm-up, BENCH_SIGS=1 verifying signatures),
// BENCH_CLUSTER (1; 0 skips part 2), BENCH_CLUSTER_SECONDS (15 s of load per phase),
// BENCH_CLUSTER_ACCOUNTS (5400), BENCH_CLUSTER_PER_ACCOUNT (60), BENCH_EPOCH_MS (1000).
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { allShards, shardIndex, type ShardId } from '../src/core/ids.js';
import type { Genesis } from '../src/core/genesis.js';
import { Shard, type SealedEvent } from '../src/shard/shard.js';
import { decodeSignedTxFull, encodeSignedTx, signTransfer, txIdOfTransferBytes } from '../src/shard/tx.js';
import { decodeReceiptBatch } from '../src/shard/receipts.js';
import { simKey, XShardSim } from '../test/sim/xshard.js';
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
const SYNC = env('BENCH_SYNC', 1) !== 0; // fsync every seal, as a node does
const AA = env('BENCH_AA', 0) !== 0;
const SIGS = env('BENCH_SIGS', 0) !== 0; // verify transaction signatures (a node always does; the same cost per tx in both modes)

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
      // One buffer per batch, the transactions views into it, as a node gets them (slices of a
      // request or message): ~150k separate small ArrayBuffers held for the whole run are an
      // artifact of pre-signing that V8's full GCs would pay for in both modes.
      const all = new Uint8Array(txs.reduce((a, t) => a + t.length, 0));
      let o = 0;
      perShard.push(txs.map((t) => {
        all.set(t, o);
        o += t.length;
        return all.subarray(o - t.length, o);
      }));
    }
    out.push(perShard);
  }
  return out;
}

/** One step of the measured loop (an epoch: submit + seal on every shard, then delivery). */
interface Step { ms: number; cpuMs: number; committed: number }

/** One mode's shards and loop, steppable epoch by epoch (so that two modes can alternate). */
class ModeRun {
  private sealedAt: number[][]; // [src][epoch] ms
  private lat: [ms: number, receipts: number][] = []; // one entry per credited batch, weighted (no per-receipt array in the timed loop)
  private receipts = 0;
  private cursors: bigint[][]; // [dst][src] seq already handed over
  private pendingDebit: { dst: number; src: number; epoch: number; n: number }[] = [];
  private committed = 0;
  private ms = 0;
  private phase = { seal: 0, build: 0, codec: 0, verify: 0 };
  private mainMs = { submit: 0, seal: 0, build: 0, decode: 0, verify: 0 }; // main-thread CPU per step
  private sealPhases: Record<string, number> = {};
  private threads0 = threadCpu();
  private cpu0 = process.cpuUsage();

  readonly label: string;
  private readonly ids: ShardId[];
  private readonly dirs: string[];
  private readonly shards: Shard[];
  private readonly txs: Uint8Array[][][];

  private constructor(label: string, ids: ShardId[], dirs: string[], shards: Shard[], txs: Uint8Array[][][]) {
    this.label = label;
    this.ids = ids;
    this.dirs = dirs;
    this.shards = shards;
    this.txs = txs;
    this.sealedAt = ids.map(() => []);
    this.cursors = ids.map(() => ids.map(() => 0n));
    for (const sh of shards) sh.events.on('sealed', (ev: SealedEvent) => { for (const [k, v] of Object.entries(ev.phases)) this.sealPhases[k] = (this.sealPhases[k] ?? 0) + v; });
  }

  static async open(label: string, genesis: Genesis, validators: KeyPair[], txs: Uint8Array[][][]): Promise<ModeRun> {
    const ids = allShards(DEPTH);
    const dirs = ids.map(() => mkdtempSync(join(tmpdir(), 'smt-bench-xshard-')));
    // nonce window: each sender has PER_SHARD/USERS txs per epoch
    const shards = await Promise.all(ids.map((s, i) => Shard.open({
      dataDir: dirs[i]!, genesis, shard: s, validatorKey: validators[i]!, verifySignatures: SIGS, verifyWorkers: SIGS ? undefined : 0,
      nonceWindow: Math.max(64, Math.ceil(PER_SHARD / USERS) * 2), mempoolMax: PER_SHARD * 4, sync: SYNC,
    })));
    return new ModeRun(label, ids, dirs, shards, txs);
  }

  /** Steps 0 .. txs.length: the last one only seals (crediting the last receipts). */
  get steps(): number {
    return this.txs.length + 1;
  }

  async step(e: number): Promise<Step> {
    const { ids, shards, txs, phase, mainMs } = this;
    const t0 = performance.now();
    const c0 = threadMs();
    const committed0 = this.committed;
    for (let s = 0; s < ids.length; s++) {
      if (e < txs.length) {
        const c = threadMs();
        const res = await shards[s]!.submit(txs[e]![s]!);
        mainMs.submit += threadMs() - c;
        const bad = res.find((r) => !r.ok);
        if (bad) throw new Error(`${this.label}: refused ${JSON.stringify(bad)}`);
      }
      const ts = performance.now();
      const cs = threadMs();
      const ss = await shards[s]!.sealEpoch();
      mainMs.seal += threadMs() - cs;
      phase.seal += performance.now() - ts;
      this.committed += Number(ss.snapshot.txCount);
      const now = performance.now();
      this.sealedAt[s]![ss.snapshot.epoch] = now;
      // credits that landed in this seal: receipts handed over before it
      for (let k = this.pendingDebit.length - 1; k >= 0; k--) {
        const p = this.pendingDebit[k]!;
        if (p.dst !== s) continue;
        if (p.n > 0) this.lat.push([now - this.sealedAt[p.src]![p.epoch]!, p.n]);
        this.pendingDebit.splice(k, 1);
      }
    }
    // delivery: every source hands each destination the receipts after the cursor
    for (let s = 0; s < ids.length; s++) {
      for (let d = 0; d < ids.length; d++) {
        if (s === d) continue;
        for (;;) {
          let t = performance.now();
          let c = threadMs();
          const b = await shards[s]!.receiptBatchBytes(ids[d]!, this.cursors[d]![s]!, 4096); // encoded, as a node sends it
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
          this.cursors[d]![s] = b.count;
          this.receipts += r.queued;
          this.pendingDebit.push({ dst: d, src: s, epoch: b.epoch, n: r.queued });
        }
      }
    }
    const ms = performance.now() - t0;
    this.ms += ms;
    return { ms, cpuMs: threadMs() - c0, committed: this.committed - committed0 };
  }

  async close(print = true): Promise<Run> {
    const { committed, phase } = this;
    const seconds = this.ms / 1000;
    const cpu = process.cpuUsage(this.cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    // CPU per committed tx: main thread per step, then the process's other threads (GC helpers, LevelDB)
    const threads1 = threadCpu();
    const cpuUsPerTx: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.mainMs)) cpuUsPerTx[`main.${k}`] = +((v * 1000) / committed).toFixed(2);
    for (const [k, v] of Object.entries(threads1)) if (k !== 'MainThread') cpuUsPerTx[k] = +((((v - (this.threads0[k] ?? 0)) * 1e6) / committed)).toFixed(2);
    if (print) console.log(`  ${this.label}: ms in seal ${phase.seal.toFixed(0)} (${Object.entries(this.sealPhases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}), batch build+proof+encode ${phase.build.toFixed(0)}, decode ${phase.codec.toFixed(0)}, verify+chain+queue ${phase.verify.toFixed(0)}`);
    for (const s of this.shards) await s.close();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    return { tps: committed / seconds, cpuSeconds, txs: committed, seconds, latP50ms: weightedPct(this.lat, 50), latP99ms: weightedPct(this.lat, 99), receipts: this.receipts, cpuUsPerTx };
  }
}

/** One mode alone, start to end (warm-ups; BENCH_ONLY). */
async function run(label: string, genesis: Genesis, validators: KeyPair[], txs: Uint8Array[][][], print = true): Promise<Run> {
  const r = await ModeRun.open(label, genesis, validators, txs);
  for (let e = 0; e < r.steps; e++) await r.step(e);
  const out = await r.close(print);
  if (print) console.log(`  ${label}: CPU us per tx: ${Object.entries(out.cpuUsPerTx).filter(([, v]) => v >= 0.01).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return out;
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
const MODE_PROCESS = process.env.BENCH_MODE_PROCESS as 'local' | 'cross' | undefined;
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

/** A mode's child process, stepped by the parent: one request at a time. */
class ModeProcess {
  private readonly child: ChildProcess;
  private waiting?: { resolve: (m: any) => void; reject: (e: Error) => void };
  readonly ready: Promise<{ ready: number }>;

  constructor(mode: 'local' | 'cross', sigs: boolean) {
    this.child = fork(process.argv[1]!, [], { execArgv: process.execArgv, env: { ...process.env, BENCH_MODE_PROCESS: mode, BENCH_SIGS: sigs ? '1' : '0' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => { const w = this.waiting; this.waiting = undefined; w?.resolve(m); });
    this.child.on('exit', (code) => { const w = this.waiting; this.waiting = undefined; w?.reject(new Error(`bench:xshard: the ${mode} process exited (${code})`)); });
    this.ready = this.next();
  }

  private next<T>(): Promise<T> {
    return new Promise<T>((resolve, reject) => { this.waiting = { resolve, reject }; });
  }

  step(e: number): Promise<Step & { procCpuMs: number }> {
    const p = this.next<Step & { procCpuMs: number }>();
    this.child.send({ step: e });
    return p;
  }

  close(): Promise<Run> {
    const p = this.next<Run>();
    this.child.send({ close: true });
    return p;
  }
}

interface RoundMode { txs: number; ms: number; mainCpuMs: number; procCpuMs: number; run: Run }
interface Round { local: RoundMode; cross: RoundMode; epochOverheads: number[] }

/**
 * One interleaved round: a local and a cross process (each warmed up on its own mode), stepped
 * alternately epoch by epoch, one running while the other waits, and the order flipped every
 * epoch. A slow spell of the machine (seconds long, from other tenants) hits both modes alike
 * instead of deciding whichever whole run it fell in; each process keeps its own heap and JIT.
 */
async function round(sigs: boolean): Promise<Round> {
  // BENCH_AA=1: both processes run the local mode (an A/A test: the method's own noise)
  const procs = { local: new ModeProcess('local', sigs), cross: new ModeProcess(AA ? 'local' : 'cross', sigs) };
  const [{ ready: steps }] = await Promise.all([procs.local.ready, procs.cross.ready]);
  const acc = { local: { txs: 0, ms: 0, mainCpuMs: 0, procCpuMs: 0 }, cross: { txs: 0, ms: 0, mainCpuMs: 0, procCpuMs: 0 } };
  const epochOverheads: number[] = [];
  for (let e = 0; e < steps; e++) {
    const got: Partial<Record<'local' | 'cross', Step>> = {};
    for (const mode of e % 2 === 0 ? (['local', 'cross'] as const) : (['cross', 'local'] as const)) {
      const st = await procs[mode].step(e);
      got[mode] = st;
      const a = acc[mode];
      a.txs += st.committed;
      a.ms += st.ms;
      a.mainCpuMs += st.cpuMs;
      a.procCpuMs += st.procCpuMs;
    }
    // the first and last steps differ by construction (nothing to credit yet / nothing to submit)
    if (e > 0 && e < steps - 1) epochOverheads.push(1 - (got.cross!.committed / got.cross!.ms) / (got.local!.committed / got.local!.ms));
  }
  const local = await procs.local.close();
  const cross = await procs.cross.close();
  return { local: { ...acc.local, run: local }, cross: { ...acc.cross, run: cross }, epochOverheads };
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2; // even count: the mean of the middle two
};
const quartiles = (xs: number[]): [number, number] => {
  const s = xs.slice().sort((a, b) => a - b);
  return [s[Math.floor(s.length / 4)]!, s[Math.floor((3 * s.length) / 4)]!];
};
const pc = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The in-process comparison in one configuration (signatures verified or not): interleaved rounds, pooled. */
async function inProcessPart(sigs: boolean, ROUNDS: number) {
  console.log(`in-process, signatures ${sigs ? 'verified (as a node does: worker threads)' : 'not verified (the protocol path alone)'}: ${ROUNDS} rounds`);
  const rounds: Round[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    const r = await round(sigs);
    rounds.push(r);
    const tl = r.local.txs / (r.local.ms / 1000);
    const tc = r.cross.txs / (r.cross.ms / 1000);
    const us = (m: RoundMode, f: 'mainCpuMs' | 'procCpuMs'): string => ((m[f] * 1000) / m.txs).toFixed(1);
    console.log(`  round ${k + 1}/${ROUNDS}: ${tl.toFixed(0)} tps local, ${tc.toFixed(0)} tps cross -> overhead ${pc(1 - tc / tl)} (epoch pairs: median ${pc(median(r.epochOverheads))}); CPU us per tx, main thread ${us(r.local, 'mainCpuMs')} vs ${us(r.cross, 'mainCpuMs')}, process ${us(r.local, 'procCpuMs')} vs ${us(r.cross, 'procCpuMs')}; loadavg ${la()}`);
  }
  const sum = (mode: 'local' | 'cross', f: keyof Omit<RoundMode, 'run'>): number => rounds.reduce((a, r) => a + r[mode][f], 0);
  const tpsLocal = sum('local', 'txs') / (sum('local', 'ms') / 1000);
  const tpsCross = sum('cross', 'txs') / (sum('cross', 'ms') / 1000);
  const overhead = 1 - tpsCross / tpsLocal;
  const roundOverheads = rounds.map((r) => 1 - (r.cross.txs / r.cross.ms) / (r.local.txs / r.local.ms));
  const epochOverheads = rounds.flatMap((r) => r.epochOverheads);
  const [q1, q3] = quartiles(epochOverheads);
  const cpuUs = (mode: 'local' | 'cross', f: 'mainCpuMs' | 'procCpuMs'): number => (sum(mode, f) * 1000) / sum(mode, 'txs');
  const cpuOverhead = 1 - cpuUs('local', 'procCpuMs') / cpuUs('cross', 'procCpuMs');
  const lastCross = rounds.at(-1)!.cross.run;
  console.log(`  0% cross-shard:   ${sum('local', 'txs')} tx in ${(sum('local', 'ms') / 1000).toFixed(2)} s of steps = ${tpsLocal.toFixed(0)} tps`);
  console.log(`  100% cross-shard: ${sum('cross', 'txs')} tx in ${(sum('cross', 'ms') / 1000).toFixed(2)} s of steps = ${tpsCross.toFixed(0)} tps (${lastCross.receipts} receipts delivered and credited per round)`);
  console.log(`  overhead: ${pc(overhead)} over all ${ROUNDS} rounds (goal <= 5%); rounds: median ${pc(median(roundOverheads))}, ${roundOverheads.map(pc).join(' ')}; ${epochOverheads.length} epoch pairs: median ${pc(median(epochOverheads))}, quartiles ${pc(q1)} / ${pc(q3)}`);
  console.log(`  CPU per committed tx (each mode's process, all its threads): ${cpuUs('local', 'procCpuMs').toFixed(1)} us local, ${cpuUs('cross', 'procCpuMs').toFixed(1)} us cross-shard -> CPU overhead ${pc(cpuOverhead)}; main thread ${cpuUs('local', 'mainCpuMs').toFixed(1)} vs ${cpuUs('cross', 'mainCpuMs').toFixed(1)} us`);
  console.log(`  debit-to-credit latency (pipelined, ms, last round): p50 ${lastCross.latP50ms.toFixed(0)} p99 ${lastCross.latP99ms.toFixed(0)}`);
  const breakdown = (mode: 'local' | 'cross'): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of rounds) for (const [k, v] of Object.entries(r[mode].run.cpuUsPerTx)) out[k] = (out[k] ?? 0) + v * r[mode].run.txs;
    for (const k of Object.keys(out)) out[k] = +(out[k]! / sum(mode, 'txs')).toFixed(2);
    return out;
  };
  const show = (b: Record<string, number>): string => Object.entries(b).filter(([, v]) => v >= 0.01).map(([k, v]) => `${k} ${v}`).join(', ');
  const bLocal = breakdown('local');
  const bCross = breakdown('cross');
  console.log(`  CPU us per committed tx by step/thread: local ${show(bLocal)}`);
  console.log(`                                          cross ${show(bCross)}`);
  const r2 = (x: number): number => +(x * 100).toFixed(2);
  return {
    signaturesVerified: sigs, shards: allShards(DEPTH).length, epochs: EPOCHS, txsPerShardEpoch: PER_SHARD, rounds: rounds.map((r) => ({
      tpsLocal: Math.round(r.local.txs / (r.local.ms / 1000)), tpsCross: Math.round(r.cross.txs / (r.cross.ms / 1000)),
      cpuLocalUs: +((r.local.procCpuMs * 1000) / r.local.txs).toFixed(2), cpuCrossUs: +((r.cross.procCpuMs * 1000) / r.cross.txs).toFixed(2),
    })),
    tpsLocal: Math.round(tpsLocal), tpsCross: Math.round(tpsCross), overheadRatio: +(tpsCross / tpsLocal).toFixed(4), overheadPct: r2(overhead),
    medianRoundOverheadPct: r2(median(roundOverheads)), epochPairs: epochOverheads.length, medianEpochOverheadPct: r2(median(epochOverheads)), epochOverheadQuartilesPct: [r2(q1), r2(q3)],
    cpuUsPerTxLocal: +cpuUs('local', 'procCpuMs').toFixed(2), cpuUsPerTxCross: +cpuUs('cross', 'procCpuMs').toFixed(2), cpuOverheadPct: r2(cpuOverhead),
    cpuUsPerTxBreakdown: { local: bLocal, cross: bCross },
    latencyMs: { p50: Math.round(lastCross.latP50ms), p99: Math.round(lastCross.latP99ms) },
  };
}

async function main(): Promise<void> {
  console.log(`bench:xshard: ${allShards(DEPTH).length} in-process shards, ${EPOCHS} epochs x ${PER_SHARD} tx per shard; loadavg ${la()}${AA ? '; A/A TEST: both processes run 0% cross-shard' : ''}`);
  const strict = await inProcessPart(false, Math.max(1, env('BENCH_REPEAT', 10)));
  const verified = env('BENCH_REPEAT_SIGS', 3) > 0 ? await inProcessPart(true, env('BENCH_REPEAT_SIGS', 3)) : null;
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
    inProcess: { ...strict, simLatencyEpochs: { p50: sim.p50, p99: sim.p99, n: sim.n } },
    inProcessVerified: verified,
    cluster,
  }));
}

if (ONLY === 'local' || ONLY === 'cross') {
  const txs = presign(genesis, users, ONLY === 'cross');
  if (process.env.BENCH_WARM === '1') await run(`warm-up ${ONLY}`, genesis, validators, txs.slice(0, WARMUP_EPOCHS));
  const before = threadCpu();
  const r = await run(ONLY, genesis, validators, txs);
  const after = threadCpu();
  console.log(`  CPU s per thread during the run: ${Object.entries(after).map(([k, v]) => `${k} ${(v - (before[k] ?? 0)).toFixed(2)}`).join(', ')}`);
  console.log(`${ONLY}: ${r.txs} tx in ${r.seconds.toFixed(2)} s = ${r.tps.toFixed(0)} tps, ${((r.cpuSeconds / r.txs) * 1e6).toFixed(1)} us CPU per tx`);
  process.exit(0);
}

if (MODE_PROCESS) {
  // A child of an interleaved round: warm up, then run one step per message from the parent.
  const mode = MODE_PROCESS;
  const txs = presign(genesis, users, mode === 'cross');
  await run(`warm-up ${mode}`, genesis, validators, txs.slice(0, WARMUP_EPOCHS), false);
  const r = await ModeRun.open(mode, genesis, validators, txs);
  let cpu = process.cpuUsage();
  process.on('message', (m: { step?: number; close?: true }) => {
    void (async () => {
      if (m.step !== undefined) {
        const st = await r.step(m.step);
        const d = process.cpuUsage(cpu); // this process's threads since the previous step ended (GC helpers, LevelDB included)
        cpu = process.cpuUsage();
        process.send!({ ...st, procCpuMs: (d.user + d.system) / 1000 });
      } else {
        process.send!(await r.close(), () => process.disconnect());
      }
    })().catch((e: unknown) => { console.error(e); process.exit(1); });
  });
  process.send!({ ready: r.steps });
} else {
  await main();
}
