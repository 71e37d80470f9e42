// Which build runs is visible everywhere an operator looks: `smt version` / `smt --version` (software,
// every canonical encoding's version byte, circuits key), /v1/health (version, circuits key) and the
// smt_build_info metric, all from one source.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmtNode } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';
import { buildInfo } from '../src/node/build-info.js';
import { circuitsKey } from '../src/proof/artifacts.js';
import { TX_VERSION } from '../src/shard/tx.js';
import { SMT_BIN } from '../src/cluster/supervisor.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-version-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

test('smt version and smt --version print the package version, format versions and the circuits key', () => {
  for (const args of [['version'], ['--version'], ['-V']]) {
    const r = spawnSync(process.execPath, [SMT_BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], `smt ${pkg.version} (Node.js ${process.version})`);
    assert.match(lines[1]!, new RegExp(`^formats: +tx v${TX_VERSION}, snapshot v\\d+, aggregate v\\d+, final v\\d+, envelope v\\d+, receiptBatch v\\d+, triadProof v\\d+, globalProof v\\d+$`));
    assert.match(lines[2]!, new RegExp(`^circuits: key ${circuitsKey()}`));
  }
  const j = spawnSync(process.execPath, [SMT_BIN, 'version', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.deepEqual(JSON.parse(j.stdout), JSON.parse(JSON.stringify(buildInfo())));
});

test('/v1/health and smt_build_info name the same build', async () => {
  const netDir = join(tmp, 'net');
  initNetwork({ dir: netDir, depth: 0, accounts: 1, epochMs: 1000, networkId: 'version-test', balance: 1000n, force: false });
  const node = await SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd'), apiPort: 0, logger: createLogger({ level: 'silent' }) });
  try {
    const h = (await (await fetch(`${node.url}/v1/health`)).json()) as { version: string; circuits: string };
    assert.equal(h.version, pkg.version);
    assert.equal(h.circuits, circuitsKey());
    const m = await (await fetch(`${node.url}/metrics`)).text();
    const line = m.split('\n').find((l) => l.startsWith('smt_build_info{'));
    assert.ok(line, 'smt_build_info exported');
    assert.match(line, new RegExp(`version="${pkg.version}"`));
    assert.match(line, new RegExp(`circuits="${circuitsKey()}"`));
    assert.match(line, / 1$/);
  } finally {
    await node.close();
  }
});
