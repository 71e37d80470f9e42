// The node's wiring (src/node/node.ts), in process with a real shard on a temp data dir: layers start
// between the shard and the API and everything closes in reverse order; a failed start releases what
// it opened; manual seals feed the metrics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmtNode, type Component } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';
import { loadKeyFile } from '../src/core/keyfile.js';
import { toHex } from '../src/core/bytes.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../src/shard/tx.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-node-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const netDir = join(tmp, 'net');
initNetwork({ dir: netDir, depth: 0, accounts: 2, epochMs: 1000, networkId: 'node-test', balance: 1000n, force: false });
const logger = createLogger({ level: 'silent' });

test('closing follows the reverse of opening: http, epoch clock, metrics, layers, shard', async () => {
  const events: string[] = [];
  const node = await SmtNode.start({
    networkDir: netDir, dataDir: join(tmp, 'd1'), apiPort: 0, logger,
    layers: [
      async (ctx) => {
        assert.equal(ctx.shard.latestEpoch() >= -1, true, 'the shard is open when a layer starts');
        events.push('layer-a start');
        return { name: 'layer-a', close: async () => void events.push('layer-a close') } satisfies Component;
      },
      async () => {
        events.push('layer-b start');
        return { name: 'layer-b', close: async () => void events.push('layer-b close') };
      },
    ],
  });
  const names = (node as unknown as { components: Component[] }).components.map((c) => c.name);
  assert.deepEqual(names, ['shard', 'layer-a', 'layer-b', 'metrics', 'epoch-timer', 'http']);
  assert.ok([200, 503].includes((await fetch(`${node.url}/v1/health`)).status), "the API serves (503 = still catching up)");
  await node.close();
  await node.close(); // idempotent
  assert.deepEqual(events, ['layer-a start', 'layer-b start', 'layer-b close', 'layer-a close']);
  await assert.rejects(fetch(`${node.url}/v1/health`), 'the API is closed');
});

test('a start that fails on a taken port releases the shard, so the data dir opens again', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd2'), apiPort: port, logger }), /EADDRINUSE/);
  } finally {
    blocker.close();
  }
  const node = await SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd2'), apiPort: 0, logger, manualSeal: true });
  await node.close();
});

test('a transfer submitted over HTTP is accepted, then committed by a seal, and counted in /metrics', async () => {
  const node = await SmtNode.start({ networkDir: netDir, dataDir: join(tmp, 'd3'), apiPort: 0, logger, manualSeal: true });
  try {
    const k0 = loadKeyFile(join(netDir, 'accounts', '0.key'));
    const k1 = loadKeyFile(join(netDir, 'accounts', '1.key'));
    const t = { network: 'node-test', from: k0.keyPair.publicKey, to: k1.address, amount: 10n, fee: 1n, nonce: 0n, ts: 1n };
    const res = await fetch(`${node.url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: toHex(encodeSignedTx(signTransfer(t, k0.keyPair.secretKey))) }) });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { txid: txIdHex(t), status: 'accepted' });
    assert.equal(((await (await fetch(`${node.url}/v1/tx/${txIdHex(t)}`)).json()) as { status: string }).status, 'pending');
    await node.sealNow();
    const st = (await (await fetch(`${node.url}/v1/tx/${txIdHex(t)}`)).json()) as { status: string; epoch: number };
    assert.equal(st.status, 'committed');
    const acc = (await (await fetch(`${node.url}/v1/account/${toHex(k1.address)}`)).json()) as { balance: string };
    assert.equal(acc.balance, '1010');
    const m = await (await fetch(`${node.url}/metrics`)).text();
    assert.match(m, /smt_tx_committed_total\{[^}]*\} 1\n/);
    assert.match(m, /smt_commit_latency_seconds_count\{[^}]*\} 1\n/);
    assert.match(m, /smt_epoch\{[^}]*\} 0\n/);
  } finally {
    await node.close();
  }
});
