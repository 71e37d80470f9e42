// Durability: a shard process killed with SIGKILL at arbitrary moments while submitting and sealing
// loses no epoch it reported sealed, applies nothing twice, and conserves supply after restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../src/core/bytes.js';
import { totalSupply } from '../src/core/genesis.js';
import type { ShardId } from '../src/core/ids.js';
import { Shard } from '../src/shard/shard.js';
import { addr, makeNetwork, tempDir } from './fixtures/shard-helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/shard-crash-child.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../bin/register.mjs', import.meta.url));

/** Runs the child until it has reported `minEpochs` seals plus a random delay, then SIGKILLs it. */
function runAndKill(dir: string, minEpochs: number, extraMs: number): Promise<Map<number, string[]>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REGISTER, CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const reported = new Map<number, string[]>();
    let buf = '';
    let err = '';
    let armed = false;
    const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000); // only if the machine is badly overloaded
    child.stdout.setEncoding('utf8');
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [e, ids] = line.split(' ');
        reported.set(Number(e), ids ? ids.split(',') : []);
      }
      if (!armed && reported.size >= minEpochs) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code} ${signal}: ${err}`));
      else resolve(reported);
    });
  });
}

test('kill -9 at arbitrary moments: every reported-sealed epoch is there with all its txs, nothing applied twice, supply conserved', { timeout: 300_000 }, async () => {
  const { dir, cleanup } = tempDir('smt-crash-');
  try {
    const net = makeNetwork({ accounts: 20, amount: 1_000_000n });
    const reported = new Map<number, string[]>();
    for (const [minEpochs, extraMs] of [[3, 37], [2, 113], [4, 5], [1, 71]] as const) {
      for (const [e, ids] of await runAndKill(dir, minEpochs, extraMs)) reported.set(e, ids);
    }
    assert.ok(reported.size >= 10, `reported ${reported.size} epochs`);
    const s = await Shard.open({ dataDir: dir, genesis: net.genesis, shard: '' as ShardId, validatorKey: net.validators.get('' as ShardId)!, verifyWorkers: 0 });
    try {
      const latest = s.latestEpoch();
      for (const [e, ids] of reported) {
        assert.ok(e <= latest, `reported epoch ${e} <= latest ${latest}`);
        const snap = await s.snapshot(e);
        assert.ok(snap, `snapshot ${e} present`);
        assert.equal(snap.snapshot.txCount, BigInt(ids.length));
        for (const id of ids) {
          const st = await s.txStatus(fromHex(id));
          assert.ok(st.status === 'committed' && st.epoch === e, `tx ${id} committed in epoch ${e}`);
        }
      }
      // every epoch 0..latest exists and chains; sum the fees and tx counts
      let fees = 0n;
      let count = 0n;
      for (let e = 0; e <= latest; e++) {
        const snap = (await s.snapshot(e))!.snapshot;
        fees += snap.fees;
        count += snap.txCount;
      }
      let nonces = 0n;
      for (const u of net.users) nonces += (await s.account(addr(u))).nonce;
      assert.equal(nonces, count, 'each committed tx advanced exactly one nonce: nothing applied twice');
      assert.equal(BigInt(s.stats().committedTotal), count);
      assert.equal(s.sumBalances() + fees, totalSupply(net.genesis), 'supply conserved');
      assert.equal((await s.snapshot())!.snapshot.supply, s.sumBalances());
    } finally {
      await s.close();
    }
  } finally {
    cleanup();
  }
});
