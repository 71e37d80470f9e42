// The operator's deny list (src/gossip/deny-list.ts, `smt node start --deny-peers FILE`): what the
// file lists is refused at every libp2p gater stage, a rewrite takes effect without a restart, a
// missing file denies no one, and live connections to listed peers are closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { denyListFile, parseDenyList } from '../src/gossip/deny-list.js';
import { sleep } from './support/wait.js';


test('parseDenyList: one peer id a line, comments and blank lines ignored', () => {
  assert.deepEqual([...parseDenyList('# cut\nA\n\n  B  # the writer\n#C\n')], ['A', 'B']);
});

test('a deny-list file: listed peers are denied at every gater hook, rewrites apply, a missing file denies no one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-deny-'));
  try {
    const file = join(dir, 'deny');
    const list = denyListFile(file, 20);
    const peer = { toString: () => 'A' };
    assert.equal(list.has('A'), false, 'no file: no one denied');
    writeFileSync(file, 'A\n');
    await sleep(30);
    for (const [hook, f] of Object.entries(list.gater)) assert.equal(f(peer), true, `${hook} denies a listed peer`);
    assert.equal(list.has('B'), false, 'an unlisted peer passes');
    writeFileSync(file, 'B\n');
    await sleep(30);
    assert.equal(list.has('A'), false, 'a rewrite lets A back in');
    assert.equal(list.has('B'), true, 'and denies B');
    rmSync(file);
    await sleep(30);
    assert.equal(list.has('B'), false, 'a removed file denies no one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attach: live connections to a listed peer are aborted, others kept, until detached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-deny-'));
  try {
    const file = join(dir, 'deny');
    writeFileSync(file, 'A\n');
    const aborted: string[] = [];
    const conn = (id: string) => ({ remotePeer: { toString: () => id }, abort: () => void aborted.push(id) });
    const list = denyListFile(file, 20);
    const detach = list.attach({ getConnections: () => [conn('A'), conn('B')] });
    await sleep(70);
    detach();
    const n = aborted.length;
    assert.ok(n >= 1 && aborted.every((p) => p === 'A'), `only A's connection was aborted (${aborted.join(',')})`);
    await sleep(70);
    assert.equal(aborted.length, n, 'nothing more after detach');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
