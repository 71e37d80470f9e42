// Throughput and latency of one shard through its HTTP API, measured from outside the node process,
// against the same shard in process, in the same run (the ratio holds on any machine). Goal (issue
// #20): HTTP committed tps >= 0.9 x in-process committed tps, both with signatures verified and
// fsync per seal. The in-process run (scripts/bench-shard.ts benchInProcess) gets the same number of
// accounts, transactions per account, batch size, requests in flight and epoch length.
//
// The HTTP part:
// a real `smt node start` child process (signature verification on), pre-signed transfers among many
// accounts submitted in batches (POST /v1/tx, the signed transfers concatenated as
// application/octet-stream, with `Prefer: return=minimal`: the answer is the counts and only the
// refused transfers) with a few requests in flight, until every accepted transaction is committed
// (sealed and durable). This process is the client: it shares the cores with the node.
//
//   npm run bench:shard:http -- [--accounts 4000] [--per-account 25] [--batch 2000] [--inflight 4] [--epoch-ms 500] [--json] [--no-in-process]
//   (--json: submit {"txs": [hex, ...]} instead of the compact application/octet-stream batch)
//   (or env BENCH_ACCOUNTS, BENCH_PER_ACCOUNT, BENCH_BATCH, BENCH_INFLIGHT, BENCH_EPOCH_MS)
//   (env BENCH_NODE_ARGS: Node.js flags for the node process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
//   (env BENCH_POLL_MS: poll /v1/health every that many ms instead of following seals by long poll)
//
// Reports committed tps (first submission -> last commit), client-side submit-to-commit latency
// p50/p99 (per batch: from sending it to the first moment the node's latest epoch covers the epoch its
// transactions were committed in, seen by long poll: GET /v1/health?after=<epoch> answers right
// after each seal), the node's peak RSS; the last line is one JSON object. `runHttpBench()` is
// exported for scripts/bench-shard.ts.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../src/core/bytes.js';
import { loadKeyFile } from '../src/core/keyfile.js';
import { initNetwork } from '../src/node/network-dir.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../src/shard/tx.js';
import { joinSignedTxs } from '../src/shard/tx-batch.js';
import { benchInProcess, loadText, prepare } from './bench-shard.js';

/** Goal: HTTP committed tps / in-process committed tps of the same run (issue #20). */
export const GOAL_HTTP_RATIO = 0.9;

export interface HttpBenchOptions {
  accounts?: number;
  perAccount?: number; // transfers per account (each account's nonces 0..perAccount-1; <= the mempool window)
  batch?: number; // transactions per POST
  inflight?: number; // concurrent POSTs
  epochMs?: number;
  /** 'binary' (default): application/octet-stream, signed transfers concatenated; 'json': {"txs": [hex...]}. */
  format?: 'binary' | 'json';
  log?: (line: string) => void;
}

export interface HttpBenchResult {
  mode: 'http';
  transactions: number;
  committed: number;
  seconds: number;
  tps: number;
  submitSeconds: number;
  p50Ms: number;
  p99Ms: number;
  batch: number;
  inflight: number;
  epochMs: number;
  retries503: number;
  nodePeakRssMb: number | null;
  format: 'binary' | 'json';
  nodeCpuUsPerTx: number | null;
  /** The node's CPU per committed tx by thread name (Linux): main, verify workers, LevelDB, GC helpers. */
  nodeThreadsUsPerTx: Record<string, number>;
  /** This (client) process's CPU per committed tx: it shares the machine's cores with the node. */
  clientCpuUsPerTx: number;
}

/** CPU seconds per thread name of process `pid` (Linux /proc; {} elsewhere); trailing digits folded into '#'. */
function threadCpuOf(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const name = t === String(pid) ? 'main' : st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')).replace(/[0-9]+$/, '#');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
      } catch { /* the thread ended */ }
    }
  } catch { /* not Linux */ }
  return out;
}

// The client shares the machine's two cores with the node it measures, so it must cost little:
// node:http over kept-alive connections, not fetch (whose web streams cost several times more per
// request), and answers read as one buffer.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function httpCall(base: string, method: 'GET' | 'POST', path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; preferenceApplied: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, agent, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), preferenceApplied: res.headers['preference-applied'] as string | undefined }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

const SMT = join(import.meta.dirname, '..', 'bin', 'smt.mjs');
/** 0: the client follows the node's seals by long poll; else it polls every this many ms (env BENCH_POLL_MS, a measuring knob). */
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 0);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function runHttpBench(o: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const accounts = o.accounts ?? 4000;
  const perAccount = o.perAccount ?? 25;
  const batchSize = o.batch ?? 2000;
  const inflight = o.inflight ?? 4;
  const epochMs = o.epochMs ?? 500;
  const format = o.format ?? 'binary';
  const log = o.log ?? ((l: string) => console.error(l));
  const tmp = mkdtempSync(join(tmpdir(), 'smt-bench-http-'));
  const netDir = join(tmp, 'net');
  try {
    log(`# network: 1 shard, ${accounts} accounts, ${perAccount} transfers each, epoch ${epochMs} ms`);
    const { genesis } = initNetwork({ dir: netDir, depth: 0, accounts, epochMs, networkId: 'bench', balance: 1_000_000_000n, force: false });
    const keys = Array.from({ length: accounts }, (_, i) => loadKeyFile(join(netDir, 'accounts', `${i}.key`)));

    // Pre-sign, nonce-major: every account's nonce 0, then every nonce 1, ... so no batch runs ahead
    // of the mempool's future-nonce window.
    const t0 = performance.now();
    const txs: { hex: string; bytes: Uint8Array; txid: string }[] = [];
    for (let n = 0; n < perAccount; n++) {
      for (let i = 0; i < accounts; i++) {
        const k = keys[i]!;
        const to = fromHex(toHex(keys[(i + 1 + n) % accounts]!.address), 20);
        const t = { network: genesis.networkId, from: k.keyPair.publicKey, to, amount: 1n + BigInt(n), fee: 1n, nonce: BigInt(n), ts: BigInt(Date.now()) << 16n };
        const bytes = encodeSignedTx(signTransfer(t, k.keyPair.secretKey));
        txs.push({ hex: format === 'json' ? toHex(bytes) : '', bytes, txid: txIdHex(t) });
      }
    }
    log(`# pre-signed ${txs.length} transfers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // The node: a separate process, verification on (default workers).
    const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : [];
    const proc = spawn(process.execPath, [...nodeArgs, SMT, 'node', 'start', '--network', netDir, '--api', '127.0.0.1:0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error('node did not start in 60 s')), 60_000);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^api listening on (http:\S+)$/m.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      proc.on('exit', (c) => reject(new Error(`node exited (${c}) before listening`)));
    });
    proc.stdout!.resume();
    const peakRss = (): number | null => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
        return m ? Math.round(Number(m[1]) / 1024) : null;
      } catch {
        return null;
      }
    };
    /** The node process's CPU seconds (all threads), from /proc. */
    const nodeCpuSeconds = (): number | null => {
      try {
        const st = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        return (Number(f[11]) + Number(f[12])) / 100;
      } catch {
        return null;
      }
    };
    try {
      // Epoch watcher: when did the node's latest sealed epoch first reach each value?
      const epochSeenAt = new Map<number, number>();
      let watching = true;
      let lastEpoch = -2;
      let committedTotal = 0;
      // By long poll (GET /v1/health?after=<latest seen>: answered as soon as a later epoch is
      // sealed, twice an epoch), or with BENCH_POLL_MS by polling every that many ms.
      const watcher = (async () => {
        while (watching) {
          try {
            const path = POLL_MS > 0 || lastEpoch < -1 ? '/v1/health' : `/v1/health?after=${lastEpoch}`;
            const h = JSON.parse((await httpCall(url, 'GET', path)).body.toString('utf8')) as { epoch: number; committedTotal: number };
            const now = performance.now();
            for (let e = lastEpoch + 1; e <= h.epoch; e++) if (!epochSeenAt.has(e)) epochSeenAt.set(e, now);
            lastEpoch = Math.max(lastEpoch, h.epoch);
            committedTotal = h.committedTotal;
          } catch {
            await new Promise((r) => setTimeout(r, 10)); // node busy; try again
          }
          if (POLL_MS > 0) await new Promise((r) => setTimeout(r, POLL_MS));
        }
      })();
      const baseCommitted = await (async () => {
        const h = JSON.parse((await httpCall(url, 'GET', '/v1/health')).body.toString('utf8')) as { committedTotal: number };
        return h.committedTotal;
      })();

      // The request bodies are made before the clock starts, as the in-process half's batches are
      // (views into one buffer of pre-signed transfers): the client's part in the run is sending
      // them and reading the answers. `Prefer: return=minimal`: the node answers a batch with its
      // counts and only the refused transfers, not one result per transfer.
      const bodyOf = (slice: typeof txs): Buffer => {
        if (format === 'json') return Buffer.from(JSON.stringify({ txs: slice.map((t) => t.hex) }));
        const b = joinSignedTxs(slice.map((t) => t.bytes));
        return Buffer.from(b.buffer, b.byteOffset, b.length);
      };
      const prepared: { slice: typeof txs; body: Buffer }[] = [];
      for (let i = 0; i < txs.length; i += batchSize) {
        const slice = txs.slice(i, i + batchSize);
        prepared.push({ slice, body: bodyOf(slice) });
      }
      const contentType = format === 'json' ? 'application/json' : 'application/octet-stream';
      const batches: { start: number; sent: number; sample: string[] }[] = [];
      let next = 0;
      let accepted = 0;
      let retries503 = 0;
      const tStart = performance.now();
      const nodeCpu0 = nodeCpuSeconds();
      const nodeThreads0 = threadCpuOf(proc.pid!);
      const client0 = process.cpuUsage();
      const worker = async (): Promise<void> => {
        while (next < prepared.length) {
          const p = prepared[next++]!;
          let pending = p.slice;
          let body = p.body;
          const b = { start: 0, sent: 0, sample: [pending[0]!.txid, pending[pending.length - 1]!.txid] };
          while (pending.length > 0) {
            b.start = performance.now();
            const r = await httpCall(url, 'POST', '/v1/tx', body, { 'content-type': contentType, prefer: 'return=minimal' });
            const j = JSON.parse(r.body.toString('utf8')) as { accepted?: number; rejections?: { index: number; reason: string }[] };
            if (r.preferenceApplied !== 'return=minimal' || j.rejections === undefined) throw new Error(`submission failed: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
            accepted += j.accepted!;
            const retry: typeof pending = [];
            for (const x of j.rejections) {
              if (x.reason === 'mempool-full') retry.push(pending[x.index]!);
              else throw new Error(`transaction refused: ${JSON.stringify(x)}`);
            }
            if (retry.length) {
              retries503++;
              await new Promise((res) => setTimeout(res, 50));
              body = bodyOf(retry);
            }
            pending = retry;
          }
          b.sent = performance.now();
          batches.push(b);
        }
      };
      await Promise.all(Array.from({ length: inflight }, worker));
      const submitSeconds = (performance.now() - tStart) / 1000;
      // Wait until every accepted transaction is committed.
      const deadline = performance.now() + 120_000;
      while (committedTotal - baseCommitted < accepted) {
        if (performance.now() > deadline) throw new Error(`only ${committedTotal - baseCommitted} of ${accepted} committed after 120 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const tEnd = epochSeenAt.get(lastEpoch) ?? performance.now();
      const nodeCpu1 = nodeCpuSeconds();
      const nodeThreads1 = threadCpuOf(proc.pid!);
      const client = process.cpuUsage(client0);
      watching = false;
      await watcher; // its last long poll ends at the next seal
      // Latency per batch: from its submission to the moment its commit epoch became visible.
      const lat: number[] = [];
      for (const b of batches) {
        let e = -1;
        for (const id of b.sample) {
          const s = (await (await fetch(`${url}/v1/tx/${id}`)).json()) as { status: string; epoch?: number };
          if (s.status !== 'committed') throw new Error(`sample tx ${id} is ${s.status}`);
          e = Math.max(e, s.epoch!);
        }
        const seen = epochSeenAt.get(e);
        if (seen !== undefined) lat.push(seen - b.start);
      }
      lat.sort((a, b) => a - b);
      const seconds = (tEnd - tStart) / 1000;
      const committed = committedTotal - baseCommitted;
      const nodeThreadsUsPerTx: Record<string, number> = {};
      for (const [k, v] of Object.entries(nodeThreads1)) {
        const us = Math.round(((v - (nodeThreads0[k] ?? 0)) * 1e6) / Math.max(1, committed));
        if (us > 0) nodeThreadsUsPerTx[k] = us;
      }
      return {
        mode: 'http', transactions: txs.length, committed, seconds: +seconds.toFixed(3), tps: Math.round(committed / seconds),
        submitSeconds: +submitSeconds.toFixed(3), p50Ms: Math.round(quantile(lat, 0.5)), p99Ms: Math.round(quantile(lat, 0.99)),
        batch: batchSize, inflight, epochMs, retries503, nodePeakRssMb: peakRss(), format,
        nodeCpuUsPerTx: nodeCpu0 === null || nodeCpu1 === null ? null : Math.round(((nodeCpu1 - nodeCpu0) * 1e6) / Math.max(1, committed)),
        nodeThreadsUsPerTx, clientCpuUsPerTx: Math.round((client.user + client.system) / Math.max(1, committed)),
      };
    } finally {
      agent.destroy();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The name scripts/bench-shard.ts refers to. */
export const benchHttp = runHttpBench;

if (import.meta.main) {
  // --flag N, else env BENCH_* (as in bench-shard.ts), else the default
  const arg = (name: string, env: string, dflt: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : process.env[env] ? Number(process.env[env]) : dflt;
  };
  const o = {
    accounts: arg('accounts', 'BENCH_ACCOUNTS', 4000), perAccount: arg('per-account', 'BENCH_PER_ACCOUNT', 25), batch: arg('batch', 'BENCH_BATCH', 2000),
    inflight: arg('inflight', 'BENCH_INFLIGHT', 4), epochMs: arg('epoch-ms', 'BENCH_EPOCH_MS', 500),
    format: (process.argv.includes('--json') ? 'json' : 'binary') as 'json' | 'binary',
  };
  console.log(`goal (issue #20): HTTP committed tps >= ${GOAL_HTTP_RATIO} x in-process committed tps of the same run; signatures verified, fsync per seal; load average ${loadText()}`);
  let inProcessTps: number | undefined;
  if (!process.argv.includes('--no-in-process')) {
    const setup = prepare(o.accounts, o.accounts * o.perAccount);
    const ip = await benchInProcess(setup, true, { batch: o.batch, inflight: o.inflight, epochMs: o.epochMs, maxPending: 40_000, workers: availableParallelism() });
    inProcessTps = ip.tps;
    console.log(`in-process: ${ip.txs} committed in ${ip.seconds.toFixed(2)} s = ${ip.tps} tps; p50 ${ip.p50ms} ms, p99 ${ip.p99ms} ms; CPU ${ip.cpuUsPerTx} us/tx; load average ${loadText()}`);
    console.log(`  in-process CPU us per tx by thread: ${Object.entries(ip.threadsUsPerTx ?? {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const r = await runHttpBench(o);
  console.log(`http (${r.format}): ${r.committed} committed in ${r.seconds} s = ${r.tps} tps (submission took ${r.submitSeconds} s; node CPU ${r.nodeCpuUsPerTx} us/tx, client CPU ${r.clientCpuUsPerTx} us/tx); submit-to-commit p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms; node peak RSS ${r.nodePeakRssMb} MB; load average ${loadText()}`);
  console.log(`  node CPU us per tx by thread: ${Object.entries(r.nodeThreadsUsPerTx).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const ratio = inProcessTps ? Math.round((r.tps / inProcessTps) * 100) / 100 : null;
  if (ratio !== null) console.log(`RATIO http / in-process = ${r.tps} / ${inProcessTps} = ${ratio} (goal >= ${GOAL_HTTP_RATIO}: ${ratio >= GOAL_HTTP_RATIO ? 'met' : 'NOT met'})`);
  console.log(JSON.stringify({ ...r, inProcessTps: inProcessTps ?? null, ratio, goalRatio: GOAL_HTTP_RATIO }));
}
