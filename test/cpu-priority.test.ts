// CPU priorities on a machine whose cores the nodes share (Linux; skipped elsewhere). Properties checked:
//  - a VerifyPool's worker threads run at the nice value asked for, the calling thread keeps its
//    own, and signatures verify as before;
//  - a node's verify workers run at VERIFY_NICE (below its event loop);
//  - niceSessionOf sets the autogroup nice of a process leading its own session (with autogroups,
//    the only nice value that ranks one session against the others);
//  - niceProcess sets every thread of a process, threads already running included (Linux nice is
//    per thread: setting the process id alone leaves a worker thread at its old value), and a
//    prover child's setNice reaches its worker threads too;
//  - the cluster's prover service (startProver) runs in a session niced to PROVER_NICE, so proofs
//    take what the nodes leave instead of an even share with each node.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerifyPool } from '../src/shard/verify-pool.js';
import { encodeSignedTx, signTransfer } from '../src/shard/tx.js';
import { keyPairFromSeed } from '../src/core/ed25519.js';
import { addressFromPublicKey } from '../src/core/address.js';
import { niceProcess, niceSessionOf, threadNice } from '../src/core/cpu-priority.js';
import { SmtNode, VERIFY_NICE } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';
import { startProver, stopProver, proverPid } from '../src/cluster/supervisor.js';
import { circuitsBuilt } from '../src/proof/artifacts.js';
import { Prover, PROVER_NICE } from '../src/proof/prover.js';

const linux = existsSync('/proc/thread-self');
const autogroups = existsSync('/proc/self/autogroup');
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Nice value of each thread of this process, by thread id. */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    const n = threadNice(process.pid, Number(t));
    if (n !== undefined) out.set(Number(t), n);
  }
  return out;
}

const autogroupNice = (pid: number): number => Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))![1]);

function signedTx(seed: number, ok: boolean): Uint8Array {
  const s = new Uint8Array(32).fill(seed);
  const k = keyPairFromSeed(s);
  const b = encodeSignedTx(signTransfer({ network: 'prio', from: k.publicKey, to: addressFromPublicKey(k.publicKey), amount: 1n, fee: 1n, nonce: 0n, ts: 0n }, k.secretKey));
  if (!ok) b[b.length - 1]! ^= 1;
  return b;
}

test('verify workers run at the nice value asked for, the calling thread keeps its own, signatures verify as before', { skip: !linux }, async () => {
  const before = new Set(threadNices().keys());
  const pool = new VerifyPool(2, { nice: 7 });
  cleanups.push(() => pool.close());
  const txs = Array.from({ length: 80 }, (_, i) => signedTx(i + 1, i % 3 !== 0));
  const ok = await pool.verifyTxs(txs); // both workers ran (80 >= 2 x 32 items): both set their nice by now
  assert.deepEqual(ok, txs.map((_, i) => i % 3 !== 0));
  const nices = threadNices();
  const niced = [...nices].filter(([tid, n]) => !before.has(tid) && n === 7);
  assert.equal(niced.length, 2, `two new threads at nice 7: ${JSON.stringify([...nices])}`);
  assert.equal(nices.get(process.pid), 0, 'the main thread keeps nice 0');
});

test("a node's verify workers run at VERIFY_NICE, below its event loop", { skip: !linux }, async () => {
  assert.ok(VERIFY_NICE > 0 && VERIFY_NICE < PROVER_NICE, 'below the event loop, above a node\'s own prover');
  const dir = mkdtempSync(join(tmpdir(), 'smt-prio-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  initNetwork({ dir, depth: 0, accounts: 1, epochMs: 1000, networkId: 'prio', balance: 10n, force: false });
  const before = new Set(threadNices().keys());
  const node = await SmtNode.start({ networkDir: dir, apiPort: 0, verifyWorkers: 1, manualSeal: true, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => node.close());
  const deadline = Date.now() + 10_000; // the worker sets its nice once it has loaded
  let niced: number[] = [];
  while (Date.now() < deadline) {
    niced = [...threadNices()].filter(([tid, n]) => !before.has(tid) && n === VERIFY_NICE).map(([tid]) => tid);
    if (niced.length > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(niced.length, 1, 'one verify worker thread at VERIFY_NICE');
  assert.equal(threadNice(process.pid, process.pid), 0);
});

test('niceSessionOf sets the autogroup nice of a process leading its own session', { skip: !autogroups }, async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { detached: true, stdio: 'ignore' });
  cleanups.push(() => void child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  assert.equal(autogroupNice(child.pid!), 0);
  // the kernel takes one autogroup write per 100 ms from an unprivileged process: retry briefly
  let ok = false;
  for (let i = 0; i < 20 && !ok; i++) {
    ok = niceSessionOf(child.pid!, 9);
    if (!ok) await new Promise((r) => setTimeout(r, 60));
  }
  assert.ok(ok);
  assert.equal(autogroupNice(child.pid!), 9);
});

/** Nice value of each thread of process `pid`. */
function nicesOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => threadNice(pid, Number(t))).filter((n): n is number => n !== undefined);
}

test('niceProcess sets every thread of a process, threads already running included', { skip: !linux }, async () => {
  // a child with a worker thread that is running before the call
  const code = "const { Worker } = require('node:worker_threads'); new Worker('setInterval(() => {}, 1000)', { eval: true }).on('online', () => process.stdout.write('up')); setTimeout(() => {}, 20000)";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(() => void child.kill('SIGKILL'));
  await new Promise((r) => child.stdout!.once('data', r));
  const before = nicesOf(child.pid!);
  assert.ok(before.length >= 3 && before.every((n) => n === 0), `threads at nice 0 first: ${before}`);
  assert.ok(niceProcess(child.pid!, 6));
  const nices = nicesOf(child.pid!);
  assert.equal(nices.length, before.length);
  assert.deepEqual(nices, nices.map(() => 6), `every thread at nice 6: ${nices}`);
  assert.equal(niceProcess(2 ** 22 + 12345, 6), false, 'a process that does not exist');
});

test("a prover child's setNice reaches the child's worker threads ('pool' mode)", { skip: !linux || !circuitsBuilt(), timeout: 60_000 }, async () => {
  const p = new Prover({ threads: 'pool' });
  cleanups.push(() => p.close());
  await p.warmed;
  const pid = p.pid!;
  assert.ok(nicesOf(pid).length > 2, 'the child runs several threads');
  assert.ok(p.setNice(PROVER_NICE + 3));
  const nices = nicesOf(pid);
  assert.deepEqual(nices, nices.map(() => PROVER_NICE + 3), `every thread at ${PROVER_NICE + 3}: ${nices}`);
});

test("the cluster's prover service runs in a session niced to PROVER_NICE", { skip: !autogroups || !circuitsBuilt(), timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-prio-prover-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  initNetwork({ dir, depth: 1, accounts: 3, epochMs: 1000, networkId: 'prio', balance: 10n, force: false });
  await startProver(dir);
  cleanups.push(async () => void (await stopProver(dir, 5000)));
  const pid = proverPid(dir)!;
  assert.equal(autogroupNice(pid), PROVER_NICE);
});
