// firstGap (src/node/proving/chain.ts): the catch-up walks the chain of held global proofs back by
// their links and asks peers only where it breaks; epochs the chain passes over (never proved) are
// never asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstGap, type ChainLink, type ChainLookups } from '../src/node/proving/chain.js';

const GENESIS = 'g0';

/** Held proofs by epoch, each linking to the previous held one unless `links` says otherwise. */
function held(epochs: number[], links: Record<number, string> = {}, remembered = true): ChainLookups {
  const byEpoch = new Map<number, ChainLink>();
  let prev = GENESIS;
  for (const e of epochs) {
    byEpoch.set(e, { epoch: e, hash: `h${e}`, prevHash: links[e] ?? prev });
    prev = `h${e}`;
  }
  return {
    at: async (e) => byEpoch.get(e),
    latestAtOrBefore: async (e) => [...byEpoch.values()].filter((l) => l.epoch <= e).sort((a, b) => b.epoch - a.epoch)[0],
    epochOf: (h) => (remembered ? [...byEpoch.values()].find((l) => l.hash === h)?.epoch : undefined),
  };
}

test('a chain held whole back to genesis has no gap, however many epochs it skips', async () => {
  assert.equal(await firstGap(40, GENESIS, held([0, 7, 8, 19, 23, 31, 40]), 16), null);
  assert.equal(await firstGap(40, GENESIS, held([0, 7, 8, 19, 23, 31, 40], {}, false), 16), null, 'found through the store when the hash is not remembered');
});

test('a link to a proof not held is the gap: the newest such link, with the hash it names', async () => {
  // 31 links to a proof of epoch 27 this node never received
  assert.deepEqual(await firstGap(40, GENESIS, held([0, 7, 23, 31, 40], { 31: 'h27' })), { after: 31, wantHash: 'h27' });
  // the newest proof itself links to one missing here (a restarted node that fetched the latest)
  assert.deepEqual(await firstGap(40, GENESIS, held([40], { 40: 'h35' })), { after: 40, wantHash: 'h35' });
});

test('no gap reported past the step bound, nor when the top proof is not held', async () => {
  const long = Array.from({ length: 20 }, (_, i) => i * 2);
  assert.equal(await firstGap(38, GENESIS, held(long, { 2: 'hX' }), 8), null);
  assert.deepEqual(await firstGap(38, GENESIS, held(long, { 2: 'hX' }), 30), { after: 2, wantHash: 'hX' });
  assert.equal(await firstGap(5, GENESIS, held([0, 7])), null);
});
