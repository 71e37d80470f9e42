// The epoch clock: epoch e is sealed at genesisTime + (e+1)*epochMs; missed epochs are sealed at once
// (catch-up), then the clock follows wall time; stop() never cuts a seal in half.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import pino from 'pino';
import { EpochTimer, sealDueAt } from '../src/node/epoch-timer.js';
import { sleep } from './support/wait.js';

test('sealDueAt: epoch e is due at genesisTime + (e+1)*epochMs', () => {
  fc.assert(fc.property(fc.nat(2 ** 40), fc.integer({ min: 50, max: 3_600_000 }), fc.nat(1_000_000), (g, ms, e) => sealDueAt(g, ms, e) === g + (e + 1) * ms && sealDueAt(g, ms, e + 1) - sealDueAt(g, ms, e) === ms));
});

test('a node that was down catches up every missed epoch immediately, then waits for the next boundary', async () => {
  const epochMs = 400;
  const genesisTime = Date.now() - 10 * epochMs + 300; // epochs 0..8 are overdue, epoch 9 is due in ~300 ms
  let latest = 2; // sealed up to epoch 2 before it went down
  const sealedAt: { epoch: number; at: number }[] = [];
  const timer = new EpochTimer({ genesisTime, epochMs, latestEpoch: () => latest, seal: async () => { latest++; sealedAt.push({ epoch: latest, at: Date.now() }); } });
  assert.equal(timer.epochsBehind(), 6); // epochs 3..8
  const t0 = Date.now();
  timer.start();
  await sleep(150);
  assert.deepEqual(sealedAt.map((s) => s.epoch), [3, 4, 5, 6, 7, 8], 'missed epochs are sealed at once, epoch 9 not yet');
  assert.ok(sealedAt.every((s) => s.at - t0 < 150));
  await sleep(300);
  await timer.stop();
  const e9 = sealedAt.find((s) => s.epoch === 9);
  assert.ok(e9, 'epoch 9 sealed on its boundary');
  assert.ok(e9.at >= sealDueAt(genesisTime, epochMs, 9) - 2, `epoch 9 not sealed early (${e9.at - sealDueAt(genesisTime, epochMs, 9)} ms)`);
  assert.equal(timer.epochsBehind(), 0);
});

test('stop() waits for a seal in progress and no seal starts afterwards', async () => {
  let latest = -1;
  let inSeal = false;
  let sealsAfterStop = 0;
  let stopped = false;
  const timer = new EpochTimer({
    genesisTime: Date.now() - 1000, epochMs: 50, latestEpoch: () => latest,
    seal: async () => {
      if (stopped) sealsAfterStop++;
      inSeal = true;
      await sleep(30);
      latest++;
      inSeal = false;
    },
  });
  timer.start();
  await sleep(10);
  assert.equal(inSeal, true);
  await timer.stop();
  stopped = true;
  assert.equal(inSeal, false, 'the seal in progress finished before stop() resolved');
  await sleep(120);
  assert.equal(sealsAfterStop, 0);
});

test('a failing seal is retried with growing back-off, not in a busy loop', async () => {
  const calls: number[] = [];
  let latest = -1;
  const timer = new EpochTimer({ genesisTime: Date.now() - 10_000, epochMs: 100, latestEpoch: () => latest, seal: async () => { calls.push(Date.now()); if (calls.length <= 3) throw new Error('disk full'); latest++; } });
  timer.start();
  await sleep(600);
  await timer.stop();
  assert.ok(calls.length >= 4, `retried after failures (${calls.length} calls)`);
  const gaps = [calls[1]! - calls[0]!, calls[2]! - calls[1]!, calls[3]! - calls[2]!];
  assert.ok(gaps[0]! >= 45 && gaps[1]! >= 95 && gaps[2]! >= 195, `back-off grows: ${gaps.join(', ')} ms`);
  assert.ok(latest >= 0, 'sealing resumes after the failures');
});

test('behind at start: a warning for a node that held epochs (it was down), info for one that never sealed (a new devnet)', async () => {
  const lines: { level: number; msg: string; behind: number }[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
  for (const held of [-1, 2]) {
    let latest = held;
    const timer = new EpochTimer({ genesisTime: Date.now() - 10 * 400 + 300, epochMs: 400, latestEpoch: () => latest, seal: async () => { latest++; }, logger });
    timer.start();
    await timer.stop();
  }
  await sleep(20); // pino writes asynchronously to a stream
  assert.deepEqual(lines.map((l) => [l.level, l.msg, l.behind]), [
    [30, 'first start: sealing the epochs since genesis now', 9],
    [40, 'catching up: sealing missed epochs now', 6],
  ]);
});
