// Errors a user meets get one line that says what is wrong and what to do:
//  - a key path that is a directory: "is a directory", not a chmod hint;
//  - a second node on a data directory another node holds: "in use by another smt node (pid N)",
//    and the first node keeps running untouched;
//  - a missing required option: the error line plus a one-line hint, not the whole help; with --json,
//    errors are one JSON object on stderr;
//  - `smt global` against a depth-0 node says why there is none;
//  - `tx send --network DIR` with DIR not a network directory; an amount over u64 is "too large".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { startNode } from './support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-cli-errors-'));
const netDir = join(tmp, 'net');
let first: ChildProcess | undefined;
after(() => {
  first?.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

const smt = (args: string[]) => spawnSync(process.execPath, [SMT_BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

before(() => {
  assert.equal(smt(['network', 'init', '--dir', netDir, '--accounts', '1']).status, 0);
});


test('a key path that is a directory is named as such (no chmod hint)', () => {
  const r = smt(['tx', 'send', '--key', tmp, '--to', '00'.repeat(20), '--amount', '1']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.trim(), /^error: key file .* is a directory; give the path of a key file/);
  assert.doesNotMatch(r.stderr, /chmod/);
});

test('a second node on a data directory in use is refused with the holder pid; the first keeps serving', async () => {
  const data = join(tmp, 'data');
  const node = await startNode(['--network', netDir, '--data', data, '--api', '127.0.0.1:0', '--no-prove', '--log-level', 'warn']);
  first = node.proc;
  const url = node.url;
  const r = smt(['node', 'start', '--network', netDir, '--data', data, '--api', '127.0.0.1:0', '--no-prove', '--log-level', 'warn']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`error: data directory .* is in use by another smt node \\(pid ${first.pid}\\)`));
  const h = await fetch(`${url}/v1/health`);
  assert.equal(h.status, 200, 'the first node still answers');
  // the depth-0 node has no hierarchy: `smt global` says why instead of "no route"
  const g = smt(['global', '--node', url]);
  assert.equal(g.status, 1);
  assert.match(g.stderr.trim(), /^error: the node at .* runs a depth-0 network \(one shard\): there are no triads, hence no global snapshots/);
  const pv = smt(['proof', 'verify', '--node', url]);
  assert.equal(pv.status, 1);
  assert.match(pv.stderr.trim(), /^error: the node at .* runs a depth-0 network \(one shard\): there are no triads, hence no global snapshots or global proofs/);
});

test('a missing required option prints the error and a one-line hint, not the help', () => {
  const r = smt(['tx', 'send', '--to', '00'.repeat(20)]);
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.trim().split('\n'), ["error: required option '--key <file>' not specified", '(add --help for usage)']);
});

test('with --json, errors are one JSON object on stderr (usage errors and command failures)', () => {
  for (const args of [['tx', 'send', '--to', '00'.repeat(20), '--json'], ['tx', 'send', '--key', join(tmp, 'nope.key'), '--to', '00'.repeat(20), '--amount', '1', '--json']]) {
    const r = smt(args);
    assert.equal(r.status, 1);
    const j = JSON.parse(r.stderr.trim()) as { error: { code: string; message: string } };
    assert.equal(typeof j.error.code, 'string');
    assert.ok(j.error.message.length > 0);
    assert.equal(r.stdout, '');
  }
});

test('tx send --network refuses a directory that is not a network directory', () => {
  const r = smt(['tx', 'send', '--key', join(netDir, 'accounts', '0.key'), '--to', '00'.repeat(20), '--amount', '1', '--network', tmp]);
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^error: .* is not a network directory \(no genesis\.json\)/);
});

test('an amount beyond u64 says "too large", whatever its number of digits', () => {
  for (const amount of ['18446744073709551616', '1'.repeat(30)]) {
    const r = smt(['tx', 'send', '--key', join(netDir, 'accounts', '0.key'), '--to', '00'.repeat(20), '--amount', amount, '--node', 'http://127.0.0.1:9']);
    assert.equal(r.status, 1);
    assert.match(r.stderr.trim(), /^error: --amount is too large/);
  }
});

test('`smt global` against a node of a depth-1 network started without --p2p says the gossip layer is off', async () => {
  const net1 = join(tmp, 'net1');
  assert.equal(smt(['network', 'init', '--dir', net1, '--depth', '1', '--accounts', '1']).status, 0);
  const { proc: p, url } = await startNode(['--network', net1, '--shard', '0', '--data', join(tmp, 'data1'), '--api', '127.0.0.1:0', '--no-prove', '--log-level', 'warn']);
  try {
    const g = smt(['global', '--node', url]);
    assert.equal(g.status, 1);
    assert.match(g.stderr.trim(), /^error: the node at .* runs without gossip \(started without --p2p\)/);
  } finally {
    p.kill('SIGKILL');
  }
});

test('network init --force names what of the replaced network is left (node data refuses a new genesis)', () => {
  const dir = join(tmp, 'forced');
  assert.equal(smt(['network', 'init', '--dir', dir, '--accounts', '1']).status, 0);
  mkdirSync(join(dir, 'data', 'root'), { recursive: true });
  const r = smt(['network', 'init', '--dir', dir, '--accounts', '1', '--force']);
  assert.equal(r.status, 0);
  assert.match(r.stderr, new RegExp(`note: ${join(dir, 'data')} belong to the replaced network; nodes of the new one refuse its data\\. Delete them: rm -rf ${join(dir, 'data')}`));
});
