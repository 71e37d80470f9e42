// The explorer page (bundled for the browser by build.ts). Live panels from the node's event stream
// (/v1/explorer/stream); search results verified here by the light client (src/light/), the same
// code the CLI runs, against the genesis; the global state proof's apex checked with snarkjs.
import { genesisHash, parseGenesis, type Genesis } from '../core/genesis.js';
import { toHex } from '../core/bytes.js';
import { LightClient, LightFetchError } from '../light/client.js';
import { LightVerifyError } from '../light/verify.js';
import { keyVerifier, verifyGlobalProofApex, type ProofVerdict } from '../light/proofs.js';
import type { VerificationKey } from 'snarkjs';

interface UPlotLike {
  setData(d: number[][]): void;
  setSize(s: { width: number; height: number }): void;
}
declare const uPlot: new (opts: Record<string, unknown>, data: number[][], el: HTMLElement) => UPlotLike;

interface ShardCell { shard: string; epoch: number | null; included: number | null; carried: boolean; tps: number | null; lag: number | null; health: 'ok' | 'slow' | 'down' }
interface Tick {
  time: number; network: string; depth: number; epochMs: number; node: string; epoch: number; tps: number;
  shards: ShardCell[];
  triads: { path: string; epoch: number; carried: number[]; signatures: number }[];
  global: { epoch: number; supply: string; inFlight: string; burnedFees: string; conserved: boolean; latencyMs: number | null } | null;
  proof: { proving: boolean; latestGlobalProofEpoch: number | null; lag: number | null; recent?: Record<string, string[]> } | null;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const HISTORY = 180;

// ---------------------------------------------------------------- the Sierpinski triangle
type P = [number, number];
const mid = (a: P, b: P): P => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
function cells(depth: number): Map<string, [P, P, P]> {
  const out = new Map<string, [P, P, P]>();
  const walk = (path: string, a: P, b: P, c: P): void => {
    if (path.length === depth) return void out.set(path, [a, b, c]);
    const ab = mid(a, b), ac = mid(a, c), bc = mid(b, c);
    walk(path + '0', a, ab, ac); // top
    walk(path + '1', ab, b, bc); // bottom left
    walk(path + '2', ac, bc, c); // bottom right
  };
  walk('', [300, 8], [8, 522], [592, 522]);
  return out;
}

let drawnDepth = -1;
function drawTriangle(t: Tick): void {
  const svg = $('triangle');
  const ns = 'http://www.w3.org/2000/svg';
  if (drawnDepth !== t.depth) {
    svg.replaceChildren();
    for (const [shard, [a, b, c]] of cells(t.depth)) {
      const g = document.createElementNS(ns, 'g');
      g.setAttribute('data-shard', shard);
      const poly = document.createElementNS(ns, 'polygon');
      poly.setAttribute('points', [a, b, c].map((p) => p.join(',')).join(' '));
      g.append(poly);
      const cx = (a[0] + b[0] + c[0]) / 3, cy = (a[1] + b[1] + c[1]) / 3 + 8;
      const size = b[0] === a[0] ? 0 : Math.abs(c[0] - b[0]);
      const lines = size > 120 ? 4 : size > 60 ? 2 : 1;
      for (let i = 0; i < lines; i++) {
        const tx = document.createElementNS(ns, 'text');
        tx.setAttribute('x', String(cx));
        tx.setAttribute('y', String(cy + (i - (lines - 1) / 2) * 14));
        if (i === 0) tx.setAttribute('class', 'id');
        g.append(tx);
      }
      svg.append(g);
    }
    drawnDepth = t.depth;
    $('shard-count').textContent = `(${t.shards.length}, depth ${t.depth})`;
  }
  for (const s of t.shards) {
    const g = svg.querySelector(`g[data-shard="${s.shard}"]`);
    if (!g) continue;
    g.setAttribute('data-testid', 'shard-cell');
    g.querySelector('polygon')!.setAttribute('class', s.health);
    const texts = [...g.querySelectorAll('text')];
    const vals = [s.shard || 'root', `epoch ${s.epoch ?? '–'}`, `${(s.tps ?? 0).toFixed(1)} tx/s`, `lag ${s.lag ?? '–'}`];
    texts.forEach((tx, i) => (tx.textContent = vals[i] ?? ''));
    const title = `shard ${s.shard}: epoch ${s.epoch ?? '–'}, in global ${s.included ?? '–'}${s.carried ? ' (carried)' : ''}, ${(s.tps ?? 0).toFixed(1)} tx/s, lag ${s.lag ?? '–'}, ${s.health}`;
    let tt: Element | null = g.querySelector('title');
    if (!tt) {
      tt = document.createElementNS(ns, 'title');
      g.prepend(tt);
    }
    tt.textContent = title;
  }
}

function drawTriads(t: Tick): void {
  const recent = t.proof?.recent ?? {};
  const provedAt = (path: string): string => {
    const es = Object.entries(recent).filter(([, ps]) => ps.includes(path || 'apex')).map(([e]) => Number(e));
    return es.length ? `proved @${Math.max(...es)}` : t.proof?.proving ? 'pending' : 'not proving';
  };
  const rows = t.triads.map((x) => `<tr><td>${x.path === '' ? 'apex' : x.path}</td><td>${x.epoch}</td><td>${x.signatures}/3</td><td>${x.carried.length ? x.carried.map((i) => x.path + i).join(', ') : '–'}</td><td>${provedAt(x.path)}</td></tr>`);
  $('triads').querySelector('tbody')!.innerHTML = rows.join('') || '<tr><td colspan="5" class="muted">no final global snapshot yet</td></tr>';
}

const fmt = (s: string | undefined): string => (s === undefined ? '–' : BigInt(s).toLocaleString('en'));
function drawApex(t: Tick): void {
  const g = t.global;
  $('g-epoch').textContent = g ? String(g.epoch) : '–';
  $('g-supply').textContent = fmt(g?.supply);
  $('g-inflight').textContent = fmt(g?.inFlight);
  $('g-fees').textContent = fmt(g?.burnedFees);
  $('g-cons').textContent = g ? (g.conserved ? 'holds' : 'VIOLATED') : '–';
  $('g-latency').textContent = g?.latencyMs != null ? `${g.latencyMs} ms` : '–';
  $('g-proof').textContent = t.proof?.latestGlobalProofEpoch != null ? `epoch ${t.proof.latestGlobalProofEpoch}` : t.proof?.proving ? 'none yet' : 'not proving';
  $('g-prooflag').textContent = t.proof?.lag != null ? `${t.proof.lag} epochs` : '–';
}

// ---------------------------------------------------------------- charts (uPlot)
const series: { time: number[]; total: number[]; perShard: number[][]; latency: (number | null)[]; proofLag: (number | null)[] } = { time: [], total: [], perShard: [], latency: [], proofLag: [] };
let tpsChart: UPlotLike | undefined;
let latChart: UPlotLike | undefined;
const palette = ['#2f6fdb', '#d9542b', '#2e9d57', '#9b4dca', '#c79a16', '#16a3b8', '#d63a8a', '#6b8e23', '#8a5a2b'];
function chartWidth(id: string): number {
  return Math.max(300, $(id).clientWidth);
}
interface AxisLike { ticks?: { size?: number }; gap?: number; font: [string, number]; _size: number }
interface ChartSelf { axes: AxisLike[]; ctx: CanvasRenderingContext2D }
/** A y axis as wide as its widest value: uPlot's fixed default (50 px) cut labels past 5 characters (e.g. "12,000" ms). */
function fitAxis(self: ChartSelf, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = self.axes[axisIdx]!;
  if (cycleNum > 1) return axis._size; // uPlot re-asks while settling: keep the first answer (no oscillation)
  let size = (axis.ticks?.size ?? 10) + (axis.gap ?? 5);
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  if (longest) {
    self.ctx.font = axis.font[0];
    size += self.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size) + 6;
}
const yAxis = (o: Record<string, unknown> = {}): Record<string, unknown> => ({ stroke: 'currentColor', size: fitAxis, ...o });
// Whole seconds and wall-clock labels: with a few seconds of history uPlot's default time axis picks
// sub-second steps and prints fragments such as ":21.000".
const two = (n: number): string => String(n).padStart(2, '0');
const clock = (sec: number): string => { const d = new Date(sec * 1000); return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`; };
const xAxis = (): Record<string, unknown> => ({ stroke: 'currentColor', space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], values: (_u: unknown, splits: number[]) => splits.map(clock) });
function drawCharts(t: Tick): void {
  if (!tpsChart) {
    const shardSeries = t.shards.map((s, i) => ({ label: `shard ${s.shard}`, stroke: palette[i % palette.length], width: 1, show: t.shards.length <= 9 }));
    tpsChart = new uPlot({ width: chartWidth('chart-tps'), height: 220, series: [{}, { label: 'all shards', stroke: 'currentColor', width: 2.5 }, ...shardSeries], axes: [xAxis(), yAxis()], scales: { x: { time: true } } }, [[], [], ...t.shards.map(() => [])], $('chart-tps'));
    latChart = new uPlot({ width: chartWidth('chart-lat'), height: 220, series: [{}, { label: 'seal → global final (ms)', stroke: '#2f6fdb', width: 2, scale: 'ms' }, { label: 'proof lag (epochs)', stroke: '#d9542b', width: 2, scale: 'ep' }], axes: [xAxis(), yAxis({ scale: 'ms' }), yAxis({ scale: 'ep', side: 1, grid: { show: false } })], scales: { x: { time: true } } }, [[], [], []], $('chart-lat'));
    window.addEventListener('resize', () => {
      tpsChart?.setSize({ width: chartWidth('chart-tps'), height: 220 });
      latChart?.setSize({ width: chartWidth('chart-lat'), height: 220 });
    });
  }
  series.time.push(t.time / 1000);
  series.total.push(t.tps);
  t.shards.forEach((s, i) => (series.perShard[i] ??= []).push(s.tps ?? 0));
  series.latency.push(t.global?.latencyMs ?? null);
  series.proofLag.push(t.proof?.lag ?? null);
  if (series.time.length > HISTORY) {
    series.time.shift(); series.total.shift(); series.latency.shift(); series.proofLag.shift();
    for (const p of series.perShard) p.shift();
  }
  tpsChart.setData([series.time, series.total, ...series.perShard]);
  latChart!.setData([series.time, series.latency as number[], series.proofLag as number[]]);
  $('chart-tps').dataset.points = String(series.time.length);
  $('chart-tps').dataset.maxTps = String(Math.max(0, ...series.total));
}

// ---------------------------------------------------------------- the stream
function connect(): void {
  const es = new EventSource('/v1/explorer/stream');
  es.onopen = () => {
    $('conn').textContent = 'live';
    $('conn').className = 'pill live';
  };
  es.onerror = () => {
    $('conn').textContent = 'reconnecting';
    $('conn').className = 'pill lost';
  };
  es.onmessage = (ev) => {
    const t = JSON.parse(ev.data as string) as Tick;
    $('network').textContent = `${t.network} · node ${t.node || 'root'} · epoch ${t.epoch}`;
    drawTriangle(t);
    drawTriads(t);
    drawApex(t);
    drawCharts(t);
  };
}

// ---------------------------------------------------------------- search, verified here
let lcP: Promise<LightClient> | undefined;
/** The genesis hash the URL pins (#genesis=<hex>): then the node's genesis must hash to it. */
const pinned = /(?:^#|&)genesis=([0-9a-f]{64})\b/i.exec(location.hash)?.[1]?.toLowerCase();
function lightClient(): Promise<LightClient> {
  lcP ??= (async () => {
    const [g, n] = await Promise.all([fetch('/v1/explorer/genesis').then((r) => r.json()), fetch('/v1/explorer/nodes').then((r) => r.json())]);
    const genesis: Genesis = parseGenesis((g as { genesis: unknown }).genesis);
    const hash = toHex(genesisHash(genesis)); // computed here, not taken from the node
    $('genesis-hash').textContent = hash;
    $('genesis-trust').textContent = pinned ? (pinned === hash ? 'pinned by this page\'s URL' : 'DOES NOT MATCH the pin in this page\'s URL') : `as served by this node; pin it by opening #genesis=${hash}`;
    if (pinned && pinned !== hash) throw new LightVerifyError('genesis', `the node's genesis hashes to ${hash}, the page's URL pins ${pinned}`);
    const nodes = new Map(Object.entries((n as { nodes: Record<string, string> }).nodes));
    return new LightClient({ genesis, node: location.origin, nodes });
  })();
  return lcP;
}

let vkeysP: Promise<VerificationKey[] | null> | undefined;
async function proofCheck(lc: LightClient): Promise<ProofVerdict | string> {
  vkeysP ??= Promise.all(['triad_leaf', 'triad_inner'].map((k) => fetch(`/v1/explorer/vkey/${k}`).then((r) => (r.ok ? (r.json() as Promise<VerificationKey>) : null))))
    .then((ks) => (ks.every((k) => k) ? (ks as VerificationKey[]) : null));
  const ks = await vkeysP;
  if (!ks) return 'this node has no verification keys (circuits not built): global proof not checked';
  try {
    return await verifyGlobalProofApex(lc, 'latest', keyVerifier({ triad_leaf: ks[0]!, triad_inner: ks[1]! }));
  } catch (e) {
    if (e instanceof LightFetchError) return `no global state proof available (${e.message})`;
    throw e;
  }
}

const esc = (s: unknown): string => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function show(kind: 'verified' | 'failed' | 'wait', title: string, fields: [string, unknown][], checks: string[], note = ''): void {
  const r = $('result');
  r.hidden = false;
  r.className = kind === 'verified' ? 'verified' : kind === 'failed' ? 'failed' : '';
  const badge = kind === 'verified' ? '<span class="badge ok" data-testid="badge">✓ verified in this browser</span>' : kind === 'failed' ? '<span class="badge bad" data-testid="badge">✗ verification FAILED</span>' : '<span class="badge wait" data-testid="badge">not verified</span>';
  r.innerHTML = `${badge} <strong>${esc(title)}</strong>
    <dl>${fields.map(([k, v]) => `<dt>${esc(k)}</dt><dd><code>${esc(v)}</code></dd>`).join('')}</dl>
    ${checks.length ? `<ul>${checks.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : ''}${note ? `<p>${esc(note)}</p>` : ''}`;
}

async function search(q: string): Promise<void> {
  q = q.trim().toLowerCase().replace(/^0x/, '');
  const t0 = performance.now();
  let bytes0 = 0, req0 = 0;
  let lc: LightClient | undefined;
  const cost = (): string => (lc ? `${lc.bytesFetched - bytes0} bytes in ${lc.requests - req0} request(s), ${(performance.now() - t0).toFixed(0)} ms` : '–');
  show('wait', `verifying ${q}…`, [], []);
  try {
    lc = await lightClient();
    bytes0 = lc.bytesFetched;
    req0 = lc.requests;
    if (/^[0-9a-f]{40}$/.test(q)) {
      const v = await lc.account(q);
      show('verified', `account ${q}`, [['balance', v.value.balance], ['nonce', v.value.nonce], ['home shard', `${v.shard} (snapshot epoch ${v.shardEpoch})`], ['global epoch', v.globalEpoch], ['global root', v.globalRoot], ['fetched', cost()]], v.checks);
    } else if (/^[0-9a-f]{64}$/.test(q)) {
      const v = await lc.tx(q);
      const t = v.inclusion.value;
      const checks = [...v.inclusion.checks];
      const fields: [string, unknown][] = [['status', `committed in epoch ${t.epoch} on shard ${v.inclusion.shard}`], ['from', t.from], ['to', t.to], ['amount', t.amount], ['fee', t.fee], ['nonce', t.nonce], ['global epoch', v.inclusion.globalEpoch]];
      if (t.dstShard) {
        fields.push(['debit', `shard ${v.inclusion.shard} epoch ${t.epoch}`]);
        if (v.credit?.verified) {
          checks.push(...v.credit.cursor.checks, v.credit.check);
          fields.push(['credit', `shard ${v.credit.cursor.shard}, proven at global epoch ${v.credit.cursor.globalEpoch}`]);
        } else fields.push(['credit', `not shown yet on shard ${t.dstShard}: ${v.credit?.reason ?? ''}`]);
      }
      const p = await proofCheck(lc);
      let note = '';
      if (typeof p === 'string') note = p;
      else if (!p.ok) throw new LightVerifyError(`global state proof of epoch ${p.epoch}`, p.failure ?? 'failed');
      else checks.push(`global state proof of epoch ${p.epoch} (apex only): ${p.checks.map((c) => c.what).join('; ')} — certifies: ${p.certifies}`);
      fields.push(['fetched', cost()]);
      show('verified', `transaction ${q}`, fields, checks, note);
    } else {
      show('wait', 'not a transaction id (64 hex digits) or an address (40 hex digits)', [], []);
    }
  } catch (e) {
    if (e instanceof LightVerifyError) show('failed', `${q}: the node's answer does not verify`, [['failed step', e.step], ['reason', e.message], ['fetched', cost()]], []);
    else if (e instanceof LightFetchError) show('wait', `${q}: ${e.message}`, [['fetched', cost()]], []);
    else show('failed', `${q}: ${(e as Error).message}`, [['fetched', cost()]], []);
  }
}

$('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void search(($('q') as HTMLInputElement).value);
});
connect();
void lightClient().catch(() => undefined);
