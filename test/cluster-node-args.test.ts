// `smt cluster up` starts each process with nodeArgs (src/cluster/supervisor.ts): a one-shard network
// (depth 0) has no one to gossip with, and `node start` refuses --p2p there, so it must get none;
// every shard of a deeper network gets its own p2p address and its triad's peers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../src/cluster/layout.js';
import { nodeArgs } from '../src/cluster/supervisor.js';

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
