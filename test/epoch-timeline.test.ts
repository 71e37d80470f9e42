// bench:cluster's split of each epoch's seal -> global time (scripts/epoch-timeline.ts): the global
// cannot form before the last shard's seal, so the wait splits at that seal, whichever shard it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochTimelines, parseNodeLog } from '../scripts/epoch-timeline.js';

const line = (o: Record<string, unknown>): string => JSON.stringify({ level: 30, ...o });

test('node log lines: seals and global finals are read, anything else is skipped', () => {
  const text = [
    line({ time: 2000, msg: 'sealed', epoch: 1, txCount: 5, sealMs: 40, phases: { apply: 10, write: 20 } }),
    'not json "sealed"',
    line({ time: 2100, msg: 'global snapshot final', epoch: 1, latencyMs: 100 }),
    line({ time: 2200, msg: 'api listening' }),
  ].join('\n');
  const { seals, finals } = parseNodeLog('00', text);
  assert.deepEqual(seals, [{ shard: '00', epoch: 1, time: 2000, sealMs: 40, phases: { apply: 10, write: 20 } }]);
  assert.deepEqual(finals, [{ shard: '00', epoch: 1, time: 2100, latencyMs: 100 }]);
});

test('an epoch splits at the last seal: the wait for it, then the aggregation; epochs missing a seal are left out', () => {
  // epoch 1 is due at 2000 (genesis 0, 1 s epochs); shard 2 ends last, at 2900, after starting 500 late
  const seals = [
    { shard: '0', epoch: 1, time: 2100, sealMs: 100 },
    { shard: '1', epoch: 1, time: 2200, sealMs: 150 },
    { shard: '2', epoch: 1, time: 2900, sealMs: 400 },
    { shard: '0', epoch: 2, time: 3100, sealMs: 100 }, // epoch 2: only one of three seals logged
  ];
  const finals = [
    { shard: '0', epoch: 1, time: 3000 },
    { shard: '1', epoch: 1, time: 3050 },
    { shard: '2', epoch: 1, time: 3020 },
    { shard: '0', epoch: 2, time: 3500 },
  ];
  const ts = epochTimelines(seals, finals, { genesisTime: 0, epochMs: 1000, shards: 3, from: 1, to: 2 });
  assert.equal(ts.length, 1);
  const t = ts[0]!;
  assert.equal(t.lastShard, '2');
  assert.equal(t.lastSealDone, 900);
  assert.equal(t.lastSealStartedLate, 500);
  assert.equal(t.lastSealMs, 400);
  assert.equal(t.medianSealDone, 200);
  assert.equal(t.aggregationMs, 100); // first global (3000) after the last seal (2900)
  assert.equal(t.spreadMs, 50);
  assert.equal(t.worstNodeLatencyMs, 900); // shard 0: sealed at 2100, global at 3000
});
