// docker-compose.yml runs the same 9-shard devnet as `smt cluster up`: the committed file must be
// exactly what the layout generates, agree with what `smt network init` writes, and pass
// `docker-compose config` (no Docker engine is needed for that check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { composeFor, serviceName, CONTAINER_API_PORT, CONTAINER_P2P_PORT } from '../src/cluster/compose.js';
import { makeLayout } from '../src/cluster/layout.js';
import { loadGenesis } from '../src/core/genesis.js';
import { SMT_BIN } from '../src/cluster/supervisor.js';

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as ReturnType<typeof composeFor>;

test('the committed docker-compose.yml is exactly what the cluster layout generates (no drift)', () => {
  assert.deepEqual(compose, composeFor(2));
});

test('compose services, commands and ports match the network `smt network init` creates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-compose-'));
  try {
    execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--depth', '2', '--dir', join(dir, 'net'), '--accounts', '2'], { stdio: 'pipe' });
    const genesis = loadGenesis(join(dir, 'net', 'genesis.json'));
    const shards = [...genesis.validators.keys()];
    const layout = makeLayout(genesis.depth);
    assert.equal(Object.keys(compose.services).length, shards.length);
    for (const [i, shard] of shards.entries()) {
      const svc = compose.services[serviceName(shard)] as { command: string[]; ports: string[]; volumes: string[] };
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
      assert.ok(svc.volumes.includes('./devnet:/net:ro'), 'genesis and keys come from the network directory volume');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docker-compose config accepts the file', (t) => {
  const probe = spawnSync('docker-compose', ['version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    t.skip('docker-compose is not installed (apt-get install docker-compose); .ci/run installs it');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
