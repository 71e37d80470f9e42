// `smt node start` options come from flags, SMT_* environment variables and a YAML/JSON --config
// file, with precedence flag > env > file > default; --print-config shows each value and its source;
// a bad file is one clear error naming the key.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseConfigText } from '../src/cli/config.js';
import { SMT_BIN } from '../src/cluster/supervisor.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function printConfig(args: string[], env: Record<string, string> = {}): Record<string, { value: unknown; source: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMT_')));
  const r = spawnSync(process.execPath, [SMT_BIN, 'node', 'start', ...args, '--print-config'], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('precedence is flag > env > file > default, and each value says where it came from', () => {
  const file = join(tmp, 'node.yaml');
  writeFileSync(file, 'network: /from/file\nlog-level: debug\napi: 127.0.0.1:7799\nmempoolMax: 500\nprove: false\n');
  const c = printConfig(['--config', file, '--api', '127.0.0.1:0'], { SMT_LOG_LEVEL: 'warn' });
  assert.deepEqual(c.api, { value: '127.0.0.1:0', source: 'flag' });
  assert.deepEqual(c.logLevel, { value: 'warn', source: 'env' });
  assert.deepEqual(c.network, { value: '/from/file', source: 'config' });
  assert.deepEqual(c.mempoolMax, { value: '500', source: 'config' });
  assert.deepEqual(c.prove, { value: false, source: 'config' });
  assert.equal(c.p2p!.source, 'unset');
  const d = printConfig(['--network', '/n']);
  assert.deepEqual(d.logLevel, { value: 'info', source: 'default' });
  assert.deepEqual(d.prove, { value: true, source: 'default' });
});

test('SMT_CONFIG names the file; JSON is accepted; SMT_NO_PROVE=1 turns proving off', () => {
  const file = join(tmp, 'node.json');
  writeFileSync(file, JSON.stringify({ network: '/j', 'verify-workers': 2 }));
  const c = printConfig([], { SMT_CONFIG: file, SMT_NO_PROVE: '1' });
  assert.deepEqual(c.network, { value: '/j', source: 'config' });
  assert.deepEqual(c.verifyWorkers, { value: '2', source: 'config' });
  assert.deepEqual(c.prove, { value: false, source: 'env' });
});

test('config files: unknown keys, wrong types and bad YAML are one error naming the problem', () => {
  const cmd = new Command().option('--log-level <l>').option('--no-prove').option('--api <a>');
  assert.deepEqual([...parseConfigText('log-level: debug\nprove: false\n', cmd.options, 'f')], [['logLevel', 'debug'], ['prove', false]]);
  assert.throws(() => parseConfigText('bogus: 1', cmd.options, 'f'), /config file f: unknown option "bogus" \(known: log-level, prove, api\)/);
  assert.throws(() => parseConfigText('prove: 1', cmd.options, 'f'), /prove must be true or false/);
  assert.throws(() => parseConfigText('api: [1]', cmd.options, 'f'), /api must be a string or a number/);
  assert.throws(() => parseConfigText('[1, 2]', cmd.options, 'f'), /must be a mapping/);
  assert.throws(() => parseConfigText('a: [', cmd.options, 'f'), /not valid YAML\/JSON/);
  const r = spawnSync(process.execPath, [SMT_BIN, 'node', 'start', '--config', join(tmp, 'missing.yaml')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^error: cannot read config file .*missing\.yaml: no such file$/);
});

test('--data is an alias of --data-dir; giving both with different values is an error', () => {
  assert.deepEqual(printConfig(['--network', '/n', '--data', '/d']).data, { value: '/d', source: 'flag' });
  const r = spawnSync(process.execPath, [SMT_BIN, 'node', 'start', '--network', '/n', '--data', '/a', '--data-dir', '/b'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--data is an alias of --data-dir: give one of them/);
});
