// End to end, proof freshness on the default devnet shape (`smt cluster up`: 9 shards, 1 s epochs,
// automatic cadence). Properties checked:
//  - the cluster runs ONE prover pool for the machine: a prover service process with at most one
//    prover child per core, and no node has a prover child of its own;
//  - every node's /v1/proof/status says how old the newest global proof is (epochs and seconds,
//    consistent with the clock), which cadence it follows and why (the service's plan, from
//    measured capacity), and its metrics export the same age;
//  - a first global proof appears within a bound of `cluster up` returning, and later ones keep
//    coming: over the sampling window the newest global proof never gets older than a bound.
// The bounds are the goals with slack for a machine shared with other jobs (the goals on a
// quiet machine: first proof within 30 s, age <= 10 epochs at p99; `npm run bench:proof` measures
// them). At a load average of 30-40 from other jobs on 2 cores a leaf proof takes 20 s instead of
// 1.5 s and this test fails: run it when the machine is not saturated. Needs the circuit artifacts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadLayout } from '../../src/cluster/cluster.js';
import { apiUrl, findFreePortBases, readPid } from '../../src/cluster/supervisor.js';
import type { ClusterLayout } from '../../src/cluster/layout.js';
import { sleep } from '../support/wait.js';
import { smt } from '../support/process.js';
import { teardownCluster } from '../support/cluster.js';

const FIRST_PROOF_BOUND_S = 120; // goal 30 s on a quiet machine
const AGE_BOUND_EPOCHS = 40; // goal 10 (p99) on a quiet machine
const WINDOW_S = 45;
const tmp = mkdtempSync(join(tmpdir(), 'smt-e2e-fresh-'));
const netDir = join(tmp, 'net');
let layout: ClusterLayout | undefined;
let upAt = 0;

interface Status {
  latestGlobalProofEpoch: number;
  freshness?: { latestGlobalProofEpoch: number; ageEpochs: number | null; ageSeconds: number | null };
  cadence?: { every: number; source: string; why: string };
  prover?: { shared: string | null };
}

async function statuses(): Promise<Status[]> {
  const out = await Promise.all(layout!.shards.map(async (s) => {
    try {
      const r = await fetch(`${apiUrl(s)}/v1/proof/status`, { signal: AbortSignal.timeout(3000) });
      return r.status === 200 ? ((await r.json()) as Status) : undefined;
    } catch {
      return undefined;
    }
  }));
  return out.filter((x): x is Status => x !== undefined);
}

/** Child processes of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const f = `/proc/${pid}/task/${t}/children`;
    if (existsSync(f)) out.push(...readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return out;
}

before(async () => {
  const [apiBase, p2pBase] = await findFreePortBases(9);
  const env = { ...process.env };
  delete env.SMT_PROVE_EVERY;
  delete env.SMT_NO_PROVE;
  const up = await smt(['cluster', 'up', '--network', netDir, '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', '150'], 180_000, env);
  assert.equal(up.code, 0, `cluster up failed:\n${up.stdout}\n${up.stderr}`);
  upAt = Date.now();
  layout = loadLayout(netDir);
});

after(async () => {
  await teardownCluster(netDir, layout, tmp);
});

test('one prover pool for the machine; the newest global proof\'s age is reported, consistent and bounded; the cadence says why', { timeout: 300_000 }, async () => {
  // one pool: the prover service's children are its workers (<= cores); nodes have no prover child
  const pidFile = join(netDir, 'run', 'prover.pid');
  assert.ok(existsSync(pidFile), 'cluster up started a prover service (run/prover.pid)');
  const servicePid = Number(readFileSync(pidFile, 'utf8').trim());
  const workers = childrenOf(servicePid).length;
  assert.ok(workers >= 1 && workers <= availableParallelism(), `prover service has ${workers} prover children, want 1..${availableParallelism()}`);
  for (const s of layout!.shards) assert.deepEqual(childrenOf(readPid(netDir, s)!), [], `node ${s.shard} runs no prover child of its own`);

  // the first global proof, within the bound
  let first: number | undefined;
  while (Date.now() - upAt < FIRST_PROOF_BOUND_S * 1000) {
    const st = await statuses();
    if (st.some((s) => s.latestGlobalProofEpoch >= 0)) {
      first = (Date.now() - upAt) / 1000;
      break;
    }
    await sleep(1000);
  }
  assert.ok(first !== undefined, `no global proof within ${FIRST_PROOF_BOUND_S} s of cluster up returning`);

  // the status says what it follows and why, and the age is the clock's distance to the proof
  const genesis = JSON.parse(readFileSync(join(netDir, 'genesis.json'), 'utf8')) as { genesisTime: number; epochMs: number };
  const st = await statuses();
  for (const s of st) {
    assert.equal(s.cadence?.source, 'pool', 'nodes follow the prover service\'s plan');
    assert.match(s.cadence!.why, /leaf .* inner .* usable cores .* => every \d+/);
    assert.ok(s.prover?.shared?.startsWith('http://127.0.0.1:'), 'nodes prove through the shared service');
  }
  const seen = st.filter((s) => s.freshness && s.freshness.latestGlobalProofEpoch >= 0);
  assert.ok(seen.length > 0);
  for (const s of seen) {
    const f = s.freshness!;
    const clock = Math.floor((Date.now() - genesis.genesisTime) / genesis.epochMs) - 1;
    assert.ok(Math.abs(clock - f.latestGlobalProofEpoch - f.ageEpochs!) <= 2, `ageEpochs ${f.ageEpochs} = clock ${clock} - proof epoch ${f.latestGlobalProofEpoch}`);
    assert.ok(Math.abs(f.ageSeconds! - f.ageEpochs! * genesis.epochMs / 1000) <= 3, `ageSeconds ${f.ageSeconds} agrees with ${f.ageEpochs} epochs`);
  }
  const metrics = await (await fetch(`${apiUrl(layout!.shards[0]!)}/metrics`)).text();
  assert.match(metrics, /^smt_global_proof_age_epochs(\{[^}]*\})? -?\d+$/m);
  assert.match(metrics, /^smt_global_proof_age_seconds(\{[^}]*\})? -?[\d.]+$/m);

  // over the window, new proofs keep the newest one young
  const proved = new Set<number>();
  let worst = 0;
  const end = Date.now() + WINDOW_S * 1000;
  while (Date.now() < end) {
    const ages = (await statuses()).map((s) => s.freshness).filter((f) => f && f.ageEpochs !== null);
    if (ages.length > 0) {
      const best = Math.min(...ages.map((f) => f!.ageEpochs!));
      worst = Math.max(worst, best);
      for (const f of ages) proved.add(f!.latestGlobalProofEpoch);
    }
    await sleep(1000);
  }
  assert.ok(proved.size >= 2, `global proofs kept coming over ${WINDOW_S} s (saw epochs ${[...proved].join(', ')})`);
  assert.ok(worst <= AGE_BOUND_EPOCHS, `newest global proof was ${worst} epochs old at worst (bound ${AGE_BOUND_EPOCHS})`);

  // `smt cluster status` shows it
  const cs = await smt(['cluster', 'status', '--network', netDir], 30_000);
  assert.match(cs.stdout, /newest global proof: epoch \d+, \d+ epochs \([\d.]+ s\) old; cadence every \d+ \(pool\)/);
  console.log(`first global proof ${first} s after cluster up returned; worst age ${worst} epochs over ${WINDOW_S} s; ${proved.size} proved epochs seen`);
});
