// When a networked node's signature workers yield (src/node/verify-hold.ts): from each seal until
// the epoch's global snapshot is final here, at most maxMs; after an epoch whose global came later
// than that, only for the node's own seal; never with maxMs 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VerifyHold, verifyHoldMs } from '../src/node/verify-hold.js';

test('a hold lasts from the seal until the epoch\'s global is final here, capped at maxMs', () => {
  const h = new VerifyHold(600);
  assert.equal(h.sealStarts(5, 1000), 1600);
  assert.equal(h.sealEnds(5), false, 'the seal alone does not end it');
  assert.equal(h.globalFinal(4, 1100), false, 'an older global does not end it');
  assert.equal(h.globalFinal(5, 1300), true);
  assert.equal(h.globalFinal(5, 1310), false, 'once');
});

test('after a global later than maxMs, the next hold ends with the seal; a global in time again restores the full hold', () => {
  const h = new VerifyHold(600);
  h.sealStarts(1, 0);
  assert.equal(h.globalFinal(1, 900), false, 'came after the cap: nothing left to release');
  h.sealStarts(2, 1000);
  assert.equal(h.sealEnds(2), true, 'late before: the seal ends the hold');
  assert.equal(h.globalFinal(2, 1200), false, 'already released');
  h.sealStarts(3, 2000);
  assert.equal(h.sealEnds(3), false, 'epoch 2 was in time: hold until the global again');
  assert.equal(h.globalFinal(3, 2300), true);
});

test('an epoch with no global at all before the next seal counts as late', () => {
  const h = new VerifyHold(600);
  h.sealStarts(1, 0);
  h.sealStarts(2, 1000);
  assert.equal(h.sealEnds(2), true);
});

test('maxMs 0: no hold', () => {
  const h = new VerifyHold(0);
  assert.equal(h.sealStarts(1, 0), undefined);
  assert.equal(h.sealEnds(1), false);
  assert.equal(h.globalFinal(1, 10), false);
});

test('a networked node holds at most 0.75 of an epoch; SMT_VERIFY_HOLD_MS sets it (0 = no hold), and nonsense is refused', () => {
  assert.equal(verifyHoldMs(1000, {}), 750);
  assert.equal(verifyHoldMs(2000, {}), 1500);
  assert.equal(verifyHoldMs(1000, { SMT_VERIFY_HOLD_MS: '0' }), 0);
  assert.equal(verifyHoldMs(1000, { SMT_VERIFY_HOLD_MS: '250' }), 250);
  assert.throws(() => verifyHoldMs(1000, { SMT_VERIFY_HOLD_MS: 'soon' }), /SMT_VERIFY_HOLD_MS/);
  assert.throws(() => verifyHoldMs(1000, { SMT_VERIFY_HOLD_MS: '-5' }), /SMT_VERIFY_HOLD_MS/);
});
