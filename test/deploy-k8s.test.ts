// `smt deploy k8s` writes manifests that the Kubernetes API would accept (each object validated
// against the API's OpenAPI schema by the kubernetes-models package; no cluster needed) and that
// wire the network the way `smt cluster up` does: one single-pod StatefulSet per shard, every peer
// address resolving to a pod of the headless Service, a data volume per shard, genesis and keys
// from the network directory, probes and Prometheus annotations. Bad input fails with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { k8sManifests } from '../src/cluster/k8s.js';
import type { ShardId } from '../src/core/ids.js';

type Model = new (data: unknown) => { validate(): void };
/** The kubernetes-models class (schema validator) of each kind we write; a clear failure if the package is missing. */
async function models(): Promise<Record<string, Model>> {
  const load = async (path: string, name: string): Promise<Model> => {
    try {
      return ((await import(path)) as Record<string, Model>)[name]!;
    } catch (e) {
      throw new Error(`the kubernetes-models dev dependency is missing (npm ci): ${(e as Error).message}`);
    }
  };
  return {
    ConfigMap: await load('kubernetes-models/v1/ConfigMap', 'ConfigMap'),
    Secret: await load('kubernetes-models/v1/Secret', 'Secret'),
    Service: await load('kubernetes-models/v1/Service', 'Service'),
    StatefulSet: await load('kubernetes-models/apps/v1/StatefulSet', 'StatefulSet'),
  };
}

function smt(args: string[]) {
  return spawnSync(process.execPath, [SMT_BIN, ...args], { encoding: 'utf8' });
}

test('smt deploy k8s: every object passes the Kubernetes API schema and the manifests wire one pod per shard to its peers', async () => {
  const MODELS = await models();
  const dir = mkdtempSync(join(tmpdir(), 'smt-k8s-'));
  try {
    const net = join(dir, 'net');
    const out = join(dir, 'k8s');
    execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--depth', '2', '--dir', net, '--accounts', '2'], { stdio: 'pipe' });
    const r = smt(['deploy', 'k8s', '--network', net, '--out', out, '--image', 'registry.example/smt-node:0.1.0', '--storage', '5Gi']);
    assert.equal(r.status, 0, r.stderr);
    const kust = parse(readFileSync(join(out, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    assert.deepEqual(kust.resources.sort(), readdirSync(out).filter((f) => f !== 'kustomization.yaml').sort(), 'kustomization lists every file');
    const docs = kust.resources.map((f) => ({ f, o: parse(readFileSync(join(out, f), 'utf8')) as any }));
    for (const { f, o } of docs) {
      const Model = MODELS[o.kind];
      assert.ok(Model, `${f}: a kind we validate (${o.kind})`);
      assert.doesNotThrow(() => new Model(o).validate(), `${f} passes the ${o.kind} schema`);
      if (o.kind === 'Secret') assert.equal(statSync(join(out, f)).mode & 0o777, 0o600, `${f} holds a private key: owner-only`);
    }
    const byKind = (k: string) => docs.filter((d) => d.o.kind === k).map((d) => d.o);
    const headless = byKind('Service').find((s) => s.spec.clusterIP === 'None');
    assert.ok(headless && headless.spec.publishNotReadyAddresses === true, 'a headless Service publishes pods before they are ready (readiness needs peers)');
    const sets = byKind('StatefulSet');
    assert.equal(sets.length, 9);
    const podDns = new Set(sets.map((s) => `${s.metadata.name}-0.${headless.metadata.name}`));
    const genesisCm = byKind('ConfigMap')[0];
    assert.equal(genesisCm.data['genesis.json'], readFileSync(join(net, 'genesis.json'), 'utf8'), 'the ConfigMap carries genesis.json as written');
    const shards = new Set<string>();
    for (const s of sets) {
      assert.equal(s.spec.replicas, 1);
      assert.equal(s.spec.serviceName, headless.metadata.name);
      for (const [k, v] of Object.entries(headless.spec.selector)) assert.equal(s.spec.template.metadata.labels[k], v, 'the pod is selected by the headless Service');
      const pod = s.spec.template.spec;
      const node = pod.containers[0];
      assert.equal(node.image, 'registry.example/smt-node:0.1.0');
      const arg = (flag: string) => node.args[node.args.indexOf(flag) + 1] as string;
      shards.add(arg('--shard'));
      const peers = arg('--peers').split(',').map((p: string) => /^\/dns4\/([^/]+)\/tcp\/7800$/.exec(p)?.[1]);
      assert.equal(peers.length, 8);
      for (const h of peers) assert.ok(h && podDns.has(h) && h !== `${s.metadata.name}-0.${headless.metadata.name}`, `peer ${h} is another shard's pod DNS name`);
      assert.ok(node.readinessProbe?.exec && node.livenessProbe?.httpGet, 'readiness and liveness probes');
      assert.equal(s.spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
      assert.equal(s.spec.template.metadata.annotations['prometheus.io/port'], '7700');
      assert.equal(s.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '5Gi');
      assert.ok(node.volumeMounts.some((m: { name: string; mountPath: string }) => m.name === s.spec.volumeClaimTemplates[0].metadata.name && m.mountPath === '/data'), 'data on the per-shard volume');
    }
    assert.equal(shards.size, 9, 'one StatefulSet per shard');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('smt deploy k8s refuses bad input with a clear error and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-k8s-bad-'));
  try {
    const r1 = smt(['deploy', 'k8s', '--network', join(dir, 'none'), '--out', join(dir, 'out')]);
    assert.notEqual(r1.status, 0);
    assert.match(r1.stderr, /no network \(no genesis\.json\)/);
    execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--depth', '0', '--dir', join(dir, 'one'), '--accounts', '1'], { stdio: 'pipe' });
    const r2 = smt(['deploy', 'k8s', '--network', join(dir, 'one'), '--out', join(dir, 'out')]);
    assert.notEqual(r2.status, 0);
    assert.match(r2.stderr, /depth >= 1/);
    assert.deepEqual(readdirSync(dir), ['one'], 'no output directory was created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const keys = new Map<ShardId, string>([['0' as ShardId, '{}'], ['1' as ShardId, '{}'], ['2' as ShardId, '{}']]);
  assert.throws(() => k8sManifests({ depth: 1, genesisJson: '{}', validatorKeys: keys, name: 'Bad_Name' }), /DNS label/);
  assert.throws(() => k8sManifests({ depth: 1, genesisJson: '{}', validatorKeys: keys, storage: 'lots' }), /quantity/);
  assert.throws(() => k8sManifests({ depth: 1, genesisJson: '{}', validatorKeys: new Map(), }), /no validator key for shard 0/);
});
