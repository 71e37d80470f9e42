// npm run bench:proof [-- --verify-only] [--max-depth 4] [--warm-seconds 60] [--window-seconds 300] [--rows 1000:auto,2000:3,2000:1:pool] [--cluster-epoch-ms 2000] [--cluster-prove-every 3] [--no-cluster]
// Constraints per circuit, setup time (as measured by build:circuits), prove time p50 per circuit,
// apex verify time, proving rate in constraints/s, and the global proof's size for 3, 9, 27 and 81
// shards -- every tree proved in full, bottom-up, with child proofs verified before each parent --
// and, in a real 9-shard cluster (`smt cluster up`: its shared prover service and the proving
// layer of src/node/proving/), after a warm-up (default 60 s) over a window (default 300 s): the age
// of the newest global proof sampled every second (p50/p99/max, epochs and seconds), the time from
// `cluster up` returning to the first global proof, and per proved epoch e the latency from e's
// nominal seal (genesisTime + (e+1) * epochMs) to the first node holding e's global proof, for
// each row (epoch length x cadence x prover threads; see rows()), with the p50 of every pipeline
// step from the nodes' /v1/proof/status timelines, and a table saying which rows meet the goals. Also
// the per-proof split of the warm prover child (witness, prove, CPU) against snarkjs fullProve.
// Prints os.loadavg() with each figure. Last line: one JSON object.
// --verify-only: only the verification micro-benchmark (a depth-2 tree proved once, then each
// circuit's proof verified N times by the node's verifier without its kept verdicts, and by snarkjs's
// groth16.verify in the same run: ms per verification and the ratio snarkjs / ours).
import { artifactsDir, loadManifest } from '../src/proof/artifacts.js';
import { getPoseidon } from '../src/proof/commitment.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from '../test/fixtures/proof-fixtures.js';
import { apexKind, encodeGlobalProof, globalFromApex, verifyGlobalProof } from '../src/proof/global.js';
import { Prover } from '../src/proof/prover.js';
import { buildTree, genesisTree } from '../src/proof/tree.js';
import { proveTree } from '../src/proof/tree-prover.js';
import { closeVerifier, loadVerificationKey, pairingCheck, verify } from '../src/proof/verifier.js';
import { circuitFiles, type CircuitKind } from '../src/proof/artifacts.js';
import { triadInput, type CircuitInput } from '../src/proof/tree.js';
import * as snarkjs from 'snarkjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGenesis } from '../src/core/genesis.js';
import { loadLayout } from '../src/cluster/cluster.js';
import { apiUrl, findFreePortBases, proverUrlOf, SMT_BIN } from '../src/cluster/supervisor.js';

const argv = process.argv.slice(2);
const maxDepth = Number(argv[argv.indexOf('--max-depth') + 1] ?? 4) || 4;
const arg = (name: string, d: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) || d : d);
const warmS = arg('--warm-seconds', 60); // cluster part: the first minute is not measured (start-up)
const windowS = arg('--window-seconds', 300); // cluster part: then this long is measured, per row
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One cluster configuration: epoch length and cadence (0 = the node's automatic cadence). */
interface Row {
  epochMs: number;
  proveEvery: number;
  why: string;
  threads?: 'single' | 'pool'; // the provers' curve threads (SMT_PROVER_THREADS); default single
}
// Default rows (issue #6): (a) the cluster default epoch with the automatic cadence, (b) 2 s epochs
// proving every 3rd epoch (single-threaded provers, and the same with snarkjs's thread pool) and
// every epoch, (c) every epoch proved at 5 s epochs (the CPU budget -- 3 leaf + 1 inner proof, about
// 5.5 CPU-s per proved epoch, plus about 0.7 of a core for the nine nodes -- puts the shortest
// sustainable every-epoch cadence near 5 s on 2 cores), (d) 4 s epochs with the automatic cadence.
// The table says which rows meet the goal. (The snarkjs thread-pool variant, measured slower in a
// loaded cluster, is available as --rows 2000:3:pool.)
// --cluster-epoch-ms / --cluster-prove-every give a single row instead; --rows "ms:every,..." a list.
function rows(): Row[] {
  if (argv.includes('--rows')) {
    return argv[argv.indexOf('--rows') + 1]!.split(',').map((r) => {
      const [ms, every, threads] = r.split(':');
      return { epochMs: Number(ms), proveEvery: every === 'auto' ? 0 : Number(every), why: 'from --rows', threads: threads === 'pool' ? 'pool' : 'single' };
    });
  }
  if (argv.includes('--cluster-epoch-ms') || argv.includes('--cluster-prove-every')) {
    return [{ epochMs: arg('--cluster-epoch-ms', 2000), proveEvery: arg('--cluster-prove-every', 0), why: 'from the options' }];
  }
  return [
    { epochMs: 1000, proveEvery: 0, why: '(a) default devnet: 1 s epochs, automatic cadence' },
    { epochMs: 4000, proveEvery: 0, why: '(d) 4 s epochs, automatic cadence' },
  ];
}

type Timeline = Record<string, number>;

interface ClusterResult {
  epochMs: number;
  proveEvery: number;
  why: string;
  epochs: number[];
  latencyMs: number[];
  p50: number;
  p99: number;
  max: number;
  p50Epochs: number;
  p99Epochs: number;
  missed: number[];
  goalMet: boolean;
  /** p50 over the measured epochs of each pipeline step, ms after the nominal seal (see stepsOf). */
  steps: Record<string, number>;
  proverThreads?: string;
  loadavg: number[];
  /** Age of the newest global proof, sampled every second after the warm-up: epochs (p50, p99, max) and seconds (p50s, p99s). */
  age: { p50: number; p99: number; max: number; p50s: number; p99s: number };
  firstProofAfterUpS: number | null;
  windowS: number;
  warmS: number;
  cadence?: { every: number; source: string; why: string };
  skippedByPool: number;
  /** The prover service's own figures at the end (pool.held: times a free worker waited for an unfinished epoch; pool.priorities). */
  pool?: { held?: number; priorities?: boolean; skipped?: number; skippedEpochs?: number; proved?: number };
  load1m: { mean: number; max: number };
  /** Freshness goal (#23): age p99 <= 10 epochs after the warm-up, first global proof within 30 s of `cluster up` returning. */
  freshGoalMet: boolean;
}

/**
 * Where one epoch's latency went, from the nodes' /v1/proof/status timelines (ms after e's nominal
 * seal): sealed = the last shard's seal; tree = the last node to build e's tree; leafStart/leafMade
 * = the last lowest-level proof started / made; leafProveMs = the slowest leaf's Groth16 time in
 * its child; apexStart, apexVerified (children checked), apexMade; global = first node holding it.
 */
function stepsOf(tls: Timeline[], depth: number): Record<string, number> {
  const all = (k: string): number[] => tls.map((t) => t[k]).filter((v): v is number => v !== undefined);
  const max = (xs: number[]): number => (xs.length ? Math.max(...xs) : NaN);
  const min = (xs: number[]): number => (xs.length ? Math.min(...xs) : NaN);
  const leaves = Array.from({ length: 3 ** (depth - 1) }, (_, i) => (depth === 2 ? String(i) : ''));
  const leafMax = (suffix: string): number => max(leaves.map((p) => min(all(`${p}@${suffix}`))).filter((x) => !Number.isNaN(x)));
  return {
    sealed: max(all('sealed')), tree: max(all('tree')),
    leafStart: leafMax('start'), leafMade: leafMax('made'), leafProveMs: leafMax('proveMs'), leafCpuMs: leafMax('cpuMs'),
    leafWaitMs: leafMax('waitMs'), apexWaitMs: min(all('apex@waitMs')),
    apexStart: min(all('apex@start')), apexVerified: min(all('apex@verified')), apexMade: min(all('apex@made')), apexProveMs: min(all('apex@proveMs')), apexCpuMs: min(all('apex@cpuMs')),
    global: min(all('global')),
  };
}

/** One node's /v1/proof/status, as far as the bench reads it. */
interface ProofStatus {
  proveEvery: number;
  proverThreads?: string;
  timelines: Record<string, Timeline>;
  latestGlobalProofEpoch: number;
  freshness?: { ageEpochs: number | null; ageSeconds: number | null };
  cadence?: { every: number; source: string; why: string };
  skippedByPool?: number;
}

/**
 * A 9-shard cluster (`smt cluster up`, so with its shared prover service) for `warmS + windowS`
 * seconds: every second, how old the newest global proof is (the freshest any node holds: a user
 * may ask any node), and for every global proof that appears after the warm-up its seal-to-proof
 * latency (first node holding it). Also the time from `cluster up` returning to the first global proof.
 */
async function clusterLatency(row: Row): Promise<ClusterResult> {
  const tmp = mkdtempSync(join(tmpdir(), 'smt-bench-proof-'));
  const net = join(tmp, 'net');
  const [base, p2pBase] = await findFreePortBases(9);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SMT_PROVE_EVERY;
  delete env.SMT_NO_PROVE;
  if (row.proveEvery > 0) env.SMT_PROVE_EVERY = String(row.proveEvery);
  env.SMT_PROVER_THREADS = row.threads ?? 'single';
  const up = spawnSync(process.execPath, [SMT_BIN, 'cluster', 'up', '--network', net, '--depth', '2', '--epoch-ms', String(row.epochMs), '--accounts', '9',
    '--api-base-port', String(base), '--p2p-base-port', String(p2pBase), '--timeout', '120'], { env, encoding: 'utf8' });
  const upAt = Date.now();
  try {
    if (up.status !== 0) throw new Error(`cluster up failed: ${up.stdout}\n${up.stderr}`);
    const g = loadGenesis(join(net, 'genesis.json'));
    const urls = loadLayout(net).shards.map(apiUrl);
    const status = async (): Promise<ProofStatus[]> => {
      const all = await Promise.all(urls.map(async (u) => {
        try {
          const r = await fetch(`${u}/v1/proof/status`, { signal: AbortSignal.timeout(3000) });
          return r.status === 200 ? ((await r.json()) as ProofStatus) : undefined;
        } catch {
          return undefined; // node busy: skip
        }
      }));
      return all.filter((x): x is ProofStatus => x !== undefined);
    };
    const sealAt = (e: number): number => g.genesisTime + (e + 1) * g.epochMs;
    const clock = (): number => Math.floor((Date.now() - g.genesisTime) / g.epochMs) - 1;
    const warmEnd = upAt + warmS * 1000;
    const end = warmEnd + windowS * 1000;
    let firstProofS: number | null = null;
    const ages: number[] = [];
    const ageSecs: number[] = [];
    const got = new Map<number, number>(); // proved epoch (after warm-up) -> seal-to-proof ms
    const loads: number[] = [];
    let last: ProofStatus[] = [];
    while (Date.now() < end) {
      const t = Date.now();
      last = await status();
      const newest = Math.max(-1, ...last.map((s) => s.latestGlobalProofEpoch));
      if (newest >= 0 && firstProofS === null) firstProofS = r1((Date.now() - upAt) / 1000);
      if (Date.now() >= warmEnd) {
        loads.push(os.loadavg()[0]!);
        ages.push(newest >= 0 ? clock() - newest : Infinity);
        ageSecs.push(newest >= 0 ? (Date.now() - sealAt(newest)) / 1000 : Infinity);
        // latency of each proved epoch sealed after the warm-up: the first node holding its global proof
        if (newest >= 0 && sealAt(newest) >= warmEnd && !got.has(newest)) {
          let best: number | undefined;
          for (const u of urls) {
            try {
              const r = await fetch(`${u}/v1/proof/global/${newest}`, { signal: AbortSignal.timeout(3000) });
              if (r.status === 200) best = Math.min(best ?? Infinity, ((await r.json()) as { receivedAt: number }).receivedAt);
            } catch {
              // node busy: next
            }
          }
          if (best !== undefined) got.set(newest, best - sealAt(newest));
        }
      }
      await sleep(Math.max(0, 1000 - (Date.now() - t)));
    }
    let pool: ClusterResult['pool'];
    try {
      const u = proverUrlOf(net);
      if (u) pool = ((await (await fetch(`${u}/v1/status`, { signal: AbortSignal.timeout(3000) })).json()) as { pool: ClusterResult['pool'] }).pool;
    } catch {
      // service busy: no pool figures
    }
    const loadavg = os.loadavg().map(r2);
    const every = last[0]?.proveEvery ?? row.proveEvery;
    const epochs = [...got.keys()].sort((a, b) => a - b);
    const perEpoch = epochs.map((e) => stepsOf(last.map((s) => s.timelines[String(e)] ?? {}), 2));
    const steps: Record<string, number> = {};
    for (const k of Object.keys(perEpoch[0] ?? {})) {
      const xs = perEpoch.map((p) => p[k]!).filter((x) => !Number.isNaN(x));
      steps[k] = xs.length ? pct(xs, 50) : NaN;
    }
    const lat = epochs.map((e) => got.get(e)!);
    const p50 = lat.length ? pct(lat, 50) : NaN;
    const p99 = lat.length ? pct(lat, 99) : NaN;
    const max = lat.length ? Math.max(...lat) : NaN;
    const age = { p50: pct(ages, 50), p99: pct(ages, 99), max: Math.max(...ages), p50s: r1(pct(ageSecs, 50)), p99s: r1(pct(ageSecs, 99)) };
    return {
      epochMs: g.epochMs, proveEvery: every, why: row.why, epochs, latencyMs: lat, p50, p99, max,
      p50Epochs: r1(p50 / g.epochMs), p99Epochs: r1(p99 / g.epochMs), missed: [], goalMet: lat.length > 0 && max <= 2 * g.epochMs,
      steps, proverThreads: last.find((s) => s.proverThreads)?.proverThreads, loadavg,
      age, firstProofAfterUpS: firstProofS, windowS, warmS, cadence: last[0]?.cadence, skippedByPool: last.reduce((a, s) => a + (s.skippedByPool ?? 0), 0),
      pool: pool && { held: pool.held, priorities: pool.priorities, skipped: pool.skipped, skippedEpochs: pool.skippedEpochs, proved: pool.proved },
      load1m: { mean: r2(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)), max: r2(Math.max(0, ...loads)) },
      freshGoalMet: age.p99 <= 10 && firstProofS !== null && firstProofS <= 30,
    };
  } finally {
    spawnSync(process.execPath, [SMT_BIN, 'cluster', 'down', '--network', net, '--grace', '3'], { encoding: 'utf8' });
    rmSync(tmp, { recursive: true, force: true });
  }
}

function printTable(cluster: ClusterResult[]): void {
  console.log('9-shard cluster: newest global proof age (sampled each second after the warm-up) and seal-to-global-proof latency:');
  console.log('| epoch ms | prove every | age p50 epochs (s) | age p99 epochs (s) | age max | first proof after up | latency p50 ms (epochs) | latency max ms | proved | skipped | freshness goal | 2-epoch goal | load 1m mean/max |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of cluster) {
    console.log(`| ${c.epochMs} | ${c.proveEvery} (${c.cadence?.source ?? '?'}) | ${c.age.p50} (${c.age.p50s}) | ${c.age.p99} (${c.age.p99s}) | ${c.age.max} | ${c.firstProofAfterUpS ?? '-'} s | ${c.p50} (${c.p50Epochs}) | ${c.max} | ${c.latencyMs.length} | ${c.skippedByPool} | ${c.freshGoalMet ? 'met' : 'NOT met'} | ${c.goalMet ? 'met' : 'NOT met'} | ${c.load1m.mean}/${c.load1m.max} |`);
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** --verify-only: ms per verification of a leaf and an inner proof, ours (no kept verdicts) against snarkjs's, same run. */
async function verifyOnly(H: Awaited<ReturnType<typeof getPoseidon>>): Promise<void> {
  const prover = new Prover({ threads: 'single' });
  const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
  const t0 = buildTree(H, fixtureSnapshots(2, 0, g.shards.map((s) => s.supply)), g);
  const pt = await proveTree(prover, verify, t0, g);
  await prover.close();
  const n = Number(arg('--n', 200));
  const out: Record<string, { oursMs: number; snarkjsMs: number; ratio: number }> = {};
  for (const path of ['0', '']) {
    const p = pt.proofs.get(path)!;
    const vk = loadVerificationKey(p.kind);
    const time = async (f: () => Promise<boolean>, times: number): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < times; i++) {
        const t = performance.now();
        if (!(await f())) throw new Error(`${p.kind}: proof does not verify`);
        ms.push(performance.now() - t);
      }
      return pct(ms, 50);
    };
    await time(() => pairingCheck(vk, p.publicSignals, p.proof), 10); // warm
    const ours = await time(() => pairingCheck(vk, p.publicSignals, p.proof), n);
    const theirs = await time(() => snarkjs.groth16.verify(vk, [...p.publicSignals], p.proof), Math.max(10, Math.round(n / 5)));
    out[p.kind] = { oursMs: r2(ours), snarkjsMs: r2(theirs), ratio: r2(theirs / ours) };
    console.log(`verify ${p.kind}: ${r2(ours)} ms p50 (node's verifier, ${n} runs), snarkjs groth16.verify ${r2(theirs)} ms: snarkjs / ours = ${r2(theirs / ours)}; load ${os.loadavg().map(r2).join(' ')}`);
  }
  await closeVerifier();
  console.log(JSON.stringify({ verifyP50: out, loadavg: os.loadavg().map(r2) }));
}

async function main(): Promise<void> {
  const manifest = loadManifest();
  if (!manifest) {
    console.error(`circuits not built in ${artifactsDir()}: run npm run build:circuits first`);
    process.exit(1);
  }
  const H = await getPoseidon();
  if (argv.includes('--verify-only')) return verifyOnly(H);
  const prover = new Prover({ threads: 'single' });
  const warmMs = await prover.warmed;
  const proveMs: Record<CircuitKind, number[]> = { triad_leaf: [], triad_inner: [] };
  const parts: Record<CircuitKind, { witness: number[]; prove: number[]; cpu: number[] }> = { triad_leaf: { witness: [], prove: [], cpu: [] }, triad_inner: { witness: [], prove: [], cpu: [] } };
  const backend = {
    async prove(kind: CircuitKind, input: CircuitInput) {
      const r = await prover.prove(kind, input);
      parts[kind].witness.push(r.witnessMs!);
      parts[kind].prove.push(r.proveMs!);
      parts[kind].cpu.push(r.cpuMs!);
      return r;
    },
  };
  const globalBytes: Record<string, number> = {};
  const treeMs: Record<string, number> = {};
  const proofs: Record<string, number> = {};
  let apex: ReturnType<typeof globalFromApex> | null = null;

  for (let depth = 1; depth <= maxDepth; depth++) {
    const g = genesisTree(H, depth, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(depth));
    const t0 = buildTree(H, fixtureSnapshots(depth, 0, g.shards.map((s) => s.supply)), g);
    const start = performance.now();
    const pt = await proveTree(backend, verify, t0, g, { onProof: (p, ms) => proveMs[p.kind].push(ms) });
    treeMs[3 ** depth] = Math.round(performance.now() - start);
    const gp = globalFromApex(pt.proofs.get('')!, depth, FIXTURE_GENESIS_HASH);
    if (!(await verifyGlobalProof(gp))) throw new Error(`depth ${depth}: global proof does not verify`);
    globalBytes[3 ** depth] = encodeGlobalProof(gp).length;
    proofs[3 ** depth] = pt.proofs.size;
    console.log(`${3 ** depth} shards: ${pt.proofs.size} triad proofs in ${(treeMs[3 ** depth]! / 1000).toFixed(1)} s, global proof ${globalBytes[3 ** depth]} bytes`);
    // the apex timed below: depth 2's (a triad_inner proof), or depth 1's (a triad_leaf) under --max-depth 1
    if (depth === Math.min(2, maxDepth)) apex = gp;
  }
  await prover.close();

  // Before/after, same run: snarkjs's fullProve (what the prover child did per proof before: reads
  // the zkey, compiles the witness WASM, looks the curve up), in this process with snarkjs's
  // default thread pool, against the warm child above (in-memory zkey, compiled witness calculator).
  const full: Record<CircuitKind, { ms: number[]; cpu: number[] }> = { triad_leaf: { ms: [], cpu: [] }, triad_inner: { ms: [], cpu: [] } };
  {
    const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
    const t0 = buildTree(H, fixtureSnapshots(2, 0, g.shards.map((s) => s.supply)), g);
    for (const path of ['0', '1', '2', '', '', '']) {
      const { kind, input } = triadInput(t0, g, path);
      const f = circuitFiles(kind);
      const c = process.cpuUsage();
      const t = performance.now();
      await snarkjs.groth16.fullProve(input, f.wasm, f.zkey);
      full[kind].ms.push(performance.now() - t);
      const u = process.cpuUsage(c);
      full[kind].cpu.push((u.user + u.system) / 1000);
    }
  }

  // Apex verification (the apex kept above), warm: vkey cached, curve built; pairingCheck, not
  // verifyGlobalProof: the verifier keeps verdicts, so repeating one would time a look-up.
  const vms: number[] = [];
  const apexVk = loadVerificationKey(apexKind(apex!.depth));
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    const ok = await pairingCheck(apexVk, apex!.publicSignals, apex!.proof);
    vms.push(performance.now() - t);
    if (!ok) throw new Error('apex verification failed');
  }
  await closeVerifier();

  const cluster: ClusterResult[] = [];
  if (!argv.includes('--no-cluster')) {
    for (const row of rows()) {
      const c = await clusterLatency(row);
      cluster.push(c);
      console.log(`9-shard cluster, ${c.why}: epoch ${c.epochMs} ms, every ${c.proveEvery} proved (${c.cadence?.source ?? '?'}), ${c.windowS} s after ${c.warmS} s warm-up: newest global proof age p50 ${c.age.p50} epochs (${c.age.p50s} s), p99 ${c.age.p99} epochs (${c.age.p99s} s), max ${c.age.max}; first global proof ${c.firstProofAfterUpS ?? '-'} s after cluster up returned; seal-to-global-proof p50 ${c.p50} ms (${c.p50Epochs} epochs), p99 ${c.p99} ms (${c.p99Epochs} epochs) over ${c.latencyMs.length} proved epochs; skipped by the pool ${c.skippedByPool}; load 1m mean ${c.load1m.mean} max ${c.load1m.max}`);
      if (c.cadence) console.log(`  cadence: ${c.cadence.why}`);
      if (c.pool) console.log(`  prover pool: ${c.pool.proved} proofs, ${c.pool.skipped} jobs skipped (${c.pool.skippedEpochs ?? '-'} distinct epochs), a free worker held for an unfinished epoch ${c.pool.held ?? '-'} times, later epochs at lower priority: ${c.pool.priorities ?? '-'}`);
      console.log(`  steps p50 (ms after nominal seal): ${Object.entries(c.steps).map(([k, v]) => `${k} ${Number.isNaN(v) ? '-' : v}`).join(', ')}`);
    }
  }

  const leafP50 = pct(proveMs.triad_leaf, 50);
  const innerP50 = pct(proveMs.triad_inner, 50);
  const leafC = manifest.circuits.triad_leaf.constraints;
  const innerC = manifest.circuits.triad_inner.constraints;
  const every1 = cluster.filter((c) => c.proveEvery === 1).sort((a, b) => a.epochMs - b.epochMs);
  const shortest = every1.find((c) => c.goalMet);
  const result = {
    constraints: { triad_leaf: leafC, triad_inner: innerC },
    setupMs: { total: manifest.totalMs, ptau: manifest.ptauMs, ptauPower: manifest.ptauPower, zkeyLeaf: manifest.circuits.triad_leaf.zkeyMs, zkeyInner: manifest.circuits.triad_inner.zkeyMs, mode: manifest.setup },
    proveP50Ms: { triad_leaf: Math.round(leafP50), triad_inner: Math.round(innerP50) },
    proveSamples: { triad_leaf: proveMs.triad_leaf.length, triad_inner: proveMs.triad_inner.length },
    constraintsPerSecond: { triad_leaf: Math.round(leafC / (leafP50 / 1000)), triad_inner: Math.round(innerC / (innerP50 / 1000)) },
    verifyApexMs: { p50: r1(pct(vms, 50)), p95: r1(pct(vms, 95)), first: r1(vms[0]!) },
    globalProofBytes: globalBytes,
    triadProofs: proofs,
    treeProveMs: treeMs,
    proverWarmUpMs: Math.round(warmMs),
    // per proof, p50: the warm child (single-threaded curve) vs snarkjs fullProve as before (pool)
    proveBreakdownP50Ms: Object.fromEntries((['triad_leaf', 'triad_inner'] as const).map((k) => [k, {
      witness: Math.round(pct(parts[k].witness, 50)), prove: Math.round(pct(parts[k].prove, 50)), cpu: Math.round(pct(parts[k].cpu, 50)),
      fullProveWall: Math.round(pct(full[k].ms, 50)), fullProveCpu: Math.round(pct(full[k].cpu, 50)),
    }])),
    loadavg: os.loadavg().map(r2),
    shortestEveryEpochProvedMs: shortest?.epochMs ?? null,
    clusterSealToGlobalProof: cluster,
  };
  console.log(`constraints: leaf ${leafC}, inner ${innerC}; setup ${(manifest.totalMs / 1000).toFixed(0)} s (ptau 2^${manifest.ptauPower} ${(manifest.ptauMs / 1000).toFixed(0)} s)`);
  const ms = (v: number) => (Number.isFinite(v) ? `${v} ms` : '- (none at this depth)');
  console.log(`prove p50: leaf ${ms(result.proveP50Ms.triad_leaf)}, inner ${ms(result.proveP50Ms.triad_inner)}; verify apex p50 ${result.verifyApexMs.p50} ms; prover warm-up ${result.proverWarmUpMs} ms`);
  for (const [k, b] of Object.entries(result.proveBreakdownP50Ms)) {
    console.log(`  ${k}: warm child witness ${ms(b.witness)} + prove ${ms(b.prove)}, cpu ${ms(b.cpu)}; before (fullProve, pool) wall ${b.fullProveWall} ms, cpu ${b.fullProveCpu} ms`);
  }
  if (cluster.length) printTable(cluster);

  if (every1.length) {
    console.log(shortest
      ? `shortest measured epoch with EVERY epoch proved within 2 epochs: ${shortest.epochMs} ms`
      : `no measured epoch length (${every1.map((c) => c.epochMs).join(', ')} ms) had every epoch proved within 2 epochs`);
  }
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
