// The proof store's global proofs (src/node/proof-store.ts): the newest ones are answered from
// memory, everything else from LevelDB, and both give what was stored. Properties checked, with a
// real store on disk:
//  - every global proof put is read back (global, hasGlobal) inside and beyond the memory window and
//    after a reopen; an epoch never stored, or deleted, answers "none", in memory and in the store;
//    a gap filled below the window is read from the store;
//  - latestGlobal(atMost) is the stored one of the largest epoch <= atMost, from memory or not;
//  - the checks made when a new global proof arrives (held already? stored yet? the latest one
//    below it, which it links to; then the put) read nothing from LevelDB, before and after a
//    reopen (on the code before, each check was a read).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProofStore, RECENT_GLOBALS } from '../src/node/proof-store.js';
import type { GlobalStateProof } from '../src/proof/global.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-proof-store-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A global proof of epoch e (its signals say which; the points need not pair for the store). */
function globalOf(e: number): GlobalStateProof {
  return {
    depth: 2,
    publicSignals: Array.from({ length: 8 }, (_, i) => String(e * 8 + i)),
    proof: { pi_a: ['1', '2', '1'], pi_b: [['0', '0'], ['1', '0'], ['0', '0']], pi_c: ['1', '2', '1'], protocol: 'groth16', curve: 'bn128' },
    prevGlobalProofHash: new Uint8Array(32).fill(e % 256),
  };
}

/** Counts the store's LevelDB reads from now on. */
function countReads(store: ProofStore): { reads: number } {
  const db = (store as unknown as { db: { get: (...a: unknown[]) => Promise<unknown> } }).db;
  const n = { reads: 0 };
  const get = db.get.bind(db);
  db.get = (...a: unknown[]) => (n.reads++, get(...a));
  return n;
}

async function expectHeld(store: ProofStore, e: number, held: boolean): Promise<void> {
  assert.equal(await store.hasGlobal(e), held, `hasGlobal(${e})`);
  const g = await store.global(e);
  if (!held) return assert.equal(g, undefined, `global(${e})`);
  assert.deepEqual(g?.proof.publicSignals, globalOf(e).publicSignals, `global(${e}) is the one stored`);
  assert.equal(g?.receivedAt, 1000 + e);
}

test('global proofs read back from memory and from the store alike, before and after a reopen', async () => {
  const dir = join(tmp, 'a');
  let store = await ProofStore.open(dir);
  const n = 2 * RECENT_GLOBALS + 5; // past the memory window
  const stored = new Set<number>();
  for (let e = 0; e < n; e++) {
    if (e % 3 === 2) continue; // epochs without a global proof
    await store.putGlobal(e, { proof: globalOf(e), receivedAt: 1000 + e });
    stored.add(e);
  }
  await store.deleteGlobal(n - 1); // the newest (in memory), dropped
  await store.deleteGlobal(3); // an old one (in the store only), dropped
  stored.delete(n - 1);
  stored.delete(3);
  await store.putGlobal(2, { proof: globalOf(2), receivedAt: 1002 }); // a gap filled far below the window
  stored.add(2);
  const latest = async (atMost: number): Promise<void> => {
    const want = Math.max(-1, ...[...stored].filter((e) => e <= atMost));
    assert.equal((await store.latestGlobal(atMost))?.epoch ?? -1, want, `latestGlobal(${atMost})`);
  };
  for (let e = 0; e < n + 3; e++) {
    await expectHeld(store, e, stored.has(e));
    await latest(e);
  }
  await store.close();
  store = await ProofStore.open(dir);
  try {
    for (let e = 0; e < n + 3; e++) {
      await expectHeld(store, e, stored.has(e));
      await latest(e);
    }
  } finally {
    await store.close();
  }
});

test('a new global proof is checked and held without a LevelDB read', async () => {
  const dir = join(tmp, 'b');
  for (const phase of ['new store', 'reopened store']) {
    const store = await ProofStore.open(dir);
    try {
      const reads = countReads(store);
      const first = phase === 'new store' ? 0 : 100;
      for (let e = first; e < first + 2 * RECENT_GLOBALS; e++) {
        assert.equal(await store.global(e), undefined); // admission: a proof of its epoch held already?
        assert.equal(await store.hasGlobal(e), false); // holding it: stored yet?
        if (e > first) assert.equal((await store.latestGlobal(e - 1))?.epoch, e - 1); // the one it links to
        await store.putGlobal(e, { proof: globalOf(e), receivedAt: 1000 + e });
        await expectHeld(store, e, true);
      }
      assert.equal(reads.reads, 0, `${phase}: no LevelDB read for epochs above the newest stored`);
    } finally {
      await store.close();
    }
  }
});
