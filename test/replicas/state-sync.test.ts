// Issue #15: a replica whose whole data directory (vote record included) is deleted under load
// resyncs by STATE SYNC from another replica's latest committed snapshot, not by replaying from
// genesis (its status says the epoch it synced at, it holds no snapshot before it, its log says so);
// its balances equal the writer's, no transfer acknowledged committed is lost, supply is conserved.
// It withholds its vote until it has heard every other replica's term, then votes: with the writer
// killed, it and the other follower elect a new writer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplicaSet, assertBalancesReplay, bankLoad } from './replica-set.js';
import { sleep, until } from '../support/wait.js';
import { tryGetJson } from '../support/http.js';
import { toHex } from '../../src/core/bytes.js';
import { generateKeyPair } from '../../src/core/ed25519.js';
import { signMessage } from '../../src/replica/messages.js';
import { encodeStateRequest } from '../../src/replica/state-sync-codec.js';

let set: ReplicaSet | undefined;
after(async () => set?.teardown());

interface Account { balance: string; nonce: string; epoch: number; stateRoot: string }

test('wipe a follower\'s data dir under load: it resyncs by state sync (not from genesis), nothing is lost, and its vote comes back', { timeout: 360_000 }, async () => {
  // a wiped replica more than 10 epochs behind syncs state (the default threshold is 256 epochs)
  process.env.SMT_STATE_SYNC_AFTER = '10';
  set = await ReplicaSet.create({ epochMs: 500, accounts: 8 });
  const s = set;
  s.startAll();
  const w0 = await until('a writer with a committed epoch', 150_000, () => s.writer());
  const load = bankLoad(s, 6);
  await until('20 epochs and some committed transfers', 60_000, async () => ((await s.status(w0))!.committed >= 20 && load.acked.size >= 10 ? true : undefined));
  const f = [0, 1, 2].find((i) => i !== w0)!;
  s.kill9(f);
  s.wipe(f);
  await sleep(1500);
  const wiped = (await s.status(w0))!.committed;
  const restartAt = Date.now();
  s.start(f);
  const st = await until('the wiped follower caught up', 60_000, async () => {
    const x = await s.status(f);
    return x?.role === 'follower' && x.lag <= 2 && x.syncedAt !== undefined && !x.votesWithheld ? x : undefined;
  });
  const restartedMs = Date.now() - restartAt;
  const log = s.log(f);
  console.log(JSON.stringify({ wipedAtCommitted: wiped, syncedAt: st.syncedAt, restartedMs, line: log.split('\n').find((l) => l.includes('state sync complete')) }));
  assert.ok(st.syncedAt! >= wiped - 1, `synced at epoch ${st.syncedAt}, the writer had committed ${wiped} when the replica restarted`);
  assert.match(log, /"replayFromGenesis":false.*"msg":"state sync complete"/);
  assert.equal((await tryGetJson(`${s.urls[f]}/v1/snapshot/0`))?.status, 404, 'it did not replay from genesis: no epoch-0 snapshot');
  // its vote record: written once it heard every other replica, at their highest term, "a vote may have been cast"
  assert.match(log, /no vote record at start: heard every other replica/);
  const vote = readFileSync(join(s.dir, 'data', `r${f}`, 'replica-vote'));
  assert.ok(vote.readBigUInt64BE(1) >= BigInt(st.term), 'its vote record is at least at the term it follows');
  assert.ok(vote[9] === 254 || vote.readBigUInt64BE(1) > BigInt(st.term), 'in that term: "a vote may have been cast" (LOST_VOTE)');

  // the state route refuses what is not a state request signed by another replica of the shard
  const post = async (body: unknown): Promise<number> => (await fetch(`${s.urls[w0]}/v1/replica/state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
  assert.equal(await post({ msg: '0100', sig: '00'.repeat(64) }), 400, 'not a state request');
  const msg = encodeStateRequest({ network: s.genesis.networkId, shard: '', replica: f, at: Date.now(), kind: 'manifest' });
  assert.equal(await post({ msg: toHex(msg), sig: toHex(signMessage('replica-state', msg, generateKeyPair())) }), 403, 'signed by a stranger');

  // its vote counts again: kill the writer; the synced replica and the other follower elect a new one
  const n0 = load.acked.size;
  s.kill9(w0);
  const w1 = await until('a new writer', 60_000, () => s.writer(w0));
  await until('transfers committed under the new writer', 60_000, async () => (load.acked.size >= n0 + 4 ? true : undefined));
  s.start(w0);
  await load.stop();
  const acked = [...load.acked.values()];

  const final = await until('replicas at one committed epoch', 60_000, async () => {
    const all = await s.statuses();
    const w = all.find((x) => x?.role === 'writer');
    return !w || all.some((x) => !x || x.epoch < w.committed) ? undefined : w.committed;
  });
  const ask = <T>(u: string, path: string): Promise<T> => until(`GET ${path}`, 30_000, async () => (await tryGetJson<T>(`${u}${path}`, 5000))?.body);
  const wu = s.urls[w1]!;
  // transaction history: on the replica never wiped (the synced one holds none before its sync point)
  const g = [0, 1, 2].find((i) => i !== w0 && i !== f)!;
  for (const t of acked) assert.equal((await ask<{ status: string }>(s.urls[g]!, `/v1/tx/${t.txid}`)).status, 'committed', `acknowledged transfer ${t.txid} is committed`);
  // balances equal a replay of the committed transfers, on the writer and on the synced replica at one epoch
  const accts = s.accounts();
  const senders = 6;
  const views = await Promise.all(accts.map((a) => ask<Account>(wu, `/v1/account/${a.address}`)));
  const committed = load.sent.filter((t) => BigInt(t.nonce) < BigInt(views[t.from]!.nonce));
  assertBalancesReplay(views, committed, senders);
  await until('the synced replica at the writer\'s epoch', 30_000, async () => ((await s.status(f))!.epoch >= final ? true : undefined));
  const fv = await Promise.all(accts.map((a) => ask<Account>(s.urls[f]!, `/v1/account/${a.address}`)));
  for (let k = 0; k < accts.length; k++) {
    assert.equal(fv[k]!.stateRoot, views[k]!.stateRoot, 'same epoch, same state root');
    assert.equal(fv[k]!.balance, views[k]!.balance, `account ${k} on the synced replica`);
  }
  // every replica holds the same snapshot for each epoch from the latest sync point on (the killed
  // writer may have synced too, if it held epochs the new writer does not)
  const from = Math.max(...(await s.statuses()).map((x) => x?.syncedAt ?? 0));
  for (let e = from; e <= final; e++) {
    const hashes = await Promise.all(s.urls.map((u) => ask<{ snapshot: { hash: string } }>(u, `/v1/snapshot/${e}`)));
    assert.ok(hashes.every((h) => h.snapshot.hash === hashes[0]!.snapshot.hash), `epoch ${e}`);
  }
  for (let i = 0; i < 3; i++) assert.doesNotMatch(s.log(i), /REPLICA STOPPED FOLLOWING/, `replica ${i} never saw a re-execution mismatch`);
});
