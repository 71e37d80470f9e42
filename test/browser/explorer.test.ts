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
import { sleep } from '../support/wait.js';

// page functions run in the browser (playwright serialises them); typed loosely here
declare const document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null };

const CHROMIUM = process.env.SMT_CHROMIUM ?? '/usr/bin/chromium';
const DEPTH = Number(process.env.SMT_BROWSER_DEPTH ?? 2);
const out = mkdtempSync(join(tmpdir(), 'smt-browser-'));
let c: SecCluster;
let ctx: BrowserContext;
let page: Page;
let proxy: Server | undefined;
const outside: string[] = []; // requests the page tried outside the cluster (aborted)

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
  await ctx.route('**/*', (route) => {
    if (/^https?:\/\/127\.0\.0\.1[:/]/.test(route.request().url())) return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
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

// Every shard's cell must show its epoch, lag and health from ANY node, not just the shards of the
// serving node's own triad (those outside it were shown "silent", epoch –, although all were final).
test('every shard cell shows its epoch, lag, tps and health, from every node', async () => {
  for (const { shard: node } of c.layout.shards) {
    const t = (await getJson(`${c.url(node)}/v1/explorer/tick`)).body as { shards: { shard: string; epoch: number | null; lag: number | null; tps: number | null; health: string }[] };
    const bad = t.shards.filter((s) => s.epoch === null || s.lag === null || s.lag > 6 || s.tps === null || s.health === 'down');
    assert.deepEqual(bad, [], `node ${node}: shards without a live cell`);
  }
  // and on the page (served by the first shard's node): no cell reads "epoch –", none is silent
  const far = c.layout.shards.at(-1)!.shard; // outside the first shard's triad at depth >= 2
  await page.waitForFunction((n) => {
    const gs = [...(document as unknown as { querySelectorAll(s: string): Iterable<{ textContent: string | null; querySelector(s: string): { getAttribute(n: string): string | null } | null }> }).querySelectorAll('[data-testid="shard-cell"]')];
    return gs.length === n && gs.every((g) => /epoch \d+/.test(g.textContent ?? '') && g.querySelector('polygon')?.getAttribute('class') !== 'down');
  }, 3 ** DEPTH, { timeout: 20_000 }).catch(() => undefined);
  const text = await page.locator(`g[data-shard="${far}"]`).textContent();
  assert.match(text ?? '', /epoch \d+/, `shard ${far}'s cell: ${text}`);
  const down = await page.locator('[data-testid="shard-cell"] polygon.down').count();
  assert.equal(down, 0, 'no shard is shown silent');
});

test('light and dark themes follow the system; the page asks nothing outside the cluster', async () => {
  const bg = (): Promise<string> => page.evaluate(() => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } }).getComputedStyle((globalThis as unknown as { document: { body: unknown } }).document.body).backgroundColor);
  const lum = (rgb: string): number => {
    const [r, g, b] = (rgb.match(/\d+/g) ?? []).map(Number);
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await bg();
  await shot('1-overview-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await bg();
  assert.ok(lum(dark) < 80 && lum(light) > 180, `dark background ${dark}, light background ${light}`);
  assert.deepEqual(outside, [], 'requests outside the cluster');
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
    await sleep(1500);
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
  assert.deepEqual(outside, [], 'requests outside the cluster');
});
