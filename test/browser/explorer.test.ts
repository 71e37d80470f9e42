// The explorer in a real browser (Debian's chromium, headless, driven by playwright-core) against a
// real 9-shard loopback cluster: the page shows the 9 shards and a final global epoch that advances;
// the tps chart moves while transfers are sent; searching a committed transfer shows it verified in
// the browser; behind a proxy that alters one byte of the node's light-client answer, the same search
// shows the failure. Screenshots go to the test's temp output (printed).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { getJson, postJson, signedTransfer, startCluster, until, type SecCluster } from '../security/harness.js';
import { fromBase64, toBase64 } from '../../src/light/wire.js';

// page functions run in the browser (playwright serialises them); typed loosely here
declare const document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null };

const CHROMIUM = process.env.SMT_CHROMIUM ?? '/usr/bin/chromium';
const DEPTH = Number(process.env.SMT_BROWSER_DEPTH ?? 2);
const out = mkdtempSync(join(tmpdir(), 'smt-browser-'));
let c: SecCluster;
let ctx: BrowserContext;
let page: Page;
let proxy: Server | undefined;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install -y chromium (or set SMT_CHROMIUM)`);
  c = await startCluster({ depth: DEPTH, accounts: 18, timeoutS: 180 });
  ctx = await chromium.launchPersistentContext(join(out, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1000 },
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  // the page must not reach anything but the cluster (loopback)
  await ctx.route('**/*', (route) => (/^https?:\/\/127\.0\.0\.1[:/]/.test(route.request().url()) ? route.continue() : route.abort()));
  console.log(`# screenshots: ${out}`);
});

after(async () => {
  await ctx?.close().catch(() => undefined);
  proxy?.close();
  await c?.teardown();
});

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
const globalEpoch = async (): Promise<number> => Number(await page.getByTestId('global-epoch').textContent());

test('the page shows every shard and a final global epoch that advances', async () => {
  await page.goto(c.url(c.layout.shards[0]!.shard));
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="shard-cell"]').length === n, 3 ** DEPTH, { timeout: 30_000 });
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid="global-epoch"]')?.textContent ?? ''), undefined, { timeout: 30_000 });
  const e0 = await globalEpoch();
  await page.waitForFunction((e) => Number(document.querySelector('[data-testid="global-epoch"]')?.textContent) > e + 1, e0, { timeout: 30_000 });
  assert.ok((await globalEpoch()) > e0 + 1);
  const cells = await page.locator('[data-testid="shard-cell"]').count();
  assert.equal(cells, 3 ** DEPTH);
  await shot('1-overview');
});

let committed: { txid: string; home: string } | undefined;

test('the tps chart moves while transfers are sent', async () => {
  const max0 = Number(await page.getByTestId('tps-chart').getAttribute('data-max-tps'));
  assert.equal(max0, 0, 'no transfers yet: the chart is flat');
  const accts = c.accounts();
  const nonces = new Map<string, bigint>();
  const deadline = Date.now() + 45_000;
  let sent = 0;
  // a few rounds of transfers from every funded account (recipients on other shards included)
  while (Date.now() < deadline) {
    const batches = new Map<string, string[]>();
    for (const [i, a] of accts.entries()) {
      for (let k = 0; k < 5; k++) {
        const n = nonces.get(a.address) ?? 0n;
        const t = signedTransfer(c, a.file, accts[(i + 1 + k) % accts.length]!.address, 1n, n);
        nonces.set(a.address, n + 1n);
        (batches.get(a.home) ?? batches.set(a.home, []).get(a.home)!).push(t.hex);
        if (!committed && k === 0) committed = { txid: t.txid, home: a.home };
      }
    }
    for (const [home, txs] of batches) {
      const r = await postJson(`${c.url(home)}/v1/tx`, { txs });
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      sent += txs.length;
    }
    const max = Number(await page.getByTestId('tps-chart').getAttribute('data-max-tps'));
    if (max > 0) break;
    await new Promise((r) => setTimeout(r, 1500));
  }
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="tps-chart"]')?.getAttribute('data-max-tps')) > 0, undefined, { timeout: 20_000 });
  assert.ok(sent > 0);
  await shot('2-tps');
});

test('searching a committed transfer shows it verified in the browser', async () => {
  assert.ok(committed, 'a transfer was sent');
  const { txid, home } = committed!;
  await until('transfer committed and in a final global epoch', 60_000, async () => {
    const r = await getJson(`${c.url(home)}/v1/light/tx/${txid}`);
    return r.status === 200 ? true : undefined;
  }, 500);
  await page.fill('#q', txid);
  await page.click('#search button');
  const badge = page.getByTestId('badge');
  await badge.filter({ hasText: /verified in this browser|FAILED/ }).waitFor({ timeout: 30_000 });
  const text = await page.locator('#result').innerText();
  await shot('3-verified');
  assert.match(await badge.innerText(), /verified in this browser/, text);
  assert.match(text, /included under the tx root of snapshot/);
  assert.match(text, /2 of 3 at every level/);
  // an address too
  const a = c.accounts()[0]!;
  await page.fill('#q', a.address);
  await page.click('#search button');
  await page.getByTestId('badge').filter({ hasText: /verified in this browser|FAILED/ }).waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('badge').innerText(), /verified in this browser/, await page.locator('#result').innerText());
});

test('a proxy altering one byte of the node\'s answer makes the page show the failure', async () => {
  const { txid, home } = committed!;
  const target = new URL(c.url(home));
  let altered = 0;
  // Sits in front of the transfer's home node: passes everything through, but points the page's map
  // of nodes for that shard at itself and flips one byte in the middle of every light-client answer.
  proxy = createServer((req, res) => {
    const fwd = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      const path = req.url ?? '';
      if (!path.startsWith('/v1/light/') && !path.startsWith('/v1/explorer/nodes')) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (d: Buffer) => chunks.push(d));
      up.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (path.startsWith('/v1/explorer/nodes')) body.nodes[home] = `http://127.0.0.1:${(proxy!.address() as AddressInfo).port}`;
        else if (typeof body.answer === 'string') {
          const b = fromBase64(body.answer);
          b[b.length >> 1]! ^= 0x01;
          body.answer = toBase64(b);
          altered++;
        }
        const text = JSON.stringify(body);
        const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(text)) };
        res.writeHead(up.statusCode ?? 502, headers);
        res.end(text);
      });
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as AddressInfo).port;
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="shard-cell"]').length > 0, undefined, { timeout: 30_000 });
  await page.fill('#q', txid);
  await page.click('#search button');
  await page.getByTestId('badge').filter({ hasText: /verified in this browser|FAILED/ }).waitFor({ timeout: 30_000 });
  const text = await page.locator('#result').innerText();
  await shot('4-tampered');
  assert.ok(altered > 0, 'the proxy altered an answer');
  assert.match(await page.getByTestId('badge').innerText(), /FAILED/, text);
  assert.match(text, /failed step/);
});
