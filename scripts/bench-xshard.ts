// Cross-shard overhead benchmark (`npm run bench:xshard`).
//
// Same machine, same run, in-process engines (3 shards, depth 1, each its own LevelDB): committed
// transactions per second with 0% and with 100% cross-shard traffic. An epoch = every shard takes
// its pre-signed transactions and seals; then every source builds a receipt batch per destination
// (proofs against its new outboxRoot), which is encoded, decoded, verified and queued at the
// destination and credited at its next seal. The cross-shard run pays all of that inside the timed
// loop. Debit-to-credit latency: ms from the source seal that debited to the destination seal that
// credited (pipelined delivery), and in epoch ticks in the randomized simulation (src/sim/xshard.ts:
// late, duplicated, out-of-order delivery with restarts).
// Signature verification is off in both runs (it costs the same per tx either way). Last line: JSON.
//
// Env knobs: BENCH_EPOCHS (8), BENCH_TXS_PER_SHARD (3000 per epoch), BENCH_USERS_PER_SHARD (100).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { allShards, shardIndex } from '../src/core/ids.js';
import type { Genesis } from '../src/core/genesis.js';
import { Shard, type SealedEvent } from '../src/shard/shard.js';
import { encodeSignedTx, signTransfer } from '../src/shard/tx.js';
import { decodeReceiptBatch, encodeReceiptBatch } from '../src/shard/receipts.js';
import { simKey, XShardSim } from '../src/sim/xshard.js';
import type { KeyPair } from '../src/core/ed25519.js';

const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const EPOCHS = env('BENCH_EPOCHS', 8);
const PER_SHARD = env('BENCH_TXS_PER_SHARD', 3000);
const USERS = env('BENCH_USERS_PER_SHARD', 100);
const DEPTH = 1;

interface Run { tps: number; cpuSeconds: number; txs: number; seconds: number; latP50ms: number; latP99ms: number; receipts: number }

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
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
  const lat: number[] = [];
  let receipts = 0;
  const cursors = ids.map(() => ids.map(() => 0n)); // [dst][src] seq already handed over
  const pendingDebit: { dst: number; src: number; epoch: number; n: number }[] = [];
  let committed = 0;
  const phase = { seal: 0, build: 0, codec: 0, verify: 0 };
  const sealPhases: Record<string, number> = {};
  for (const sh of shards) sh.events.on('sealed', (ev: SealedEvent) => { for (const [k, v] of Object.entries(ev.phases)) sealPhases[k] = (sealPhases[k] ?? 0) + v; });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let e = 0; e <= EPOCHS; e++) {
    for (let s = 0; s < ids.length; s++) {
      if (e < EPOCHS) {
        const res = await shards[s]!.submit(txs[e]![s]!);
        const bad = res.find((r) => !r.ok);
        if (bad) throw new Error(`${label}: refused ${JSON.stringify(bad)}`);
      }
      const ts = performance.now();
      const ss = await shards[s]!.sealEpoch();
      phase.seal += performance.now() - ts;
      committed += Number(ss.snapshot.txCount);
      const now = performance.now();
      sealedAt[s]![ss.snapshot.epoch] = now;
      // credits that landed in this seal: receipts handed over before it
      for (let k = pendingDebit.length - 1; k >= 0; k--) {
        const p = pendingDebit[k]!;
        if (p.dst !== s) continue;
        for (let i = 0; i < p.n; i++) lat.push(now - sealedAt[p.src]![p.epoch]!);
        pendingDebit.splice(k, 1);
      }
    }
    // delivery: every source hands each destination the receipts after the cursor
    for (let s = 0; s < ids.length; s++) {
      for (let d = 0; d < ids.length; d++) {
        if (s === d) continue;
        for (;;) {
          let t = performance.now();
          const b = await shards[s]!.receiptBatch(ids[d]!, cursors[d]![s]!, 4096);
          phase.build += performance.now() - t;
          if (!b || b.items.length === 0) break;
          t = performance.now();
          const wire = encodeReceiptBatch(b);
          const decoded = decodeReceiptBatch(wire);
          phase.codec += performance.now() - t;
          t = performance.now();
          const r = await shards[d]!.receiveReceipts(decoded);
          phase.verify += performance.now() - t;
          cursors[d]![s]! += BigInt(b.items.length);
          receipts += r.queued;
          pendingDebit.push({ dst: d, src: s, epoch: b.snapshot.snapshot.epoch, n: r.queued });
        }
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`  ${label}: ms in seal ${phase.seal.toFixed(0)} (${Object.entries(sealPhases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}), batch build+proofs ${phase.build.toFixed(0)}, codec ${phase.codec.toFixed(0)}, verify+queue ${phase.verify.toFixed(0)}`);
  for (const s of shards) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  // sample latency: at most one value per receipt is fine, percentiles over all
  return { tps: committed / seconds, cpuSeconds, txs: committed, seconds, latP50ms: pct(lat, 50), latP99ms: pct(lat, 99), receipts };
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

const { genesis, validators, users } = setup();
console.log(`bench:xshard: ${allShards(DEPTH).length} in-process shards, ${EPOCHS} epochs x ${PER_SHARD} tx per shard; signature checks off`);
const local = await run('local', genesis, validators, presign(genesis, users, false));
console.log(`0% cross-shard:   ${local.txs} tx in ${local.seconds.toFixed(2)} s = ${local.tps.toFixed(0)} tps`);
const cross = await run('cross', genesis, validators, presign(genesis, users, true));
console.log(`100% cross-shard: ${cross.txs} tx in ${cross.seconds.toFixed(2)} s = ${cross.tps.toFixed(0)} tps (${cross.receipts} receipts delivered and credited)`);
const overhead = 1 - cross.tps / local.tps;
console.log(`overhead: ${(overhead * 100).toFixed(1)}% (goal <= 5%)`);
// On a shared machine wall-clock tps follows the load; CPU time per committed tx does not.
const cpuLocal = (local.cpuSeconds / local.txs) * 1e6;
const cpuCross = (cross.cpuSeconds / cross.txs) * 1e6;
console.log(`CPU per committed tx (this process): ${cpuLocal.toFixed(0)} us local, ${cpuCross.toFixed(0)} us cross-shard -> CPU overhead ${((1 - cpuLocal / cpuCross) * 100).toFixed(1)}%; 1-core-equivalent tps ${(1e6 / cpuLocal).toFixed(0)} vs ${(1e6 / cpuCross).toFixed(0)}`);
console.log(`debit-to-credit latency (pipelined, ms): p50 ${cross.latP50ms.toFixed(0)} p99 ${cross.latP99ms.toFixed(0)}`);
const sim = await simLatency();
console.log(`debit-to-credit latency (simulation, epoch ticks, random delay/duplication/restarts): p50 ${sim.p50} p99 ${sim.p99} (n=${sim.n})`);
console.log(JSON.stringify({
  bench: 'xshard', shards: allShards(DEPTH).length, epochs: EPOCHS, txsPerShardEpoch: PER_SHARD,
  tpsLocal: Math.round(local.tps), tpsCross: Math.round(cross.tps), overheadRatio: Number((cross.tps / local.tps).toFixed(4)), overheadPct: Number((overhead * 100).toFixed(2)),
  cpuUsPerTxLocal: Math.round(cpuLocal), cpuUsPerTxCross: Math.round(cpuCross), cpuOverheadPct: Number(((1 - cpuLocal / cpuCross) * 100).toFixed(2)),
  latencyMs: { p50: Math.round(cross.latP50ms), p99: Math.round(cross.latP99ms) },
  simLatencyEpochs: { p50: sim.p50, p99: sim.p99, n: sim.n },
  cluster: null,
}));
