// Secrets and exposure, against real processes and real files. Properties checked:
//  - `smt network init` writes every validator and account key file with mode 0600; a node with
//    gossip writes no key file of its own (its libp2p identity is its validator key);
//  - a validator key (with or without gossip) or an account key readable by group or others is
//    refused (the node does not start; `tx send` does not sign), with a chmod hint, and without
//    printing the secret;
//  - the HTTP API binds 127.0.0.1 unless told otherwise (library default and CLI default);
//  - no line a running node writes (stdout and stderr, at info and at debug level, through startup
//    with gossip, a transfer, epoch seals and shutdown) contains any secret from the network dir:
//    key seeds and full secret keys (hex, either case, and base64), also in the libp2p protobuf form
//    the node's identity takes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerKeyFromValidator } from '../src/gossip/identity.js';
import { toHex } from '../src/core/bytes.js';
import { loadKeyFile } from '../src/core/keyfile.js';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { sleep } from './support/wait.js';
import { smt, startNode as startSmtNode, type NodeProcess } from './support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-secrets-'));
const netDir = join(tmp, 'net');
const dataDir = join(tmp, 'data');
const procs = new Set<ChildProcess>();
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

const mode = (p: string): number => statSync(p).mode & 0o777;

execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--dir', netDir, '--depth', '1', '--accounts', '4', '--epoch-ms', '300', '--network-id', 'secrets'], { stdio: 'ignore' });
const index = JSON.parse(readFileSync(join(netDir, 'accounts.json'), 'utf8')) as Array<{ address: string; shard: string; keyFile: string }>;
const SHARD = index[0]!.shard; // run the home shard of account 0, so its transfer is local
const keyFiles = [...readdirSync(join(netDir, 'validators')).map((f) => join(netDir, 'validators', f)), ...readdirSync(join(netDir, 'accounts')).map((f) => join(netDir, 'accounts', f))];
const oldPeerKey = join(dataDir, 'net', 'peer.key'); // where earlier versions kept a separate libp2p key

/** Starts the node of SHARD with gossip on (no peers: it seals on its own), capturing everything it writes. */
async function startNode(level: string): Promise<NodeProcess> {
  const node = await startSmtNode(['--network', netDir, '--shard', SHARD, '--data', dataDir, '--api', '127.0.0.1:0', '--p2p', '127.0.0.1:0', '--no-prove', '--log-level', level]);
  procs.add(node.proc);
  return node;
}

async function secrets(): Promise<string[]> {
  const out: string[] = [];
  for (const f of keyFiles) {
    const k = loadKeyFile(f);
    const seed = k.keyPair.secretKey.subarray(0, 32);
    out.push(toHex(seed), toHex(k.keyPair.secretKey), Buffer.from(seed).toString('base64'), Buffer.from(k.keyPair.secretKey).toString('base64'));
    // the libp2p form of the same key (what a validator node runs its identity on)
    const pb = privateKeyToProtobuf(await peerKeyFromValidator(k.keyPair));
    out.push(toHex(pb), Buffer.from(pb).toString('base64').replace(/=+$/, ''));
  }
  return out;
}

test('key files are written 0600', () => {
  assert.ok(keyFiles.length >= 3 + 4);
  for (const f of keyFiles) assert.equal(mode(f), 0o600, `${f} is 0600`);
});

test('no log line of a running node contains a secret key (info and debug: startup, transfer, seals, shutdown)', { timeout: 90_000 }, async () => {
  const logs: string[] = [];
  for (const level of ['info', 'debug']) {
    const node = await startNode(level);
    assert.ok(!existsSync(oldPeerKey), 'no separate peer key is written: the identity is the validator key');
    // a transfer from account 0 (home shard SHARD), committed by a seal
    const r = await smt(['tx', 'send', '--key', join(netDir, index[0]!.keyFile), '--to', index[1]!.address, '--amount', '5', '--fee', '1', '--node', node.url, '--wait', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, 'committed');
    await sleep(1000); // a few more seals
    node.proc.kill('SIGTERM');
    await node.exited;
    logs.push(node.output());
    logs.push(r.stdout + r.stderr);
  }
  const text = logs.join('\n');
  assert.ok(text.split('\n').length > 10, 'the node did log');
  assert.ok(/"level":20|"level":"debug"/.test(text), 'debug lines were captured');
  for (const s of await secrets()) {
    assert.ok(!text.toLowerCase().includes(s.toLowerCase()), `a secret (${s.slice(0, 6)}...) appears in the logs`);
  }
});

test('key files readable by group or others are refused, with a chmod hint and without the secret', { timeout: 90_000 }, async () => {
  const validatorKey = join(netDir, 'validators', `${SHARD}.key`);
  const accountKey = join(netDir, index[0]!.keyFile);
  const all = await secrets();
  const cases: Array<[string, string, number, string[]]> = [
    ['validator key', validatorKey, 0o640, ['node', 'start', '--network', netDir, '--shard', SHARD, '--data', dataDir, '--api', '127.0.0.1:0', '--log-level', 'warn']],
    ['validator key', validatorKey, 0o604, ['node', 'start', '--network', netDir, '--shard', SHARD, '--data', dataDir, '--api', '127.0.0.1:0', '--log-level', 'warn']],
    ['validator key (gossip on)', validatorKey, 0o644, ['node', 'start', '--network', netDir, '--shard', SHARD, '--data', dataDir, '--api', '127.0.0.1:0', '--p2p', '127.0.0.1:0', '--no-prove', '--log-level', 'warn']],
    ['account key', accountKey, 0o644, ['tx', 'send', '--key', accountKey, '--to', index[1]!.address, '--amount', '1', '--node', 'http://127.0.0.1:9']],
  ];
  for (const [what, file, m, args] of cases) {
    chmodSync(file, m);
    try {
      const r = await smt(args, 40_000);
      assert.notEqual(r.code, 0, `${what} with mode ${m.toString(8)} refused (${r.stdout}${r.stderr})`);
      assert.match(r.stderr + r.stdout, /chmod 600|group|others/i, `${what}: the message says why`);
      assert.doesNotMatch(r.stdout, /api listening/, `${what}: the node did not serve`);
      for (const s of all) assert.ok(!(r.stdout + r.stderr).toLowerCase().includes(s.toLowerCase()), `${what}: no secret printed`);
    } finally {
      chmodSync(file, 0o600);
    }
  }
});

test('the HTTP API binds 127.0.0.1 unless told otherwise', async () => {
  const help = await smt(['node', 'start', '--help']);
  assert.match(help.stdout, /--api <host:port>[^-]*default:\s+"127\.0\.0\.1:\d+"/, 'CLI default is loopback');
  const { SmtNode } = await import('../src/node/node.js');
  const node = await SmtNode.start({ networkDir: netDir, shard: SHARD, dataDir: join(tmp, 'data-default'), apiPort: 0 });
  try {
    assert.match(node.url, /^http:\/\/127\.0\.0\.1:\d+$/, `library default binds loopback: ${node.url}`);
  } finally {
    await node.close();
  }
});
