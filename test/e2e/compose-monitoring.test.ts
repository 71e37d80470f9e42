// Monitoring against real nodes (a 3-shard `smt cluster up` on loopback; no containers needed):
//  - every metric the Grafana dashboard queries is one the nodes export (read from a running node's
//    /metrics), so a renamed metric breaks this test rather than silently emptying a panel;
//  - the scrape configuration the generator makes passes `promtool check config`, and Debian's
//    Prometheus, run with it for a few seconds, scrapes every node (all targets up) and answers every
//    dashboard query with success, and the per-shard gauges with one series per shard.
// The Prometheus part is skipped, saying why, only where the prometheus package is not installed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prometheusYaml } from '../../src/cluster/prometheus.js';
import { startCluster, until, type SecCluster } from '../security/harness.js';
import { freePort } from '../support/ports.js';

interface Dashboard { panels: Array<{ title: string; targets: Array<{ expr: string }> }> }
const dashboard = JSON.parse(readFileSync('monitoring/grafana/dashboards/smt.json', 'utf8')) as Dashboard;
const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

let cluster: SecCluster | undefined;
let prom: ChildProcess | undefined;
const tmp = mkdtempSync(join(tmpdir(), 'smt-monitoring-'));
after(async () => {
  prom?.kill('SIGKILL');
  await cluster?.teardown();
  rmSync(tmp, { recursive: true, force: true });
});

/** Metric names a /metrics text exposes, from its # TYPE lines (histograms also as _bucket/_sum/_count). */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram' || m[2] === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
  }
  return names;
}

test('every metric the dashboard queries is exported by a running node, and Prometheus scrapes every node and answers every query', { timeout: 240_000 }, async (t) => {
  cluster = await startCluster({ depth: 1 });
  const shards = cluster.layout.shards.map((s) => s.shard);
  const text = await (await fetch(`${cluster.url(shards[0]!)}/metrics`)).text();
  const names = exportedNames(text);
  assert.ok(names.has('smt_epoch'), 'the node exports metrics');
  for (const q of queries) {
    const used = [...q.expr.matchAll(/\b((?:smt|process|nodejs)_[a-zA-Z0-9_:]+)/g)].map((m) => m[1]!);
    assert.ok(used.length > 0, `${q.panel}: ${q.expr} queries a metric of the node`);
    for (const n of used) assert.ok(names.has(n), `${q.panel}: ${n} is not exported by the node (query ${q.expr})`);
  }

  const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  const hasProm = spawnSync('prometheus', ['--version'], { stdio: 'ignore' });
  if (promtool.error || promtool.status !== 0 || hasProm.error || hasProm.status !== 0) {
    t.skip('prometheus/promtool not installed (apt-get install prometheus; .ci/run installs it): scrape not checked');
    return;
  }
  const cfg = join(tmp, 'prometheus.yml');
  writeFileSync(cfg, prometheusYaml(cluster.layout.shards.map((s) => ({ address: `127.0.0.1:${s.apiPort}`, shard: s.shard })), '', { interval: '1s' }));
  const check = spawnSync('promtool', ['check', 'config', cfg], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);

  const port = await freePort();
  let out = '';
  prom = spawn('prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${join(tmp, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  prom.stdout!.on('data', (d) => (out += d));
  prom.stderr!.on('data', (d) => (out += d));
  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (expr: string) => {
    const r = await fetch(`${api}/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5000) });
    return (await r.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string> }> } };
  };
  await until(`Prometheus to scrape all ${shards.length} nodes (up == 1)\n${out}`, 60_000, async () => {
    try {
      const r = await query('up == 1');
      return r.status === 'success' && r.data.result.length === shards.length ? true : undefined;
    } catch {
      return undefined;
    }
  }, 500);
  await until('a few scrapes for rate() windows', 30_000, async () => ((await query('count_over_time(smt_epoch[1m])')).data.result.every((s) => Number((s as unknown as { value: [number, string] }).value[1]) >= 3) ? true : undefined), 1000);
  for (const q of queries) {
    const r = await query(q.expr.replaceAll('$network', '.*'));
    assert.equal(r.status, 'success', `${q.panel}: ${q.expr}: ${r.error}`);
  }
  const epochs = await query('smt_epoch');
  assert.deepEqual(epochs.data.result.map((s) => s.metric['shard']).sort(), [...shards].sort(), 'one smt_epoch series per shard, labelled by the node');
});
