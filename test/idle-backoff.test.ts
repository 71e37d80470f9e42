// IdleBackoff (src/node/proving/idle-backoff.ts), the pace of the proving layer's global-proof catch-up:
//  - passes that bring nothing space the next pass 2, 4, ... up to 2^max intervals apart;
//  - a pass that brings something restores a pass every interval at once;
//  - a bad maximum is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleBackoff } from '../src/node/proving/idle-backoff.js';

/** Runs `ticks` ticks; every pass reports `progress(passIndex)`; returns the ticks that ran a pass. */
function run(b: IdleBackoff, ticks: number, progress: (pass: number) => boolean): number[] {
  const ran: number[] = [];
  for (let t = 0; t < ticks; t++) {
    if (!b.due()) continue;
    b.done(progress(ran.length));
    ran.push(t);
  }
  return ran;
}

test('idle passes double the gap up to 2^max ticks; a productive pass returns to every tick', () => {
  assert.deepEqual(run(new IdleBackoff(3), 40, () => false), [0, 2, 6, 14, 22, 30, 38], 'gaps 2, 4, 8, then capped at 8');
  assert.deepEqual(run(new IdleBackoff(3), 5, () => true), [0, 1, 2, 3, 4], 'always productive: every tick');
  // idle, idle, then productive: after the gap of 4 the next pass is on the very next tick
  assert.deepEqual(run(new IdleBackoff(4), 10, (p) => p === 2), [0, 2, 6, 7, 9]);
  assert.deepEqual(run(new IdleBackoff(0), 4, () => false), [0, 1, 2, 3], 'max 0: no backoff');
});

test('a maximum outside 0..20 or not an integer is refused', () => {
  for (const bad of [-1, 21, 1.5, Number.NaN]) assert.throws(() => new IdleBackoff(bad), RangeError);
});
