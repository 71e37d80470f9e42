// `smt cluster up` starts each process with nodeArgs (src/cluster/supervisor.ts): a one-shard network
// (depth 0) has no one to gossip with, and `node start` refuses --p2p there, so it must get none;
// every shard of a deeper network gets its own p2p address and its triad's peers, each named by the
// peer id its genesis validator key gives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../src/cluster/layout.js';
import { nodeArgs, SMT_BIN } from '../src/cluster/supervisor.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initNetwork } from '../src/node/network-dir.js';
import { validatorPeers } from '../src/gossip/identity.js';

test('cluster up starts a depth-0 node without --p2p, and every node of a deeper network with it', () => {
  const flat = makeLayout(0, { apiBasePort: 9100, p2pBasePort: 9200 });
  const a = nodeArgs('/tmp/none', flat, flat.shards[0]!);
  assert.ok(!a.includes('--p2p') && !a.includes('--peers'), `depth 0: ${a.join(' ')}`);
  assert.equal(a[a.indexOf('--api') + 1], '127.0.0.1:9100');
  const deep = makeLayout(1, { apiBasePort: 9100, p2pBasePort: 9200 });
  for (const s of deep.shards) {
    const b = nodeArgs('/tmp/none', deep, s);
    assert.equal(b[b.indexOf('--p2p') + 1], `${s.p2pHost}:${s.p2pPort}`);
    assert.equal(b[b.indexOf('--peers') + 1]!.split(',').length, 2, `shard ${s.shard}: its two triad peers`);
  }
});

test('cluster up names each peer by its genesis peer id, so a node that was dialled first is not dialled again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-node-args-'));
  try {
    const { genesis } = initNetwork({ dir, depth: 2, accounts: 0, epochMs: 1000, networkId: 'smt-test', balance: 1n, force: false });
    const ids = validatorPeers(genesis).byShard;
    const layout = makeLayout(2, { apiBasePort: 9100, p2pBasePort: 9200 });
    for (const s of layout.shards) {
      const args = nodeArgs(dir, layout, s);
      const peers = args[args.indexOf('--peers') + 1]!.split(',');
      assert.equal(peers.length, 8, `shard ${s.shard}: every other process`);
      for (const other of layout.shards.filter((x) => x.shard !== s.shard)) {
        assert.ok(peers.includes(`/ip4/127.0.0.1/tcp/${other.p2pPort}/p2p/${ids.get(other.shard)}`), `shard ${s.shard}: ${other.shard} by its validator's peer id`);
      }
    }
    // without a readable genesis the addresses stay plain (the node still dials them)
    const plain = nodeArgs('/tmp/none', layout, layout.shards[0]!);
    assert.ok(plain[plain.indexOf('--peers') + 1]!.split(',').every((p) => !p.includes('/p2p/')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SMT_CLUSTER_NODE_FLAGS puts Node/V8 flags before the script on every node command line, and nothing by default', () => {
  const layout = makeLayout(1, { apiBasePort: 9100, p2pBasePort: 9200 });
  const before = process.env.SMT_CLUSTER_NODE_FLAGS;
  try {
    delete process.env.SMT_CLUSTER_NODE_FLAGS;
    assert.equal(nodeArgs('/tmp/none', layout, layout.shards[0]!)[0], SMT_BIN);
    process.env.SMT_CLUSTER_NODE_FLAGS = ' --single-threaded-gc  --max-semi-space-size=8 ';
    const a = nodeArgs('/tmp/none', layout, layout.shards[0]!);
    assert.deepEqual(a.slice(0, 3), ['--single-threaded-gc', '--max-semi-space-size=8', SMT_BIN]);
  } finally {
    if (before === undefined) delete process.env.SMT_CLUSTER_NODE_FLAGS;
    else process.env.SMT_CLUSTER_NODE_FLAGS = before;
  }
});
