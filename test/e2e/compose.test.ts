// The compose devnet for real: the image built from this checkout (deploy/docker/build-image.sh
// --from-host, so no registry is needed), the 9 services of the generated compose file started
// under a project name of the test's own, all on this machine. Properties checked, in order:
//  - every node container becomes healthy (API up, an epoch sealed, a peer) and a final global
//    snapshot is served through a container's API port published on 127.0.0.1;
//  - a transfer sent to the sender's home node is committed;
//  - that node's container, killed with SIGKILL (a crash), is restarted by its restart policy,
//    becomes healthy again, catches up with the others' epochs, and still has the transfer;
//  - after `down` and `up` (containers gone, named volumes kept) the transfer is still committed;
//  - a global state proof is made inside the containers (the image carries the circuits).
// Everything the test created (containers, volumes, network, the image) is removed at the end.
// Skipped, saying why, only when no Docker engine or compose is available.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { composeFor, serviceName, CONTAINER_API_PORT, YAML_OPTS } from '../../src/cluster/compose.js';
import { allShards, type ShardId } from '../../src/core/ids.js';
import { circuitsBuilt, artifactsDir, REPO_ROOT } from '../../src/proof/artifacts.js';
import { run, smt } from '../support/process.js';
import { sleep } from '../support/wait.js';

const PROJECT = `smt-compose-test-${process.pid}`;
const IMAGE = `smt-node:compose-test-${process.pid}`;
const SHARDS = allShards(2);

function composeCmd(): string[] | undefined {
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status !== 0) return undefined;
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

const compose = composeCmd();
const skip = compose === undefined
  ? 'no Docker engine with compose here (install docker.io and docker-compose and start dockerd; .ci/run does this as root)'
  : false;

test('compose devnet: healthy, global snapshot, transfer committed, crash restart and catch-up, data kept across down/up, proofs', { skip, timeout: 1_500_000 }, async () => {
  assert.ok(circuitsBuilt(), `circuit artifacts missing in ${artifactsDir()}: run npm run build:circuits (the image carries them)`);
  const tmp = mkdtempSync(join(tmpdir(), 'smt-compose-e2e-'));
  const file = join(tmp, 'docker-compose.yml');
  const dc = (args: string[], timeoutMs = 120_000) => run(compose![0]!, [...compose!.slice(1), '-p', PROJECT, '-f', file, ...args], timeoutMs);
  const times: string[] = [];
  const t0 = Date.now();
  const mark = (what: string) => times.push(`${what} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  try {
    const build = await run('bash', [join(REPO_ROOT, 'deploy/docker/build-image.sh'), '--from-host', '-t', IMAGE], 420_000);
    assert.equal(build.code, 0, `image build failed:\n${build.stdout}\n${build.stderr}`);
    mark('image built');

    // after the build: genesis time is now, so the nodes do not start with minutes of epochs to catch up
    // 2 s epochs: half the steady sealing and gossip work of the 1 s devnet, for a shared 2-core machine
    const init = await smt(['network', 'init', '--depth', '2', '--dir', join(tmp, 'devnet'), '--accounts', '4', '--epoch-ms', '2000']);
    assert.equal(init.code, 0, init.stderr);
    writeFileSync(file, stringify(composeFor({ depth: 2, apiPorts: 'ephemeral', image: IMAGE }), YAML_OPTS));

    const up = await dc(['up', '-d'], 240_000);
    assert.equal(up.code, 0, up.stderr);
    mark('up');

    // the docker CLI by compose labels (same in compose v1 and v2): one quick call, not a compose process per poll
    const containers = (): Map<string, string> => {
      const r = spawnSync('docker', ['ps', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Label "com.docker.compose.service"}} {{.ID}}'], { encoding: 'utf8' });
      return new Map(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
    };
    const containerOf = async (shard: ShardId): Promise<string> => containers().get(serviceName(shard)) ?? '';
    const urlOf = async (shard: ShardId): Promise<string> => {
      const r = spawnSync('docker', ['port', await containerOf(shard), `${CONTAINER_API_PORT}/tcp`], { encoding: 'utf8' });
      const hostPort = r.stdout.trim().split('\n')[0]!;
      assert.match(hostPort, /^127\.0\.0\.1:\d+$/, `${serviceName(shard)} is published on loopback only (${hostPort})`);
      return `http://${hostPort}`;
    };
    const inspect = (id: string, format: string): string => spawnSync('docker', ['inspect', '-f', format, id], { encoding: 'utf8' }).stdout.trim();
    const getJson = async (url: string): Promise<{ status: number; body: any }> => {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
        return { status: r.status, body: await r.json() };
      } catch {
        return { status: 0, body: undefined };
      }
    };
    let victim = ''; // the container the test kills: its own log is what a failed wait after the kill needs
    const until = async <T>(what: string, ms: number, f: () => Promise<T | undefined>, seen?: () => string): Promise<T> => {
      const end = Date.now() + ms;
      for (let i = 0; Date.now() < end && i < 10_000; i++) {
        const v = await f();
        if (v !== undefined) return v;
        await sleep(1000);
      }
      const logs = await dc(['logs', '--tail', '5']);
      const own = victim ? spawnSync('docker', ['logs', '--tail', '300', victim], { encoding: 'utf8' }) : undefined;
      const ownTail = own ? (own.stdout + own.stderr).split('\n').filter((l) => l && !l.includes('"module":"http"')).slice(-40).join('\n') : '';
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}${seen ? ` (last seen: ${seen()})` : ''}\n${logs.stdout.slice(-4000)}${ownTail ? `\nthe killed container's log (last lines, no HTTP):\n${ownTail.slice(-8000)}` : ''}`);
    };
    const allHealthy = async () => {
      const byService = containers();
      const ids = SHARDS.map((sh) => byService.get(serviceName(sh)) ?? '');
      if (ids.includes('')) return undefined;
      const r = spawnSync('docker', ['inspect', '-f', '{{.State.Health.Status}}', ...ids], { encoding: 'utf8' });
      return r.status === 0 && r.stdout.trim().split('\n').every((h) => h === 'healthy') ? true : undefined;
    };
    const globalFinal = async (url: string) => {
      const g = await getJson(`${url}/v1/global/latest`);
      return g.status === 200 ? (g.body as { epoch: number }) : undefined;
    };

    await until('all 9 node containers healthy', 480_000, allHealthy);
    mark('healthy');
    let url0 = await urlOf(SHARDS[0]!);
    const g0 = await until('a final global snapshot on shard 00', 120_000, () => globalFinal(url0));
    mark(`global snapshot (epoch ${g0.epoch})`);

    // a transfer from account 0 to account 1, sent to the sender's home node
    const accounts = JSON.parse(readFileSync(join(tmp, 'devnet', 'accounts.json'), 'utf8')) as Array<{ address: string; shard: string; keyFile: string }>;
    const [from, to] = accounts as [typeof accounts[0], typeof accounts[0]];
    const home = from.shard as ShardId;
    let homeUrl = await urlOf(home);
    const send = await smt(['tx', 'send', '--key', join(tmp, 'devnet', 'accounts', '0.key'), '--to', to.address, '--amount', '25', '--fee', '1', '--wait', '--timeout', '90', '--node', homeUrl, '--json'], 120_000);
    assert.equal(send.code, 0, send.stdout + send.stderr);
    const sent = JSON.parse(send.stdout) as { txid: string; status: string; epoch: number };
    assert.equal(sent.status, 'committed');
    mark('transfer committed');
    const committedAt = async (url: string) => {
      const r = await getJson(`${url}/v1/tx/${sent.txid}`);
      return r.status === 200 && r.body.status === 'committed' ? (r.body as { epoch: number }) : undefined;
    };

    // crash the home node: SIGKILL to its process from the host (a `docker kill` counts as a manual stop)
    victim = await containerOf(home);
    const portBefore = await urlOf(home);
    const pid = Number(inspect(victim, '{{.State.Pid}}'));
    const startedBefore = inspect(victim, '{{.State.StartedAt}}');
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    await until('the killed container restarted', 60_000, async () => (inspect(victim, '{{.RestartCount}}') !== '0' && inspect(victim, '{{.State.StartedAt}}') !== startedBefore && inspect(victim, '{{.State.Running}}') === 'true' ? true : undefined));
    mark('restarted');
    await until('the restarted container healthy', 120_000, async () => (inspect(victim, '{{.State.Health.Status}}') === 'healthy' ? true : undefined));
    // a restart publishes the container's API on a new ephemeral host port: every URL of the
    // killed container is looked up again (a URL kept from before the kill points at nothing)
    homeUrl = await urlOf(home);
    mark(`restarted on ${homeUrl === portBefore ? 'the same' : 'a new'} host port`);
    const otherUrl = await urlOf(SHARDS.find((s) => s !== home)!);
    let lastSeen = '';
    await until('the restarted node caught up (epoch within 2 of another node)', 120_000, async () => {
      const [a, b] = await Promise.all([getJson(`${homeUrl}/v1/health`), getJson(`${otherUrl}/v1/health`)]);
      lastSeen = `restarted ${homeUrl}: ${a.status} epoch ${a.body?.epoch}; other ${otherUrl}: ${b.status} epoch ${b.body?.epoch}`;
      return a.status === 200 && b.status === 200 && a.body.epoch >= b.body.epoch - 2 ? true : undefined;
    }, () => lastSeen);
    const afterCrash = await until('the transfer committed on the restarted node', 30_000, () => committedAt(homeUrl));
    assert.equal(afterCrash.epoch, sent.epoch, 'same epoch after the crash');
    mark('caught up');
    victim = ''; // (down/up below replaces every container)

    // down (containers and network removed, volumes kept) and up again
    const down = await dc(['down', '-t', '10'], 180_000);
    assert.equal(down.code, 0, down.stderr);
    const up2 = await dc(['up', '-d'], 240_000);
    assert.equal(up2.code, 0, up2.stderr);
    await until('all 9 node containers healthy after down/up', 480_000, allHealthy);
    homeUrl = await urlOf(home);
    url0 = await urlOf(SHARDS[0]!);
    const afterUp = await until('the transfer committed after down/up', 30_000, () => committedAt(homeUrl));
    assert.equal(afterUp.epoch, sent.epoch, 'the named volumes kept the shard data');
    const bal = await getJson(`${await urlOf(to.shard as ShardId)}/v1/account/${to.address}`);
    assert.equal(bal.status, 200);
    await until('a final global snapshot after down/up', 120_000, async () => ((await globalFinal(url0))?.epoch ?? -1) > g0.epoch ? true : undefined);
    mark('down/up: transfer kept');

    // proofs inside the containers
    const proof = await until('a global state proof made in the containers', 240_000, async () => {
      for (const s of SHARDS) {
        const r = await getJson(`${await urlOf(s)}/v1/proof/global/latest`);
        if (r.status === 200) return r.body as { epoch: number; bytes: number };
      }
      return undefined;
    });
    assert.ok(proof.bytes > 0);
    mark(`global proof (epoch ${proof.epoch})`);
    const logs = await dc(['logs', '--tail', '3', serviceName(home)]);
    assert.match(logs.stdout, /"shard":"/, '`compose logs` shows the node\'s JSON log lines');
  } finally {
    const down = await dc(['down', '-v', '--remove-orphans', '-t', '5'], 180_000);
    spawnSync('docker', ['rmi', '-f', IMAGE], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
    mark('removed');
    console.log(`compose test timings: ${times.join(', ')}${down.code === 0 ? '' : `; down failed: ${down.stderr}`}`);
  }
});
