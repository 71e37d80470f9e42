// Trie benchmark: npm run bench:trie [-- --sizes 10000,100000 --batch 100000 --arities 3,2 --checkpoint-every 10,20]
// Each (arity, size) runs in its own child process so peak RSS is per case. Per case: load N random
// keys (16-byte values) committing every `batch` inserts; then updates of random existing keys,
// committed every `batch` to a real LevelDB in a temp dir, twice: "seq upd/s" awaits each commit
// before the next batch's puts (and splits its time into phases; commit ms = applying the staged
// writes + hashing + encoding + the LevelDB batch), "upd/s" lets trie.commit() of one batch apply and
// hash while the previous batch's LevelDB write is still landing (commits land in order, each
// atomic; counted from the first put to the last commit landed); gets on the loaded trie and
// on a fresh read-only view (cold, nodes read from LevelDB); proofs (prove + encode); verifications
// (verifyProof on decoded proofs, decode + verify, and verifyProofs on the decoded proofs: 4 ternary
// proofs per 4-lane SHA-256 call); mean proof sizes; node hashes per update.
// Also, per case: where the update phase's time goes (ms per commit of `batch` updates: the put calls,
// applying the staged writes, hashing, encoding records, the LevelDB batch write, and V8 GC pauses
// during the whole update phase; the phases are timed by calling root() before stageCommit(), which
// does the same work as stageCommit() alone), the time to reopen the store at the last root and
// loadAll() (what a restarted shard does), and os.loadavg() when the case ended. Verifications run
// after the LevelDB store is closed (they need no database; its background compaction would skew them).
// Then arity 3 again with journaled commits (TrieOptions.checkpointEvery K, by default here K = 10
// and K = 20; 0 skips them): every K-th commit writes the dirty nodes, the others only their write
// journal; the reopen figure then includes replaying up to K - 1 journals.
// Prints a table and, as the last line, one JSON object with every figure.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { Level } from 'level';
import { TernaryTrie, LevelNodeStore, MemoryNodeStore, verifyProof, verifyProofs, encodeProof, decodeProof } from '../src/trie/index.js';
import { hashStats } from '../src/trie/hash.js';

interface CaseResult {
  arity: number;
  /** TrieOptions.checkpointEvery: 1 = every commit writes its nodes. */
  checkpointEvery: number;
  keys: number;
  batch: number;
  loadInsertsPerSec: number;
  /** Committed updates/s, commits overlapping the next batch (trie.commit()). */
  updatesPerSec: number;
  /** Committed updates/s, each commit awaited before the next batch's puts (the phase split). */
  updatesPerSecSequential: number;
  updatesPerCpuSec: number;
  commitMs: number;
  recordsPerCommit: number;
  hashesPerUpdate: number;
  getsPerSec: number;
  coldGetsPerSec: number;
  proofsPerSec: number;
  verificationsPerSec: number;
  verificationsPerCpuSec: number;
  decodeVerifyPerSec: number;
  /** verifyProofs over the same decoded proofs (ternary: 4 per 4-lane SHA-256 call). */
  batchVerificationsPerSec: number;
  meanProofBytes: number;
  meanAbsenceProofBytes: number;
  peakRssMB: number;
  /** ms per commit of `batch` updates, by phase; gcMs = V8 GC pauses during the update phase. */
  phases: { putMs: number; applyMs: number; hashMs: number; encodeMs: number; writeMs: number; gcMs: number };
  /** Reopen at the last root + loadAll(): wall ms and CPU ms. */
  loadAllMs: number;
  loadAllCpuMs: number;
  loadavg: number[];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Warms the JIT on a small in-memory trie so the first measured size is not penalised. */
async function warmUp(arity: number): Promise<void> {
  const t = await TernaryTrie.open(new MemoryNodeStore(), undefined, { arity });
  const ks = Array.from({ length: 20_000 }, () => randomBytes(32));
  for (let r = 0; r < 3; r++) {
    for (const k of ks) await t.put(k, randomBytes(16));
    await t.commit();
    const claims = [];
    for (const k of ks.slice(0, 5000)) {
      await t.get(k);
      const p = decodeProof(encodeProof(await t.prove(k), arity), arity);
      verifyProof(t.root(), k, (await t.get(k))!, p, arity);
      claims.push({ root: t.root(), key: k, value: (await t.get(k))!, proof: p });
    }
    verifyProofs(claims, arity);
  }
}

async function runCase(arity: number, n: number, batch: number, checkpointEvery: number): Promise<CaseResult> {
  await warmUp(arity);
  const dir = mkdtempSync(join(tmpdir(), 'smt-bench-trie-'));
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const store = new LevelNodeStore(db.sublevel<Uint8Array, Uint8Array>('n', { keyEncoding: 'view', valueEncoding: 'view' }));
  const trie = await TernaryTrie.open(store, undefined, { arity, checkpointEvery });
  const keys: Uint8Array[] = new Array(n);
  const pool = randomBytes(32 * n);
  for (let i = 0; i < n; i++) keys[i] = pool.subarray(32 * i, 32 * i + 32);
  // Random updates take a fresh view of the key, as a node does (it hashes an address into a new
  // buffer): reading a random one of a million long-lived view objects costs a cache miss on the
  // object before its bytes (measured: ~0.5 us per put, about half the put time at a million keys).
  const keyAt = (i: number): Uint8Array => pool.subarray(32 * i, 32 * i + 32);
  // An account-sized value (balance u64, nonce u64) written into one scratch buffer: put() copies it,
  // so the benchmark does not allocate (and garbage-collect) a buffer per write of its own.
  const vbuf = new Uint8Array(16);
  const value = (i: number): Uint8Array => {
    vbuf[12] = i >>> 24;
    vbuf[13] = (i >>> 16) & 0xff;
    vbuf[14] = (i >>> 8) & 0xff;
    vbuf[15] = i & 0xff;
    return vbuf;
  };

  // Load: N inserts, committed every `batch`.
  let t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    const end = Math.min(n, i + batch);
    for (let j = i; j < end; j++) await trie.put(keys[j]!, value(j));
    await trie.commit();
  }
  const loadMs = performance.now() - t0;

  // Updates: random existing keys get new values, committed every `batch`, at least 2 commits.
  // (Journaled: a multiple of K commits, so the average includes one checkpoint per K.)
  const rounds = Math.ceil(Math.max(2, Math.ceil(Math.min(n, 200_000) / batch)) / checkpointEvery) * checkpointEvery;
  let commitMs = 0;
  let records = 0;
  const h0 = hashStats.count;
  let updates = 0;
  const ph = { putMs: 0, applyMs: 0, hashMs: 0, encodeMs: 0, writeMs: 0, gcMs: 0 };
  const flush = (trie as unknown as { flush(): void }).flush.bind(trie); // private: only to split the phases
  const gcObs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) ph.gcMs += e.duration;
  });
  gcObs.observe({ entryTypes: ['gc'] });
  let cpu0 = process.cpuUsage();
  t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    const p0 = performance.now();
    for (let j = 0; j < batch; j++) await trie.put(keyAt((Math.random() * n) | 0), value(n + updates++));
    const c0 = performance.now();
    flush();
    const c1 = performance.now();
    trie.root();
    const c2 = performance.now();
    const staged = trie.stageCommit();
    const c3 = performance.now();
    records += staged.nodes.length;
    await store.writeNodes(staged.nodes);
    const c4 = performance.now();
    trie.markCommitted();
    commitMs += performance.now() - c0;
    ph.putMs += c0 - p0;
    ph.applyMs += c1 - c0;
    ph.hashMs += c2 - c1;
    ph.encodeMs += c3 - c2;
    ph.writeMs += c4 - c3;
  }
  const seqMs = performance.now() - t0;
  await new Promise((r) => setImmediate(r)); // let the observer see the last GC entries
  gcObs.disconnect();
  for (const k of Object.keys(ph) as Array<keyof typeof ph>) ph[k] = Math.round(ph[k] / rounds);
  const hashes = hashStats.count - h0;
  const seqUpdates = updates;

  // The same updates with overlapping commits (trie.commit() of one batch applies and hashes it while
  // the previous batch's LevelDB write is still running on LevelDB's thread; commits land in order,
  // each atomic). Counted from the first put to the last commit landed: committed updates per second.
  // Enough batches (up to a million updates) that periodic work (a journaled run's checkpoints, an
  // arena relayout when a workload triggers one) is counted at its average rate, not by where a short
  // window falls. (Same-size updates stay in place in the arena: this update-only load triggers none.)
  // Journaled: a multiple of K commits, so exactly one checkpoint per K commits is counted.
  const prounds = Math.ceil(Math.max(3, Math.ceil(Math.min(n, 1_000_000) / batch)) / checkpointEvery) * checkpointEvery;
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  let prev: Promise<Uint8Array> | null = null;
  for (let r = 0; r < prounds; r++) {
    for (let j = 0; j < batch; j++) await trie.put(keyAt((Math.random() * n) | 0), value(n + updates++));
    const next = trie.commit();
    if (prev !== null) await prev;
    prev = next;
  }
  await prev;
  const updMs = performance.now() - t0;
  const updCpu = process.cpuUsage(cpu0);
  const pipeUpdates = prounds * batch;
  const root = trie.root();

  // Gets on the in-memory trie.
  const G = Math.min(200_000, n * 2);
  t0 = performance.now();
  for (let i = 0; i < G; i++) await trie.get(keys[(Math.random() * n) | 0]!);
  const getMs = performance.now() - t0;

  // Cold gets: a fresh view of the committed root, nodes loaded from LevelDB.
  const view = await TernaryTrie.at(store, root, { arity });
  const CG = Math.min(20_000, n);
  t0 = performance.now();
  for (let i = 0; i < CG; i++) await view.get(keys[(Math.random() * n) | 0]!);
  const coldMs = performance.now() - t0;

  // Proofs: inclusion, encoded.
  const P = Math.min(50_000, n);
  const pk: Uint8Array[] = [];
  const pv: Uint8Array[] = [];
  const proofs: Uint8Array[] = [];
  let proofBytes = 0;
  t0 = performance.now();
  for (let i = 0; i < P; i++) {
    const k = keys[(Math.random() * n) | 0]!;
    const p = encodeProof(await trie.prove(k), arity);
    pk.push(k);
    proofs.push(p);
    proofBytes += p.length;
  }
  const proveMs = performance.now() - t0;
  for (const k of pk) pv.push((await trie.get(k))!);
  let absBytes = 0;
  const A = 2000;
  for (let i = 0; i < A; i++) absBytes += encodeProof(await trie.prove(randomBytes(32)), arity).length;

  // Peak RSS of the case so far (before the reopened second copy below).
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  // Reopen at the committed root and load everything, as a restarted shard does.
  const la0 = process.cpuUsage();
  t0 = performance.now();
  const reopened = await TernaryTrie.open(store, root, { arity, checkpointEvery });
  await reopened.loadAll();
  const loadAllMs = performance.now() - t0;
  const laCpu = process.cpuUsage(la0);
  if (Buffer.compare(reopened.root(), root) !== 0) throw new Error('reopened root differs');

  // Verification needs no database: close it first, so that LevelDB's background compaction of the
  // update phase's writes does not compete with (and, in the CPU figure, count against) verifyProof.
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  // A full GC before each timed verification loop (the child runs with --expose-gc), so that no loop
  // pays for the garbage of the phases before it. Decode + verify runs first, while the process holds
  // no decoded proofs: 100k of them alive (~5M small objects, as the two loops after it need) make
  // every young-generation GC slow (measured: 1.1 s of scavenges per 100k decodes, against 40 ms),
  // which is the benchmark's doing, not the decoder's; a node holds a handful at a time.
  const fullGc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
  fullGc();
  t0 = performance.now();
  for (let i = 0; i < P; i++) if (!verifyProof(root, pk[i]!, pv[i]!, decodeProof(proofs[i]!, arity), arity)) throw new Error('proof failed');
  const decVerMs = performance.now() - t0;
  const decoded = proofs.map((p) => decodeProof(p, arity));
  fullGc();
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  for (let i = 0; i < P; i++) if (!verifyProof(root, pk[i]!, pv[i]!, decoded[i]!, arity)) throw new Error('proof failed');
  const verMs = performance.now() - t0;
  const verCpu = process.cpuUsage(cpu0);
  const claims = decoded.map((proof, i) => ({ root, key: pk[i]!, value: pv[i]!, proof }));
  fullGc();
  t0 = performance.now();
  const verdicts = verifyProofs(claims, arity);
  const batchVerMs = performance.now() - t0;
  if (verdicts.indexOf(0) >= 0) throw new Error('proof failed (verifyProofs)');
  return {
    arity,
    checkpointEvery,
    keys: n,
    batch,
    loadInsertsPerSec: Math.round(n / (loadMs / 1000)),
    updatesPerSec: Math.round(pipeUpdates / (updMs / 1000)),
    updatesPerSecSequential: Math.round(seqUpdates / (seqMs / 1000)),
    // CPU time of this process only (user + system, all its threads): less sensitive to other load on the machine.
    updatesPerCpuSec: Math.round(pipeUpdates / ((updCpu.user + updCpu.system) / 1e6)),
    commitMs: Math.round(commitMs / rounds),
    recordsPerCommit: Math.round(records / rounds),
    hashesPerUpdate: +(hashes / seqUpdates).toFixed(2),
    getsPerSec: Math.round(G / (getMs / 1000)),
    coldGetsPerSec: Math.round(CG / (coldMs / 1000)),
    proofsPerSec: Math.round(P / (proveMs / 1000)),
    verificationsPerSec: Math.round(P / (verMs / 1000)),
    verificationsPerCpuSec: Math.round(P / ((verCpu.user + verCpu.system) / 1e6)),
    decodeVerifyPerSec: Math.round(P / (decVerMs / 1000)),
    batchVerificationsPerSec: Math.round(P / (batchVerMs / 1000)),
    meanProofBytes: Math.round(proofBytes / P),
    meanAbsenceProofBytes: Math.round(absBytes / A),
    peakRssMB,
    phases: ph,
    loadAllMs: Math.round(loadAllMs),
    loadAllCpuMs: Math.round((laCpu.user + laCpu.system) / 1000),
    loadavg: loadavg().map((x) => +x.toFixed(2)),
  };
}

async function main(): Promise<void> {
  const one = arg('--one');
  const batch = Number(arg('--batch') ?? 100_000);
  if (one) {
    const [a, n, c] = one.split(':').map(Number);
    const r = await runCase(a!, n!, Math.min(batch, n!), c ?? 1);
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const sizes = (arg('--sizes') ?? '10000,100000,1000000').split(',').map(Number);
  const arities = (arg('--arities') ?? '3,2').split(',').map(Number);
  const every = (arg('--checkpoint-every') ?? '10,20').split(',').map(Number);
  const modes: Array<[arity: number, every: number]> = arities.map((a) => [a, 1]);
  for (const c of every) if (c > 1) modes.push([3, c]);
  const results: CaseResult[] = [];
  for (const [a, c] of modes) {
    console.log(`arity ${a}${a === 2 ? ' (binary, for comparison)' : ''}${c > 1 ? `, journaled commits (nodes written every ${c}th commit)` : ''}`);
    console.log(
      'keys'.padStart(9),
      'load ins/s'.padStart(11),
      'upd/s'.padStart(9),
      'seq upd/s'.padStart(10),
      'upd/cpu-s'.padStart(10),
      'commit ms'.padStart(10),
      'rec/commit'.padStart(11),
      'hash/upd'.padStart(9),
      'gets/s'.padStart(9),
      'cold get/s'.padStart(11),
      'proofs/s'.padStart(9),
      'verify/s'.padStart(9),
      'ver/cpu-s'.padStart(10),
      'dec+ver/s'.padStart(10),
      'batch ver/s'.padStart(12),
      'proof B'.padStart(8),
      'absent B'.padStart(9),
      'RSS MB'.padStart(7),
      ' per commit ms: put/apply/hash/encode/write/gc'.padEnd(47),
      'loadAll ms'.padStart(10),
      'load'.padStart(6),
    );
    for (const n of sizes) {
      const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', process.argv[1]!, '--one', `${a}:${n}:${c}`, '--batch', String(batch)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 20,
      });
      if (child.status !== 0) throw new Error(`bench case ${a}:${n}:${c} failed`);
      const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as CaseResult;
      results.push(r);
      console.log(
        String(r.keys).padStart(9),
        String(r.loadInsertsPerSec).padStart(11),
        String(r.updatesPerSec).padStart(9),
        String(r.updatesPerSecSequential).padStart(10),
        String(r.updatesPerCpuSec).padStart(10),
        String(r.commitMs).padStart(10),
        String(r.recordsPerCommit).padStart(11),
        String(r.hashesPerUpdate).padStart(9),
        String(r.getsPerSec).padStart(9),
        String(r.coldGetsPerSec).padStart(11),
        String(r.proofsPerSec).padStart(9),
        String(r.verificationsPerSec).padStart(9),
        String(r.verificationsPerCpuSec).padStart(10),
        String(r.decodeVerifyPerSec).padStart(10),
        String(r.batchVerificationsPerSec).padStart(12),
        String(r.meanProofBytes).padStart(8),
        String(r.meanAbsenceProofBytes).padStart(9),
        String(r.peakRssMB).padStart(7),
        (' ' + [r.phases.putMs, r.phases.applyMs, r.phases.hashMs, r.phases.encodeMs, r.phases.writeMs, r.phases.gcMs].join('/')).padEnd(47),
        String(r.loadAllMs).padStart(10),
        String(r.loadavg[0]).padStart(6),
      );
    }
  }
  const os = await import('node:os');
  console.log(JSON.stringify({ bench: 'trie', batch, node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => +x.toFixed(2)), results }));
}

await main();
