// Issue #22, attack 7 (keys in containers): one compromised container must not be able to sign for
// any other shard. Static properties of the deployment files, checked without a Docker engine or a
// Kubernetes cluster:
//   docker-compose.yml (the committed file): every service can read at most one validator key and
//   nothing from accounts/; a node service (`node start --shard S`) only S's key; every service that
//   has a network runs as a non-root user; a service that runs as root has no network and never
//   restarts (the one-shot copy of one key into the shard's volume).
//   `smt deploy k8s` output: every pod reads only its own shard's key (Secrets and ConfigMaps are
//   decoded and matched by public key against the genesis), and every container runs non-root.
// Key reachability follows the data: a bind mount of the network directory (or anything containing
// it) reaches every key in it; a named volume holds whatever keys the services writing it can read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadGenesis } from '../../src/core/genesis.js';
import { toHex } from '../../src/core/bytes.js';
import { SMT_BIN } from '../../src/cluster/supervisor.js';

type Svc = {
  command?: string[] | string;
  user?: string | number;
  volumes?: Array<string | { type?: string; source?: string; target?: string; read_only?: boolean }>;
  network_mode?: string;
  ports?: unknown[];
  restart?: string;
  secrets?: unknown[];
  env_file?: unknown;
  environment?: unknown;
};

const ALL = '*'; // every key of the network directory
const ACCOUNTS = 'accounts';

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  bind: boolean;
}

function mountsOf(svc: Svc): Mount[] {
  return (svc.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source = '', target = '', mode = ''] = v.split(':');
      return { source, target, readOnly: mode.split(',').includes('ro'), bind: /^[./~]/.test(source) };
    }
    return { source: v.source ?? '', target: v.target ?? '', readOnly: v.read_only === true, bind: v.type === 'bind' };
  });
}

/** What a bind mount of `source` exposes of the network directory `netDir` (relative to the compose file). */
function keysUnder(source: string, netDir: string): Set<string> {
  const src = posix.normalize(source.replace(/\/$/, ''));
  const net = posix.normalize(netDir);
  const inside = posix.relative(net, src); // path of the mount inside the network dir
  const out = new Set<string>();
  if (!inside.startsWith('..') && !posix.isAbsolute(inside)) {
    if (inside === '' ) { out.add(ALL); out.add(ACCOUNTS); }
    else if (inside === 'validators') out.add(ALL);
    else if (inside === 'accounts' || inside.startsWith('accounts/')) out.add(ACCOUNTS);
    else { const m = /^validators\/(.+)\.key$/.exec(inside); if (m) out.add(m[1]!); }
  } else if (!posix.relative(src, net).startsWith('..')) {
    out.add(ALL); // the mount contains the whole network directory
    out.add(ACCOUNTS);
  }
  return out;
}

function shardOf(svc: Svc): string | undefined {
  const cmd = Array.isArray(svc.command) ? svc.command : (svc.command ?? '').split(/\s+/);
  const i = cmd.indexOf('--shard');
  return i >= 0 ? cmd[i + 1] : undefined;
}

function isRoot(user: Svc['user']): boolean {
  if (user === undefined) return true; // neither compose nor (for the old file) the image set one
  const u = String(user).split(':')[0]!;
  return u === '0' || u === 'root' || u === '';
}

/** Per service: the keys it can read, after propagating through named volumes until nothing changes. */
export function composeKeyReach(compose: { services: Record<string, Svc> }, netDir = './devnet'): Map<string, Set<string>> {
  const reach = new Map<string, Set<string>>();
  const volumeKeys = new Map<string, Set<string>>();
  for (let round = 0, changed = true; changed && round < 20; round++) {
    changed = false;
    for (const [name, svc] of Object.entries(compose.services)) {
      const keys = reach.get(name) ?? new Set<string>();
      for (const m of mountsOf(svc)) {
        const from = m.bind ? keysUnder(m.source, netDir) : (volumeKeys.get(m.source) ?? new Set<string>());
        for (const k of from) if (!keys.has(k)) { keys.add(k); changed = true; }
      }
      reach.set(name, keys);
      for (const m of mountsOf(svc)) {
        if (m.bind || m.readOnly) continue;
        const vk = volumeKeys.get(m.source) ?? new Set<string>();
        for (const k of keys) if (!vk.has(k)) { vk.add(k); changed = true; }
        volumeKeys.set(m.source, vk);
      }
    }
  }
  return reach;
}

/** The violations of the key and user properties in a compose file; empty when it is safe. */
export function composeViolations(compose: { services: Record<string, Svc> }, netDir = './devnet'): string[] {
  const bad: string[] = [];
  const reach = composeKeyReach(compose, netDir);
  for (const [name, svc] of Object.entries(compose.services)) {
    const keys = reach.get(name)!;
    const shard = shardOf(svc);
    if (keys.has(ALL)) bad.push(`${name} can read every validator key`);
    if (keys.has(ACCOUNTS)) bad.push(`${name} can read the funded account keys`);
    const named = [...keys].filter((k) => k !== ALL && k !== ACCOUNTS);
    if (shard !== undefined && named.some((k) => k !== shard)) bad.push(`${name} (shard ${shard}) can read the key of ${named.filter((k) => k !== shard).join(', ')}`);
    if (named.length > 1) bad.push(`${name} can read ${named.length} validator keys`);
    if (svc.secrets || svc.env_file) bad.push(`${name} takes secrets or an env file (not analysed: keep keys in per-shard mounts)`);
    const networked = svc.network_mode !== 'none';
    if (isRoot(svc.user) && (networked || (svc.restart ?? 'no') !== 'no')) bad.push(`${name} runs as root${networked ? ' with a network' : ''}${svc.restart && svc.restart !== 'no' ? ` and restarts (${svc.restart})` : ''}`);
  }
  return bad;
}

test('docker-compose.yml: each container reads only its own validator key, nothing from accounts/, and every networked container runs non-root', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Svc> };
  const nodes = Object.entries(compose.services).filter(([, s]) => shardOf(s) !== undefined);
  assert.equal(nodes.length, 9, 'the compose file runs the 9 shards');
  assert.deepEqual(composeViolations(compose), []);
  // and each node can in fact reach its own key (the property is not met by mounting nothing)
  const reach = composeKeyReach(compose);
  for (const [name, svc] of nodes) assert.deepEqual([...reach.get(name)!], [shardOf(svc)], `${name} reaches exactly its own key`);
});

test('the key analysis flags the unsafe layouts it is meant to catch (so a pass means something)', () => {
  const node = (shard: string, volumes: Svc['volumes'], user?: string): Svc => ({ command: ['node', 'start', '--shard', shard], volumes, ...(user ? { user } : {}) });
  // the layout before the fix: the whole network directory in every container, as root
  const old = { services: { 'shard-00': node('00', ['./devnet:/net:ro', 'data-00:/data']), 'shard-01': node('01', ['./devnet:/net:ro', 'data-01:/data']) } };
  const v = composeViolations(old);
  assert.ok(v.includes('shard-00 can read every validator key') && v.includes('shard-00 can read the funded account keys') && v.includes('shard-00 runs as root with a network'), v.join('; '));
  assert.ok(composeViolations({ services: { a: node('00', ['.:/src:ro'], '1000') } }).includes('a can read every validator key'), 'a mount of the checkout contains ./devnet');
  assert.ok(composeViolations({ services: { a: node('00', ['./devnet/validators/01.key:/k:ro'], '1000') } }).some((s) => s.includes('key of 01')));
  // a key copied into a volume that another shard mounts reaches that shard
  const leaky = { services: {
    copy: { user: '0', network_mode: 'none', volumes: ['./devnet/validators/00.key:/in:ro', 'keys:/out'] },
    'shard-01': node('01', ['keys:/net/validators:ro'], '10001'),
  } };
  assert.ok(composeViolations(leaky).some((s) => s.includes('shard-01 (shard 01) can read the key of 00')), composeViolations(leaky).join('; '));
  assert.ok(composeViolations({ services: { copy: { user: '0', volumes: ['./devnet/validators/00.key:/in:ro'] } } }).includes('copy runs as root with a network'));
});

interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    template?: {
      spec: {
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        initContainers?: K8sContainer[];
        containers: K8sContainer[];
        volumes?: Array<{ name: string; secret?: { secretName: string }; configMap?: { name: string }; projected?: { sources: Array<{ secret?: { name: string }; configMap?: { name: string } }> } }>;
      };
    };
  };
}
interface K8sContainer {
  name: string;
  args?: string[];
  command?: string[];
  env?: Array<{ valueFrom?: { secretKeyRef?: { name: string } } }>;
  envFrom?: Array<{ secretRef?: { name: string } }>;
  volumeMounts?: Array<{ name: string }>;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; allowPrivilegeEscalation?: boolean };
}

test('smt deploy k8s: each pod reads only its own validator key (matched by public key) and every container runs non-root', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-k8s-keys-'));
  try {
    const net = join(dir, 'net');
    execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--depth', '2', '--dir', net, '--accounts', '3'], { stdio: 'pipe' });
    execFileSync(process.execPath, [SMT_BIN, 'deploy', 'k8s', '--network', net, '--out', join(dir, 'k8s')], { stdio: 'pipe' });
    const genesis = loadGenesis(join(net, 'genesis.json'));
    const shardOfKey = new Map([...genesis.validators].map(([s, pk]) => [toHex(pk), s]));
    const accountPubs = new Set(readdirSync(join(net, 'accounts')).map((f) => JSON.parse(readFileSync(join(net, 'accounts', f), 'utf8')).publicKey as string));
    const docs: K8sDoc[] = readdirSync(join(dir, 'k8s')).filter((f) => f !== 'kustomization.yaml')
      .flatMap((f) => parseAllDocuments(readFileSync(join(dir, 'k8s', f), 'utf8')).map((d) => d.toJSON() as K8sDoc));
    // what each Secret / ConfigMap holds, decoded: validator shards and account keys found by public key
    const holds = new Map<string, string[]>();
    for (const d of docs) {
      if (d.kind !== 'Secret' && d.kind !== 'ConfigMap') continue;
      const found: string[] = [];
      for (const v of Object.values(d.data ?? {})) {
        const text = d.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
        for (const m of text.matchAll(/"publicKey"\s*:\s*"([0-9a-f]{64})"/g)) {
          if (shardOfKey.has(m[1]!)) found.push(`validator ${shardOfKey.get(m[1]!)}`);
          if (accountPubs.has(m[1]!)) found.push('account key');
        }
        if (/"seed"/.test(text) && d.kind === 'ConfigMap') found.push('a secret seed in a ConfigMap');
      }
      holds.set(`${d.kind}/${d.metadata.name}`, found);
    }
    const sets = docs.filter((d) => d.kind === 'StatefulSet');
    assert.equal(sets.length, 9, 'one StatefulSet per shard');
    for (const s of sets) {
      const pod = s.spec!.template!.spec;
      const main = pod.containers.find((c) => c.name === 'node')!;
      const shard = main.args![main.args!.indexOf('--shard') + 1]!;
      const reachable = new Set<string>();
      const volSources = new Map<string, string[]>();
      for (const v of pod.volumes ?? []) {
        const refs = [
          ...(v.secret ? [`Secret/${v.secret.secretName}`] : []),
          ...(v.configMap ? [`ConfigMap/${v.configMap.name}`] : []),
          ...(v.projected?.sources ?? []).flatMap((p) => [...(p.secret ? [`Secret/${p.secret.name}`] : []), ...(p.configMap ? [`ConfigMap/${p.configMap.name}`] : [])]),
        ];
        volSources.set(v.name, refs);
      }
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        for (const m of c.volumeMounts ?? []) for (const r of volSources.get(m.name) ?? []) for (const k of holds.get(r) ?? [`unknown object ${r}`]) reachable.add(k);
        for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) for (const k of holds.get(`Secret/${e.valueFrom.secretKeyRef.name}`) ?? []) reachable.add(k);
        for (const e of c.envFrom ?? []) if (e.secretRef) for (const k of holds.get(`Secret/${e.secretRef.name}`) ?? []) reachable.add(k);
        const runAsUser = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        assert.ok(nonRoot === true && runAsUser !== undefined && runAsUser !== 0, `${s.metadata.name}/${c.name} runs as a non-root user`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${s.metadata.name}/${c.name} cannot gain privileges`);
      }
      assert.deepEqual([...reachable], [`validator ${shard}`], `${s.metadata.name} reads only the key of shard ${shard}`);
    }
    assert.ok([...holds.values()].flat().every((k) => !k.startsWith('account') && !k.startsWith('a secret')), 'no account key or secret seed is in any object');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
