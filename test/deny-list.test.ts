// The operator's deny list (src/gossip/deny-list.ts, `smt node start --deny-peers FILE`): what the
// file lists is refused at every libp2p gater stage, a rewrite takes effect without a restart, a
// missing file denies no one, and live connections to listed peers are closed; a node given the
// file (the option or its SMT_DENY_PEERS variable) drops a listed validator and takes it back once
// the file no longer lists it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { denyListFile, parseDenyList } from '../src/gossip/deny-list.js';
import { SmtNode } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { waitFor } from './support/wait.js';
import { DENY_PEERS_ENV, writeDenyList } from './support/deny-peers.js';
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

test('--deny-peers comes from its flag or from SMT_DENY_PEERS (what the tests set)', () => {
  const r = spawnSync(process.execPath, [SMT_BIN, 'node', 'start', '--network', '/n', '--print-config'], { encoding: 'utf8', env: { ...process.env, [DENY_PEERS_ENV]: '/tmp/deny' }, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).denyPeers, { value: '/tmp/deny', source: 'env' });
});

test('a node with a deny list drops a listed validator, keeps it out while listed, and takes it back once the list is cleared', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-deny-node-'));
  const logger = createLogger({ level: 'silent' });
  const nodes: SmtNode[] = [];
  try {
    const netDir = join(dir, 'net');
    initNetwork({ dir: netDir, depth: 1, accounts: 1, epochMs: 1000, networkId: 'deny-test', balance: 1000n, force: false });
    const file = join(dir, 'deny');
    const a = await SmtNode.start({ networkDir: netDir, shard: '0', dataDir: join(dir, 'a'), apiPort: 0, logger, gossip: { listen: '127.0.0.1:0', peers: [] }, denyPeersFile: file });
    nodes.push(a);
    const b = await SmtNode.start({ networkDir: netDir, shard: '1', dataDir: join(dir, 'b'), apiPort: 0, logger, gossip: { listen: '127.0.0.1:0', peers: a.p2p!.multiaddrs() } });
    nodes.push(b);
    const linked = (): boolean => a.p2p!.connectedPeers().includes(b.p2p!.peerId);
    await waitFor('the two validators connect', linked, 20_000);
    writeDenyList(file, [b.p2p!.peerId]);
    await waitFor('the listed validator is disconnected', () => !linked(), 10_000);
    await sleep(1500); // b keeps redialling (backoff from 250 ms): every attempt is refused
    assert.equal(linked(), false, 'no connection while listed');
    writeDenyList(file, []);
    await waitFor('the validator is taken back once the list is cleared', linked, 30_000);
  } finally {
    for (const n of nodes.reverse()) await n.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
