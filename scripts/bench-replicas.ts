// npm run bench:replicas: what replication costs and how fast a writer is replaced (issue #15).
// In one run, on this machine: a depth-0 network with 1 replica and one with 3 (same epoch length,
// same load): committed tps of a burst of pre-signed transfers and the submit -> committed latency
// of single transfers; then, on the 3-replica network, kill -9 of the writer BENCH_KILLS times: time
// from the kill to the next epoch committed by a new writer. Last line: JSON.
import { loadavg } from 'node:os';
import { fromHex, toHex } from '../src/core/bytes.js';
import { loadKeyFile } from '../src/core/keyfile.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../src/shard/tx.js';
import { ReplicaSet } from '../test/replicas/replica-set.js';
import { sleep, until } from '../test/support/wait.js';
import { tryGetJson } from '../test/support/http.js';

const EPOCH_MS = Number(process.env.BENCH_EPOCH_MS ?? 1000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 40);
const PER_SENDER = Number(process.env.BENCH_PER_SENDER ?? 50);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY ?? 10);
const KILLS = Number(process.env.BENCH_KILLS ?? 3);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function writerUrl(s: ReplicaSet): Promise<string> {
  return s.urls[await until('a writer', 180_000, () => s.writer())]!;
}

async function post(url: string, txs: string[]): Promise<void> {
  await until('a batch accepted', 30_000, async () => {
    const r = await fetch(`${url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs }), signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    if (!r) return undefined;
    await r.body?.cancel();
    return r.status === 200 ? true : undefined;
  });
}

async function committed(url: string, txid: string): Promise<boolean> {
  return (await tryGetJson<{ status: string }>(`${url}/v1/tx/${txid}`, 5000))?.body.status === 'committed';
}

async function measure(replicas: number): Promise<{ tps: number; p50: number; p99: number; set: ReplicaSet }> {
  const s = await ReplicaSet.create({ replicas, epochMs: EPOCH_MS, accounts: SENDERS + 1 });
  s.startAll();
  const url = await writerUrl(s);
  const accts = s.accounts();
  const keys = accts.map((a) => loadKeyFile(a.keyFile).keyPair);
  const tx = (k: number, nonce: bigint): { hex: string; txid: string } => {
    const t = { network: s.genesis.networkId, from: keys[k]!.publicKey, to: fromHex(accts[(k + 1) % SENDERS]!.address, 20), amount: 1n, fee: 1n, nonce, ts: 0n };
    return { hex: toHex(encodeSignedTx(signTransfer(t, keys[k]!.secretKey))), txid: txIdHex(t) };
  };
  // latency: one transfer at a time from the last account, submit -> committed (polled every 20 ms)
  const lat: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t = tx(SENDERS, BigInt(i));
    const t0 = performance.now();
    await post(url, [t.hex]);
    while (!(await committed(url, t.txid))) await sleep(20);
    lat.push(performance.now() - t0);
  }
  // throughput: SENDERS x PER_SENDER pre-signed transfers, submitted at once in batches, until all committed
  const all: { hex: string; txid: string }[][] = keys.slice(0, SENDERS).map((_, k) => Array.from({ length: PER_SENDER }, (_, n) => tx(k, BigInt(n))));
  const t0 = performance.now();
  for (let n = 0; n < PER_SENDER; n += 10) await post(url, all.flatMap((l) => l.slice(n, n + 10).map((t) => t.hex)));
  const last = all.map((l) => l[l.length - 1]!.txid);
  for (const id of last) while (!(await committed(url, id))) await sleep(50);
  const secs = (performance.now() - t0) / 1000;
  return { tps: (SENDERS * PER_SENDER) / secs, p50: pct(lat, 50), p99: pct(lat, 99), set: s };
}

const load0 = loadavg()[0];
const one = await measure(1);
await one.set.teardown();
const three = await measure(3);
const s = three.set;
const failover: number[] = [];
for (let k = 0; k < KILLS; k++) {
  const w = await until('a writer', 120_000, () => s.writer());
  const before = (await s.status(w))!.committed;
  const t0 = Date.now();
  s.kill9(w);
  await until('an epoch committed by a new writer', 120_000, async () => {
    const nw = await s.writer(w);
    if (nw === undefined) return undefined;
    const st = await s.status(nw);
    return st && st.role === 'writer' && st.committed > before ? true : undefined;
  }, 50);
  failover.push(Date.now() - t0);
  s.start(w);
  await until('the killed replica follows again', 120_000, async () => ((await s.status(w))?.role === 'follower' ? true : undefined));
  await sleep(2 * EPOCH_MS);
}
await s.teardown();
const out = {
  epochMs: EPOCH_MS, transfers: SENDERS * PER_SENDER, load1m: [Math.round(load0 * 10) / 10, Math.round(loadavg()[0] * 10) / 10],
  tps1: Math.round(one.tps), tps3: Math.round(three.tps), overheadPct: Math.round((1 - three.tps / one.tps) * 1000) / 10,
  commitLatencyMs: { one: { p50: Math.round(one.p50), p99: Math.round(one.p99) }, three: { p50: Math.round(three.p50), p99: Math.round(three.p99) } },
  failoverMs: { samples: failover, p50: pct(failover, 50), p99: pct(failover, 99), epochs: Math.round((pct(failover, 50) / EPOCH_MS) * 10) / 10 },
};
console.log(`1 replica:  ${out.tps1} tps committed, latency p50 ${out.commitLatencyMs.one.p50} ms`);
console.log(`3 replicas: ${out.tps3} tps committed (overhead ${out.overheadPct}%), latency p50 ${out.commitLatencyMs.three.p50} ms`);
console.log(`failover (kill -9 writer -> next committed epoch): ${failover.join(', ')} ms`);
console.log(JSON.stringify(out));
