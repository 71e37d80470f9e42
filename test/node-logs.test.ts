// Node logs: JSON lines by default (not a terminal), human-readable lines with --log-format pretty,
// JSON appended to --log-file with only the "api listening" line left on stdout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMT_BIN } from '../src/cluster/supervisor.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-logs-'));
const netDir = join(tmp, 'net');
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a depth-0 node until it has sealed a few epochs, then stops it; returns its stdout. */
async function runNode(extra: string[]): Promise<string> {
  const p = spawn(process.execPath, [SMT_BIN, 'node', 'start', '--network', netDir, '--data-dir', join(tmp, `d${Math.random()}`), '--api', '127.0.0.1:0', '--no-prove', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  const exit = new Promise((r) => p.on('exit', r));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`node did not start: ${out}`)), 40_000);
    p.stdout!.on('data', () => {
      if (/api listening on/.test(out)) { clearTimeout(t); resolve(); }
    });
  });
  await new Promise((r) => setTimeout(r, 1500));
  p.kill('SIGTERM');
  await exit;
  return out;
}

test('logs: json by default off a terminal, pretty on request, --log-file takes the log lines', async () => {
  assert.equal(spawnSync(process.execPath, [SMT_BIN, 'network', 'init', '--dir', netDir, '--accounts', '1', '--epoch-ms', '200']).status, 0);
  const json = (await runNode([])).split('\n').filter((l) => l.startsWith('{'));
  assert.ok(json.length > 2, 'JSON lines on stdout');
  for (const l of json) assert.equal(typeof JSON.parse(l).msg, 'string');

  const pretty = await runNode(['--log-format', 'pretty']);
  assert.doesNotMatch(pretty, /^\{"level"/m, 'no JSON lines');
  assert.match(pretty, /INFO.*sealed/, 'level names and messages, readable');

  const file = join(tmp, 'logs', 'node.log');
  const out = await runNode(['--log-file', file]);
  assert.deepEqual(out.trim().split('\n').filter(Boolean).map((l) => l.replace(/:\d+$/, ':PORT')), ['api listening on http://127.0.0.1:PORT']);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.ok(lines.length > 2);
  for (const l of lines) assert.equal(typeof JSON.parse(l).level, 'number');

  const bad = spawnSync(process.execPath, [SMT_BIN, 'node', 'start', '--network', netDir, '--log-format', 'xml'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--log-format must be json or pretty/);
});
