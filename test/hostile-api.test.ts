// Hostile inputs, part 2: the HTTP API of a real `smt node start` process (depth 0, 127.0.0.1, port 0).
// Properties checked:
//  - malformed JSON -> 400, body over the limit -> 413, wrong content type -> 415, unknown route ->
//    404, wrong method -> 405, malformed hex / wrong lengths / bad addresses / bad epochs -> 400,
//    each with the `{error:{code,message}}` shape and nothing else;
//  - none of it changes the node's state (same balances, nonces and state root afterwards);
//  - a flood of valid submissions far above what the mempool admits (--mempool-max) meets
//    back-pressure (503 + Retry-After), the node stays responsive, its resident memory stays bounded
//    (VmRSS from /proc/<pid>/status before/after, printed), and every transaction it accepted commits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../src/core/bytes.js';
import { loadGenesis, type Genesis } from '../src/core/genesis.js';
import { loadKeyFile, type LoadedKey } from '../src/core/keyfile.js';
import { generateKeyPair } from '../src/core/ed25519.js';
import { addressFromPublicKey } from '../src/core/address.js';
import { encodeSignedTx, signTransfer } from '../src/shard/tx.js';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { sleep } from './support/wait.js';
import { startNode } from './support/process.js';

const EPOCH_MS = 1000;
const MEMPOOL_MAX = 500;
const ACCOUNTS = 4;
/** Growth of resident memory allowed across the flood (the mempool bound times ~1 KiB per tx, plus heap slack). */
// Bounded state under a flood: mempool (MEMPOOL_MAX), the memo of rejected txids (100k entries,
// ~35 MB), request buffers. The sharp check is the heap cap (HEAP_CAP_MB): the node must survive two
// flood phases under it. RSS (which also holds V8's lazily collected garbage) gets a loose ceiling.
const HEAP_CAP_MB = 256;
const RSS_GROWTH_BOUND_MB = 450;

const tmp = mkdtempSync(join(tmpdir(), 'smt-hostile-api-'));
const netDir = join(tmp, 'net');
let proc: ChildProcess;
let url = '';
let genesis: Genesis;
let keys: LoadedKey[] = [];

before(async () => {
  execFileSync(process.execPath, [SMT_BIN, 'network', 'init', '--dir', netDir, '--accounts', String(ACCOUNTS), '--epoch-ms', String(EPOCH_MS), '--network-id', 'hostile-api'], { stdio: 'ignore' });
  genesis = loadGenesis(join(netDir, 'genesis.json'));
  keys = Array.from({ length: ACCOUNTS }, (_, i) => loadKeyFile(join(netDir, 'accounts', `${i}.key`)));
  // The node's JS heap is capped: if a flood made memory grow without bound, the node would die
  // (out of memory) instead of answering 503s. RSS figures are printed for the record.
  const node = await startNode(['--network', netDir, '--api', '127.0.0.1:0', '--log-level', 'warn', '--mempool-max', String(MEMPOOL_MAX)], { nodeFlags: [`--max-old-space-size=${HEAP_CAP_MB}`] });
  proc = node.proc;
  url = node.url;
});

after(() => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url + path, { method, body, headers, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = { unparsable: text.slice(0, 200) }; }
  return { status: res.status, headers: res.headers, json };
}

function assertErrorShape(r: { status: number; json: any }, status: number, what: string): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
  assert.ok(r.json && typeof r.json.error === 'object', `${what}: error object`);
  assert.equal(typeof r.json.error.code, 'string', `${what}: error.code`);
  assert.equal(typeof r.json.error.message, 'string', `${what}: error.message`);
}

/** Everything observable about the ledger: balances and nonces of all accounts, and the latest snapshot root. */
async function ledgerState(): Promise<string> {
  const accts = await Promise.all(keys.map(async (k) => (await call('GET', `/v1/account/${toHex(k.address)}`)).json));
  return JSON.stringify(accts.map((a) => [a.address, a.balance, a.nonce, a.pendingNonce]));
}

async function settled(): Promise<void> {
  // no pending tx and at least one more sealed epoch
  const e0 = (await call('GET', '/v1/health')).json.epoch;
  for (let i = 0; i < 200; i++) {
    const h = (await call('GET', '/v1/health')).json;
    if (h.mempool === 0 && h.epoch >= e0 + 2) return;
    await sleep(100);
  }
  throw new Error('node did not settle');
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const tx = (k: LoadedKey, nonce: bigint, amount = 1n, to: Uint8Array = new Uint8Array(20).fill(9)): string =>
  toHex(encodeSignedTx(signTransfer({ network: genesis.networkId, from: k.keyPair.publicKey, to, amount, fee: 1n, nonce, ts: BigInt(Date.now()) << 16n }, k.keyPair.secretKey)));

test('malformed requests answer 4xx with {error:{code,message}} and change nothing', { timeout: 60_000 }, async () => {
  await settled();
  const state0 = await ledgerState();
  const root0 = (await call('GET', '/v1/snapshot/latest')).json.snapshot.stateRoot;
  const J = { 'content-type': 'application/json' };
  const good = tx(keys[0]!, 0n);

  // malformed JSON
  for (const b of ['{"tx": ', '{tx: "00"}', '\u0000', '{"tx":"' + good + '"', 'nul', '{"txs":[' + '"00",'.repeat(50) + ']}']) {
    assertErrorShape(await call('POST', '/v1/tx', b, J), 400, `malformed JSON ${JSON.stringify(b.slice(0, 20))}`);
  }
  // over the body limit (1 MiB), with a declared length and streamed without one
  assertErrorShape(await call('POST', '/v1/tx', Buffer.alloc((1 << 20) + 10, 0x20), J), 413, 'body over 1 MiB');
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request(url + '/v1/tx', { method: 'POST', headers: { ...J, 'transfer-encoding': 'chunked' } }, (res) => { res.resume(); resolve(res.statusCode!); });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(413) : reject(e)));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent <= (1 << 20) + chunk.length) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  assert.equal(chunked, 413, 'streamed body over the limit');
  // a batch over the transaction count limit
  assertErrorShape(await call('POST', '/v1/tx', JSON.stringify({ txs: Array(10_001).fill('00') }), J), 413, 'batch of 10001');
  // wrong content types (and none)
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
    assertErrorShape(await call('POST', '/v1/tx', JSON.stringify({ tx: good }), { 'content-type': ct }), 415, `content type ${ct}`);
  }
  assertErrorShape(await call('POST', '/v1/tx', new Blob([JSON.stringify({ tx: good })]) as unknown as string), 415, 'no content type');
  // unknown routes (/ is the explorer page)
  for (const p of ['/nope', '/v2/tx', '/v1/tx/' + '00'.repeat(32) + '/x', '/v1/accounts/00', '/../etc/passwd', '/v1/%2e%2e/health', '/v1/global/0']) {
    assertErrorShape(await call('GET', p), 404, `route ${p}`);
  }
  // wrong methods
  for (const [m, p] of [['DELETE', '/v1/tx'], ['PUT', '/v1/tx'], ['GET', '/v1/tx'], ['POST', '/v1/health'], ['PATCH', '/v1/snapshot/latest']] as const) {
    const r = await call(m, p, m === 'GET' ? undefined : '{}', m === 'GET' ? {} : J);
    assertErrorShape(r, 405, `${m} ${p}`);
    assert.ok(r.headers.get('allow'), `${m} ${p}: Allow header`);
  }
  // malformed hex, wrong lengths, bad addresses, bad epochs in paths
  for (const p of ['/v1/tx/zz', '/v1/tx/' + '00'.repeat(31), '/v1/tx/' + '00'.repeat(33), '/v1/tx/' + 'g'.repeat(64), '/v1/account/123', '/v1/account/' + 'g'.repeat(40),
    '/v1/account/' + '00'.repeat(21), '/v1/account/0x' + '00'.repeat(19), '/v1/snapshot/-1', '/v1/snapshot/1.5', '/v1/snapshot/01', '/v1/snapshot/99999999999999999999']) {
    assertErrorShape(await call('GET', p), 400, `path ${p}`);
  }
  // bodies of the wrong shape
  for (const b of ['[]', '"x"', 'null', '{}', '{"tx":1}', '{"txs":[]}', '{"txs":"00"}', '{"txs":[1]}', '{"tx":"00","txs":["00"]}', '{"tx":{"hex":"00"}}']) {
    assertErrorShape(await call('POST', '/v1/tx', b, J), 400, `body ${b}`);
  }
  // transactions that are not hex, truncated, extended, or bit-flipped: rejected one by one, never accepted
  const flipped = good.slice(0, 100) + (good[100] === '0' ? '1' : '0') + good.slice(101);
  for (const h of ['zz', '0', good.slice(0, -2), good + '00', flipped, good.toUpperCase().replace(/./, 'G')]) {
    const r = await call('POST', '/v1/tx', JSON.stringify({ tx: h }), J);
    assert.ok(r.status >= 400 && r.status < 500, `tx ${h.slice(0, 16)}...: ${r.status}`);
    assertErrorShape(r, r.status, `tx ${h.slice(0, 16)}`);
  }
  const batch = await call('POST', '/v1/tx', JSON.stringify({ txs: ['zz', good.slice(0, -2), flipped] }), J);
  assert.equal(batch.status, 200);
  assert.equal(batch.json.accepted, 0);
  assert.deepEqual(batch.json.results.map((x: any) => x.status), ['rejected', 'rejected', 'rejected']);

  await settled();
  assert.equal(await ledgerState(), state0, 'balances and nonces unchanged by hostile requests');
  assert.equal((await call('GET', '/v1/snapshot/latest')).json.snapshot.stateRoot, root0, 'state root unchanged');
  assert.equal((await call('GET', '/v1/health')).json.committedTotal, 0);
});

test('a flood of submissions meets back-pressure (503 + Retry-After), not memory growth, and what was accepted commits', { timeout: 90_000 }, async () => {
  const pid = proc.pid!;
  await settled();
  const rss0 = rssKb(pid);
  // Fresh senders (funded by one transfer each) so the per-sender nonce window does not cap
  // admission before the mempool bound does.
  const SENDERS = 120;
  const fresh = Array.from({ length: SENDERS }, () => generateKeyPair());
  const fund = await call('POST', '/v1/tx', JSON.stringify({ txs: fresh.map((kp, i) => tx(keys[1 + (i % 3)]!, BigInt(Math.floor(i / 3)), 10_000_000n, addressFromPublicKey(kp.publicKey))) }), { 'content-type': 'application/json' });
  assert.equal(fund.json.accepted, SENDERS, JSON.stringify(fund.json).slice(0, 300));
  await settled();

  const next = fresh.map(() => 0n);
  let sent = 0, accepted = 0, full = 0, other = 0, retryAfter = 0, rateLimited = 0, maxRss = rss0;
  // On a fast machine the workers' loops (a refused batch, then 30 account reads each) outrun the
  // per-address request rate (1,000/s, burst 2,000): that back-pressure is a 429 with Retry-After,
  // and a client waits as told before it asks again.
  const honourRateLimit = async (r: { status: number; headers: Headers; json: any }): Promise<void> => {
    rateLimited++;
    assertErrorShape(r, 429, 'rate-limited request');
    assert.equal(r.json.error.code, 'rate-limited');
    const wait = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(wait) && wait >= 1, `429 carries Retry-After in whole seconds: ${r.headers.get('retry-after')}`);
    await sleep(wait * 1000);
  };
  const acceptedIds: string[] = [];
  let t0 = Date.now();
  const FLOOD_MS = 10_000;
  const worker = async (w: number): Promise<void> => {
    while (Date.now() - t0 < FLOOD_MS) {
      const txs: string[] = [];
      const owners: number[] = [];
      for (let j = 0; j < 500; j++) {
        const s = (w * 500 + j + sent) % SENDERS;
        const k = fresh[s]!;
        txs.push(toHex(encodeSignedTx(signTransfer({ network: genesis.networkId, from: k.publicKey, to: new Uint8Array(20).fill(5), amount: 1n, fee: 0n, nonce: next[s]!, ts: BigInt(Date.now()) << 16n }, k.secretKey))));
        owners.push(s);
        next[s]!++;
      }
      const r = await call('POST', '/v1/tx', JSON.stringify({ txs }), { 'content-type': 'application/json' });
      sent += txs.length;
      if (r.headers.get('retry-after')) { retryAfter++; assert.match(r.headers.get('retry-after')!, /^[1-9][0-9]*$/); }
      if (r.status === 503) assert.ok(r.headers.get('retry-after'), '503 carries Retry-After');
      if (r.status === 429) await honourRateLimit(r); // nothing in the batch was looked at
      const results = r.json.results ?? [];
      results.forEach((x: any, i: number) => {
        if (x.status === 'accepted') { accepted++; acceptedIds.push(x.txid); }
        else {
          if (x.reason === 'mempool-full') full++; else other++;
          void owners[i];
        }
      });
      // rewind every sender to its next admissible nonce (what the node reports)
      if (results.some((x: any) => x.status !== 'accepted')) {
        await Promise.all(fresh.map(async (kp, s) => {
          if (s % 4 !== w) return;
          const path = `/v1/account/${toHex(addressFromPublicKey(kp.publicKey))}`;
          let a = await call('GET', path);
          while (a.status === 429) { await honourRateLimit(a); a = await call('GET', path); }
          assert.equal(a.status, 200, `${path}: ${JSON.stringify(a.json)}`);
          next[s] = BigInt(a.json.pendingNonce);
        }));
      }
      maxRss = Math.max(maxRss, rssKb(pid));
    }
  };
  // Two flood phases: the second one runs with every bounded structure already full.
  await Promise.all([0, 1, 2, 3].map(worker));
  const rssA = rssKb(pid);
  const sentA = sent;
  t0 = Date.now();
  await Promise.all([0, 1, 2, 3].map(worker));
  const rssB = rssKb(pid);
  const h = await call('GET', '/v1/health');
  assert.equal(h.status, 200, 'the node answers during/after the flood');
  assert.ok(h.json.mempool <= MEMPOOL_MAX, `mempool ${h.json.mempool} within its bound ${MEMPOOL_MAX}`);
  // Let the ready transactions commit: wait until the mempool stops shrinking. What stays is stuck
  // behind nonce gaps left by refused transactions (expired by the shard after its stuck TTL).
  let last = -1;
  for (let i = 0; i < 30; i++) {
    await sleep(2 * EPOCH_MS);
    const m = (await call('GET', '/v1/health')).json.mempool;
    if (m === last) break;
    last = m;
  }
  const rss1 = rssKb(pid);
  const growthMb = (rss1 - rss0) / 1024;
  console.log(`flood: ${sent} sent in 2 x ${FLOOD_MS / 1000} s (${sentA} in the first) with the node's heap capped at ${HEAP_CAP_MB} MB; RSS after phase 1 ${(rssA / 1024).toFixed(1)} MB, after phase 2 ${(rssB / 1024).toFixed(1)} MB;`);
  console.log(`flood: ${accepted} accepted, ${full} mempool-full, ${other} other rejections, ${retryAfter} submissions answered with Retry-After, ${rateLimited} requests rate-limited (429); ` +
    `RSS before ${(rss0 / 1024).toFixed(1)} MB, peak ${(maxRss / 1024).toFixed(1)} MB, after ${(rss1 / 1024).toFixed(1)} MB (growth ${growthMb.toFixed(1)} MB, bound ${RSS_GROWTH_BOUND_MB} MB)`);
  assert.ok(full > 0, 'the mempool bound was reached: mempool-full rejections');
  assert.ok(retryAfter > 0, 'back-pressure carries Retry-After');
  assert.ok(sent > 3 * accepted || sent > 3 * MEMPOOL_MAX, `the flood (${sent}) was well above what was admitted (${accepted})`);
  assert.equal(proc.exitCode, null, 'the node survived the flood under its heap cap');
  assert.ok(growthMb < RSS_GROWTH_BOUND_MB, `RSS grew by ${growthMb.toFixed(1)} MB in all (bound ${RSS_GROWTH_BOUND_MB} MB)`);
  assert.ok((maxRss - rss0) / 1024 < RSS_GROWTH_BOUND_MB + 100, 'peak RSS bounded');
  // every accepted transaction is committed or still pending (stuck behind a gap): none is lost (a sample)
  const sample = acceptedIds.filter((_, i) => i % Math.max(1, Math.floor(acceptedIds.length / 60)) === 0);
  const st = await Promise.all(sample.map(async (id) => (await call('GET', `/v1/tx/${id}`)).json.status));
  for (const [i, s] of st.entries()) assert.ok(s === 'committed' || s === 'pending', `${sample[i]}: ${s}`);
  // How many stay pending depends on how many nonce gaps the refusals left (timing-dependent); what
  // must hold is that the node kept committing under the flood and lost nothing it accepted.
  assert.ok(st.some((s) => s === 'committed'), `accepted transactions committed during the flood: ${st.filter((s) => s === 'committed').length}/${sample.length}`);
  assert.ok(existsSync(`/proc/${pid}`), 'the node survived the flood');
});
