// Light-client benchmark: bytes fetched and verification time of (a) an account at the latest global
// epoch, (b) a transaction's inclusion and a cross-shard transfer's credit, (c) the global state
// proof, apex alone and the whole tree, against a real loopback cluster per depth (proving on).
// Bytes = JSON response bodies the client read. Time = the client's work per question once the
// answers are at hand (parse, decode, every hash, signature and pairing), median of repeated runs
// with the answers replayed from memory, as wall time and as this process's CPU time (the fairer figure
// on a shared machine); the first (cold) run, fetches included, is printed too.
//
//   npm run bench:light                      depths 1 and 2
//   BENCH_LIGHT_DEPTHS=1,2,3 npm run bench:light
import { startCluster, signedTransfer, postJson, until, sleep, type SecCluster } from '../test/security/harness.js';
import { LightClient, type FetchFn } from '../src/light/client.js';
import { keyVerifier, verifyGlobalProofApex, type ProofVerdict } from '../src/light/proofs.js';
import { verifyGlobalProofTree } from '../src/light/proof-tree.js';
import { getPoseidon } from '../src/proof/commitment.js';
import { closeVerifier, loadVerificationKey, warmVerifier } from '../src/proof/verifier.js';

const depths = (process.env.BENCH_LIGHT_DEPTHS ?? '1,2').split(',').map(Number);
const RUNS = Number(process.env.BENCH_LIGHT_RUNS ?? 25);

/** A fetch that records answers on the first pass and replays them after (verification time alone). */
function recorder(): { fetch: FetchFn; replay: boolean } {
  const memo = new Map<string, { status: number; body: string }>();
  const r = {
    replay: false,
    fetch: (async (url: string, init?: { signal?: AbortSignal }) => {
      let m = memo.get(url);
      if (!m || !r.replay) {
        const res = await fetch(url, init);
        m = { status: res.status, body: await res.text() };
        memo.set(url, m);
      }
      const mm = m;
      return { status: mm.status, text: async () => mm.body };
    }) as FetchFn,
  };
  return r;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function measure<T>(c: SecCluster, home: string, f: (lc: LightClient) => Promise<T>): Promise<{ bytes: number; requests: number; coldMs: number; ms: number; cpuMs: number; result: T }> {
  const rec = recorder();
  const nodes = new Map(c.layout.shards.map((s) => [s.shard, c.url(s.shard)]));
  const lc = new LightClient({ genesis: c.genesis, node: c.url(home), nodes, fetch: rec.fetch });
  const t0 = performance.now();
  const result = await f(lc);
  const coldMs = performance.now() - t0;
  const bytes = lc.bytesFetched;
  const requests = lc.requests;
  rec.replay = true;
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const c0 = process.cpuUsage();
    await f(lc);
    const c1 = process.cpuUsage(c0);
    times.push(performance.now() - t);
    cpu.push((c1.user + c1.system) / 1000);
  }
  return { bytes, requests, coldMs: +coldMs.toFixed(1), ms: +median(times).toFixed(2), cpuMs: +median(cpu).toFixed(2), result };
}

const rows: Record<string, unknown>[] = [];
const verify = keyVerifier({ triad_leaf: loadVerificationKey('triad_leaf'), triad_inner: loadVerificationKey('triad_inner') });
await warmVerifier();
const H = await getPoseidon();
for (const depth of depths) {
  console.log(`\n== depth ${depth} (${3 ** depth} shards)`);
  const c = await startCluster({ depth, accounts: 12, prove: true, timeoutS: 300, env: { SMT_PROVE_EVERY: '1' } });
  try {
    const accts = c.accounts();
    const a = accts[0]!;
    const other = accts.find((x) => x.home !== a.home)!;
    const t = signedTransfer(c, a.file, other.address, 7n, 0n);
    const sub = await until('the transfer accepted', 60_000, async () => {
      const r = await postJson(`${c.url(a.home)}/v1/tx`, { tx: t.hex });
      return r.status === 202 || r.status === 409 ? r : undefined; // 409: an earlier try got in
    }, 1000);
    console.log(`transfer ${t.txid.slice(0, 16)}...: HTTP ${sub.status}`);
    const row: Record<string, unknown> = { depth, shards: 3 ** depth };
    const acc = await measure(c, a.home, (lc) => lc.account(a.address));
    row.account = { bytes: acc.bytes, requests: acc.requests, ms: acc.ms, cpuMs: acc.cpuMs, coldMs: acc.coldMs };
    console.log(`(a) account:      ${acc.bytes} B in ${acc.requests} request(s), verify ${acc.ms} ms wall, ${acc.cpuMs} ms CPU (cold, with fetch: ${acc.coldMs} ms)`);
    let why = '';
    const inc = await until('tx in a final global epoch', 180_000, async () => (await measure(c, a.home, (lc) => lc.tx(t.txid, a.home)).catch((e: Error) => void (why = e.message))), 1000).catch((e: Error) => {
      throw new Error(`${e.message}; last answer: ${why}`);
    });
    const credited = await until('credit proven', 180_000, async () => {
      const m = await measure(c, a.home, (lc) => lc.tx(t.txid, a.home));
      return m.result.credit?.verified ? m : undefined;
    }, 1000);
    row.tx = { bytes: inc.bytes, ms: inc.ms, cpuMs: inc.cpuMs };
    row.txWithCredit = { bytes: credited.bytes, requests: credited.requests, ms: credited.ms, cpuMs: credited.cpuMs };
    console.log(`(b) tx inclusion: ${inc.bytes} B, verify ${inc.ms} ms wall, ${inc.cpuMs} ms CPU; with the cross-shard credit: ${credited.bytes} B in ${credited.requests} requests, ${credited.ms} ms wall, ${credited.cpuMs} ms CPU`);
    // (c) a proved epoch whose previous epoch is proved too (the link is checked)
    await until('two proved epochs', 300_000, async () => {
      const r = await fetch(`${c.url(a.home)}/v1/proof/global/latest`);
      if (r.status !== 200) return undefined;
      const j = (await r.json()) as { epoch: number; prevEpoch: number | null };
      return j.epoch >= 1 && j.prevEpoch !== null ? j : undefined;
    }, 2000);
    const latest = ((await (await fetch(`${c.url(a.home)}/v1/proof/global/latest`)).json()) as { epoch: number }).epoch;
    const apex = await measure(c, a.home, (lc) => verifyGlobalProofApex(lc, latest, verify));
    const tree = await measure(c, a.home, (lc) => verifyGlobalProofTree(lc, latest, verify, H));
    const ok = (v: ProofVerdict): string => (v.ok ? 'ok' : `FAILED: ${v.failure}`);
    row.proofApex = { epoch: latest, ok: apex.result.ok, bytes: apex.bytes, requests: apex.requests, ms: apex.ms, cpuMs: apex.cpuMs };
    row.proofTree = { epoch: latest, ok: tree.result.ok, triads: (3 ** depth - 1) / 2, bytes: tree.bytes, requests: tree.requests, ms: tree.ms, cpuMs: tree.cpuMs };
    console.log(`(c) apex + link:  ${apex.bytes} B in ${apex.requests} requests, verify ${apex.ms} ms wall, ${apex.cpuMs} ms CPU (${ok(apex.result)})`);
    console.log(`(c) whole tree:   ${tree.bytes} B in ${tree.requests} requests, verify ${tree.ms} ms wall, ${tree.cpuMs} ms CPU (${ok(tree.result)})`);
    rows.push(row);
  } finally {
    await c.teardown();
    await sleep(500);
  }
}
await closeVerifier();
console.log(JSON.stringify({ bench: 'light', runs: RUNS, loadavg: (await import('node:os')).loadavg()[0], results: rows }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
