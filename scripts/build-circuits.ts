// npm run build:circuits [-- --force] [-- --random]
// Compiles circuits/*.circom with circom2 (WebAssembly), runs a local powers of tau (2^13) and a
// Groth16 setup per circuit, exports the verification keys, and caches everything under
// ${SMT_CIRCUITS_CACHE:-~/.cache/smt-circuits}/<hash of sources>/. A second run is a no-op.
//
// TESTNET ONLY. By default every contribution is a public, deterministic beacon derived from the
// cache key, so every machine derives the same keys (nodes interoperate, CI is reproducible) -- and
// anyone can recompute the toxic waste and forge proofs. `--random` makes one secret random
// contribution instead (keys then differ per machine). See docs/PROOFS.md for the MPC ceremony that
// replaces this for anything real. Last, it builds the provers' fixed-base tables beside the keys
// (src/proof/msm-tables.ts) if they are missing, so no prover child has to build them at its first
// start (two children of a cold cluster would build them at once, delaying the first proofs).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import {
  CIRCUIT_KINDS, PTAU_POWER, REPO_ROOT, SETUP_RECIPE, artifactsDir, circuitFiles, circuitsKey, loadManifest,
  type CircuitInfo, type CircuitKind, type Manifest,
} from '../src/proof/artifacts.js';
import { sha256 } from '../src/core/hash.js';
import { parseZkey, type WasmCurve } from '../src/proof/groth16-prover.js';
import { loadOrBuildTables, tablesFile } from '../src/proof/msm-tables.js';
import { toHex } from '../src/core/bytes.js';

const args = new Set(process.argv.slice(2));
const force = args.has('--force');
const random = args.has('--random');
const t0 = Date.now();

// --vectors: (re)write the native commitment test vectors and stop (no compilation, no setup).
if (args.has('--vectors')) {
  const { getPoseidon } = await import('../src/proof/commitment.js');
  const { generateVectors } = await import('../test/fixtures/proof-vectors.js');
  const out = join(REPO_ROOT, 'test/vectors/poseidon-commitments.json');
  mkdirSync(join(REPO_ROOT, 'test/vectors'), { recursive: true });
  writeFileSync(out, JSON.stringify(generateVectors(await getPoseidon()), null, 1) + '\n');
  process.stdout.write(`wrote ${out}\n`);
  process.exit(0);
}

function log(msg: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[build:circuits ${s}s] ${msg}\n`);
}

/** The provers' fixed-base tables of every key in `d`, built where missing or not matching (SMT_PROVER_TABLES=0: none). */
async function ensureTables(d: string): Promise<void> {
  if (process.env.SMT_PROVER_TABLES === '0') return;
  const snarkjs = await import('snarkjs');
  const curve = await snarkjs.curves.getCurveFromName('bn128', { singleThread: true });
  for (const kind of CIRCUIT_KINDS) {
    const t = Date.now();
    const pk = parseZkey(curve as unknown as WasmCurve, new Uint8Array(readFileSync(circuitFiles(kind, d).zkey)));
    if (await loadOrBuildTables(curve as unknown as WasmCurve, pk, tablesFile(d, kind))) log(`  ${kind}: provers' fixed-base tables built (${Date.now() - t} ms)`);
  }
  await curve.terminate();
}

const key = circuitsKey();
const dir = artifactsDir(key);
const existing = loadManifest(dir);
if (existing && !force) {
  log(`cached: ${dir} (leaf ${existing.circuits.triad_leaf.constraints} constraints, inner ${existing.circuits.triad_inner.constraints}); --force to rebuild`);
  await ensureTables(dir);
  process.exit(0);
}

// snarkjs prints a line per FFT chunk at debug level; keep section starts (progress) and info+.
const snarkLogger = {
  debug: (m: string) => {
    if (m.startsWith('Starting section')) log(`  ${m}`);
  },
  info: (m: string) => log(`  ${m}`),
  warn: (m: string) => log(`  warn: ${m}`),
  error: (m: string) => log(`  error: ${m}`),
};

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveP(out) : reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}:\n${out}`))));
  });
}

/** Beacon hash for one step: public and reproducible from the cache key. */
function beaconHex(step: string): string {
  return toHex(sha256(new TextEncoder().encode(`${SETUP_RECIPE}/${key}/${step}`)));
}

async function main(): Promise<void> {
  const snarkjs = await import('snarkjs');
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`building into ${dir} (key ${key}, setup ${random ? 'random contribution' : 'deterministic beacon'})`);

  const circuits = {} as Record<CircuitKind, CircuitInfo>;
  // 1. compile. circom2 runs in a WASI sandbox that preopens only cwd and its ancestors, and the
  // CLI rewrites path arguments relative to cwd, so include paths must sit inside the repo.
  for (const kind of CIRCUIT_KINDS) {
    const t = Date.now();
    log(`compiling circuits/${kind}.circom`);
    const out = await run(process.execPath, [
      join(REPO_ROOT, 'node_modules/circom2/cli.js'),
      `circuits/${kind}.circom`, '--r1cs', '--wasm', '--sym', '--O2', '-l', 'node_modules', '-o', relative(REPO_ROOT, tmp),
    ]);
    const m = /non-linear constraints: (\d+)[\s\S]*?linear constraints: (\d+)[\s\S]*?public inputs: (\d+)[\s\S]*?private inputs: (\d+)[\s\S]*?wires: (\d+)/.exec(out.replace(/\x1b\[[0-9;]*m/g, ''));
    if (!m) throw new Error(`could not read circom2 output:\n${out}`);
    copyFileSync(join(tmp, `${kind}_js`, `${kind}.wasm`), join(tmp, `${kind}.wasm`));
    rmSync(join(tmp, `${kind}_js`), { recursive: true, force: true });
    circuits[kind] = {
      constraints: Number(m[1]) + Number(m[2]), publicInputs: Number(m[3]), privateInputs: Number(m[4]), wires: Number(m[5]),
      compileMs: Date.now() - t, zkeyMs: 0,
    };
    log(`  ${kind}: ${circuits[kind].constraints} constraints, ${circuits[kind].wires} wires (${circuits[kind].compileMs} ms)`);
    if (circuits[kind].constraints + circuits[kind].publicInputs + 1 > 2 ** PTAU_POWER) {
      throw new Error(`${kind} needs more than 2^${PTAU_POWER} rows: raise PTAU_POWER`);
    }
  }

  // 2. phase 1: powers of tau for bn128, one contribution, then the Lagrange bases (phase 2 prep).
  const tPtau = Date.now();
  const curve = await snarkjs.curves.getCurveFromName('bn128');
  const ptau0 = join(tmp, 'pot_0.ptau');
  const ptau1 = join(tmp, 'pot_1.ptau');
  const ptau = join(tmp, `pot${PTAU_POWER}_final.ptau`);
  log(`powers of tau 2^${PTAU_POWER}: new accumulator`);
  await snarkjs.powersOfTau.newAccumulator(curve, PTAU_POWER, ptau0, snarkLogger);
  log('powers of tau: contribution');
  if (random) await snarkjs.powersOfTau.contribute(ptau0, ptau1, 'smt testnet (random)', toHex(randomBytes(32)), snarkLogger);
  else await snarkjs.powersOfTau.beacon(ptau0, ptau1, 'smt testnet beacon', beaconHex('ptau'), 10, snarkLogger);
  log('powers of tau: prepare phase 2 (the slow step)');
  await snarkjs.powersOfTau.preparePhase2(ptau1, ptau, snarkLogger);
  rmSync(ptau0);
  rmSync(ptau1);
  const ptauMs = Date.now() - tPtau;
  log(`powers of tau done (${(ptauMs / 1000).toFixed(1)} s)`);

  // 3. phase 2 per circuit: zkey, one contribution, verification key.
  for (const kind of CIRCUIT_KINDS) {
    const t = Date.now();
    const f = circuitFiles(kind, tmp);
    const z0 = join(tmp, `${kind}_0.zkey`);
    log(`groth16 setup ${kind}`);
    await snarkjs.zKey.newZKey(f.r1cs, ptau, z0, snarkLogger);
    if (random) await snarkjs.zKey.contribute(z0, f.zkey, 'smt testnet (random)', toHex(randomBytes(32)), snarkLogger);
    else await snarkjs.zKey.beacon(z0, f.zkey, 'smt testnet beacon', beaconHex(kind), 10, snarkLogger);
    rmSync(z0);
    const vkey = await snarkjs.zKey.exportVerificationKey(f.zkey, snarkLogger);
    writeFileSync(f.vkey, JSON.stringify(vkey, null, 1));
    circuits[kind].zkeyMs = Date.now() - t;
    log(`  ${kind}: zkey + vkey (${circuits[kind].zkeyMs} ms)`);
  }
  await curve.terminate();

  const manifest: Manifest = {
    key, recipe: SETUP_RECIPE, setup: random ? 'random-contribution' : 'deterministic-beacon',
    ptauPower: PTAU_POWER, ptauMs, totalMs: Date.now() - t0, createdAt: new Date().toISOString(), circuits,
  };
  // The manifest is written last and the directory renamed into place, so a crashed or concurrent
  // build never leaves a half-built cache that looks complete.
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`done: ${dir} (${(manifest.totalMs / 1000).toFixed(1)} s)`);
  await ensureTables(dir);
}

main().catch((e: unknown) => {
  process.stderr.write(`build:circuits failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
