// /v1/health means something: 200 only when the node is live (its epoch clock moves) and ready
// (caught up with the clock and, at depth >= 1 with gossip, connected to a peer); otherwise 503 with
// the reasons. /v1/health/live and /v1/health/ready answer the two questions alone, for probes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmtNode } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';
import { sleep } from './support/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-health-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const logger = createLogger({ level: 'silent' });

async function probe(url: string): Promise<{ health: { status: number; body: any }; live: number; ready: number }> {
  const h = await fetch(`${url}/v1/health`);
  return { health: { status: h.status, body: await h.json() }, live: (await fetch(`${url}/v1/health/live`)).status, ready: (await fetch(`${url}/v1/health/ready`)).status };
}

test('a standalone node that follows the clock is live and ready (200)', async () => {
  const netDir = join(tmp, 'n0');
  initNetwork({ dir: netDir, depth: 0, accounts: 1, epochMs: 200, networkId: 'health-test', balance: 1000n, force: false });
  const node = await SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd0'), apiPort: 0, logger });
  try {
    // it may start behind the clock (a loaded machine); it must catch up and then stay ready
    let p = await probe(node.url);
    for (const deadline = Date.now() + 20_000; p.health.status !== 200 && Date.now() < deadline;) {
      await sleep(200);
      p = await probe(node.url);
    }
    assert.equal(p.health.status, 200, JSON.stringify(p.health.body));
    assert.equal(p.health.body.ok, true);
    assert.equal(p.health.body.reasons, undefined);
    assert.deepEqual([p.live, p.ready], [200, 200]);
  } finally {
    await node.close();
  }
});

test('a node whose epoch clock does not run is first catching up (not ready), then stalled (not live)', async () => {
  const netDir = join(tmp, 'n1');
  initNetwork({ dir: netDir, depth: 0, accounts: 1, epochMs: 200, networkId: 'health-test', balance: 1000n, force: false });
  const node = await SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd1'), apiPort: 0, logger, manualSeal: true });
  try {
    await sleep(1200);
    let p = await probe(node.url);
    assert.equal(p.health.status, 503);
    assert.equal(p.health.body.live, true);
    assert.match(p.health.body.reasons[0], /^catching up: \d+ epochs behind the clock$/);
    assert.deepEqual([p.live, p.ready], [200, 503]);
    await sleep(10_000); // no seal for 5 epochs and at least 10 s
    p = await probe(node.url);
    assert.equal(p.health.body.live, false);
    assert.match(p.health.body.reasons[0], /^epoch clock stalled: no epoch sealed for \d+ s/);
    assert.deepEqual([p.health.status, p.live, p.ready], [503, 503, 503]);
  } finally {
    await node.close();
  }
});

test('a depth-1 node with gossip and no peer is live but not ready', async () => {
  const netDir = join(tmp, 'n2');
  initNetwork({ dir: netDir, depth: 1, accounts: 1, epochMs: 500, networkId: 'health-test', balance: 1000n, force: false });
  const node = await SmtNode.start({ networkDir: netDir, shard: '0', dataDir: join(tmp, 'd2'), apiPort: 0, logger, gossip: { listen: '127.0.0.1:0', peers: [] } });
  try {
    await sleep(1000);
    const p = await probe(node.url);
    assert.equal(p.health.status, 503);
    assert.ok(p.health.body.reasons.includes('no connected peers'), JSON.stringify(p.health.body.reasons));
    assert.deepEqual([p.live, p.ready], [200, 503]);
  } finally {
    await node.close();
  }
});

test('GET /v1/health?after=E is answered once an epoch later than E is sealed (at once if one is), and at once when the node closes', async () => {
  const netDir = join(tmp, 'n3');
  initNetwork({ dir: netDir, depth: 0, accounts: 1, epochMs: 200, networkId: 'health-test', balance: 1000n, force: false });
  const node = await SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd3'), apiPort: 0, logger, manualSeal: true });
  let closed = false;
  try {
    for (const bad of ['x', '-2', '1.5', '01', '99999999999999999']) {
      const r = await fetch(`${node.url}/v1/health?after=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(((await r.json()) as any).error.code, 'bad-request', bad);
    }
    // nothing sealed yet (epoch -1): a poll after -1 waits for the first seal
    let answered = false;
    const poll = fetch(`${node.url}/v1/health?after=-1`).then(async (r) => ((answered = true), (await r.json()) as any));
    await sleep(400);
    assert.equal(answered, false, 'answered before any seal');
    await node.sealNow();
    assert.equal((await poll).epoch, 0, 'answered with the sealed epoch');
    // an epoch past `after` is already sealed: at once
    assert.equal(((await (await fetch(`${node.url}/v1/health?after=-1`)).json()) as any).epoch, 0);
    // a held poll is answered when the node closes, not after the server's forced close (5 s)
    const held = fetch(`${node.url}/v1/health?after=0`).then(async (r) => (await r.json()) as any);
    await sleep(200);
    const t0 = Date.now();
    const closing = node.close();
    closed = true;
    assert.equal((await held).epoch, 0);
    assert.ok(Date.now() - t0 < 3000, `held poll answered ${Date.now() - t0} ms after close began`);
    await closing;
  } finally {
    if (!closed) await node.close();
  }
});
