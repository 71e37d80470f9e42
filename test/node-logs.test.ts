// Node logs: JSON lines by default (not a terminal), human-readable lines with --log-format pretty,
// JSON appended to --log-file with only the "api listening" line left on stdout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { sleep } from './support/wait.js';
import { startNode } from './support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-logs-'));
const netDir = join(tmp, 'net');
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a depth-0 node until it has sealed a few epochs, then stops it; returns its stdout. */
async function runNode(extra: string[]): Promise<string> {
  const node = await startNode(['--network', netDir, '--data-dir', join(tmp, `d${Math.random()}`), '--api', '127.0.0.1:0', '--no-prove', ...extra], { timeoutMs: 40_000 });
  await sleep(1500);
  node.proc.kill('SIGTERM');
  await node.exited;
  return node.stdout();
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
