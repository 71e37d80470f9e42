// The sign guard (src/hierarchy/sign-guard.ts): a validator never signs two different aggregates for
// one (triad, epoch), across restarts, and never signs below its persisted low-water mark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Level } from 'level';
import { SignGuard, type SignRecordStore } from '../src/hierarchy/sign-guard.js';

async function withDb<T>(fn: (open: () => Promise<{ store: SignRecordStore; close: () => Promise<void> }>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'smt-signguard-'));
  try {
    return await fn(async () => {
      const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
      await db.open();
      return { store: db.sublevel<string, Uint8Array>('signed', { valueEncoding: 'view' }), close: () => db.close() };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);

test('after a restart, the guard answers exactly as a map of first-recorded hashes per (path, epoch) does', async () => {
  const op = fc.record({ path: fc.constantFrom('', '0', '1', '2', '01', '22'), epoch: fc.nat(20), hash: fc.nat(3) });
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 20 }), async (writes, probes) => {
      await withDb(async (open) => {
        const model = new Map<string, number>();
        let db = await open();
        const g = await SignGuard.open(db.store);
        for (const w of writes) {
          const k = `${w.path}@${w.epoch}`;
          const first = model.get(k);
          if (first === undefined || first === w.hash) {
            await g.record(w.path, w.epoch, h(w.hash));
            model.set(k, w.hash);
          } else {
            await assert.rejects(g.record(w.path, w.epoch, h(w.hash)), /refusing to sign/);
          }
        }
        await db.close();
        db = await open(); // restart
        const g2 = await SignGuard.open(db.store);
        for (const p of [...writes, ...probes]) {
          const first = model.get(`${p.path}@${p.epoch}`);
          const want = first === undefined ? 'new' : first === p.hash ? 'same' : 'conflict';
          assert.equal(g2.check(p.path, p.epoch, h(p.hash)), want, `${p.path}@${p.epoch} hash ${p.hash}`);
        }
        await db.close();
      });
    }),
    { numRuns: 25, seed: 20261122 },
  );
});

test('pruned epochs stay unsignable after a restart; later records survive pruning', async () => {
  await withDb(async (open) => {
    let db = await open();
    const g = await SignGuard.open(db.store);
    for (let e = 0; e < 10; e++) await g.record('1', e, h(e));
    await g.pruneBelow(6);
    assert.equal(g.size, 4);
    await db.close();
    db = await open();
    const g2 = await SignGuard.open(db.store);
    assert.equal(g2.lowWaterEpoch, 6);
    assert.equal(g2.size, 4, 'records below the mark were deleted from the store');
    assert.equal(g2.check('1', 5, h(5)), 'below-low-water', 'even the hash it once signed');
    assert.equal(g2.check('1', 7, h(7)), 'same');
    assert.equal(g2.check('1', 7, h(9)), 'conflict');
    assert.equal(g2.check('1', 12, h(9)), 'new');
    await db.close();
  });
});

test('pruning is one fsync\'d write: the mark and every deletion together (one store round trip, not one per record)', async () => {
  await withDb(async (open) => {
    const db = await open();
    const calls: string[] = [];
    const store: SignRecordStore = {
      put: (k, v, o) => (calls.push(`put ${k}`), db.store.put(k, v, o)),
      batch: (ops, o) => (calls.push(`batch ${ops.map((x) => `${x.type} ${x.key}`).join(', ')} sync=${o?.sync}`), db.store.batch(ops, o)),
      iterator: () => db.store.iterator(),
    };
    const g = await SignGuard.open(store);
    for (let e = 0; e < 4; e++) await g.record('1', e, h(e));
    await g.record('2', 1, h(9));
    calls.length = 0;
    await g.pruneBelow(2);
    assert.deepEqual(calls, ['batch put low, del r:0000000000000000:1, del r:0000000000000001:1, del r:0000000000000001:2 sync=true']);
    assert.equal(g.lowWaterEpoch, 2);
    assert.equal(g.size, 2);
    await db.close();
  });
});

test('two concurrent records of different hashes for one round: exactly one wins', async () => {
  const g = await SignGuard.open();
  const rs = await Promise.allSettled([g.record('0', 3, h(1)), g.record('0', 3, h(2))]);
  assert.equal(rs.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal(g.check('0', 3, h(1)), 'same');
});
