// npm run bench:proof [-- --max-depth 4]
// Constraints per circuit, setup time (as measured by build:circuits), prove time p50 per circuit,
// apex verify time, proving rate in constraints/s, and the global proof's size for 3, 9, 27 and 81
// shards -- every tree proved in full, bottom-up, with child proofs verified before each parent.
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

const argv = process.argv.slice(2);
const maxDepth = Number(argv[argv.indexOf('--max-depth') + 1] ?? 4) || 4;

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
  };
  console.log(`constraints: leaf ${leafC}, inner ${innerC}; setup ${(manifest.totalMs / 1000).toFixed(0)} s (ptau 2^${manifest.ptauPower} ${(manifest.ptauMs / 1000).toFixed(0)} s)`);
  console.log(`prove p50: leaf ${result.proveP50Ms.triad_leaf} ms, inner ${result.proveP50Ms.triad_inner} ms; verify apex p50 ${result.verifyApexMs.p50} ms`);
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
