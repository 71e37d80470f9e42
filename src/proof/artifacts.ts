// Where the compiled circuits and their keys live. Build output never enters the repository: it is
// cached under ${SMT_CIRCUITS_CACHE:-~/.cache/smt-circuits}/<key>/, where <key> hashes the circuit
// sources, the toolchain versions and the setup recipe, so any change to them selects a fresh dir.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../core/hash.js';
import { toHex } from '../core/bytes.js';

export type CircuitKind = 'triad_leaf' | 'triad_inner';
export const CIRCUIT_KINDS: readonly CircuitKind[] = ['triad_leaf', 'triad_inner'];

/** Bumped whenever scripts/build-circuits.ts changes how artifacts are made. */
export const SETUP_RECIPE = 'smt-groth16-setup/v1 ptau=13 beacon';
export const PTAU_POWER = 13;

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CIRCUITS_DIR = join(REPO_ROOT, 'circuits');

export interface CircuitInfo {
  constraints: number;
  wires: number;
  publicInputs: number;
  privateInputs: number;
  compileMs: number;
  zkeyMs: number;
}

export interface Manifest {
  key: string;
  recipe: string;
  setup: 'deterministic-beacon' | 'random-contribution';
  ptauPower: number;
  ptauMs: number;
  totalMs: number;
  createdAt: string;
  circuits: Record<CircuitKind, CircuitInfo>;
}

export interface CircuitFiles {
  wasm: string;
  zkey: string;
  vkey: string;
  r1cs: string;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listSources(p));
    else if (e.name.endsWith('.circom')) out.push(p);
  }
  return out.sort();
}

function pkgVersion(name: string): string {
  const p = join(REPO_ROOT, 'node_modules', name, 'package.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version : 'missing';
}

let memoKey: string | null = null;

/**
 * Cache key: hash of every circuits/**.circom (path + content), toolchain versions and recipe.
 * Computed once per process (the sources do not change under a running node).
 */
export function circuitsKey(): string {
  memoKey ??= computeKey();
  return memoKey;
}

function computeKey(): string {
  const h = sha256.create();
  const enc = new TextEncoder();
  h.update(enc.encode(`${SETUP_RECIPE}\ncircom2 ${pkgVersion('circom2')}\ncircomlib ${pkgVersion('circomlib')}\nsnarkjs ${pkgVersion('snarkjs')}\n`));
  for (const f of listSources(CIRCUITS_DIR)) {
    h.update(enc.encode(`${relative(CIRCUITS_DIR, f)}\n`));
    h.update(readFileSync(f));
    h.update(enc.encode('\n'));
  }
  return toHex(h.digest()).slice(0, 16);
}

export function cacheRoot(): string {
  return process.env.SMT_CIRCUITS_CACHE ?? join(homedir(), '.cache', 'smt-circuits');
}

export function artifactsDir(key = circuitsKey()): string {
  return join(cacheRoot(), key);
}

export function circuitFiles(kind: CircuitKind, dir = artifactsDir()): CircuitFiles {
  return {
    wasm: join(dir, `${kind}.wasm`),
    zkey: join(dir, `${kind}.zkey`),
    vkey: join(dir, `${kind}.vkey.json`),
    r1cs: join(dir, `${kind}.r1cs`),
  };
}

/** The manifest of the built artifacts for the current sources, or null if not built. */
export function loadManifest(dir = artifactsDir()): Manifest | null {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) return null;
  return JSON.parse(readFileSync(p, 'utf8')) as Manifest;
}

export function circuitsBuilt(dir = artifactsDir()): boolean {
  return loadManifest(dir) !== null;
}
