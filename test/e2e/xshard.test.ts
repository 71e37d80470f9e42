// End to end, cross-shard transfers in a 9-shard network on loopback (`smt cluster up`: 9 real node
// processes with libp2p gossip). Properties checked:
//  - many transfers to addresses homed on other shards, submitted through the API, each end up
//    credited exactly once on the destination (GET /v1/tx/:id shows both halves: debited at the
//    source epoch, credited at the destination epoch; every balance equals genesis + credits -
//    debits, so nothing was credited twice or lost);
//  - every final global snapshot's conservation check holds (sum of balances + in flight + burned
//    fees = genesis supply), and `smt tx status` prints both halves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { loadGenesis, totalSupply, type Genesis } from '../../src/core/genesis.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { loadLayout } from '../../src/cluster/cluster.js';
import { apiUrl, findFreePortBases } from '../../src/cluster/supervisor.js';
import type { ClusterLayout, ShardProcessLayout } from '../../src/cluster/layout.js';
import { sleep } from '../support/wait.js';
import { smt } from '../support/process.js';
import { teardownCluster } from '../support/cluster.js';
import { getJson as httpGetJson, type JsonAnswer } from '../support/http.js';

// Proving has its own end-to-end test (proof.test.ts); here it would only compete for the cores.
process.env.SMT_NO_PROVE ??= '1';

const EPOCH_MS = 1000;
const tmp = mkdtempSync(join(tmpdir(), 'smt-e2e-xshard-'));
const netDir = join(tmp, 'net');
let layout: ClusterLayout;
let genesis: Genesis;

// generous timeout and retries: the machine may be busy (other clusters, provers)
const getJson = <T = any>(u: string): Promise<JsonAnswer<T>> => httpGetJson<T>(u, 15_000, 2);
const url = (s: ShardProcessLayout): string => apiUrl(s);
const byShard = (id: string): ShardProcessLayout => layout.shards.find((s) => s.shard === id)!;

before(async () => {
  const [apiBase, p2pBase] = await findFreePortBases(9);
  const up = await smt(['cluster', 'up', '--network', netDir, '--depth', '2', '--epoch-ms', String(EPOCH_MS), '--accounts', '36',
    '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', '120'], 150_000); // generous: shared CI machines
  assert.equal(up.code, 0, `cluster up failed:\n${up.stdout}\n${up.stderr}`);
  layout = loadLayout(netDir);
  genesis = loadGenesis(join(netDir, 'genesis.json'));
});

after(async () => {
  await teardownCluster(netDir, layout, tmp);
});

test('cross-shard transfers through the API are credited exactly once, and every global snapshot conserves supply', { timeout: 240_000 }, async () => {
  const accounts = JSON.parse(readFileSync(join(netDir, 'accounts.json'), 'utf8')) as { index: number; address: string; shard: string; keyFile: string }[];
  const before = new Map<string, bigint>();
  for (const a of accounts) before.set(a.address, BigInt((await getJson(`${url(byShard(a.shard))}/v1/account/${a.address}`)).body.balance));
  const startGlobal = (await getJson(`${url(layout.shards[0]!)}/v1/global/latest`)).body.epoch as number;
  // every account sends 3 transfers to accounts homed on other shards (nonces 0..2), all at once
  const expected = new Map(before);
  const sent: { txid: string; src: string; dst: string }[] = [];
  const PER = 3;
  await Promise.all(accounts.map(async (a, i) => {
    const key = loadKeyFile(join(netDir, a.keyFile));
    const others = accounts.filter((x) => x.shard !== a.shard);
    const txs: string[] = [];
    for (let k = 0; k < PER; k++) {
      const to = others[(i * 7 + k * 5) % others.length]!;
      const amount = 100n + BigInt(i * PER + k);
      const t = { network: genesis.networkId, from: key.keyPair.publicKey, to: fromHex(to.address, 20), amount, fee: 1n, nonce: BigInt(k), ts: BigInt(Date.now()) << 16n };
      txs.push(toHex(encodeSignedTx(signTransfer(t, key.keyPair.secretKey))));
      expected.set(a.address, expected.get(a.address)! - amount - 1n);
      expected.set(to.address, expected.get(to.address)! + amount);
      sent.push({ txid: txIdHex(t), src: a.shard, dst: to.shard });
    }
    const r = await fetch(`${url(byShard(a.shard))}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs }) });
    const body = (await r.json()) as any;
    const results = (body.results ?? [body]) as { txid: string; status: string }[];
    assert.equal(results.length, PER, JSON.stringify(body));
    for (const x of results) assert.equal(x.status, 'accepted', JSON.stringify(x));
  }));
  assert.equal(sent.length, accounts.length * PER);
  // every transfer: debited on its source, credited on its destination exactly once
  const deadline = Date.now() + 60_000;
  const pending = new Set(sent.map((s) => s.txid));
  const halves = new Map<string, { debitEpoch: number; creditEpoch: number }>();
  while (pending.size > 0 && Date.now() < deadline) {
    await Promise.all(sent.filter((s) => pending.has(s.txid)).map(async (s) => {
      const src = (await getJson(`${url(byShard(s.src))}/v1/tx/${s.txid}`)).body;
      if (src.status !== 'committed') return;
      assert.equal(src.crossShard?.srcShard, s.src);
      assert.equal(src.crossShard?.dstShard, s.dst);
      assert.match(String(src.crossShard?.seq), /^\d+$/, 'the source names the receipt (seq)');
      // the destination finds the credit half by the receipt (source, seq)
      const dst = (await getJson(`${url(byShard(s.dst))}/v1/tx/${s.txid}?src=${s.src}&seq=${src.crossShard.seq}`)).body;
      if (!dst.credit) return;
      assert.equal(dst.credit.srcShard, s.src);
      assert.equal(dst.credit.srcEpoch, src.epoch, 'credited from the epoch that debited it');
      assert.equal(dst.credit.seq, src.crossShard.seq);
      halves.set(s.txid, { debitEpoch: src.epoch, creditEpoch: dst.credit.epoch });
      pending.delete(s.txid);
    }));
    if (pending.size > 0) await sleep(1000);
  }
  if (pending.size > 0) {
    const s = sent.find((x) => pending.has(x.txid))!;
    const src = (await getJson(`${url(byShard(s.src))}/v1/tx/${s.txid}`)).body;
    const dst = (await getJson(`${url(byShard(s.dst))}/v1/tx/${s.txid}?src=${s.src}&seq=${src.crossShard?.seq ?? 0}`)).body;
    console.log('pending example', JSON.stringify({ s, srcStatus: src.status, crossShard: src.crossShard, dst: dst.status, credit: dst.credit }));
  }
  assert.equal(pending.size, 0, `${pending.size} of ${sent.length} transfers not credited within 60 s`);
  for (const h of halves.values()) assert.ok(h.creditEpoch >= h.debitEpoch);
  const lat = [...halves.values()].map((h) => h.creditEpoch - h.debitEpoch).sort((a, b) => a - b);
  console.log(`# debit-to-credit latency in the cluster (epochs of ${EPOCH_MS} ms): p50 ${lat[Math.floor(lat.length / 2)]} p99 ${lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))]} max ${lat.at(-1)} (n=${lat.length})`);
  // exactly once: every balance is genesis + credits - debits (a double credit or a lost one shows)
  await sleep(EPOCH_MS * 2);
  await Promise.all(accounts.map(async (a) => {
    const bal = BigInt((await getJson(`${url(byShard(a.shard))}/v1/account/${a.address}`)).body.balance);
    assert.equal(bal, expected.get(a.address), `balance of ${a.address} on ${a.shard}`);
  }));
  // conservation in every final global snapshot since the start, and the consistent-cut field
  const node = layout.shards[0]!;
  const last = (await getJson(`${url(node)}/v1/global/latest`)).body.epoch as number;
  let checked = 0;
  // 16 at a time: a node serves at most 256 connections per client address (docs/SECURITY.md §5)
  const globals: { status: number; body: any }[] = [];
  for (let e = startGlobal; e <= last; e += 16) {
    globals.push(...(await Promise.all(Array.from({ length: Math.min(16, last - e + 1) }, (_, k) => getJson(`${url(node)}/v1/global/${e + k}`)))));
  }
  for (const [k, g] of globals.entries()) {
    const e = startGlobal + k;
    if (g.status !== 200) continue;
    const c = g.body.conservation;
    assert.ok(c, 'global snapshot reports conservation');
    assert.equal(c.genesisSupply, totalSupply(genesis).toString());
    assert.equal(c.holds, true, `epoch ${e}: ${JSON.stringify(c)}`);
    assert.equal(BigInt(c.supply) + BigInt(c.inFlight) + BigInt(c.burnedFees), totalSupply(genesis));
    assert.ok('consistentCut' in g.body);
    checked++;
  }
  assert.ok(checked >= 3, `checked ${checked} global snapshots`);
  const lastG = (await getJson(`${url(node)}/v1/global/${last}`)).body.conservation;
  assert.equal(BigInt(lastG.burnedFees) >= BigInt(sent.length), true, 'the fees of all transfers are burned in the global totals');
  // the CLI prints both halves
  const one = sent[0]!;
  const st = await smt(['tx', 'status', one.txid, '--node', url(byShard(one.src)), '--network', netDir], 30_000);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`debited:\\s+shard ${one.src} epoch \\d+`));
  assert.match(st.stdout, /credited:\s+shard [012]{2} epoch \d+ \(receipt seq \d+\)/);
});
