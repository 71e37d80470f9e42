// IHAVE held for the next message to its peer (src/gossip/ihave-piggyback.ts): which pending IHAVE is
// overdue at a heartbeat, and that an object without gossipsub's internals is left alone. The
// behaviour on real gossipsub nodes (IHAVE riding on messages, a lost send repaired) is in
// test/gossip-p2p.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overdueGossip, piggybackIhave } from '../src/gossip/ihave-piggyback.js';

test('an IHAVE is overdue at a heartbeat only if what was held for its peer at the last one is still pending', () => {
  const x = { topicID: 't', messageIDs: [] };
  const y = { topicID: 't', messageIDs: [] };
  const z = { topicID: 't', messageIDs: [] };
  const held = new Map<string, unknown>([['a', x], ['b', y]]);
  // a: nothing went to it since (its list still starts with x, new gossip appended); b: its held
  // IHAVE rode on a message and new gossip was built since; c: new this heartbeat
  const pending = new Map<string, unknown[]>([['a', [x, z]], ['b', [z]], ['c', [z]]]);
  assert.deepEqual(overdueGossip(pending, held), ['a']);
  assert.deepEqual(overdueGossip(pending, new Map()), []);
});

test('an object without gossipsub internals is left unchanged', () => {
  const o = { gossip: new Map(), flush: () => {} };
  assert.equal(piggybackIhave(o), false);
  assert.deepEqual(Object.keys(o), ['gossip', 'flush']);
});
