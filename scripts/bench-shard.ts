// Shard throughput benchmark (`npm run bench:shard`).
//
// The headline is a ratio measured within one run, so it holds on any machine: committed tx/s with
// signatures verified / libsodium's single-core ed25519 verify rate (measured at the start of the
// run, on this thread). Goal (issue #20): >= 1.5, i.e. on 2 cores at most ~20 us of CPU per
// transaction beyond its signature check. Printed first, with the load average beside it.
//
// Pre-signs transfers among many accounts of a one-shard (depth 0) network, then measures the
// sustained rate at which they become COMMITTED (sealed and durable: the epoch's batch is fsynced),
// from the first submission to the last commit, plus submit-to-commit latency and peak RSS.
// Modes (one function each): in-process with signature verification on the worker pool, and with
// verification off. The through-HTTP mode is added by the API layer as another entry of MODES.
// Figures depend on what else runs on the machine: the CPU time per committed tx is printed too
// (tps on an otherwise idle machine is about cores / CPU-per-tx).
// Prints human-readable figures; the last line is one JSON object.
//
// Env knobs: BENCH_ACCOUNTS (10000), BENCH_TXS (240000), BENCH_BATCH (2000), BENCH_EPOCH_MS (250),
// BENCH_INFLIGHT (12 submit calls in flight), BENCH_MAX_PENDING (40000 accepted, not yet committed),
// BENCH_WORKERS (cores), BENCH_MODES (comma list: verify,noverify), BENCH_FSYNC (1; 0 = no fsync per seal),
// BENCH_CPU_PROF (a path prefix: the main thread's CPU profile of each in-process run, only the
// measured part, is written to <prefix>-<mode>.cpuprofile for Chrome DevTools / `node --cpu-prof` tools),
// BENCH_HEAP_PROF (a path: a sampling allocation profile of the measured part, <path>.heapprofile).
// CPU per committed tx is also printed by thread (Linux): main, verify workers (WorkerThread), V8's
// GC helpers (V8Worker), LevelDB's libuv pool (libuv-worker).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey } from '../src/core/address.js';
import { keyPairFromSeed, type KeyPair } from '../src/core/ed25519.js';
import { txVerifierName } from '../src/core/tx-signature.js';
import type { Genesis } from '../src/core/genesis.js';
import type { ShardId } from '../src/core/ids.js';
import { Shard, type SealedEvent } from '../src/shard/shard.js';
import { encodeSignedTx, signTransfer } from '../src/shard/tx.js';
import sodium from 'sodium-native';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';

const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const SHARD = '' as ShardId;

export interface BenchSetup {
  genesis: Genesis;
  validator: KeyPair;
  txs: Uint8Array[]; // in submission order: round-robin over senders, nonces ascending
}

export interface BenchResult {
  mode: string;
  txs: number;
  seconds: number;
  tps: number;
  p50ms: number;
  p99ms: number;
  epochs: number;
  rejected: number;
  peakRssMb: number;
  cpuSeconds: number; // process CPU (all threads) during the run
  cpuUsPerTx: number; // CPU microseconds per committed tx: the figure that decides tps on 2 cores
  mainThreadUsPerTx: number; // of which on the main (JS) thread; the rest: verify workers, LevelDB, GC threads
  kernelUsPerTx: number; // of which in the kernel (system time: I/O, fsync, thread wakeups)
  sealPhasesUsPerTx?: Record<string, number>; // in-process modes: seal wall time per phase, per tx
  storeRecordsPerTx?: number; // in-process modes: LevelDB operations the seals wrote, per committed tx
  storeBytesPerTx?: number; // and their bytes (trie nodes, account rows, tx index)
  threadsUsPerTx?: Record<string, number>; // CPU us per committed tx by thread name (Linux): main, verify workers, LevelDB, GC helpers
  gc?: { minor: number; minorMs: number; major: number; majorMs: number }; // this process's main-isolate GCs during the run: count and pause ms
  perKiloTx?: { pageFaults: number; voluntarySwitches: number; involuntarySwitches: number }; // kernel events per 1,000 committed tx (getrusage)
}

/**
 * CPU seconds per thread name of this process (Linux /proc; {} elsewhere), digits at the end of a
 * name folded into '#': where the CPU beyond the main thread goes (verify workers, libuv's pool
 * running LevelDB writes, V8's GC helpers). Clock ticks (10 ms): meaningful over a whole run.
 */
export function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const t of readdirSync('/proc/self/task')) {
      try {
        const st = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
        const name = t === String(process.pid) ? 'main' : st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')).replace(/[0-9]+$/, '#');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
      } catch { /* the thread ended */ }
    }
  } catch { /* not Linux */ }
  return out;
}

function key(label: string, i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed.set(new TextEncoder().encode(label));
  new DataView(seed.buffer).setUint32(28, i);
  return keyPairFromSeed(seed);
}

/** A depth-0 genesis with `accounts` funded accounts and `total` pre-signed transfers among them. */
export function prepare(accounts: number, total: number): BenchSetup {
  const users = Array.from({ length: accounts }, (_, i) => key('bench-user', i));
  const addrs = users.map((u) => addressFromPublicKey(u.publicKey));
  const validator = key('bench-validator', 0);
  const genesis: Genesis = {
    networkId: 'smt-bench', depth: 0, epochMs: 1000, genesisTime: 0,
    allocations: addrs.map((address) => ({ address, amount: 1_000_000_000n })),
    validators: new Map([[SHARD, validator.publicKey]]),
  };
  const txs: Uint8Array[] = new Array(total);
  let x = 12345;
  for (let i = 0; i < total; i++) {
    const s = i % accounts;
    const nonce = BigInt(Math.floor(i / accounts));
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const r = (s + 1 + (x % (accounts - 1))) % accounts;
    const u = users[s]!;
    txs[i] = encodeSignedTx(signTransfer({ network: genesis.networkId, from: u.publicKey, to: addrs[r]!, amount: 1n + BigInt(x % 1000), fee: 1n, nonce, ts: 0n }, u.secretKey));
  }
  // Views into one buffer, as transactions reach a node (a POST body, a gossip message): not one
  // ArrayBuffer per transaction, which every GC of the measured process would have to track.
  let size = 0;
  for (const t of txs) size += t.length;
  const slab = new Uint8Array(size);
  for (let i = 0, o = 0; i < total; o += txs[i]!.length, i++) {
    slab.set(txs[i]!, o);
    txs[i] = slab.subarray(o, o + txs[i]!.length);
  }
  return { genesis, validator, txs };
}

/** Goal of committed tps / single-core verify rate (issue #20). */
export const GOAL_SIGNATURE_RATIO = 1.5;

/**
 * libsodium's ed25519 verify rate on one core (this thread): crypto_sign_verify_detached over
 * 32-byte messages (what a transaction signature signs), distinct keys. Best of `rounds` rounds of
 * `ms` each: other processes on the machine can only slow a round down, so the best is the
 * closest to the machine's real rate (and makes the ratio conservative).
 */
export function measureVerifyRate(rounds = 5, ms = 300): { perSecond: number; usPerVerify: number; rounds: number[] } {
  const n = 256;
  const items = Array.from({ length: n }, (_, i) => {
    const k = key('bench-verify-rate', i);
    const m = Buffer.alloc(32, i);
    const sig = Buffer.alloc(64);
    sodium.crypto_sign_detached(sig, m, Buffer.from(k.secretKey));
    return { m, sig, pk: Buffer.from(k.publicKey) };
  });
  for (const it of items) if (!sodium.crypto_sign_verify_detached(it.sig, it.m, it.pk)) throw new Error('verify-rate probe: own signature does not verify');
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let count = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      for (let i = 0; i < 64; i++) {
        const it = items[(count + i) % n]!;
        sodium.crypto_sign_verify_detached(it.sig, it.m, it.pk);
      }
      count += 64;
      t = performance.now();
    }
    rates.push(Math.round((count * 1000) / (t - t0)));
  }
  const best = Math.max(...rates);
  return { perSecond: best, usPerVerify: Math.round(1e7 / best) / 10, rounds: rates };
}

export function loadText(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function rssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * Generic driver: `submit` sends one batch and resolves with how many of its transactions were
 * accepted; `seal` seals one epoch and resolves with, per tx it committed, the ms from its acceptance
 * to the end of the seal (the shard's SealedEvent.acceptedAt). The driver keeps nothing per
 * transaction: what it measures is the shard's memory and GC work, not its own bookkeeping.
 */
export async function drive(
  mode: string,
  txs: Uint8Array[],
  submit: (batch: Uint8Array[]) => Promise<number>,
  seal: () => Promise<number[]>,
  opts: { batch: number; inflight: number; epochMs: number; maxPending: number },
): Promise<BenchResult> {
  const n = txs.length;
  const latency: number[] = [];
  let accepted = 0;
  let rejected = 0;
  let committed = 0;
  let epochs = 0;
  let next = 0;
  let submitting = true;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const main0 = process.threadCpuUsage();
  const threads0 = threadCpu();
  const ru0 = process.resourceUsage();
  // The main isolate's GC pauses (young-generation scavenges, full mark-compacts): the part of the
  // GC cost that moves with how many objects each transaction leaves alive (helper threads: V8Worker).
  const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
  const countGc = (entries: PerformanceEntry[]): void => {
    for (const e of entries) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        gc.minor++;
        gc.minorMs += e.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.major++;
        gc.majorMs += e.duration;
      }
    }
  };
  const gcObserver = new PerformanceObserver((list) => countGc(list.getEntries()));
  gcObserver.observe({ entryTypes: ['gc'] });
  let waiters: (() => void)[] = [];
  const submitter = async () => {
    while (next < n) {
      // flow control: keep at most maxPending accepted-but-uncommitted txs (bounded epochs)
      while (accepted - committed > opts.maxPending) await new Promise<void>((r) => waiters.push(r));
      await new Promise((r) => setImmediate(r)); // let timers (the sealer) run between batches
      const start = next;
      const end = Math.min(n, start + opts.batch);
      next = end;
      const ok = await submit(txs.slice(start, end));
      accepted += ok;
      rejected += end - start - ok;
    }
  };
  const sealer = async () => {
    let last = performance.now();
    while (submitting || committed < accepted) {
      const wait = opts.epochMs - (performance.now() - last);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      last = performance.now();
      const ages = await seal();
      for (const ms of ages) latency.push(ms);
      committed += ages.length;
      epochs++;
      const ws = waiters;
      waiters = [];
      for (const w of ws) w();
    }
  };
  const sealing = sealer();
  await Promise.all(Array.from({ length: opts.inflight }, submitter));
  submitting = false;
  await sealing;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const systemSeconds = cpu.system / 1e6;
  const main = process.threadCpuUsage(main0);
  const mainSeconds = (main.user + main.system) / 1e6;
  const threads1 = threadCpu();
  const ru1 = process.resourceUsage();
  const perK = (a: number, b: number): number => Math.round(((b - a) * 1000) / Math.max(1, committed));
  const perKiloTx = {
    pageFaults: perK(ru0.minorPageFault + ru0.majorPageFault, ru1.minorPageFault + ru1.majorPageFault),
    voluntarySwitches: perK(ru0.voluntaryContextSwitches, ru1.voluntaryContextSwitches),
    involuntarySwitches: perK(ru0.involuntaryContextSwitches, ru1.involuntaryContextSwitches),
  };
  countGc(gcObserver.takeRecords()); // entries not delivered yet
  gcObserver.disconnect();
  gc.minorMs = Math.round(gc.minorMs);
  gc.majorMs = Math.round(gc.majorMs);
  const threadsUsPerTx: Record<string, number> = {};
  for (const [k, v] of Object.entries(threads1)) {
    const us = Math.round(((v - (threads0[k] ?? 0)) * 1e6) / Math.max(1, committed));
    if (us > 0) threadsUsPerTx[k] = us;
  }
  const lat = Float64Array.from(latency).sort();
  return {
    mode, txs: committed, seconds, tps: Math.round(committed / seconds), p50ms: Math.round(percentile(lat, 0.5)), p99ms: Math.round(percentile(lat, 0.99)),
    epochs, rejected, peakRssMb: rssMb(), cpuSeconds: Math.round(cpuSeconds * 100) / 100, cpuUsPerTx: Math.round((cpuSeconds * 1e6) / Math.max(1, committed)),
    mainThreadUsPerTx: Math.round((mainSeconds * 1e6) / Math.max(1, committed)),
    kernelUsPerTx: Math.round((systemSeconds * 1e6) / Math.max(1, committed)),
    threadsUsPerTx, gc, perKiloTx,
  };
}

/** In-process: Shard.submit / Shard.sealEpoch directly, on a fresh data dir. */
export async function benchInProcess(setup: BenchSetup, verify: boolean, o: BenchOptions): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'smt-bench-'));
  try {
    const shard = await Shard.open({
      dataDir: dir, genesis: setup.genesis, shard: SHARD, validatorKey: setup.validator,
      verifySignatures: verify, verifyWorkers: o.workers, mempoolMax: 1_000_000, sync: process.env.BENCH_FSYNC !== '0',
    });
    try {
      let lastAges: number[] = [];
      const phases: Record<string, number> = {};
      shard.events.on('sealed', (e: SealedEvent) => {
        const now = Date.now(); // the shard's clock (acceptedAt is Date.now() at acceptance)
        lastAges = e.acceptedAt.map((t) => now - t);
        for (const [k, v] of Object.entries(e.phases)) phases[k] = (phases[k] ?? 0) + v;
        if (process.env.BENCH_VERBOSE) {
          console.log(`  epoch ${e.snapshot.snapshot.epoch}: ${e.txCount} txs, seal ${Math.round(e.sealMs)} ms`, Object.fromEntries(Object.entries(e.phases).map(([k, v]) => [k, Math.round(v)])));
        }
      });
      const prof = process.env.BENCH_CPU_PROF ? new Session() : undefined;
      if (prof) {
        prof.connect();
        await prof.post('Profiler.enable');
        await prof.post('Profiler.start');
      }
      const hprof = process.env.BENCH_HEAP_PROF ? new Session() : undefined;
      if (hprof) {
        hprof.connect();
        await hprof.post('HeapProfiler.enable');
        await hprof.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      }
      const r = await drive(verify ? 'in-process, signatures verified' : 'in-process, verification off', setup.txs,
        async (b) => {
          let ok = 0;
          for (const x of await shard.submit(b)) if (x.ok) ok++;
          return ok;
        },
        async () => {
          await shard.sealEpoch();
          return lastAges;
        }, o);
      if (hprof) {
        const { profile } = await hprof.post('HeapProfiler.stopSampling');
        writeFileSync(`${process.env.BENCH_HEAP_PROF}.heapprofile`, JSON.stringify(profile));
        hprof.disconnect();
      }
      if (prof) {
        const { profile } = await prof.post('Profiler.stop');
        const file = `${process.env.BENCH_CPU_PROF}-${verify ? 'verify' : 'noverify'}.cpuprofile`;
        writeFileSync(file, JSON.stringify(profile));
        prof.disconnect();
        console.log(`CPU profile of the main thread (measured part only): ${file}`);
      }
      const w = shard.storeStats();
      r.storeRecordsPerTx = Math.round((w.records / Math.max(1, r.txs)) * 100) / 100;
      r.storeBytesPerTx = Math.round(w.bytes / Math.max(1, r.txs));
      // where a seal's wall time goes, per committed tx
      r.sealPhasesUsPerTx = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round((v * 10000) / Math.max(1, r.txs)) / 10]));
      return r;
    } finally {
      await shard.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function show(r: BenchResult): void {
  console.log(`${r.mode.padEnd(34)} ${String(r.tps).padStart(7)} committed tx/s  (${r.txs} txs in ${r.seconds.toFixed(2)} s, ${r.epochs} epochs, rejected ${r.rejected})  latency p50 ${r.p50ms} ms  p99 ${r.p99ms} ms  peak RSS ${r.peakRssMb} MB  CPU ${r.cpuSeconds} s = ${r.cpuUsPerTx} us/tx (main thread ${r.mainThreadUsPerTx}, kernel ${r.kernelUsPerTx})`);
  if (r.gc) console.log(`${''.padEnd(34)} main-isolate GC pauses: ${r.gc.minor} scavenges ${r.gc.minorMs} ms, ${r.gc.major} mark-compacts ${r.gc.majorMs} ms (${Math.round(((r.gc.minorMs + r.gc.majorMs) * 1000) / Math.max(1, r.txs))} us per tx)`);
  if (r.perKiloTx) console.log(`${''.padEnd(34)} per 1,000 tx: ${r.perKiloTx.pageFaults} page faults, ${r.perKiloTx.voluntarySwitches} voluntary + ${r.perKiloTx.involuntarySwitches} involuntary context switches (all threads)`);
  if (r.threadsUsPerTx) console.log(`${''.padEnd(34)} CPU us per tx by thread: ${Object.entries(r.threadsUsPerTx).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.sealPhasesUsPerTx) console.log(`${''.padEnd(34)} seal phases, us of wall time per tx: ${Object.entries(r.sealPhasesUsPerTx).map(([k, v]) => `${k} ${v}`).join(', ')}; LevelDB writes per tx: ${r.storeRecordsPerTx} records, ${r.storeBytesPerTx} bytes`);
}

export interface BenchOptions {
  batch: number;
  inflight: number;
  epochMs: number;
  maxPending: number;
  workers: number;
}

/**
 * One entry per mode, run in the order of BENCH_MODES. The through-HTTP mode goes here too (e.g.
 * `http: (setup, o) => benchHttp(setup, o)`, built on `drive()` with a submit that POSTs batches).
 */
export const MODES: Record<string, (setup: BenchSetup, o: BenchOptions) => Promise<BenchResult>> = {
  verify: (setup, o) => benchInProcess(setup, true, o),
  noverify: (setup, o) => benchInProcess(setup, false, o),
};

async function main(): Promise<void> {
  const accounts = env('BENCH_ACCOUNTS', 10_000);
  const total = env('BENCH_TXS', 240_000);
  const o: BenchOptions = {
    batch: env('BENCH_BATCH', 2000), inflight: env('BENCH_INFLIGHT', 12), epochMs: env('BENCH_EPOCH_MS', 250),
    maxPending: env('BENCH_MAX_PENDING', 40_000), workers: env('BENCH_WORKERS', availableParallelism()),
  };
  const modes = (process.env.BENCH_MODES ?? Object.keys(MODES).join(',')).split(',');
  for (const m of modes) if (!MODES[m]) throw new Error(`unknown BENCH_MODES entry ${m}; known: ${Object.keys(MODES).join(', ')}`);
  console.log(`goal (issue #20): committed tx/s with signatures verified / single-core libsodium verify rate >= ${GOAL_SIGNATURE_RATIO}; fsync per seal ${process.env.BENCH_FSYNC === '0' ? 'OFF (not a headline figure)' : 'on'}`);
  const vr = measureVerifyRate();
  console.log(`libsodium ed25519 verify on one core: ${vr.perSecond} /s (${vr.usPerVerify} us; rounds ${vr.rounds.join(' ')}); load average ${loadText()}`);
  console.log(`transaction signatures verified by: ${txVerifierName()}`);
  const t = performance.now();
  const setup = prepare(accounts, total);
  console.log(`pre-signed ${total} transfers among ${accounts} accounts in ${((performance.now() - t) / 1000).toFixed(1)} s; ${availableParallelism()} cores, ${o.workers} verify workers, batch ${o.batch}, ${o.inflight} in flight, epoch ${o.epochMs} ms, fsync ${process.env.BENCH_FSYNC === '0' ? 'off' : 'on'}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const results: BenchResult[] = [];
  for (const m of modes) {
    const r = await MODES[m]!(setup, o);
    show(r);
    results.push(r);
  }
  const verified = results.find((r) => r.mode === 'in-process, signatures verified');
  // Not a measurement: what the measured CPU cost per tx would allow if this process had every core
  // to itself (other processes on the machine inflate the wall-clock figures above).
  const cpuBound = (r?: BenchResult) => (r ? Math.round((availableParallelism() * 1e6) / r.cpuUsPerTx) : null);
  if (verified) console.log(`CPU-bound ceiling with signatures verified (cores / CPU per tx, an estimate, not measured): ${cpuBound(verified)} tx/s`);
  const ratio = verified ? Math.round((verified.tps / vr.perSecond) * 100) / 100 : null;
  if (verified) {
    console.log(`RATIO committed tps / single-core verify rate = ${verified.tps} / ${vr.perSecond} = ${ratio} (goal >= ${GOAL_SIGNATURE_RATIO}: ${ratio! >= GOAL_SIGNATURE_RATIO ? 'met' : 'NOT met'}); CPU per tx ${verified.cpuUsPerTx} us (one libsodium verify: ${vr.usPerVerify} us); load average ${loadText()}`);
  }
  const summary = {
    bench: 'shard', accounts, txs: total, cores: availableParallelism(), loadavg: loadavg()[0],
    inProcessVerifiedTps: verified?.tps ?? null,
    inProcessNoVerifyTps: results.find((r) => r.mode === 'in-process, verification off')?.tps ?? null,
    p50ms: verified?.p50ms ?? null, p99ms: verified?.p99ms ?? null,
    verifiedCpuUsPerTx: verified?.cpuUsPerTx ?? null, verifiedCpuBoundTpsEstimate: cpuBound(verified),
    peakRssMb: rssMb(), verifyRatePerCore: vr.perSecond, verifyUs: vr.usPerVerify,
    ratio, goalRatio: GOAL_SIGNATURE_RATIO, fsync: process.env.BENCH_FSYNC !== '0', loadavgEnd: loadavg()[0], results,
  };
  console.log(JSON.stringify(summary));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
