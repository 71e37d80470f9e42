// The network layer's periodic work rides on the gossipsub heartbeat (src/gossip/heartbeat-tasks.ts):
// two connected idle libp2p nodes wake for one timer a second each (the heartbeat) instead of three
// (heartbeat, peer-score refresh, dialer), and the score still decays once per heartbeat.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createP2PNode, type P2PNode } from '../src/gossip/p2p.js';
import { runOnHeartbeat } from '../src/gossip/heartbeat-tasks.js';
import { waitFor, sleep } from './support/wait.js';
import { trackTimers } from './support/timers.js';

const dir = mkdtempSync(join(tmpdir(), 'smt-heartbeat-'));
const nodes: P2PNode[] = [];
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.close()));
  rmSync(dir, { recursive: true, force: true });
});

// every timer of this process from here on (the nodes' are made later)
const timers = trackTimers();

test('two connected idle nodes: one timer callback per node per heartbeat, not three (heartbeat, score refresh, dialer), with a housekeeping task on it', async () => {
  const a = await createP2PNode({ peerKeyFile: join(dir, 'a.key'), networkId: 'hb' });
  nodes.push(a);
  const b = await createP2PNode({ peerKeyFile: join(dir, 'b.key'), networkId: 'hb', peers: a.multiaddrs() });
  nodes.push(b);
  a.subscribe('/hb/t', () => {});
  b.subscribe('/hb/t', () => {});
  await waitFor('the two nodes to see each other', () => a.topicPeers('/hb/t').length === 1 && b.topicPeers('/hb/t').length === 1, 10_000);
  await sleep(5500); // start-up's one-off timers are done (the dials' 5 s AbortSignal.timeout fire even after success)
  let beats = 0;
  const off = a.onHeartbeat!(() => beats++); // housekeeping riding on the heartbeat: no timer of its own
  const t0 = performance.now();
  const ran = await timers.during(() => sleep(4000));
  const secs = (performance.now() - t0) / 1000;
  off();
  const seen = beats;
  assert.ok(seen >= 3 && seen <= 5, `a task on the heartbeat ran ${seen} times in 4 s`);
  await sleep(1200);
  assert.equal(beats, seen, 'a removed task runs no more');
  const perNodePerS = (ran - 1) / 2 / secs; // less the test's own sleep
  // 1 s heartbeats: ~1 per node per second with the merge, ~3 without it
  assert.ok(perNodePerS <= 1.5, `${perNodePerS.toFixed(2)} timer callbacks per node per second`);
});

test('the score refresh runs at each heartbeat, before it, and only there; tasks run at each heartbeat', async () => {
  let refreshes = 0;
  let beats = 0;
  let tasks = 0;
  const order: string[] = [];
  const interval = setInterval(() => {}, 1_000_000);
  const fake = {
    opts: { heartbeatInterval: 1000 },
    score: { _backgroundInterval: interval, params: { decayInterval: 1000 }, background() { refreshes++; order.push('score'); } },
    async heartbeat() { beats++; order.push('beat'); },
  };
  assert.equal(runOnHeartbeat(fake, () => { tasks++; order.push('tasks'); }), true);
  await fake.heartbeat();
  await fake.heartbeat();
  assert.deepEqual([refreshes, beats, tasks], [2, 2, 2]);
  assert.deepEqual(order.slice(0, 3), ['score', 'tasks', 'beat']);
  // a score that decays at another interval keeps its own timer: its decay rate must not change
  let other = 0;
  const fake2 = { opts: { heartbeatInterval: 200 }, score: { _backgroundInterval: interval, params: { decayInterval: 1000 }, background() { other++; } }, async heartbeat() {} };
  assert.equal(runOnHeartbeat(fake2, () => {}), true);
  await fake2.heartbeat();
  assert.equal(other, 0);
  clearInterval(interval);
  assert.equal(runOnHeartbeat({ heartbeat: 1 }, () => {}), false, 'an instance without the internals is left alone');
});

test('a request that got its answer leaves no timer behind (AbortSignal.timeout fired once per request, after the answer)', async () => {
  const [a, b] = nodes as [P2PNode, P2PNode]; // the first test's two connected nodes
  await a.handle('/hb/echo/1', async (req) => req);
  for (let i = 0; i < 10; i++) assert.deepEqual(await b.request(a.peerId, '/hb/echo/1', new Uint8Array([i]), { timeoutMs: 1500 }), new Uint8Array([i]));
  const t0 = performance.now();
  const ran = await timers.during(() => sleep(2500));
  const perNodePerS = (ran - 1) / 2 / ((performance.now() - t0) / 1000);
  // the heartbeats only (~1 per node per second); the ten requests' timeouts would add 2 per node per second
  assert.ok(perNodePerS <= 1.6, `${perNodePerS.toFixed(2)} timer callbacks per node per second after 10 answered requests`);
});
