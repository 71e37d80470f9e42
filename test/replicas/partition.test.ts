// Issue #15: a writer cut off from its followers stops committing (no quorum, its lease lapses),
// a follower takes over with a higher term, and after the partition heals the old writer follows
// the new one (discarding any epoch it sealed alone); no epoch ever has two different snapshots
// on the replicas, and every transfer acknowledged committed stays committed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicaSet, bankLoad } from './replica-set.js';
import { sleep, until } from '../support/wait.js';
import { tryGetJson } from '../support/http.js';

let set: ReplicaSet | undefined;
after(async () => set?.teardown());

test('partition the writer from its followers: it stops committing, a follower takes over, after healing one history', { timeout: 420_000 }, async () => {
  set = await ReplicaSet.create({ epochMs: 500, accounts: 6 });
  const s = set;
  s.startAll();
  const w0 = await until('a writer with a committed epoch', 150_000, () => s.writer());
  const load = bankLoad(s, 4);
  await until('a few committed transfers', 60_000, async () => (load.acked.size >= 8 ? true : undefined));
  const cutAt = Date.now();
  s.isolate(w0);
  // the cut-off writer loses its lease and steps down; its committed epoch stops where it was
  const old = await until('the isolated writer steps down', 30_000, async () => {
    const st = await s.status(w0);
    return st && st.role !== 'writer' ? st : undefined;
  });
  const stepDownMs = Date.now() - cutAt;
  const w1 = await until('a follower takes over', 60_000, () => s.writer(w0));
  const takeoverMs = Date.now() - cutAt;
  const n1 = load.acked.size;
  await until('transfers committed under the new writer', 60_000, async () => (load.acked.size >= n1 + 4 ? true : undefined));
  await sleep(2000);
  const isolated = await s.status(w0);
  assert.ok(isolated && isolated.role !== 'writer', 'the isolated replica never became writer again');
  assert.ok(isolated!.committed <= old.committed, `the isolated replica committed nothing more (${old.committed} -> ${isolated!.committed})`);

  s.isolate(undefined);
  await until('the old writer follows the new one', 90_000, async () => {
    const st = await s.statuses();
    const w = st[w1];
    return st[w0]?.role === 'follower' && w?.role === 'writer' && st[w0]!.term === w.term && st[w0]!.lag <= 2 ? true : undefined;
  });
  await load.stop();
  console.log(JSON.stringify({ stepDownMs, takeoverMs, writers: [w0, w1], acked: load.acked.size }));

  const final = await until('replicas at one committed epoch', 60_000, async () => {
    const st = await s.statuses();
    const w = st.find((x) => x?.role === 'writer');
    return w && st.every((x) => x && x.epoch >= w.committed) ? w.committed : undefined;
  });
  // from the latest sync point on, if a replica synced state (a long run passes --state-sync-after)
  const sts = await s.statuses();
  const from = Math.max(0, ...sts.map((x) => x?.syncedAt ?? 0));
  for (let e = from; e <= final; e++) {
    const hashes = await Promise.all(s.urls.map((u) => until(`${u} snapshot ${e}`, 30_000, async () => (await tryGetJson<{ snapshot: { hash: string } }>(`${u}/v1/snapshot/${e}`, 5000))?.body.snapshot?.hash)));
    assert.ok(hashes.every((h) => h === hashes[0]), `epoch ${e}: one snapshot on every replica, got ${JSON.stringify(hashes)}`);
  }
  // transaction history from a replica holding it all (the writer, unless it synced state)
  const full = sts[w1]?.syncedAt === undefined ? w1 : sts.findIndex((x) => x !== undefined && x.syncedAt === undefined);
  const writerUrl = s.urls[full >= 0 ? full : w1]!;
  for (const t of load.acked.values()) {
    const st = await until(`status of ${t.txid}`, 30_000, async () => (await tryGetJson<{ status: string }>(`${writerUrl}/v1/tx/${t.txid}`, 5000))?.body);
    assert.equal(st.status, 'committed', `acknowledged transfer ${t.txid} (sender ${t.from}, nonce ${t.nonce})`);
  }
  for (let i = 0; i < 3; i++) assert.doesNotMatch(s.log(i), /REPLICA STOPPED FOLLOWING/, `replica ${i} never saw a re-execution mismatch`);
});
