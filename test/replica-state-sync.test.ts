// State sync of a replica (docs/REPLICAS.md "State sync"): a replica syncs to the writer's signed
// snapshot by fetching its tries record by record, each checked against the hash its parent names
// (the top against the signed root), and the account rows checked against the verified leaves;
// then it opens at that epoch and follows the next entries. Tampered, missing or withheld data is
// refused and leaves no head (nothing that opens as state). Plus the pure rules: which snapshot, when
// to sync, and the vote rule of a replica that lost its vote record.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { toHex } from '../src/core/bytes.js';
import type { ShardId } from '../src/core/ids.js';
import { Shard } from '../src/shard/shard.js';
import { ShardStore } from '../src/shard/store.js';
import { signSnapshot, type SignedSnapshot } from '../src/shard/snapshot.js';
import { StateSyncServer } from '../src/replica/state-sync-serve.js';
import { decodeAddresses, decodeManifest, decodeRecords, decodeStateRequest, encodeStateRequest, MAX_LOCATORS, type Manifest } from '../src/replica/state-sync-codec.js';
import { syncStateInto, type StateSource } from '../src/replica/state-sync.js';
import { needsStateSync, StateSyncError, syncCandidates } from '../src/replica/state-sync-verify.js';
import { LOST_VOTE, recoveredVoteState, VoteAmnesia } from '../src/replica/amnesia.js';
import { decideVote } from '../src/replica/lease.js';
import { CATCH_UP_FILE, hasCatchUpMark, readVoteState, setCatchUpMark, VOTE_FILE, writeVoteState } from '../src/replica/vote-store.js';
import { wipeDataDir } from '../src/replica/wipe.js';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addr, makeNetwork, seedKey, tempDir, transfer } from './fixtures/shard-helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const ROOT = '' as ShardId;

function replicatedNet() {
  const net = makeNetwork({ accounts: 6 });
  net.genesis.replicas = new Map([[ROOT, [net.validators.get(ROOT)!.publicKey, seedKey('replica', 1).publicKey, seedKey('replica', 2).publicKey]]]);
  return net;
}

async function openShard(net: ReturnType<typeof makeNetwork>, replica: number, dir?: string): Promise<Shard> {
  if (!dir) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    dir = t.dir;
  }
  const key = replica === 0 ? net.validators.get(ROOT)! : seedKey('replica', replica);
  const s = await Shard.open({ dataDir: dir, genesis: net.genesis, shard: ROOT, validatorKey: key, verifyWorkers: 0, replica, clock: () => 1_700_000_000_000 });
  cleanups.push(() => s.close());
  return s;
}

/** A writer with `fresh` accounts created by transfers to new addresses over `epochs` epochs. */
async function writerWithHistory(net: ReturnType<typeof makeNetwork>, epochs: number, fresh: number): Promise<Shard> {
  const w = await openShard(net, 0);
  w.setTerm(2n);
  const nonces = net.users.map(() => 0n);
  const perEpoch = Math.ceil(fresh / epochs);
  for (let e = 0; e < epochs; e++) {
    const txs: Uint8Array[] = [];
    for (let k = 0; k < perEpoch; k++) {
      const u = (e * perEpoch + k) % net.users.length;
      txs.push(transfer(net, net.users[u]!, randomBytes(20), 100n + BigInt(k), nonces[u]!++));
    }
    const res = await w.submit(txs);
    assert.ok(res.every((r) => r.ok), JSON.stringify(res.find((r) => !r.ok)));
    await w.sealEpoch();
  }
  return w;
}

/** The writer's state-sync server, in process, through the wire encodings. */
type Recs = ReturnType<typeof decodeRecords>;

function sourceOf(w: Shard, tamper: { records?: (locators: Uint8Array[], recs: Recs) => Recs | Promise<Recs>; addresses?: (a: Uint8Array[]) => Uint8Array[] } = {}): StateSource & { requests: number } {
  const server = new StateSyncServer(w);
  const req = (body: object) => decodeStateRequest(encodeStateRequest({ network: w.genesis.networkId, shard: ROOT, replica: 1, at: 1, ...body } as never));
  const src = {
    name: 'writer',
    requests: 0,
    async records(locators: Uint8Array[]) {
      src.requests++;
      const recs = decodeRecords(await server.answer(req({ kind: 'records', locators }), w.latestEpoch()));
      return tamper.records ? await tamper.records(locators, recs) : recs;
    },
    async addresses(after: Uint8Array | null, limit: number) {
      const a = decodeAddresses(await server.answer(req({ kind: 'addresses', after, limit }), w.latestEpoch()));
      return tamper.addresses ? { ...a, addresses: tamper.addresses(a.addresses) } : a;
    },
  };
  return src;
}

async function manifestOf(w: Shard): Promise<Manifest> {
  const m = decodeManifest(await new StateSyncServer(w).answer({ network: w.genesis.networkId, shard: ROOT, replica: 1, at: 1, kind: 'manifest' }, w.latestEpoch()));
  assert.ok(m);
  return m;
}

async function emptyStore(): Promise<{ dir: string; store: ShardStore }> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return { dir: t.dir, store: await ShardStore.open(t.dir) };
}

test('a replica synced to the writer\'s snapshot holds the same state at that epoch, without its history, and follows the next entries', async () => {
  const net = replicatedNet();
  const w = await writerWithHistory(net, 6, 400);
  const m = await manifestOf(w);
  assert.equal(m.signed.snapshot.epoch, 5);
  assert.equal(m.firstEntry, 0, 'the writer holds its whole history');
  const { dir, store } = await emptyStore();
  const st = await syncStateInto(store, net.genesis, ROOT, m, sourceOf(w));
  await store.close();
  assert.equal(st.epoch, 5);
  assert.equal(st.accounts, w.accountCount(), 'every account: 6 in genesis and 402 created');
  assert.equal(st.accounts, 408);
  assert.ok(st.fetched > 1 && st.reused === 0, JSON.stringify(st));
  const f = await openShard(net, 1, dir);
  assert.equal(f.latestEpoch(), 5);
  assert.equal(await f.syncedAt(), 5);
  assert.equal(f.sumBalances(), w.sumBalances());
  for (const u of net.users) assert.deepEqual(await f.account(addr(u)), await w.account(addr(u)), 'same balance, nonce, root and proof');
  assert.equal(await f.snapshot(4), undefined, 'no history before the sync point');
  // it follows from there with the normal re-execution
  await w.submit([transfer(net, net.users[0]!, addr(net.users[1]!), 7n, (await w.account(addr(net.users[0]!))).nonce)]);
  await w.sealEpoch();
  const got = await f.applyEntry((await w.replicaEntry(6))!);
  assert.equal(toHex(got.snapshot.stateRoot), toHex((await w.snapshot(6))!.snapshot.stateRoot));
  // and serves, from its sync point on: a manifest whose first entry is after it
  const fm = await manifestOf(f);
  assert.equal(fm.firstEntry, 6);
});

test('a tampered trie record is detected, and the store is left without a head (nothing opens as state)', async () => {
  const net = replicatedNet();
  const w = await writerWithHistory(net, 3, 200);
  const m = await manifestOf(w);
  let flipped = 0;
  // flip one byte of one record of the second answer (a leaf value or a child's hash: it still decodes)
  let call = 0;
  const src = sourceOf(w, {
    records: (_l, recs) => {
      if (++call === 2 && recs[0]) {
        const b = recs[0].bytes.slice();
        b[b.length - 1]! ^= 1;
        recs[0] = { gen: recs[0].gen, bytes: b };
        flipped++;
      }
      return recs;
    },
  });
  const { store } = await emptyStore();
  await assert.rejects(syncStateInto(store, net.genesis, ROOT, m, src), (e: unknown) => e instanceof StateSyncError && e.reason === 'tampered');
  assert.equal(flipped, 1);
  assert.equal(await store.head(), undefined, 'no head written');
  // a record of another root, answered for the root asked: refused too
  const { store: s2 } = await emptyStore();
  const other = (await w.snapshot(0))!.snapshot.stateRoot;
  const swap = sourceOf(w, { records: (l, recs) => (l[0]!.length === 32 ? decodeRecordsOf(w, other) : recs) });
  await assert.rejects(syncStateInto(s2, net.genesis, ROOT, m, swap), (e: unknown) => e instanceof StateSyncError && e.reason === 'tampered');
  assert.equal(await s2.head(), undefined);
  await store.close();
  await s2.close();
});

async function decodeRecordsOf(w: Shard, root: Uint8Array): Promise<Recs> {
  return [await w.nodeRecord(root)];
}

test('a missing record or a withheld account is refused; a sync killed half-way resumes with the records already written', async () => {
  const net = replicatedNet();
  const w = await writerWithHistory(net, 3, 300);
  const m = await manifestOf(w);
  const { store: a } = await emptyStore();
  let n = 0;
  await assert.rejects(syncStateInto(a, net.genesis, ROOT, m, sourceOf(w, { records: (_l, r) => (++n === 2 ? [undefined, ...r.slice(1)] : r) })), (e: unknown) => e instanceof StateSyncError && e.reason === 'missing');
  assert.equal(await a.head(), undefined);
  await a.close();
  const { store: b } = await emptyStore();
  await assert.rejects(syncStateInto(b, net.genesis, ROOT, m, sourceOf(w, { addresses: (x) => x.slice(1) })), (e: unknown) => e instanceof StateSyncError && e.reason === 'incomplete');
  assert.equal(await b.head(), undefined);
  await b.close();
  // killed after its first batch of records (the source dies), then started again
  const { dir, store: c } = await emptyStore();
  let k = 0;
  const dying = sourceOf(w, {
    records: (_l, r) => {
      if (++k > 1) throw new Error('killed');
      return r;
    },
  });
  await assert.rejects(syncStateInto(c, net.genesis, ROOT, m, dying), /killed/);
  assert.equal(await c.head(), undefined);
  const st = await syncStateInto(c, net.genesis, ROOT, m, sourceOf(w));
  assert.ok(st.reused > 0, `records written before the kill are reused (${JSON.stringify(st)})`);
  await c.close();
  const f = await openShard(net, 2, dir);
  assert.equal(f.sumBalances(), w.sumBalances());
  assert.equal(f.latestEpoch(), w.latestEpoch());
});

test('the snapshot to sync to: signed by the writer it names, of this shard, not of a deposed term, never one of two for an epoch', async () => {
  const net = replicatedNet();
  const w = await writerWithHistory(net, 3, 30);
  const m2 = await manifestOf(w); // epoch 2, term 2
  const m1 = { ...m2, signed: (await w.snapshot(1))! };
  const resign = (s: SignedSnapshot, change: Partial<SignedSnapshot['snapshot']>, key = net.validators.get(ROOT)!): SignedSnapshot => signSnapshot({ ...s.snapshot, ...change }, key.secretKey);
  const pick = (...ms: Manifest[]) => syncCandidates(net.genesis, ROOT, ms.map((manifest, from) => ({ from, manifest })));
  assert.deepEqual(pick(m1, m2).candidates.map((c) => c.manifest.signed.snapshot.epoch), [2, 1], 'best first');
  // signed by a key other than the writer it names
  assert.equal(pick({ ...m2, signed: resign(m2.signed, {}, seedKey('replica', 1)) }).candidates.length, 0);
  assert.equal(pick({ ...m2, signed: resign(m2.signed, { shard: '0' as ShardId }) }).candidates.length, 0, 'another shard');
  // a later epoch under a lower term than an earlier one: a deposed writer's
  const deposed = { ...m2, signed: resign(m2.signed, { replica: { term: 1n, writer: 0 } }) };
  const r = pick(m1, deposed);
  assert.deepEqual(r.candidates.map((c) => c.manifest.signed.snapshot.epoch), [1]);
  assert.match(r.refused[0]!.why, /term/);
  // two different snapshots of one epoch: neither
  const fork = { ...m2, signed: resign(m2.signed, { supply: m2.signed.snapshot.supply + 1n }) };
  assert.deepEqual(pick(m1, m2, fork).candidates.map((c) => c.manifest.signed.snapshot.epoch), [1]);
  // when to sync
  assert.equal(needsStateSync(-1, m2, [0], 256), false, 'a short history is replayed (and kept)');
  assert.equal(needsStateSync(-1, m2, [0], 1), true, 'a new or wiped replica more than N epochs behind syncs');
  assert.equal(needsStateSync(1, m2, [0], 1), false);
  assert.equal(needsStateSync(0, m2, [2], 256), true, 'a replica that cannot serve the next entry: sync');
  assert.equal(needsStateSync(2, m2, [3], 0), false, 'never to an epoch not ahead');
  assert.equal(needsStateSync(-1, undefined, [], 0), false, 'nothing to sync to (a new replica set)');
});

test('state requests: strict decoding, bounded counts', () => {
  const base = { network: 'n', shard: '', replica: 1, at: 5 };
  const loc = new Uint8Array(36);
  const r = decodeStateRequest(encodeStateRequest({ ...base, kind: 'records', locators: [loc, new Uint8Array(32)] }));
  assert.equal(r.kind, 'records');
  assert.throws(() => encodeStateRequest({ ...base, kind: 'records', locators: Array.from({ length: MAX_LOCATORS + 1 }, () => loc) }), RangeError);
  const bad = encodeStateRequest({ ...base, kind: 'records', locators: [loc] });
  assert.throws(() => decodeStateRequest(bad.slice(0, -1)), /truncated/);
  assert.throws(() => decodeStateRequest(new Uint8Array([...bad, 0])), /trailing/);
  const badLen = bad.slice();
  badLen[badLen.length - 37] = 33;
  assert.throws(() => decodeStateRequest(badLen), /locator of 33 bytes/);
  assert.throws(() => decodeStateRequest(encodeStateRequest({ ...base, kind: 'addresses', after: null, limit: 0 })), /limit 0/);
});

test('a replica without its vote record votes in no term up to the highest one it hears from every other replica', () => {
  // it voted in term 5 for replica 0, then lost its disk; replica 0 holds term >= 5 durably
  const a = new VoteAmnesia(1, 3);
  a.heard(2, 4n);
  assert.equal(a.recovered(), undefined, 'not before every other replica was heard (the one holding the lost vote may be any)');
  assert.deepEqual(a.missing(), [0]);
  a.heard(0, 5n);
  assert.equal(a.recovered(), undefined, 'not before it holds what a writer of term >= 5 holds (a commit counted on its lost disk may live on one replica only)');
  assert.equal(a.catchingUp(), true);
  a.writerAnswer(4n, 10, 10);
  a.writerAnswer(5n, 10, 9);
  assert.equal(a.recovered(), undefined, 'an older term\'s writer, or a head short of the writer\'s, is not enough');
  a.writerAnswer(5n, 10, 10);
  const s = a.recovered()!;
  assert.deepEqual(s, { term: 5n, votedFor: LOST_VOTE });
  assert.equal(a.catchingUp(), false);
  const own = { lastTerm: 5n, lastEpoch: 10 };
  const req = (term: bigint, candidate: number) => ({ term, candidate, lastTerm: 5n, lastEpoch: 10 });
  for (const c of [0, 2]) {
    assert.equal(decideVote(s, own, req(5n, c), 0, []).grant, false, `no second vote in term 5 (candidate ${c})`);
    assert.equal(decideVote(s, own, req(4n, c), 0, []).grant, false);
  }
  assert.equal(decideVote(s, own, req(6n, 2), 0, []).grant, true, 'a later term votes as usual');
  // the floor is the highest term heard, whatever the order; its own index and strangers do not count
  assert.equal(recoveredVoteState(new Map([[0, 3n], [2, 9n]]), 1, 3)!.term, 9n);
  assert.equal(recoveredVoteState(new Map([[1, 9n], [2, 3n]]), 1, 3), undefined);
  const b = new VoteAmnesia(0, 3);
  b.heard(0, 100n);
  b.heard(7, 100n);
  b.heard(1, 0n);
  b.heard(2, 0n);
  assert.equal(b.recovered()!.term, 0n, 'a new replica set (no writer ever, nothing committed): every vote from term 1 on, at once');
  // a writer's answer before every replica was heard does not count: the floor was not known yet
  const c = new VoteAmnesia(2, 3);
  c.writerAnswer(3n, 4, 4);
  c.heard(0, 3n);
  c.heard(1, 3n);
  assert.equal(c.recovered(), undefined);
  c.writerAnswer(3n, 6, 6);
  assert.equal(c.recovered()!.term, 3n);
});

test('the failover test\'s lost commit: a wiped voter cannot elect a candidate missing committed epochs', () => {
  // Found by test/replicas/failover.test.ts at load 25: replica 1 (writer, term 2) committed epochs
  // 39-47 with replica 2's acks; replica 2 lost its disk; replica 0 came back holding epoch 38 only.
  // Replica 2, having heard every term (floor 2), voted for replica 0 in term 4: replica 0 became
  // writer from epoch 39 and would have sealed over the committed 39-47 held by replica 1 alone.
  const wiped = new VoteAmnesia(2, 3);
  wiped.heard(0, 3n);
  wiped.heard(1, 3n);
  assert.equal(wiped.recovered(), undefined, 'replica 2 grants no vote in term 4 while it holds nothing of a writer of term >= 3');
  // replica 1 (epoch 50) wins term 4 with replica 0's vote (0 is behind, so it grants; 1 refuses 0)
  const r0 = { term: 3n, votedFor: null };
  assert.equal(decideVote(r0, { lastTerm: 1n, lastEpoch: 38 }, { term: 4n, candidate: 1, lastTerm: 2n, lastEpoch: 50 }, 0, []).grant, true);
  assert.equal(decideVote({ term: 3n, votedFor: null }, { lastTerm: 2n, lastEpoch: 50 }, { term: 4n, candidate: 0, lastTerm: 1n, lastEpoch: 38 }, 0, []).grant, false);
  // then replica 2 follows the new writer and votes again once it holds the writer's epochs
  wiped.writerAnswer(4n, 52, 52);
  assert.deepEqual(wiped.recovered(), { term: 3n, votedFor: LOST_VOTE });
});

test('a replica that discarded its epochs after diverging keeps its vote record and votes again only once it holds a writer\'s epochs; the mark survives a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-catchup-'));
  try {
    writeVoteState(dir, { term: 4n, votedFor: 1 });
    writeFileSync(join(dir, 'epochs'), 'x');
    wipeDataDir(dir, { catchUp: true });
    assert.deepEqual(readdirSync(dir).sort(), [CATCH_UP_FILE, VOTE_FILE].sort(), 'the vote record and the mark stay, the data goes');
    assert.ok(hasCatchUpMark(dir));
    assert.deepEqual(readVoteState(dir), { term: 4n, votedFor: 1 });
    const a = new VoteAmnesia(0, 3, readVoteState(dir).term);
    assert.deepEqual(a.missing(), [], 'it knows its vote: no need to hear every replica');
    assert.equal(a.recovered(), undefined);
    a.writerAnswer(3n, 20, 20);
    assert.equal(a.recovered(), undefined, 'a writer of a term below its record is not enough');
    a.writerAnswer(4n, 20, 12);
    assert.equal(a.recovered(), undefined);
    a.writerAnswer(5n, 20, 20);
    assert.ok(a.recovered());
    setCatchUpMark(dir, false);
    assert.equal(hasCatchUpMark(dir), false);
    // a far-behind replica that wipes itself before a state sync: no mark
    wipeDataDir(dir, { catchUp: false });
    assert.equal(hasCatchUpMark(dir), false);
    assert.deepEqual(readVoteState(dir), { term: 4n, votedFor: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
