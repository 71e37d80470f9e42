// The protocol table (src/gossip/protocol.ts) covers every topic a node subscribes to: a node with
// its network and proving layers subscribes only through installRoutes, so every topic it listens
// on has a validator and the table's kinds for it (the triad network's and the proofs topic's
// alike), and every one of them is scored (an invalid message on an unscored topic would cost its
// sender nothing).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmtNode } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';
import { routedTopics } from '../src/gossip/protocol.js';
import { GossipKind, kindName } from '../src/gossip/encoding.js';
import { proofTopic } from '../src/gossip/proof-messages.js';
import { signersTopic, triadTopic, txTopic } from '../src/gossip/topics.js';
import { scoredTopicsFor } from '../src/node/gossip.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-protocol-table-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('every topic a node subscribes to is a row of the protocol table, validated, with the kinds it carries, and scored', async () => {
  const net = 'table-test';
  const netDir = join(tmp, 'net');
  initNetwork({ dir: netDir, depth: 2, accounts: 1, epochMs: 1000, networkId: net, balance: 1000n, force: false });
  const node = await SmtNode.start({
    networkDir: netDir, shard: '01', dataDir: join(tmp, 'd'), apiPort: 0, logger: createLogger({ level: 'silent' }),
    gossip: { listen: '127.0.0.1:0', peers: [] }, proving: { prove: false },
  });
  try {
    const p2p = node.p2p!;
    const pubsub = p2p.libp2p.services.pubsub;
    const subscribed = [...pubsub.getTopics()].sort();
    const table = routedTopics(p2p);
    const kinds = (t: string): string[] => [...(table.get(t) ?? [])].map(kindName).sort();
    const K = (...ks: GossipKind[]): string[] => ks.map(kindName).sort();
    assert.deepEqual(Object.fromEntries(subscribed.map((t) => [t, kinds(t)])), {
      [txTopic(net, '01' as never)]: K(GossipKind.txBatch, GossipKind.receipts),
      [triadTopic(net, '0')]: K(GossipKind.aggregateSig, GossipKind.finalAggregate, GossipKind.snapshot),
      [triadTopic(net, '')]: K(GossipKind.finalAggregate, GossipKind.lowestFinal),
      [signersTopic(net, '', 0)]: K(GossipKind.aggregateSig), // 01 signs for member "0" at the apex in epochs of phase 0
      [proofTopic(net)]: K(GossipKind.proof),
    }, 'the subscribed topics, each with the kinds its table rows carry');
    for (const t of subscribed) assert.ok(pubsub.topicValidators.has(t), `${t} has a topic validator`);
    assert.deepEqual([...table.keys()].sort(), subscribed, 'nothing routed that is not subscribed');
    assert.deepEqual(scoredTopicsFor(node.genesis, '01' as never).sort(), subscribed, 'every subscribed topic is scored');
  } finally {
    await node.close();
  }
  assert.equal(routedTopics(node.p2p!).size, 0, 'closing the layers uninstalls their rows');
});
