// End to end, global state proofs from a real 9-shard network on loopback (`smt cluster up`: 9 real
// `smt node start` processes with libp2p gossip and the proving layer). Properties checked:
//  - global state proofs appear for successive proved epochs (every --prove-every-th epoch), each
//    linked to the previous one by hash and 418 bytes whatever the epoch;
//  - `smt proof verify --tree` passes: the apex proof, its link, and every triad proof under it,
//    fetched from the nodes;
//  - `smt proof global --out DIR` writes files that stock `snarkjs groth16 verify` accepts, and the
//    same files with one public signal changed are refused.
// Needs the circuit artifacts: FAILS (does not skip) without them, saying to run `npm run build:circuits`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { circuitsBuilt, artifactsDir, REPO_ROOT } from '../../src/proof/artifacts.js';
import { loadLayout } from '../../src/cluster/cluster.js';
import { apiUrl, findFreePortBases } from '../../src/cluster/supervisor.js';
import type { ClusterLayout } from '../../src/cluster/layout.js';
import { run, smt } from '../support/process.js';
import { sleep } from '../support/wait.js';
import { teardownCluster } from '../support/cluster.js';

const EPOCH_MS = 1000;
const PROVE_EVERY = 6;
const tmp = mkdtempSync(join(tmpdir(), 'smt-e2e-proof-'));
const netDir = join(tmp, 'net');
let layout: ClusterLayout | undefined;
const built = circuitsBuilt();

const SNARKJS = resolve(REPO_ROOT, 'node_modules/.bin/snarkjs');


interface GlobalProofJson { epoch: number; bytes: number; hash: string; prevGlobalProofHash: string; publicSignals: string[]; prevEpoch: number | null }

async function globalProof(epoch: number | 'latest'): Promise<GlobalProofJson | undefined> {
  for (const s of layout!.shards) {
    try {
      const r = await fetch(`${apiUrl(s)}/v1/proof/global/${epoch}`, { signal: AbortSignal.timeout(5000) });
      if (r.status === 200) return (await r.json()) as GlobalProofJson;
    } catch {
      // next node
    }
  }
  return undefined;
}

before(async () => {
  assert.ok(built, `circuit artifacts missing in ${artifactsDir()}: run \`npm run build:circuits\` first (CI builds them before npm test)`);
  const [apiBase, p2pBase] = await findFreePortBases(9);
  const up = await smt(['cluster', 'up', '--network', netDir, '--depth', '2', '--epoch-ms', String(EPOCH_MS), '--accounts', '9',
    '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', '60', '--no-wait-global'], 90_000, { ...process.env, SMT_PROVE_EVERY: String(PROVE_EVERY) });
  assert.equal(up.code, 0, `cluster up failed:\n${up.stdout}\n${up.stderr}`);
  layout = loadLayout(netDir);
});

after(async () => {
  await teardownCluster(netDir, layout, tmp);
});

test('global state proofs appear for successive proved epochs, each linked to the previous one; verify --tree passes; exported files pass stock snarkjs and a tampered public.json does not', { timeout: 400_000 }, async () => {
  // two successive global proofs: the latest one and the one before it (the previous proved epoch,
  // or an earlier one if a loaded machine made the provers skip an epoch)
  // 100 s is ample on an otherwise idle 2-core machine (about 1 s per leaf proof); a machine shared
  // with other heavy jobs may need SMT_E2E_PROOF_WAIT_MS.
  const waitMs = Number(process.env.SMT_E2E_PROOF_WAIT_MS ?? 100_000);
  const deadline = Date.now() + waitMs;
  let pair: [GlobalProofJson, GlobalProofJson] | undefined;
  while (!pair) {
    const latest = await globalProof('latest');
    if (latest && latest.prevEpoch !== null) {
      const prev = await globalProof(latest.prevEpoch);
      if (prev) pair = [prev, latest];
    }
    if (!pair) {
      assert.ok(Date.now() < deadline, `no two global proofs within ${waitMs / 1000} s (latest: ${latest?.epoch ?? 'none'}; see the shard logs: grep 'proof made')`);
      await sleep(1000);
    }
  }
  const [prev, cur] = pair;
  assert.equal(cur.epoch % PROVE_EVERY, 0);
  assert.equal(cur.bytes, 418);
  assert.equal(prev.bytes, 418);
  assert.equal(cur.prevGlobalProofHash, prev.hash, 'the newer global proof names the previous global proof');
  assert.equal(cur.publicSignals[0], '1', 'apex position');
  assert.equal(cur.publicSignals[1], String(cur.epoch));

  const v = await smt(['proof', 'verify', String(cur.epoch), '--network', netDir, '--tree'], 90_000);
  assert.equal(v.code, 0, `smt proof verify --tree failed:\n${v.stdout}\n${v.stderr}`);
  assert.match(v.stdout, /ok +apex Groth16 proof/);
  assert.match(v.stdout, /ok +tree: 4 of 4 triad proofs/);
  assert.match(v.stdout, new RegExp(`ok +link to the global proof of epoch ${prev.epoch}`));

  const out = join(tmp, 'export');
  const g = await smt(['proof', 'global', String(cur.epoch), '--network', netDir, '--out', out], 60_000);
  assert.equal(g.code, 0, `smt proof global --out failed:\n${g.stdout}\n${g.stderr}`);
  const files = ['verification_key.json', 'public.json', 'proof.json'].map((f) => join(out, f));
  const ok = await run(SNARKJS, ['groth16', 'verify', ...files], 60_000);
  assert.equal(ok.code, 0, `stock snarkjs refused the exported proof:\n${ok.stdout}\n${ok.stderr}`);
  assert.match(ok.stdout, /OK/);

  const pub = JSON.parse(readFileSync(files[1]!, 'utf8')) as string[];
  pub[4] = (BigInt(pub[4]!) + 1n).toString(); // claim one more unit of global supply
  writeFileSync(files[1]!, JSON.stringify(pub));
  const bad = await run(SNARKJS, ['groth16', 'verify', ...files], 60_000);
  assert.notEqual(`${bad.code} ${bad.stdout}`.includes('OK!'), true, `snarkjs accepted a tampered public.json:\n${bad.stdout}`);
  assert.match(bad.stdout + bad.stderr, /Invalid proof/);
});
