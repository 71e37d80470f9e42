// The store's account rows (src/shard/store.ts): each commit journals its rows in ONE record, and
// every ACCOUNT_JOURNAL_EVERY-th commit lands the latest row of each journaled account in `acct`
// and deletes the journals, in the same batch. Properties: reopening after any number of commits
// loads exactly the latest row of every account (rows + journals); between landings a commit adds
// one journal record and no rows; a landing leaves no journal behind; a failed write changes
// neither the store nor what the store will journal next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShardStore, ACCOUNT_JOURNAL_EVERY, type CommitSet } from '../src/shard/store.js';
import { encodeAccountValue, type ShardHead } from '../src/shard/records.js';
import { tempDir } from './fixtures/shard-helpers.js';

const head = (epoch: number): ShardHead => ({
  epoch, stateRoot: new Uint8Array(32), outboxRoot: new Uint8Array(32), snapshotHash: new Uint8Array(32), lamport: 0n, hlc: 0n,
  supply: 0n, committedTotal: 0n, totalOutflow: 0n, totalInflow: 0n, totalFees: 0n, outboxSeq: new Map(),
});
const address = (i: number): Uint8Array => new Uint8Array(20).fill(0).map((_, j) => (j === 0 ? i & 0xff : j === 1 ? i >> 8 : 7));
const commitOf = (epoch: number, rows: [number, bigint][]): CommitSet => ({
  nodes: [], receiptRows: [], head: head(epoch),
  accounts: rows.map(([i, bal]) => [address(i), encodeAccountValue({ balance: bal, nonce: BigInt(epoch + 1) })]),
});
const count = async (s: ShardStore, sub: 'accounts' | 'accountJournal'): Promise<number> => (await s[sub].keys().all()).length;
const loaded = async (s: ShardStore): Promise<Map<string, bigint>> =>
  new Map((await s.loadAccounts()).map((a) => [Buffer.from(a.address).toString('hex'), a.balance]));

test('reopening after any number of commits loads the latest row of every account', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.array(fc.tuple(fc.nat(40), fc.bigInt({ min: 0n, max: 1n << 40n })), { maxLength: 12 }), { minLength: 1, maxLength: 2 * ACCOUNT_JOURNAL_EVERY + 5 }),
    fc.nat(),
    async (commits, reopenSeed) => {
      const t = tempDir('smt-journal-');
      try {
        let s = await ShardStore.open(t.dir, { sync: false });
        await s.loadAccounts();
        const model = new Map<string, bigint>();
        const reopenAt = reopenSeed % commits.length;
        for (let e = 0; e < commits.length; e++) {
          await s.commit(commitOf(e, commits[e]!));
          for (const [i, bal] of commits[e]!) model.set(Buffer.from(address(i)).toString('hex'), bal);
          if (e === reopenAt) {
            await s.close();
            s = await ShardStore.open(t.dir, { sync: false });
            assert.deepEqual(await loaded(s), model, `after reopening at commit ${e}`);
          }
        }
        await s.close();
        s = await ShardStore.open(t.dir, { sync: false });
        assert.deepEqual(await loaded(s), model);
        await s.close();
      } finally {
        t.cleanup();
      }
    },
  ), { numRuns: 25 });
});

test('between landings a commit writes one journal record and no rows; the landing writes the rows and leaves no journal', async () => {
  const t = tempDir('smt-journal-');
  try {
    const s = await ShardStore.open(t.dir, { sync: false });
    await s.loadAccounts();
    const rows = (k: number): [number, bigint][] => Array.from({ length: 50 }, (_, i) => [i, BigInt(k * 100 + i)]);
    for (let e = 0; e < ACCOUNT_JOURNAL_EVERY - 1; e++) {
      await s.commit(commitOf(e, rows(e)));
      assert.equal(await count(s, 'accountJournal'), e + 1, `journal records after commit ${e}`);
      assert.equal(await count(s, 'accounts'), 0, `no rows before the landing (commit ${e})`);
    }
    await s.commit(commitOf(ACCOUNT_JOURNAL_EVERY - 1, rows(ACCOUNT_JOURNAL_EVERY - 1)));
    assert.equal(await count(s, 'accountJournal'), 0, 'the landing deletes every journal');
    assert.equal(await count(s, 'accounts'), 50, 'one row per account');
    const got = await loaded(s);
    assert.equal(got.get(Buffer.from(address(3)).toString('hex')), BigInt((ACCOUNT_JOURNAL_EVERY - 1) * 100 + 3));
    await s.close();
  } finally {
    t.cleanup();
  }
});

test('a commit whose write fails leaves the store and the next journal as they were', async () => {
  const t = tempDir('smt-journal-');
  try {
    const s = await ShardStore.open(t.dir, { sync: false });
    await s.loadAccounts();
    await s.commit(commitOf(0, [[1, 10n]]));
    const failing = commitOf(1, [[2, 20n]]);
    const real = s.db.batch.bind(s.db);
    (s.db as unknown as { batch: () => unknown }).batch = () => {
      const b = real();
      (b as unknown as { write: () => Promise<void> }).write = async () => {
        throw new Error('disk full');
      };
      return b;
    };
    await assert.rejects(s.commit(failing), /disk full/);
    (s.db as unknown as { batch: () => unknown }).batch = real;
    await s.commit(commitOf(1, [[3, 30n]]));
    await s.close();
    const r = await ShardStore.open(t.dir, { sync: false });
    const got = await loaded(r);
    assert.deepEqual([...got.values()].sort(), [10n, 30n], 'the failed commit\'s row is nowhere');
    await r.close();
  } finally {
    t.cleanup();
  }
});
