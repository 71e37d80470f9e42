// A burst of invalid gossip from one peer (real libp2p on 127.0.0.1: TCP, noise, yamux, gossipsub
// with this node's scoring): the peer is graylisted at its third Rejected message and the rest of
// the burst is dropped unread. Without src/gossip/fresh-score.ts gossipsub judged the sender on a
// score cached for a heartbeat (1 s) and read the whole burst.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createP2PNode, SCORE_THRESHOLDS, type P2PNode } from '../src/gossip/p2p.js';
import { freshScoreOnInvalid } from '../src/gossip/fresh-score.js';
import { triadTopic } from '../src/gossip/topics.js';
import { encodeEnvelope, GossipKind } from '../src/gossip/encoding.js';
import { makeTopicValidator, type ValidationOutcome } from '../src/gossip/validation.js';
import { waitFor, sleep } from './support/wait.js';
import { tempDir } from './support/tmp.js';

const NET = 'fresh-score';
const TOPIC = triadTopic(NET, '0');
const { dir, cleanup } = tempDir('smt-fresh-score-');
const nodes: P2PNode[] = [];
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.close()));
  cleanup();
});

test('a peer sending a burst of invalid messages is graylisted at its third: the rest is dropped unread', { timeout: 30_000 }, async () => {
  const victim = await createP2PNode({ peerKeyFile: join(dir, 'victim.key'), networkId: NET, scoredTopics: [TOPIC] });
  nodes.push(victim);
  const outcomes: ValidationOutcome[] = [];
  // no payload check for the kind sent: every message is Rejected (wrong-topic) once its envelope is read
  victim.setTopicValidator(TOPIC, makeTopicValidator(NET, {}, (o) => outcomes.push(o)));
  victim.subscribe(TOPIC, () => {});
  const attacker = await createP2PNode({ peerKeyFile: join(dir, 'attacker.key'), networkId: NET, peers: victim.multiaddrs(), scoredTopics: [TOPIC] });
  nodes.push(attacker);
  attacker.subscribe(TOPIC, () => {});
  await waitFor('the attacker sees the victim on the topic', () => attacker.topicPeers(TOPIC).includes(victim.peerId), 10_000);

  const BURST = 100; // sent well within gossipsub's 1 s score cache
  for (let i = 0; i < BURST; i++) {
    await attacker.publish(TOPIC, encodeEnvelope({ kind: GossipKind.proof, network: NET, payload: Uint8Array.of(i) }));
    await sleep(1); // the victim's validations run between sends, as over a real link
  }
  await sleep(500);
  const read = outcomes.length;
  const score = victim.peerScore(attacker.peerId);
  console.log(`burst of ${BURST} invalid messages: ${read} read and Rejected, score ${score.toFixed(1)}`);
  assert.ok(outcomes.every((o) => o.action === 'reject'), 'every message read is Rejected');
  assert.ok(score < SCORE_THRESHOLDS.graylistThreshold, `the sender is graylisted (score ${score})`);
  assert.ok(read >= 3 && read <= 10, `the sender is cut off at its third invalid message, give or take what was in flight: ${read} of ${BURST} read`);
});

test('a gossipsub instance without the score internals it relies on is left unchanged', () => {
  const markInvalidMessageDelivery = (): void => {};
  const shapes = [{}, { score: {} }, { score: { scoreCache: new Map(), markInvalidMessageDelivery } }, { score: { scoreCache: {}, markInvalidMessageDelivery }, acceptFromWhitelist: new Map() }];
  for (const g of shapes) {
    const before = JSON.stringify(g);
    assert.equal(freshScoreOnInvalid(g), false);
    assert.equal(JSON.stringify(g), before);
    if (g.score && 'markInvalidMessageDelivery' in g.score) assert.equal(g.score.markInvalidMessageDelivery, markInvalidMessageDelivery);
  }
});
