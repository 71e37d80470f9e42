// The HTTP layer's error mapping, against a real server on 127.0.0.1 (port 0). The shard behind the
// API is a scripted stand-in: these tests are about what the HTTP layer answers, not about the shard
// (the end-to-end test runs the real one).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { request } from 'node:http';
import fc from 'fast-check';
import { buildApi, type ApiShard } from '../src/node/api.js';
import { closeServer, createHttpServer, listen, parseHostPort, Router, DEFAULT_MAX_BODY_BYTES } from '../src/node/http.js';
import { createMetrics } from '../src/node/metrics.js';
import type { ShardId } from '../src/core/ids.js';
import type { SubmitResult } from '../src/shard/shard.js';
import { keyPairFromSeed } from '../src/core/ed25519.js';
import { encodeSignedTx, signTransfer } from '../src/shard/tx.js';
import { joinSignedTxs } from '../src/shard/tx-batch.js';
import { MAX_BATCH, prefersMinimal } from '../src/node/api.js';

/** `n` signed transfers of network `net` (real encodings: the splitter only frames them). */
function signedTxs(n: number, net = 'testnet'): Uint8Array[] {
  const k = keyPairFromSeed(new Uint8Array(32).fill(7));
  return Array.from({ length: n }, (_, i) => encodeSignedTx(signTransfer({ network: net, from: k.publicKey, to: new Uint8Array(20).fill(i & 0xff), amount: 1n + BigInt(i), fee: 1n, nonce: BigInt(i), ts: 0n }, k.secretKey)));
}

const TXID = 'ab'.repeat(32);
let submitScript: (n: number) => SubmitResult[] = (n) => Array.from({ length: n }, (_, i) => ({ ok: true as const, txid: i.toString(16).padStart(64, '0') }));
let submitCalls = 0;
let lastSubmitted: Uint8Array[] = [];

const stand_in = {
  id: '' as ShardId,
  genesis: { networkId: 'testnet', depth: 0, epochMs: 1000, genesisTime: 0, allocations: [], validators: new Map([['' as ShardId, new Uint8Array(32)]]) },
  submit: async (txs: Uint8Array[]) => {
    submitCalls++;
    lastSubmitted = txs.map((t) => t.slice());
    return submitScript(txs.length);
  },
  txStatus: async () => ({ status: 'unknown' as const }),
  account: async () => {
    throw new Error('account() must not be reached by these requests');
  },
  snapshot: async () => undefined,
  latestEpoch: () => -1,
  stats: () => ({ mempool: 0, committedTotal: 0, epoch: -1 }),
} as unknown as ApiShard;

let server: Server;
let base: string;

async function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }> {
  const res = await fetch(base + path, { method, body, headers });
  const text = await res.text();
  return { status: res.status, headers: Object.fromEntries(res.headers), json: text ? JSON.parse(text) : undefined };
}

before(async () => {
  server = createHttpServer(buildApi({ shard: stand_in, metrics: createMetrics({ defaultMetrics: false }) }));
  base = await listen(server, '127.0.0.1', 0);
});
after(() => closeServer(server));

describe('HTTP error mapping', () => {
  test('malformed JSON answers 400 malformed-json and never reaches the shard', async () => {
    const before = submitCalls;
    const r = await call('POST', '/v1/tx', '{"tx": ', { 'content-type': 'application/json' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'malformed-json');
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(submitCalls, before);
  });

  test('a body over 1 MiB answers 413 payload-too-large', async () => {
    const big = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20);
    const r = await call('POST', '/v1/tx', big, { 'content-type': 'application/json' });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, 'payload-too-large');
  });

  test('an oversized chunked body (no content-length) also answers 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(base + '/v1/tx', { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent <= DEFAULT_MAX_BODY_BYTES + chunk.length) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    }).catch((e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 413 : Promise.reject(e)));
    assert.equal(status, 413);
  });

  test('a body exactly at the limit is read (not 413)', async () => {
    const body = Buffer.alloc(DEFAULT_MAX_BODY_BYTES, 0x20);
    body.write('{"x":1}', 0);
    const r = await call('POST', '/v1/tx', body, { 'content-type': 'application/json' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'bad-request');
  });

  test('a content type other than application/json or application/octet-stream answers 415 naming both', async () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/octet-streamx']) {
      const r = await call('POST', '/v1/tx', '{"tx":"00"}', { 'content-type': ct });
      assert.equal(r.status, 415, ct);
      assert.equal(r.json.error.code, 'unsupported-media-type');
      assert.match(r.json.error.message, /application\/json or application\/octet-stream/);
    }
    const ok = await call('POST', '/v1/tx', '{"tx":"00"}', { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(ok.status, 202);
  });

  test('unknown routes answer 404 not-found with the JSON error shape', async () => {
    for (const p of ['/nope', '/v2/tx', '/v1/tx/a/b', '/v1/accounts/00', '/metricsx']) {
      const r = await call('GET', p);
      assert.equal(r.status, 404, p);
      assert.deepEqual(Object.keys(r.json), ['error']);
      assert.equal(r.json.error.code, 'not-found');
    }
  });

  test('a wrong method on a known route answers 405 with an Allow header', async () => {
    const r = await call('DELETE', '/v1/tx');
    assert.equal(r.status, 405);
    assert.equal(r.headers['allow'], 'POST');
    const g = await call('POST', '/v1/health', '{}', { 'content-type': 'application/json' });
    assert.equal(g.status, 405);
    assert.equal(g.headers['allow'], 'GET');
  });

  test('malformed path parameters answer 400, not 500', async () => {
    for (const p of ['/v1/tx/zz', `/v1/tx/${TXID}00`, '/v1/account/123', '/v1/account/' + 'g'.repeat(40), '/v1/snapshot/-1', '/v1/snapshot/1.5', '/v1/snapshot/01']) {
      const r = await call('GET', p);
      assert.equal(r.status, 400, p);
      assert.ok(r.json.error.code && r.json.error.message, p);
    }
  });

  test('wrong body shapes answer 400 bad-request; an oversized batch answers 413', async () => {
    for (const b of ['[]', '"x"', 'null', '{}', '{"tx":1}', '{"txs":[]}', '{"txs":"00"}', '{"txs":[1]}', '{"tx":"00","txs":["00"]}']) {
      const r = await call('POST', '/v1/tx', b, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, b);
      assert.equal(r.json.error.code, 'bad-request', b);
    }
    const r = await call('POST', '/v1/tx', JSON.stringify({ txs: Array(10_001).fill('00') }), { 'content-type': 'application/json' });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, 'batch-too-large');
  });

  test('no snapshot yet answers 404 snapshot-not-found', async () => {
    const r = await call('GET', '/v1/snapshot/latest');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'snapshot-not-found');
  });
});

describe('submission results', () => {
  test('an accepted single tx answers 202 {txid, status: accepted}', async () => {
    submitScript = () => [{ ok: true, txid: TXID }];
    const r = await call('POST', '/v1/tx', JSON.stringify({ tx: '0102' }), { 'content-type': 'application/json' });
    assert.equal(r.status, 202);
    assert.deepEqual(r.json, { txid: TXID, status: 'accepted' });
  });

  test('each reject reason answers its contract status; a full mempool answers 503 with Retry-After', async () => {
    const { REJECT_REASONS, httpStatusFor } = await import('../src/shard/errors.js');
    for (const reason of REJECT_REASONS) {
      submitScript = () => [{ ok: false, txid: TXID, reason, message: `because ${reason}` }];
      const r = await call('POST', '/v1/tx', JSON.stringify({ tx: '0102' }), { 'content-type': 'application/json' });
      assert.equal(r.status, httpStatusFor(reason), reason);
      assert.equal(r.json.error.code, reason);
      assert.equal(r.json.txid, TXID);
      if (reason === 'mempool-full') assert.match(String(r.headers['retry-after']), /^[1-9][0-9]*$/);
    }
  });

  test('a batch answers one result per tx in order; non-hex entries are malformed without reaching the shard', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constant('0a0b'), fc.constant('xyz'), fc.constant('0')), { minLength: 1, maxLength: 40 }), async (txs) => {
        let seen = 0;
        submitScript = (n) => {
          seen = n;
          return Array.from({ length: n }, (_, i) => (i % 2 ? { ok: false as const, reason: 'duplicate' as const, message: 'dup' } : { ok: true as const, txid: TXID }));
        };
        const r = await call('POST', '/v1/tx', JSON.stringify({ txs }), { 'content-type': 'application/json' });
        assert.equal(r.status, 200);
        assert.equal(r.json.results.length, txs.length);
        const hexOk = txs.filter((t) => t === '0a0b').length;
        assert.equal(seen, hexOk);
        let k = 0;
        txs.forEach((t, i) => {
          const res = r.json.results[i];
          if (t !== '0a0b') assert.equal(res.reason, 'malformed');
          else assert.equal(res.status, k++ % 2 ? 'rejected' : 'accepted');
        });
        assert.equal(r.json.accepted + r.json.rejected, txs.length);
      }),
      { numRuns: 30 },
    );
  });

  test('Prefer: return=minimal answers a batch with the full answer\'s counts and exactly its rejected results, each with its position', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constant('0a0b'), fc.constant('xyz'), fc.constant('0')), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), async (txs, every) => {
        submitScript = (n) => Array.from({ length: n }, (_, i) => (i % every === 1 ? { ok: false as const, txid: TXID, reason: 'mempool-full' as const, message: 'full' } : { ok: true as const, txid: TXID }));
        const body = JSON.stringify({ txs });
        const full = await call('POST', '/v1/tx', body, { 'content-type': 'application/json' });
        const min = await call('POST', '/v1/tx', body, { 'content-type': 'application/json', prefer: 'respond-async, return=minimal' });
        assert.equal(min.status, full.status);
        assert.equal(min.headers['preference-applied'], 'return=minimal');
        assert.equal(full.headers['preference-applied'], undefined, 'only when asked');
        assert.equal(min.headers['retry-after'], full.headers['retry-after']);
        const expected = full.json.results.flatMap((r: any, index: number) => (r.status === 'rejected' ? [{ index, ...r }] : []));
        assert.deepEqual(min.json, { accepted: full.json.accepted, forwarded: full.json.forwarded, rejected: full.json.rejected, rejections: expected });
      }),
      { numRuns: 30 },
    );
  });

  test('the compact batch with Prefer: return=minimal: an all-accepted batch answers only its counts', async () => {
    const txs = signedTxs(5);
    submitScript = (n) => Array.from({ length: n }, (_, i) => ({ ok: true as const, txid: i.toString(16).padStart(64, '0') }));
    const r = await call('POST', '/v1/tx', Buffer.from(joinSignedTxs(txs)), { 'content-type': 'application/octet-stream', prefer: 'return=minimal' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { accepted: 5, forwarded: 0, rejected: 0, rejections: [] });
  });

  test('prefersMinimal reads RFC 7240 Prefer headers: return=minimal among other preferences, any case, quoted or with parameters', () => {
    for (const h of ['return=minimal', 'RETURN=Minimal', 'respond-async, return=minimal', 'return="minimal"', 'return=minimal; x=1', ' return = minimal ', ['wait=5', 'return=minimal']]) assert.equal(prefersMinimal(h), true, String(h));
    for (const h of [undefined, '', 'return=representation', 'return=minimalx', 'return', 'minimal', 'wait=5', 'x-return=minimal']) assert.equal(prefersMinimal(h), false, String(h));
  });

  test('a batch entirely refused by a full mempool answers 503 with Retry-After', async () => {
    submitScript = (n) => Array.from({ length: n }, () => ({ ok: false as const, reason: 'mempool-full' as const, message: 'full' }));
    const r = await call('POST', '/v1/tx', JSON.stringify({ txs: ['00', '01'] }), { 'content-type': 'application/json' });
    assert.equal(r.status, 503);
    assert.ok(r.headers['retry-after']);
  });

  test('/metrics serves Prometheus text with the submission counter by result', async () => {
    const res = await fetch(base + '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/plain/);
    const text = await res.text();
    assert.match(text, /smt_tx_submissions_total\{result="accepted"\} \d+/);
    assert.match(text, /smt_tx_submissions_total\{result="mempool-full"\} \d+/);
    assert.match(text, /smt_mempool_size/);
  });
});

describe('compact batch submission (application/octet-stream)', () => {
  const octet = { 'content-type': 'application/octet-stream' };

  test('signed transfers concatenated reach the shard as exactly those transfers, in order, with one result each', async () => {
    for (const [n, net] of [[1, 'testnet'], [3, 'testnet'], [5, 'a'], [4, 'n'.repeat(64)]] as const) {
      const txs = signedTxs(n, net);
      submitScript = (m) => Array.from({ length: m }, (_, i) => ({ ok: true as const, txid: i.toString(16).padStart(64, '0') }));
      const r = await call('POST', '/v1/tx', Buffer.from(joinSignedTxs(txs)), octet);
      assert.equal(r.status, 200, `${n} of ${net}`);
      assert.equal(r.json.results.length, n);
      assert.equal(r.json.accepted, n);
      assert.deepEqual(lastSubmitted.map((t) => Buffer.from(t).toString('hex')), txs.map((t) => Buffer.from(t).toString('hex')));
    }
  });

  test('a body that does not split into signed transfers answers 400 bad-request naming where, and submits nothing', async () => {
    const [a, b] = signedTxs(2);
    const ab = joinSignedTxs([a!, b!]);
    const bad: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /empty body/],
      ['last one truncated', ab.subarray(0, ab.length - 1), /transaction 1 at byte 160: truncated/],
      ['four stray bytes after', joinSignedTxs([ab, new Uint8Array([1, 0, 0, 0])]), /transaction 2 at byte 320: truncated/],
      ['unknown version', joinSignedTxs([a!, Uint8Array.of(2, ...b!.subarray(1))]), /transaction 1 at byte 160: unknown version 2/],
      ['network id length 0', joinSignedTxs([Uint8Array.of(1, 0, 0, 0, 0), a!]), /transaction 0 at byte 0: network id length 0/],
      ['network id length 65', Uint8Array.of(1, 0, 0, 0, 65, ...new Uint8Array(300)), /network id length 65 outside 1..64/],
      ['hex text sent as octets', Buffer.from(Buffer.from(a!).toString('hex')), /transaction 0 at byte 0: unknown version 48/],
    ];
    for (const [what, body, msg] of bad) {
      const before = submitCalls;
      const r = await call('POST', '/v1/tx', Buffer.from(body), octet);
      assert.equal(r.status, 400, what);
      assert.equal(r.json.error.code, 'bad-request', what);
      assert.match(r.json.error.message, msg, what);
      assert.equal(submitCalls, before, `${what}: nothing submitted`);
    }
  });

  test('a body over 1 MiB answers 413 payload-too-large and submits nothing', async () => {
    const before = submitCalls;
    const big = await call('POST', '/v1/tx', Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 1), octet);
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'payload-too-large');
    assert.equal(submitCalls, before);
  });

  test(`more than ${MAX_BATCH} transfers answer 413 batch-too-large and submit nothing; exactly ${MAX_BATCH} are submitted`, async () => {
    // 10 000 transfers are >= 1.54 MB: only a node with a larger body limit can receive that many
    const srv = createHttpServer(buildApi({ shard: stand_in }), { maxBodyBytes: 4 << 20 });
    const url = await listen(srv, '127.0.0.1', 0);
    try {
      const one = signedTxs(1, 'a')[0]!;
      const post = async (n: number) => {
        const res = await fetch(url + '/v1/tx', { method: 'POST', headers: octet, body: Buffer.from(joinSignedTxs(Array(n).fill(one))) });
        return { status: res.status, json: (await res.json()) as any };
      };
      submitScript = (m) => Array.from({ length: m }, (_, i) => ({ ok: true as const, txid: i.toString(16).padStart(64, '0') }));
      const before = submitCalls;
      const many = await post(MAX_BATCH + 1);
      assert.equal(many.status, 413);
      assert.equal(many.json.error.code, 'batch-too-large');
      assert.equal(submitCalls, before);
      const exactly = await post(MAX_BATCH);
      assert.equal(exactly.status, 200);
      assert.equal(exactly.json.results.length, MAX_BATCH);
    } finally {
      await closeServer(srv);
    }
  });
});

describe('router and address parsing', () => {
  test('a literal segment wins over a parameter registered after it', () => {
    const r = new Router().add('GET', '/a/latest', () => ({ json: 1 })).add('GET', '/a/:x', () => ({ json: 2 }));
    const m = r.match('GET', '/a/latest');
    assert.equal(m.kind, 'found');
    assert.equal(m.kind === 'found' && m.name, '/a/latest');
    const p = r.match('GET', '/a/7');
    assert.deepEqual(p.kind === 'found' && p.params, { x: '7' });
  });

  test('parseHostPort accepts host:port, [v6]:port and :port, and rejects the rest', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseHostPort('[::1]:7700'), { host: '::1', port: 7700 });
    assert.deepEqual(parseHostPort(':7700'), { host: '127.0.0.1', port: 7700 });
    for (const bad of ['7700', 'host:', 'h:70000', 'h:-1', '']) assert.throws(() => parseHostPort(bad), /invalid/);
  });
});
