// Builds the native addons with the system C compiler: `npm ci` and `npm install` run it
// (postinstall). Plain JavaScript, so it runs before anything is installed.
//  - native/ed25519-batch: the transaction signature rule; without it the node verifies with the
//    same rule in libsodium + @noble/curves (src/core/tx-signature.ts), slower.
//  - native/poseidon: the commitment trees' Poseidon; without it the node hashes with circomlibjs's
//    wasm one (src/proof/poseidon-native.ts), the same values, slower.
// Without a compiler or Node's headers it says so and exits 0. SMT_NATIVE_REQUIRED=1 turns that into
// a failure (CI that must measure the native paths).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.SMT_NATIVE_REQUIRED === '1';
const addons = [
  { dir: 'ed25519-batch', src: 'ed25519_batch.c', out: 'ed25519_batch.node', without: 'transaction signatures will be verified without it (same rule, slower)' },
  { dir: 'poseidon', src: 'poseidon.c', out: 'poseidon.node', without: 'commitment trees will be hashed with circomlibjs\'s wasm Poseidon (same values, slower)' },
];

// Node-API headers: this Node's own include dir, then the usual system places. Node-API is
// ABI-stable, so any Node >= 18's headers build an addon every later Node loads.
const candidates = [
  resolve(dirname(process.execPath), '..', 'include', 'node'),
  process.env.npm_config_nodedir ? join(process.env.npm_config_nodedir, 'include', 'node') : '',
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
const cc = process.env.CC || 'cc';

let failed = false;
for (const a of addons) {
  const why = build(a);
  if (why) {
    console.warn(`native ${a.dir} not built: ${why}; ${a.without}`);
    failed = true;
  }
}
process.exit(failed && required ? 1 : 0);

function build({ dir: name, src, out: file }) {
  if (!include) return `node_api.h not found (looked in ${candidates.join(', ')})`;
  const dir = join(root, 'native', name);
  const out = join(dir, 'build', file);
  mkdirSync(join(dir, 'build'), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const args = ['-O3', '-std=gnu11', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', '-I', include, '-o', tmp, join(dir, src)];
  const r = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) return `${cc}: ${r.error.message}`;
  if (r.status !== 0) return `${cc} exited with ${r.status}`;
  renameSync(tmp, out); // atomic: a running process never loads a half-written file
  console.log(`built ${out}`);
  return undefined;
}
