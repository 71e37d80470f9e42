// On a Node older than the minimum, `smt` prints one line saying what to do and exits 1, instead of a
// loader stack trace. Runs where this machine has such a Node (the system /usr/bin/node is 20 here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SMT_BIN } from '../src/cluster/supervisor.js';

const OLD = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
  if (!existsSync(p)) return false;
  const v = spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim().split('.').map(Number);
  return v.length === 3 && (v[0]! < 22 || (v[0] === 22 && v[1]! < 18));
});

test('an old Node gets one clear line (minimum version and the fix), exit code 1, no stack trace', { skip: OLD ? false : 'no Node older than 22.18 on this machine' }, () => {
  const r = spawnSync(OLD!, [SMT_BIN, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^error: smt needs Node\.js >= 22\.18 .*source scripts\/use-node24\.sh$/);
});
