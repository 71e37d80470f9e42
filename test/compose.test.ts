// docker-compose.yml and monitoring/ describe the same 9-shard devnet as `smt cluster up`: the
// committed files must be exactly what the generator makes, agree with what `smt network init`
// writes, and pass `docker-compose config` and `promtool check config` (no Docker engine needed).
// The dashboard must query only through the provisioned data source. (That its queries name metrics
// the nodes export is checked against a running cluster in test/e2e/compose-monitoring.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { composeFor, keyServiceName, serviceName, CONTAINER_API_PORT, CONTAINER_P2P_PORT, NODE_UID, type ComposeFile } from '../src/cluster/compose.js';
import { makeLayout } from '../src/cluster/layout.js';
import { loadGenesis } from '../src/core/genesis.js';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { composeYaml, composePrometheusYaml } from '../scripts/gen-compose.js';

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as ComposeFile;

test('the committed docker-compose.yml and monitoring/prometheus.yml are exactly what the generator makes (no drift)', () => {
  assert.equal(readFileSync('docker-compose.yml', 'utf8'), composeYaml(), 'run npm run gen:compose');
  assert.equal(readFileSync('monitoring/prometheus.yml', 'utf8'), composePrometheusYaml(), 'run npm run gen:compose');
});

test('compose services, commands, mounts and ports match the network `smt network init` creates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-compose-'));
  try {
    execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--depth', '2', '--dir', join(dir, 'net'), '--accounts', '2'], { stdio: 'pipe' });
    const genesis = loadGenesis(join(dir, 'net', 'genesis.json'));
    const shards = [...genesis.validators.keys()];
    const layout = makeLayout(genesis.depth);
    type Node = { command: string[]; ports: string[]; volumes: string[]; user: string; depends_on: Record<string, { condition: string }>; healthcheck: { test: string[] } };
    for (const [i, shard] of shards.entries()) {
      const svc = compose.services[serviceName(shard)] as unknown as Node;
      assert.ok(svc, `service for shard ${shard}`);
      const arg = (flag: string) => svc.command[svc.command.indexOf(flag) + 1];
      assert.deepEqual(svc.command.slice(0, 2), ['node', 'start']);
      assert.equal(arg('--shard'), shard);
      assert.equal(arg('--network'), '/net');
      assert.equal(arg('--api'), `0.0.0.0:${CONTAINER_API_PORT}`);
      assert.equal(svc.ports[0], `127.0.0.1:${layout.shards[i]!.apiPort}:${CONTAINER_API_PORT}`, 'API published on loopback at the cluster port');
      const peers = arg('--peers')!.split(',');
      assert.deepEqual(
        peers.sort(),
        shards.filter((s) => s !== shard).map((s) => `/dns4/${serviceName(s)}/tcp/${CONTAINER_P2P_PORT}`).sort(),
        'every shard dials every other shard',
      );
      assert.equal(svc.user, `${NODE_UID}:${NODE_UID}`);
      assert.deepEqual(svc.depends_on, { [keyServiceName(shard)]: { condition: 'service_completed_successfully' } }, 'the node starts once its key is in place');
      assert.deepEqual(svc.healthcheck.test, ['CMD', 'smt-healthcheck', String(CONTAINER_API_PORT)]);
      // the mounted files are the ones network init wrote
      const key = compose.services[keyServiceName(shard)] as unknown as { volumes: string[] };
      const src = key.volumes[0]!.split(':')[0]!.replace('./devnet/', '');
      assert.ok(readFileSync(join(dir, 'net', src)).length > 0, `${src} is written by network init`);
      assert.ok(svc.volumes.includes('./devnet/genesis.json:/net/genesis.json:ro'));
    }
    const prom = compose.services['prometheus'] as unknown as { depends_on: Record<string, { condition: string }>; profiles: string[] };
    assert.deepEqual(prom.profiles, ['monitoring']);
    assert.deepEqual(Object.keys(prom.depends_on).sort(), shards.map(serviceName).sort(), 'Prometheus starts once every node is healthy');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every published port is bound to 127.0.0.1', () => {
  for (const c of [compose, composeFor({ depth: 1, apiPorts: 'ephemeral', monitoring: true })]) {
    for (const [name, svc] of Object.entries(c.services)) {
      for (const p of (svc['ports'] as string[] | undefined) ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name} publishes ${p}`);
    }
  }
});

test('compose refuses a depth-0 network (a single shard has no peers to gossip with)', () => {
  assert.throws(() => composeFor({ depth: 0 }), /depth >= 1/);
});

test('docker-compose config accepts the file, with and without the monitoring profile', (t) => {
  const probe = spawnSync('docker-compose', ['version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    t.skip('docker-compose is not installed (apt-get install docker-compose); .ci/run installs it');
    return;
  }
  for (const args of [['config', '-q'], ['--profile', 'monitoring', 'config', '-q']]) {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
});

test('promtool accepts monitoring/prometheus.yml, and it scrapes every compose node', (t) => {
  const probe = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    t.skip('promtool is not installed (apt-get install prometheus); .ci/run installs it');
    return;
  }
  const r = spawnSync('promtool', ['check', 'config', 'monitoring/prometheus.yml'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const cfg = parse(readFileSync('monitoring/prometheus.yml', 'utf8')) as { scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
  const targets = cfg.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets)).sort();
  const nodes = Object.keys(compose.services).filter((s) => /^shard-[0-9]+$/.test(s)).map((s) => `${s}:${CONTAINER_API_PORT}`).sort();
  assert.deepEqual(targets, nodes);
  assert.equal(cfg.scrape_configs[0]!.metrics_path, '/metrics');
});

test('the Grafana dashboard queries only the provisioned Prometheus data source, and every panel has a query', () => {
  const dash = JSON.parse(readFileSync('monitoring/grafana/dashboards/smt.json', 'utf8')) as { uid: string; panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }> };
  const ds = parse(readFileSync('monitoring/grafana/provisioning/datasources/prometheus.yml', 'utf8')) as { datasources: Array<{ uid: string; url: string }> };
  const uid = ds.datasources[0]!.uid;
  assert.equal(ds.datasources[0]!.url, 'http://prometheus:9090', 'the compose service name');
  assert.ok(dash.panels.length >= 10);
  for (const p of dash.panels) {
    assert.equal(p.datasource.uid, uid, p.title);
    assert.ok(p.targets.length > 0 && p.targets.every((q) => q.datasource.uid === uid && /\b(smt_|process_|nodejs_)/.test(q.expr)), p.title);
  }
  const provider = parse(readFileSync('monitoring/grafana/provisioning/dashboards/smt.yml', 'utf8')) as { providers: Array<{ options: { path: string } }> };
  const grafana = compose.services['grafana'] as unknown as { volumes: string[] };
  assert.ok(grafana.volumes.includes(`./monitoring/grafana/dashboards:${provider.providers[0]!.options.path}:ro`), 'the dashboards directory is mounted where the provider reads');
});

test('the explorer page of a compose node asks every shard at the port published for it (and nothing when the ports are ephemeral)', async () => {
  const { parseExplorerNodes } = await import('../src/cli/commands/node.js');
  const fixed = composeFor({ depth: 2 });
  const shards = Object.keys(fixed.services).filter((n) => /^shard-\d+$/.test(n));
  for (const [i, name] of shards.entries()) {
    const cmd = fixed.services[name]!.command as string[];
    const map = parseExplorerNodes(cmd[cmd.indexOf('--explorer-nodes') + 1]!);
    assert.equal(map.size, 9);
    const port = Number((fixed.services[name]!.ports as string[])[0]!.split(':')[1]);
    assert.equal(map.get(name.slice('shard-'.length)), `http://127.0.0.1:${port}`, `${name} (#${i})`);
  }
  const eph = composeFor({ depth: 2, apiPorts: 'ephemeral' });
  assert.ok(!(eph.services['shard-00']!.command as string[]).includes('--explorer-nodes'));
  assert.throws(() => parseExplorerNodes('00=ftp://x'), /not shard=URL/);
  assert.throws(() => parseExplorerNodes('00=http://a:1,00=http://b:2'), /given twice/);
});
