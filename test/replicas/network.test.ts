// Issue #15: replicated shards in the triad network. `smt cluster up --depth 1 --replicas 3`: 3
// shards x 3 replicas = 9 real `smt node start --p2p --replica i` processes (SMT_NO_PROVE=1).
//  - cross-shard transfers commit on their home shard, are credited on the destination, and global
//    snapshots finalise (conservation holds in each);
//  - kill -9 one shard's writer under load: a follower takes over; global snapshots keep finalising
//    and include that shard at epochs its new writer sealed; every transfer acknowledged `committed`
//    before the kill is committed after, exactly once (the sender's nonce counts its debit once;
//    balances equal a replay, so no credit is lost or doubled); supply is conserved.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { homeShard } from '../../src/core/address.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { loadGenesis } from '../../src/core/genesis.js';
import type { ShardId } from '../../src/core/ids.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { loadLayout, testAccounts } from '../../src/cluster/cluster.js';
import { replicasOf, type ClusterLayout } from '../../src/cluster/layout.js';
import { apiUrl, findFreePortBases, readPid } from '../../src/cluster/supervisor.js';
import { run } from '../support/process.js';
import { printLogTails, teardownCluster } from '../support/cluster.js';
import { SMT, type ReplicaStatus } from './replica-set.js';
import { sleep, until } from '../support/wait.js';
import { tryGetJson } from '../support/http.js';

const SMT_BIN = process.env.SMT_REPLNET_BIN ?? SMT; // "before" runs point this at another checkout
let cleanup: (() => Promise<void>) | undefined;
after(async () => cleanup?.());

interface Sent { txid: string; hex: string; from: number; to: number; amount: bigint; fee: bigint; nonce: bigint; cross: boolean }
interface GlobalJson { epoch: number; shards: { shard: string; epoch: number; carried: boolean }[]; conservation: { holds: boolean } }

test('depth 1 x 3 replicas: cross-shard transfers and global snapshots survive kill -9 of a shard writer, exactly once', { timeout: 300_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'smt-replnet-'));
  const netDir = join(tmp, 'net');
  const [apiBase, p2pBase] = await findFreePortBases(9);
  let layout: ClusterLayout | undefined;
  cleanup = () => teardownCluster(netDir, layout, tmp);
  let running = true; // the senders' loops
  const trace: { sender: number; home: string; nonce: string; post: string; status: string; url: string; stoppedAt: number }[] = [];
  try {
    const t0 = Date.now();
    const up = await run(process.execPath, [SMT_BIN, 'cluster', 'up', '--network', netDir, '--depth', '1', '--replicas', '3', '--epoch-ms', '1000', '--accounts', '36',
      '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', '150'], 200_000, { ...process.env, SMT_NO_PROVE: '1' });
    try {
      layout = loadLayout(netDir);
    } catch {
      // nothing started
    }
    assert.equal(up.code, 0, `cluster up --replicas 3 failed:\n${up.stdout}\n${up.stderr}`);
    const L = layout!;
    const upMs = Date.now() - t0;
    const genesis = loadGenesis(join(netDir, 'genesis.json'));
    assert.equal(L.shards.length, 9, 'cluster.json lists every replica of every shard');
    const shards = ['0', '1', '2'] as ShardId[];
    const urlsOf = (s: string): string[] => replicasOf(L, s as ShardId).map(apiUrl);
    const status = async (u: string): Promise<ReplicaStatus | undefined> => (await tryGetJson<ReplicaStatus>(`${u}/v1/replica/status`, 1500))?.body;
    const writerOf = async (s: string): Promise<number | undefined> => {
      const st = await Promise.all(urlsOf(s).map(status));
      const w = st.findIndex((x) => x?.role === 'writer' && x.committed >= 0);
      return w < 0 ? undefined : w;
    };
    for (const s of shards) await until(`a writer of shard ${s}`, 60_000, () => writerOf(s));
    const latestGlobal = async (from: string[]): Promise<GlobalJson | undefined> => {
      for (const u of from) {
        const g = await tryGetJson<GlobalJson>(`${u}/v1/global/latest`, 2000);
        if (g?.status === 200) return g.body;
      }
      return undefined;
    };

    // accounts: their home shards; each sender pays an account of the next shard (cross-shard)
    const accts = testAccounts(netDir).map((a) => ({ ...a, home: homeShard(fromHex(a.address, 20), 1), kp: loadKeyFile(a.file).keyPair }));
    const initial = await Promise.all(accts.map(async (a) => {
      const v = await until(`balance of ${a.address}`, 30_000, async () => (await tryGetJson<{ balance: string }>(`${urlsOf(a.home)[0]}/v1/account/${a.address}`, 3000))?.body);
      return BigInt(v.balance);
    }));
    // Two senders per shard. Accounts' homes are random: with 36 accounts a shard holds fewer than
    // two with probability ~3e-5 (with 12, no account at all ~2%: a run that could never pass).
    const senders = shards.flatMap((s) => accts.map((a, i) => ({ a, i })).filter((x) => x.a.home === s).slice(0, 2).map((x) => x.i));
    for (const s of shards) assert.ok(senders.some((k) => accts[k]!.home === s), `shard ${s} holds no test account (homes: ${accts.map((a) => a.home).join('')})`);
    const acked = new Map<string, Sent & { at: number }>();
    const sent: Sent[] = [];
    // per sender, what it last saw: for the failure report (a sender whose transfer is never acknowledged stops)
    for (const k of senders) trace.push({ sender: k, home: accts[k]!.home, nonce: '0', post: '', status: '', url: '', stoppedAt: 0 });
    const loops = senders.map(async (k, j) => {
      const a = accts[k]!;
      const tr = trace[j]!;
      const next = accts.findIndex((b) => b.home !== a.home && b.home === shards[(Number(a.home) + 1) % 3]);
      const same = accts.findIndex((b, i) => i !== k && b.home === a.home);
      let nonce = 0n;
      let rr = j;
      while (running) {
        const to = nonce % 3n === 2n && same >= 0 ? same : next >= 0 ? next : same;
        const amount = BigInt(1 + (Number(nonce) % 5));
        const t = { network: genesis.networkId, from: a.kp.publicKey, to: fromHex(accts[to]!.address, 20), amount, fee: 1n, nonce, ts: 0n };
        const s: Sent = { txid: txIdHex(t), hex: toHex(encodeSignedTx(signTransfer(t, a.kp.secretKey))), from: k, to, amount, fee: 1n, nonce, cross: accts[to]!.home !== a.home };
        sent.push(s);
        const deadline = Date.now() + 60_000;
        // resubmit the same bytes to the home shard's replicas in turn (a follower forwards to the writer) until one says committed
        while (running && Date.now() < deadline && !acked.has(s.txid)) {
          const urls = urlsOf(a.home);
          const url = urls[rr++ % urls.length]!;
          tr.url = url;
          tr.nonce = String(nonce);
          try {
            const r = await fetch(`${url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: s.hex }), signal: AbortSignal.timeout(3000) });
            tr.post = `${r.status} ${(await r.text()).slice(0, 160)}`;
          } catch (e) {
            tr.post = `no answer: ${(e as Error).message}`;
            continue; // that replica is down
          }
          for (const end = Date.now() + 4000; running && Date.now() < end;) {
            const st = await tryGetJson<{ status: string }>(`${url}/v1/tx/${s.txid}`, 1500);
            tr.status = st ? `${st.status} ${JSON.stringify(st.body).slice(0, 120)}` : 'no answer';
            if (st?.body?.status === 'committed') {
              acked.set(s.txid, { ...s, at: Date.now() });
              break;
            }
            if (!st) break;
            await sleep(200);
          }
        }
        if (!acked.has(s.txid)) {
          tr.stoppedAt = Date.now();
          return;
        }
        nonce++;
      }
    });

    await until('transfers committed, some cross-shard', 90_000, async () => ([...acked.values()].filter((t) => t.cross).length >= 6 ? true : undefined), 500);
    const g1 = await until('a global snapshot', 30_000, () => latestGlobal(urlsOf('0')));

    // kill -9 the writer of shard 1 under load
    const victim = '1' as ShardId;
    const w0 = (await until('the writer of shard 1', 30_000, () => writerOf(victim)))!;
    const committedAtKill = (await status(urlsOf(victim)[w0]!))!.committed;
    const ackedBefore = new Map(acked);
    const killedAt = Date.now();
    process.kill(readPid(netDir, replicasOf(L, victim)[w0]!)!, 'SIGKILL');
    const w1 = await until('a new writer of shard 1', 60_000, async () => {
      const st = await Promise.all(urlsOf(victim).map(async (u, i) => (i === w0 ? undefined : status(u))));
      const i = st.findIndex((x) => x?.role === 'writer');
      return i < 0 ? undefined : i;
    });
    const takeoverMs = Date.now() - killedAt;
    // global snapshots keep finalising, with shard 1 at an epoch its new writer sealed
    const others = [...urlsOf('0'), ...urlsOf('2')];
    const gAfter = await until('a global snapshot with shard 1 past the kill', 60_000, async () => {
      const g = await latestGlobal(others);
      const c = g?.shards.find((x) => x.shard === victim);
      return g && c && !c.carried && c.epoch > committedAtKill ? g : undefined;
    }, 100);
    const failoverMs = Date.now() - killedAt;
    const nAfter = acked.size;
    await until('transfers of every shard committed after the takeover', 60_000, async () => {
      const late = [...acked.values()].filter((t) => t.at > killedAt + takeoverMs);
      return acked.size >= nAfter + 6 && shards.every((s) => late.some((t) => accts[t.from]!.home === s)) ? true : undefined;
    }, 500);
    running = false;
    await Promise.all(loops);

    // every acknowledged transfer is committed on its home shard's writer, exactly once
    const home = async (s: string): Promise<string> => urlsOf(s)[(await until(`writer of ${s}`, 30_000, () => writerOf(s)))]!;
    const ask = async <T>(s: string, path: string): Promise<T> => until(`GET ${path}`, 30_000, async () => (await tryGetJson<T>(`${await home(s)}${path}`, 5000))?.body);
    for (const t of [...ackedBefore.values(), ...acked.values()]) {
      const st = await ask<{ status: string }>(accts[t.from]!.home, `/v1/tx/${t.txid}`);
      assert.equal(st.status, 'committed', `transfer ${t.txid} (sender ${t.from}, nonce ${t.nonce}) was acknowledged committed`);
    }
    // quiesce: credits of cross-shard transfers arrive once their source epochs are final; then every
    // balance equals the replay of the committed transfers (a lost or doubled credit never converges)
    let last = '';
    await until('balances equal the replay of committed transfers', 90_000, async () => {
      const views = await Promise.all(accts.map((a) => ask<{ balance: string; nonce: string }>(a.home, `/v1/account/${a.address}`)));
      const committed = sent.filter((t) => t.nonce < BigInt(views[t.from]!.nonce));
      const expected = [...initial];
      for (const t of committed) {
        expected[t.from]! -= t.amount + t.fee;
        expected[t.to]! += t.amount;
      }
      const got = views.map((v) => BigInt(v.balance));
      last = JSON.stringify({ expected: expected.map(String), got: got.map(String) });
      for (const t of acked.values()) assert.ok(t.nonce < BigInt(views[t.from]!.nonce), `acknowledged ${t.txid} below its sender's committed nonce`);
      return got.every((b, k) => b === expected[k]) ? committed : undefined;
    }, 1000).catch((e: Error) => {
      throw new Error(`${e.message}; last view ${last}`);
    });
    const gEnd = await until('a later global snapshot', 30_000, async () => {
      const g = await latestGlobal(others);
      return g && g.epoch > gAfter.epoch ? g : undefined;
    });
    for (const g of [g1, gAfter, gEnd]) assert.equal(g.conservation.holds, true, `global ${g.epoch}: supply conserved`);
    const cross = [...acked.values()].filter((t) => t.cross).length;
    console.log(JSON.stringify({ upMs, takeoverMs, failoverMs, failoverEpochs: failoverMs / genesis.epochMs, writers: [w0, w1], acked: acked.size, ackedBeforeKill: ackedBefore.size, cross, globals: [g1.epoch, gAfter.epoch, gEnd.epoch] }));
  } catch (e) {
    running = false;
    printLogTails(netDir, layout); // CI keeps only the test output
    if (layout) {
      // last, so that a truncated CI log keeps it: who was writer, and what each sender last saw
      for (const s of layout.shards) console.log(`replica ${s.shard}.r${s.replica ?? 0}: ${JSON.stringify((await tryGetJson(`${apiUrl(s)}/v1/replica/status`, 1500))?.body ?? 'no answer').slice(0, 300)}`);
      for (const t of trace) console.log(`sender ${t.sender} (shard ${t.home}) nonce ${t.nonce}${t.stoppedAt ? ` stopped ${new Date(t.stoppedAt).toISOString()}` : ''} at ${t.url}: POST ${t.post} | status ${t.status}`);
    }
    throw e;
  }
});
