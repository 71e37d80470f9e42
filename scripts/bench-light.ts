// Light-client benchmark: bytes fetched and verification time of (a) an account at the latest global
// epoch, (b) a transaction's inclusion and a cross-shard transfer's credit, (c) the global state
// proof, apex (+ its link) alone and the whole tree, at depth 1, 2 and 3; and the Groth16 floor (one
// pairing check, ours and snarkjs's). Goals printed beside the figures; last line one JSON object.
//
// (a) and (b): a real loopback cluster per depth (`smt cluster up`, 3, 9 or 27 node processes) with
// proving off, so 27 nodes fit on a small machine. (c): the proving engine in this process (the
// prover child of src/proof/prover.ts on the fixture snapshots of src/proof/fixtures.ts, two
// consecutive epochs so the apex has a verified link), answered from memory with exactly the JSON the
// node's /v1/proof routes serve (src/proof/proof-json.ts): a 27-node cluster that also proves every
// epoch does not keep up on 2 cores, and what the client verifies does not depend on who proved it.
//
// Bytes = JSON response bodies the client read. Time = the client's work per question once the
// answers are at hand (parse, decode, every hash, signature and pairing), median of repeated runs
// with the answers replayed from memory, as wall time and as this process's CPU time (the fairer
// figure on a shared machine); the first (cold) run, fetches included, is printed too.
//
//   npm run bench:light                      depths 1, 2 and 3
//   BENCH_LIGHT_DEPTHS=1,2 npm run bench:light
//   BENCH_LIGHT_NO_CLUSTER=1 npm run bench:light  (c) and the Groth16 floor only
//   BENCH_LIGHT_NO_PROOFS=1 BENCH_LIGHT_DEPTHS=3 npm run bench:light  (a) and (b) at depth 3 only
//   BENCH_LIGHT_PORTS=21000,21500              the clusters' API and p2p base ports
import { loadavg } from 'node:os';
import * as snarkjs from 'snarkjs';
import { cpuSeconds, startCluster, signedTransfer, postJson, until, sleep, type SecCluster } from '../test/security/harness.js';
import { makeTestNet } from '../test/hierarchy-fixtures.js';
import type { Genesis } from '../src/core/genesis.js';
import { LightClient, type FetchFn } from '../src/light/client.js';
import { keyVerifier, verifyGlobalProofApex, type ProofVerdict } from '../src/light/proofs.js';
import { verifyGlobalProofTree } from '../src/light/proof-tree.js';
import { getPoseidon, type Hasher } from '../src/proof/commitment.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from '../test/fixtures/proof-fixtures.js';
import { globalFromApex, globalProofHash, type GlobalStateProof } from '../src/proof/global.js';
import { globalProofJson, triadProofJson } from '../src/proof/proof-json.js';
import { Prover } from '../src/proof/prover.js';
import { buildTree, genesisTree, type CommitmentTree } from '../src/proof/tree.js';
import { proveTree, type ProofTree } from '../src/proof/tree-prover.js';
import { closeVerifier, loadVerificationKey, verifyWithKey, warmVerifier } from '../src/proof/verifier.js';

const depths = (process.env.BENCH_LIGHT_DEPTHS ?? '1,2,3').split(',').map(Number);
// BENCH_LIGHT_PORTS=API,P2P: the clusters' base ports (default: free ones at random)
const ports = process.env.BENCH_LIGHT_PORTS ? ((p) => ({ api: p[0]!, p2p: p[1]! }))(process.env.BENCH_LIGHT_PORTS.split(',').map(Number)) : undefined;
const RUNS = Number(process.env.BENCH_LIGHT_RUNS ?? 25);
const GOALS = { accountBytes: 4096, accountMs: 20, treeMsDepth2: 60 };

/** A fetch that records answers on the first pass and replays them after (verification time alone). */
function recorder(inner: FetchFn = (u, i) => fetch(u, i)): { fetch: FetchFn; replay: boolean } {
  const memo = new Map<string, { status: number; body: string }>();
  const r = {
    replay: false,
    fetch: (async (url: string, init?: { signal?: AbortSignal }) => {
      let m = memo.get(url);
      if (!m || !r.replay) {
        const res = await inner(url, init);
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
const load = (): number => +loadavg()[0]!.toFixed(1);

interface Measured<T> { bytes: number; requests: number; coldMs: number; ms: number; cpuMs: number; result: T }

async function measure<T>(mk: (fetch: FetchFn) => LightClient, f: (lc: LightClient) => Promise<T>, inner?: FetchFn, runs = RUNS): Promise<Measured<T>> {
  const rec = recorder(inner);
  const lc = mk(rec.fetch);
  const t0 = performance.now();
  const result = await f(lc);
  const coldMs = performance.now() - t0;
  const bytes = lc.bytesFetched;
  const requests = lc.requests;
  rec.replay = true;
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const c0 = process.cpuUsage();
    await f(lc);
    const c1 = process.cpuUsage(c0);
    times.push(performance.now() - t);
    cpu.push((c1.user + c1.system) / 1000);
  }
  return { bytes, requests, coldMs: +coldMs.toFixed(1), ms: +median(times).toFixed(2), cpuMs: +median(cpu).toFixed(2), result };
}

const clusterClient = (c: SecCluster, home: string) => (f: FetchFn): LightClient =>
  new LightClient({ genesis: c.genesis, node: c.url(home), nodes: new Map(c.layout.shards.map((s) => [s.shard, c.url(s.shard)])), fetch: f });

const vkeys = { triad_leaf: loadVerificationKey('triad_leaf'), triad_inner: loadVerificationKey('triad_inner') };
const verify = keyVerifier(vkeys);
await warmVerifier();
const H = await getPoseidon();
const results: Record<string, unknown>[] = [];
const mark = (ok: boolean): string => (ok ? 'meets' : 'MISSES');

/** Cores the cluster's node processes use over `ms` (utime + stime from /proc). */
async function nodeCores(c: SecCluster, ms: number): Promise<number> {
  const pids = c.layout.shards.map((s) => c.pidOf(s.shard));
  const sum = (): number => pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const c0 = sum();
  const t = Date.now();
  await sleep(ms);
  return +((sum() - c0) / ((Date.now() - t) / 1000)).toFixed(2);
}

/** `until`, printing what it waits for, the last answer and the load every 20 s (depth 3 takes minutes). */
async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined>, why: () => string): Promise<T> {
  const t0 = Date.now();
  let next = t0 + 20_000;
  return until(what, ms, async () => {
    const v = await f();
    if (v === undefined && Date.now() >= next) {
      next += 20_000;
      console.log(`  ... ${what}: ${((Date.now() - t0) / 1000).toFixed(0)} s${why() ? ` (last answer: ${why()})` : ''}, load ${load()}`);
    }
    return v;
  }, 1000).catch((e: Error) => {
    throw new Error(`${e.message}; last answer: ${why()}`);
  });
}

// ---------------------------------------------------------------- (a), (b): a real cluster
async function accountAndTx(depth: number): Promise<Record<string, unknown>> {
  const row: Record<string, unknown> = {};
  const t0 = Date.now();
  // 27 node processes share this 2-core machine. Started all at once with the epoch clock already
  // running, each spent minutes loading (~4.5 CPU-s each) while the clock ran, then sealed the
  // missed epochs on arrival; no global went final (7 min, load 78). Three at a time, with genesis
  // set after they are all up, the first global is final at epoch 0 and the 27 settle at ~1.2
  // cores at 5 s epochs (docs/EXPLORER.md).
  const big = depth >= 3;
  const c = await startCluster({
    depth, accounts: 12, timeoutS: big ? 600 : 300, epochMs: big ? 5000 : 1000, ...(ports ? { ports } : {}),
    upArgs: big ? ['--start-concurrency', '3', '--genesis-delay', String(Number(process.env.BENCH_LIGHT_GENESIS_DELAY_S ?? 120))] : [],
    onLine: big ? (l) => /^(creating|starting|\s+(healthy|at most|waiting|global))/.test(l) && console.log(`  cluster up: ${l.trim()} (${((Date.now() - t0) / 1000).toFixed(0)} s, load ${load()})`) : undefined,
  });
  console.log(`cluster of ${3 ** depth} node processes up in ${((Date.now() - t0) / 1000).toFixed(0)} s (load ${load()})`);
  try {
    row.upS = Math.round((Date.now() - t0) / 1000);
    row.nodesCores = await nodeCores(c, 10_000);
    console.log(`the ${3 ** depth} node processes use ${row.nodesCores} cores (CPU-seconds from /proc over 10 s; load ${load()})`);
    const accts = c.accounts();
    const a = accts[0]!;
    const other = accts.find((x) => x.home !== a.home)!;
    const t = signedTransfer(c, a.file, other.address, 7n, 0n);
    const sub = await until('the transfer accepted', 60_000, async () => {
      const r = await postJson(`${c.url(a.home)}/v1/tx`, { tx: t.hex });
      return r.status === 202 || r.status === 409 ? r : undefined; // 409: an earlier try got in
    }, 1000);
    console.log(`transfer ${t.txid.slice(0, 16)}... (shard ${a.home} -> ${other.home}): HTTP ${sub.status}`);
    const mk = clusterClient(c, a.home);
    // right after start-up (27 nodes at load 40+) the newest globals can still carry this shard's
    // triads: ask again until a final global includes it
    let whyA = '';
    const acc = await waitFor('the account in a final global epoch', 180_000, async () => (await measure(mk, (lc) => lc.account(a.address)).catch((e: Error) => void (whyA = e.message))), () => whyA);
    row.account = { bytes: acc.bytes, requests: acc.requests, ms: acc.ms, cpuMs: acc.cpuMs, coldMs: acc.coldMs, load: load() };
    console.log(`(a) account:      ${acc.bytes} B in ${acc.requests} request, verify ${acc.ms} ms wall, ${acc.cpuMs} ms CPU (cold, with fetch: ${acc.coldMs} ms)`
      + `   goal <= ${GOALS.accountBytes} B and <= ${GOALS.accountMs} ms: ${mark(acc.bytes <= GOALS.accountBytes && Math.min(acc.ms, acc.cpuMs) <= GOALS.accountMs)}`);
    let why = '';
    const inc = await waitFor('the tx in a final global epoch', 180_000, async () => (await measure(mk, (lc) => lc.tx(t.txid, a.home)).catch((e: Error) => void (why = e.message))), () => why);
    let whyC = '';
    const credited = await waitFor('the credit proven', 180_000, async () => {
      const m = await measure(mk, (lc) => lc.tx(t.txid, a.home), undefined, 1).catch((e: Error) => void (whyC = e.message));
      if (m && !m.result.credit?.verified) whyC = `credit: ${JSON.stringify(m.result.credit ?? null).slice(0, 160)}`;
      return m?.result.credit?.verified ? m : undefined;
    }, () => whyC);
    const cr = await measure(mk, (lc) => lc.tx(t.txid, a.home)); // the full run count, now that the credit shows
    row.tx = { bytes: inc.bytes, requests: inc.requests, ms: inc.ms, cpuMs: inc.cpuMs };
    row.txWithCredit = { bytes: cr.bytes, requests: cr.requests, ms: cr.ms, cpuMs: cr.cpuMs, credited: !!cr.result.credit?.verified && !!credited };
    console.log(`(b) tx inclusion: ${inc.bytes} B in ${inc.requests} request, verify ${inc.ms} ms wall, ${inc.cpuMs} ms CPU`);
    console.log(`(b) + cross-shard credit: ${cr.bytes} B in ${cr.requests} requests, verify ${cr.ms} ms wall, ${cr.cpuMs} ms CPU (load ${load()})`);
  } finally {
    await c.teardown();
    await sleep(500);
  }
  return row;
}

// ---------------------------------------------------------------- (c): the proving engine in process
interface ProvedEpochs { genesis: Genesis; globals: Map<number, GlobalStateProof>; trees: Map<number, ProofTree>; latest: number; proveS: number; proofs: number }

async function proveEpochs(prover: Prover, depth: number): Promise<ProvedEpochs> {
  const t0 = performance.now();
  const supplies = (t: CommitmentTree): bigint[] => t.shards.map((s) => s.supply);
  const g = genesisTree(H, depth, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(depth));
  const trees: CommitmentTree[] = [g];
  for (let e = 0; e <= 2; e++) trees.push(buildTree(H, fixtureSnapshots(depth, e, supplies(trees.at(-1)!)), trees.at(-1)!));
  const backend = { prove: (kind: Parameters<Prover['prove']>[0], input: Parameters<Prover['prove']>[1]) => prover.prove(kind, input) };
  const globals = new Map<number, GlobalStateProof>();
  const pts = new Map<number, ProofTree>();
  let prevHash = FIXTURE_GENESIS_HASH;
  let proofs = 0;
  for (const e of [1, 2]) { // epoch e's tree is trees[e + 1], its predecessor trees[e]
    const pt = await proveTree(backend, verify, trees[e + 1]!, trees[e]!);
    proofs += pt.proofs.size;
    const gp = globalFromApex(pt.proofs.get('')!, depth, prevHash);
    prevHash = globalProofHash(gp);
    globals.set(e, gp);
    pts.set(e, pt);
  }
  return { genesis: makeTestNet(depth, 'fixture').genesis, globals, trees: pts, latest: 2, proveS: +((performance.now() - t0) / 1000).toFixed(1), proofs };
}

/** The node's /v1/proof routes, answered from memory with the same JSON (src/proof/proof-json.ts). */
function proofRoutes(p: ProvedEpochs): FetchFn {
  const json = (status: number, body: unknown) => ({ status, text: async () => JSON.stringify(body) });
  const none = (what: string) => json(404, { error: { code: 'proof-not-found', message: `no ${what}` } });
  return async (url) => {
    const path = new URL(url).pathname;
    let m = /^\/v1\/proof\/global\/(latest|\d+)$/.exec(path);
    if (m) {
      const e = m[1] === 'latest' ? p.latest : Number(m[1]);
      const gp = p.globals.get(e);
      return gp ? json(200, globalProofJson(e, gp, { proveEvery: 1, receivedAt: 0, prevEpoch: p.globals.has(e - 1) ? e - 1 : null })) : none(`global proof of epoch ${e}`);
    }
    m = /^\/v1\/proof\/triad\/(apex|[012]+)\/(\d+)$/.exec(path);
    if (m) {
      const tp = p.trees.get(Number(m[2]))?.proofs.get(m[1] === 'apex' ? '' : m[1]!);
      return tp ? json(200, triadProofJson(m[1] === 'apex' ? '' : m[1]!, Number(m[2]), tp)) : none(`triad proof ${m[1]}@${m[2]}`);
    }
    return none(path);
  };
}

async function globalProof(prover: Prover, depth: number, hasher: Hasher): Promise<{ row: Record<string, unknown>; proved: ProvedEpochs }> {
  const p = await proveEpochs(prover, depth);
  console.log(`(c) proved epochs 1 and 2 in process: ${p.proofs} triad proofs in ${p.proveS} s (load ${load()})`);
  const mk = (f: FetchFn): LightClient => new LightClient({ genesis: p.genesis, node: 'http://in-process', fetch: f });
  const routes = proofRoutes(p);
  const apex = await measure(mk, (lc) => verifyGlobalProofApex(lc, p.latest, verify), routes);
  const tree = await measure(mk, (lc) => verifyGlobalProofTree(lc, p.latest, verify, hasher), routes);
  const ok = (v: ProofVerdict): string => (v.ok ? 'ok' : `FAILED: ${v.failure}`);
  if (!apex.result.ok || !tree.result.ok) throw new Error(`depth ${depth}: the honest proofs did not verify: ${ok(apex.result)} / ${ok(tree.result)}`);
  const triads = (3 ** depth - 1) / 2;
  console.log(`(c) apex + link:  ${apex.bytes} B in ${apex.requests} requests, verify ${apex.ms} ms wall, ${apex.cpuMs} ms CPU (2 Groth16 checks, ${ok(apex.result)})`);
  console.log(`(c) whole tree:   ${tree.bytes} B in ${tree.requests} requests, verify ${tree.ms} ms wall, ${tree.cpuMs} ms CPU (${triads} triad proofs + the link: ${triads + 1} Groth16 checks, ${ok(tree.result)})`
    + (depth === 2 ? `   goal <= ${GOALS.treeMsDepth2} ms: ${mark(Math.min(tree.ms, tree.cpuMs) <= GOALS.treeMsDepth2)}` : ''));
  return {
    proved: p,
    row: {
      proofApex: { epoch: p.latest, ok: apex.result.ok, groth16: 2, bytes: apex.bytes, requests: apex.requests, ms: apex.ms, cpuMs: apex.cpuMs },
      proofTree: { epoch: p.latest, ok: tree.result.ok, triads, groth16: triads + 1, bytes: tree.bytes, requests: tree.requests, ms: tree.ms, cpuMs: tree.cpuMs, load: load() },
    },
  };
}

/** One Groth16 check's cost: ours (prepared key, one thread) and snarkjs.groth16.verify. */
async function groth16Floor(p: ProvedEpochs): Promise<Record<string, unknown>> {
  const gp = p.globals.get(p.latest)!;
  const kind = gp.depth === 1 ? 'triad_leaf' : 'triad_inner';
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    if (!(await verifyWithKey(vkeys[kind], gp.publicSignals, gp.proof))) throw new Error('floor: proof does not verify');
    ours.push(performance.now() - t);
  }
  for (let i = 0; i < Math.min(RUNS, 10); i++) {
    const t = performance.now();
    if (!(await snarkjs.groth16.verify(vkeys[kind], [...gp.publicSignals], gp.proof))) throw new Error('floor: snarkjs says no');
    theirs.push(performance.now() - t);
  }
  const r = { circuit: kind, oursMs: +median(ours).toFixed(2), snarkjsMs: +median(theirs).toFixed(2), load: load() };
  console.log(`Groth16 floor (${kind}): ${r.oursMs} ms per proof (prepared key, 3 Miller loops + 1 final exponentiation, one thread); snarkjs.groth16.verify ${r.snarkjsMs} ms (load ${r.load})`);
  return r;
}

// BENCH_LIGHT_NO_PROOFS=1: (a) and (b) only, no (c) and no Groth16 floor
const noProofs = process.env.BENCH_LIGHT_NO_PROOFS === '1';
const prover = noProofs ? undefined : new Prover({ threads: 'single' });
await prover?.warmed;
let floor: Record<string, unknown> | undefined;
try {
  for (const depth of depths) {
    console.log(`\n== depth ${depth} (${3 ** depth} shards; load ${load()})`);
    const row: Record<string, unknown> = { depth, shards: 3 ** depth };
    if (!noProofs) {
      const c = await globalProof(prover!, depth, H);
      Object.assign(row, c.row);
      if (depth === 2 || (!floor && depth === depths.at(-1))) floor ??= await groth16Floor(c.proved);
    }
    if (process.env.BENCH_LIGHT_NO_CLUSTER === '1') {
      results.push(row);
      continue;
    }
    try {
      Object.assign(row, await accountAndTx(depth));
    } catch (e) {
      // the first line names the failure; cluster up's own lines say why (a timeout, a node that
      // died); the JSON lines after them are the failing node's log tail
      const lines = (e as Error).message.split('\n').filter((l) => l.trim());
      const why = lines.slice(1).filter((l) => !l.startsWith('{'));
      const tail = lines.slice(1).filter((l) => l.startsWith('{')).slice(-3);
      row.clusterError = [lines[0], ...why.slice(-4)].join(' | ');
      console.log(`(a), (b) at depth ${depth}: no figures: ${lines[0]}\n${why.slice(-12).join('\n')}\n${tail.join('\n')}`);
    }
    results.push(row);
  }
} finally {
  await prover?.close();
  await closeVerifier();
}
// the verdicts take the lower of wall and process CPU time: on a loaded machine wall time is mostly
// waiting for a core (e.g. 34 ms wall for 1.6 ms of CPU at load 55), which is not the client's cost
console.log(`\ngoals: (a) <= ${GOALS.accountBytes} B and <= ${GOALS.accountMs} ms; (c) whole tree at depth 2 <= ${GOALS.treeMsDepth2} ms (time = the lower of wall and CPU)`);
console.log(JSON.stringify({ bench: 'light', runs: RUNS, goals: GOALS, groth16: floor, loadavg: load(), results }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
