// IHAVE held for the next message to its peer (src/gossip/ihave-piggyback.ts): which pending IHAVE is
// overdue at a heartbeat, and that an object without gossipsub's internals is left alone. The
// behaviour on real gossipsub nodes (IHAVE riding on messages, a lost send repaired) is in
// test/gossip-p2p.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ageGossip, IHAVE_HOLD, mcacheFor, piggybackIhave } from '../src/gossip/ihave-piggyback.js';

test('a peer\'s IHAVE goes alone only after waiting IHAVE_HOLD heartbeats with nothing sent to it; one that rode on a message starts again', () => {
  const x = { topicID: 't', messageIDs: [] };
  const y = { topicID: 't', messageIDs: [] };
  const z = { topicID: 't', messageIDs: [] };
  // a: held since x, nothing went to it (new gossip appended); b: x rode on a message and new gossip
  // was built since; c: new this heartbeat
  let held = ageGossip(new Map([['a', [x]], ['b', [y]]]), new Map(), 3).held;
  assert.deepEqual([...held.values()].map((h) => h.age), [0, 0], 'first heartbeat: held, age 0');
  let r = ageGossip(new Map([['a', [x, z]], ['b', [z]], ['c', [z]]]), held, 3);
  assert.deepEqual(r.overdue, []);
  assert.deepEqual(Object.fromEntries([...r.held].map(([p, h]) => [p, h.age])), { a: 1, b: 0, c: 0 });
  held = r.held;
  r = ageGossip(new Map([['a', [x, z]], ['b', [z]], ['c', [z]]]), held, 3);
  assert.deepEqual(r.overdue, []);
  r = ageGossip(new Map([['a', [x, z]], ['b', [z]], ['c', [z]]]), r.held, 3);
  assert.deepEqual(r.overdue, ['a'], 'a waited 3 heartbeats: it goes now');
  assert.deepEqual(Object.fromEntries([...r.held].map(([p, h]) => [p, h.age])), { b: 2, c: 2 });
  // with a wait of 1 heartbeat (the first version): overdue at the next heartbeat
  assert.deepEqual(ageGossip(new Map([['a', [x, z]]]), new Map([['a', { first: x, age: 0 }]]), 1).overdue, ['a']);
});

test('the message cache outlives the longest wait of an IHAVE: the library\'s 5 heartbeats for a wait of 1, 7 for IHAVE_HOLD 3', () => {
  assert.equal(mcacheFor(3, 1), 5);
  assert.equal(IHAVE_HOLD, 3);
  assert.equal(mcacheFor(3, IHAVE_HOLD), 7);
});

test('an object without gossipsub internals is left unchanged', () => {
  const o = { gossip: new Map(), flush: () => {} };
  assert.equal(piggybackIhave(o), false);
  assert.deepEqual(Object.keys(o), ['gossip', 'flush']);
});
