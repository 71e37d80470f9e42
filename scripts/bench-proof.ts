// npm run bench:proof [-- --max-depth 4] [--cluster-epochs 8] [--cluster-epoch-ms 2000] [--cluster-prove-every 3] [--no-cluster]
// Constraints per circuit, setup time (as measured by build:circuits), prove time p50 per circuit,
// apex verify time, proving rate in constraints/s, and the global proof's size for 3, 9, 27 and 81
// shards -- every tree proved in full, bottom-up, with child proofs verified before each parent --
// and the seal-to-global-proof latency in a real 9-shard cluster (`smt cluster up`, the proving
// layer of src/node/proving.ts): per proved epoch e, from e's nominal seal time (genesisTime +
// (e+1) * epochMs) to the first node holding e's global proof (its receivedAt), p50/p99.
// Last line: one JSON object.
import { artifactsDir, loadManifest } from '../src/proof/artifacts.js';
import { getPoseidon } from '../src/proof/commitment.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from '../src/proof/fixtures.js';
import { encodeGlobalProof, globalFromApex, verifyGlobalProof } from '../src/proof/global.js';
import { Prover } from '../src/proof/prover.js';
import { buildTree, genesisTree } from '../src/proof/tree.js';
import { proveTree } from '../src/proof/tree-prover.js';
import { closeVerifier, verify } from '../src/proof/verifier.js';
import type { CircuitKind } from '../src/proof/artifacts.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGenesis } from '../src/core/genesis.js';
import { loadLayout } from '../src/cluster/cluster.js';
import { apiUrl, findFreePortBases, SMT_BIN } from '../src/cluster/supervisor.js';

const argv = process.argv.slice(2);
const maxDepth = Number(argv[argv.indexOf('--max-depth') + 1] ?? 4) || 4;
const arg = (name: string, d: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) || d : d);
const clusterEpochs = arg('--cluster-epochs', 8);
const clusterEpochMs = arg('--cluster-epoch-ms', 2000);
const clusterProveEvery = arg('--cluster-prove-every', 3);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Seal-to-global-proof latency in a 9-shard cluster over `clusterEpochs` proved epochs after a warm-up. */
async function clusterLatency(): Promise<{ epochMs: number; proveEvery: number; epochs: number[]; latencyMs: number[]; p50: number; p99: number; p50Epochs: number; p99Epochs: number; missed: number[] }> {
  const tmp = mkdtempSync(join(tmpdir(), 'smt-bench-proof-'));
  const net = join(tmp, 'net');
  const [base, p2pBase] = await findFreePortBases(9);
  const env = { ...process.env, SMT_PROVE_EVERY: String(clusterProveEvery) };
  const up = spawnSync(process.execPath, [SMT_BIN, 'cluster', 'up', '--network', net, '--depth', '2', '--epoch-ms', String(clusterEpochMs), '--accounts', '9',
    '--api-base-port', String(base), '--p2p-base-port', String(p2pBase), '--timeout', '90', '--no-wait-global'], { env, encoding: 'utf8' });
  try {
    if (up.status !== 0) throw new Error(`cluster up failed: ${up.stdout}\n${up.stderr}`);
    const g = loadGenesis(join(net, 'genesis.json'));
    const urls = loadLayout(net).shards.map(apiUrl);
    const sealAt = (e: number): number => g.genesisTime + (e + 1) * g.epochMs;
    // warm-up: skip the epochs sealed in the start-up burst and the provers' cold start (one cycle)
    const nowEpoch = Math.floor((Date.now() - g.genesisTime) / g.epochMs);
    const first = (Math.ceil((nowEpoch + 2 * clusterProveEvery) / clusterProveEvery)) * clusterProveEvery;
    const epochs = Array.from({ length: clusterEpochs }, (_, i) => first + i * clusterProveEvery);
    const got = new Map<number, number>();
    const deadline = sealAt(epochs.at(-1)!) + 150_000; // a proof later than this counts as missed
    while (got.size < epochs.length && Date.now() < deadline) {
      for (const e of epochs) {
        if (got.has(e) || Date.now() < sealAt(e)) continue;
        let best: number | undefined;
        for (const u of urls) {
          try {
            const r = await fetch(`${u}/v1/proof/global/${e}`, { signal: AbortSignal.timeout(3000) });
            if (r.status === 200) {
              const j = (await r.json()) as { receivedAt: number };
              best = Math.min(best ?? Infinity, j.receivedAt);
            }
          } catch {
            // node busy: next
          }
        }
        if (best !== undefined) got.set(e, best - sealAt(e));
      }
      await sleep(500);
    }
    const lat = epochs.filter((e) => got.has(e)).map((e) => got.get(e)!);
    const p50 = lat.length ? pct(lat, 50) : NaN;
    const p99 = lat.length ? pct(lat, 99) : NaN;
    return { epochMs: g.epochMs, proveEvery: clusterProveEvery, epochs: epochs.filter((e) => got.has(e)), latencyMs: lat, p50, p99, p50Epochs: r1(p50 / g.epochMs), p99Epochs: r1(p99 / g.epochMs), missed: epochs.filter((e) => !got.has(e)) };
  } finally {
    spawnSync(process.execPath, [SMT_BIN, 'cluster', 'down', '--network', net, '--grace', '3'], { encoding: 'utf8' });
    rmSync(tmp, { recursive: true, force: true });
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const manifest = loadManifest();
  if (!manifest) {
    console.error(`circuits not built in ${artifactsDir()}: run npm run build:circuits first`);
    process.exit(1);
  }
  const H = await getPoseidon();
  const prover = new Prover();
  const proveMs: Record<CircuitKind, number[]> = { triad_leaf: [], triad_inner: [] };
  const globalBytes: Record<string, number> = {};
  const treeMs: Record<string, number> = {};
  const proofs: Record<string, number> = {};
  let apex: ReturnType<typeof globalFromApex> | null = null;

  for (let depth = 1; depth <= maxDepth; depth++) {
    const g = genesisTree(H, depth, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(depth));
    const t0 = buildTree(H, fixtureSnapshots(depth, 0, g.shards.map((s) => s.supply)), g);
    const start = performance.now();
    const pt = await proveTree(prover, verify, t0, g, { onProof: (p, ms) => proveMs[p.kind].push(ms) });
    treeMs[3 ** depth] = Math.round(performance.now() - start);
    const gp = globalFromApex(pt.proofs.get('')!, depth, FIXTURE_GENESIS_HASH);
    if (!(await verifyGlobalProof(gp))) throw new Error(`depth ${depth}: global proof does not verify`);
    globalBytes[3 ** depth] = encodeGlobalProof(gp).length;
    proofs[3 ** depth] = pt.proofs.size;
    console.log(`${3 ** depth} shards: ${pt.proofs.size} triad proofs in ${(treeMs[3 ** depth]! / 1000).toFixed(1)} s, global proof ${globalBytes[3 ** depth]} bytes`);
    if (depth === 2) apex = gp;
  }
  await prover.close();

  // Apex verification (depth 2 apex = triad_inner), warm: vkey cached, curve built.
  const vms: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    const ok = await verifyGlobalProof(apex!);
    vms.push(performance.now() - t);
    if (!ok) throw new Error('apex verification failed');
  }
  await closeVerifier();

  let cluster: Awaited<ReturnType<typeof clusterLatency>> | null = null;
  if (!argv.includes('--no-cluster')) {
    cluster = await clusterLatency();
    console.log(`9-shard cluster (epoch ${cluster.epochMs} ms, every ${cluster.proveEvery}th epoch proved): seal-to-global-proof p50 ${cluster.p50} ms (${cluster.p50Epochs} epochs), p99 ${cluster.p99} ms (${cluster.p99Epochs} epochs) over ${cluster.latencyMs.length} epochs${cluster.missed.length ? `; no proof for epochs ${cluster.missed.join(', ')}` : ''}`);
  }

  const leafP50 = pct(proveMs.triad_leaf, 50);
  const innerP50 = pct(proveMs.triad_inner, 50);
  const leafC = manifest.circuits.triad_leaf.constraints;
  const innerC = manifest.circuits.triad_inner.constraints;
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
    clusterSealToGlobalProof: cluster,
  };
  console.log(`constraints: leaf ${leafC}, inner ${innerC}; setup ${(manifest.totalMs / 1000).toFixed(0)} s (ptau 2^${manifest.ptauPower} ${(manifest.ptauMs / 1000).toFixed(0)} s)`);
  console.log(`prove p50: leaf ${result.proveP50Ms.triad_leaf} ms, inner ${result.proveP50Ms.triad_inner} ms; verify apex p50 ${result.verifyApexMs.p50} ms`);
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
