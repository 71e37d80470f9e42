// Builds the native ed25519 verifier (native/ed25519-batch) with the system C compiler: `npm ci` and
// `npm install` run it (postinstall). Plain JavaScript, so it runs before anything is installed.
// Without a compiler or Node's headers it says so and exits 0: the node then verifies transaction
// signatures with the same rule in libsodium + @noble/curves (src/core/tx-signature.ts), slower.
// SMT_NATIVE_REQUIRED=1 turns that into a failure (CI that must measure the native path).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native', 'ed25519-batch');
const out = join(dir, 'build', 'ed25519_batch.node');
const required = process.env.SMT_NATIVE_REQUIRED === '1';

function give(why) {
  console.warn(`native ed25519 verifier not built: ${why}; transaction signatures will be verified without it (same rule, slower)`);
  process.exit(required ? 1 : 0);
}

// Node-API headers: this Node's own include dir, then the usual system places. Node-API is
// ABI-stable, so any Node >= 18's headers build an addon every later Node loads.
const candidates = [
  resolve(dirname(process.execPath), '..', 'include', 'node'),
  process.env.npm_config_nodedir ? join(process.env.npm_config_nodedir, 'include', 'node') : '',
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
if (!include) give(`node_api.h not found (looked in ${candidates.join(', ')})`);

const cc = process.env.CC || 'cc';
mkdirSync(join(dir, 'build'), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
const args = ['-O3', '-std=gnu11', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', '-I', include, '-o', tmp, join(dir, 'ed25519_batch.c')];
const r = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error) give(`${cc}: ${r.error.message}`);
if (r.status !== 0) give(`${cc} exited with ${r.status}`);
renameSync(tmp, out); // atomic: a running process never loads a half-written file
console.log(`built ${out}`);
