// Prometheus conventions on /metrics: counters are counters and end in _total; the default process and
// Node.js metrics keep their standard names; HTTP latency is a histogram; smt_tps is /v1/health's tps
// (one window); metrics of a layer the node does not run are absent, not 0. (prom-client's own
// nodejs_active_*_total gauges keep their standard names.) The standard metrics start at the
// first scrape: a node nobody scrapes runs no event-loop delay timer (100 wake-ups a second).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmtNode } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';
import { createMetrics } from '../src/node/metrics.js';
import { sleep } from './support/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-metrics-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

function conventions(t: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [name, type] of t) {
    if (type === 'counter' && !name.endsWith('_total')) bad.push(`${name}: a counter without _total`);
    if (type !== 'counter' && name.startsWith('smt_') && name.endsWith('_total')) bad.push(`${name}: a ${type} named like a counter`);
    if (name.startsWith('smt_process_') || name.startsWith('smt_nodejs_')) bad.push(`${name}: standard metric renamed`);
  }
  return bad;
}

test('standalone node: conventions hold, standard process metrics, HTTP latency histogram, no network metrics', async () => {
  const netDir = join(tmp, 'net0');
  initNetwork({ dir: netDir, depth: 0, accounts: 1, epochMs: 200, networkId: 'metrics-test', balance: 1000n, force: false });
  const node = await SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd0'), apiPort: 0, logger: createLogger({ level: 'silent' }) });
  try {
    await sleep(700);
    const health = (await (await fetch(`${node.url}/v1/health`)).json()) as { tps: number };
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const t = types(text);
    assert.deepEqual(conventions(t), []);
    assert.equal(t.get('process_cpu_seconds_total'), 'counter');
    assert.equal(t.get('nodejs_heap_size_used_bytes'), 'gauge');
    assert.equal(t.get('smt_http_request_duration_seconds'), 'histogram');
    assert.match(text, /smt_http_request_duration_seconds_count\{[^}]*route="\/v1\/health"/);
    for (const n of ['smt_gossip_bytes_total', 'smt_p2p_peers', 'smt_global_epoch', 'smt_xshard_batches_total']) assert.equal(t.has(n), false, `${n} absent without --p2p`);
    const tps = Number(/^smt_tps\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
    assert.equal(tps, health.tps, 'smt_tps and /v1/health tps are one figure');
  } finally {
    await node.close();
  }
});

test('node with gossip: network counters are counters ending in _total, with the cross-shard ones', async () => {
  const netDir = join(tmp, 'net1');
  initNetwork({ dir: netDir, depth: 1, accounts: 1, epochMs: 1000, networkId: 'metrics-test', balance: 1000n, force: false });
  const node = await SmtNode.start({ networkDir: netDir, shard: '0', dataDir: join(tmp, 'd1'), apiPort: 0, logger: createLogger({ level: 'silent' }), gossip: { listen: '127.0.0.1:0', peers: [] } });
  try {
    const t = types(await (await fetch(`${node.url}/metrics`)).text());
    assert.deepEqual(conventions(t), []);
    for (const n of ['smt_gossip_bytes_total', 'smt_gossip_messages_total', 'smt_gossip_rejected_total', 'smt_gossip_ignored_total', 'smt_fetch_requests_total', 'smt_xshard_batches_total', 'smt_xshard_receipts_total', 'smt_xshard_pulls_total']) {
      assert.equal(t.get(n), 'counter', n);
    }
    assert.equal(t.get('smt_p2p_peers'), 'gauge');
    assert.equal(t.get('smt_global_epoch'), 'gauge');
  } finally {
    await node.close();
  }
});

test('the standard process and Node.js metrics (with their 10 ms event-loop delay timer) start at the first scrape, not before', async () => {
  const m = createMetrics();
  assert.equal(m.registry.getSingleMetric('nodejs_eventloop_lag_p99_seconds'), undefined, 'no event-loop monitor before a scrape');
  assert.ok(m.registry.getSingleMetric('smt_epoch'), 'the node\'s own metrics are there from the start');
  m.startDefaults();
  m.startDefaults(); // idempotent: registering twice would throw
  assert.ok(m.registry.getSingleMetric('nodejs_eventloop_lag_p99_seconds'));
  assert.match(await m.registry.metrics(), /^process_cpu_seconds_total /m);
  const off = createMetrics({ defaultMetrics: false });
  off.startDefaults();
  assert.equal(off.registry.getSingleMetric('process_cpu_seconds_total'), undefined, 'defaultMetrics: false never starts them');
});
