// Runs many seeds of the simulator (world.ts), on `jobs` worker threads, and reports the failures
// with their seeds, first violations and trace tails. Used by scripts/sim.ts (`npm run sim`) and
// test/sim.test.ts (the CI budget).
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { SimConfig, SimResult } from './world.js';

const WORKER_URL = new URL('./worker.ts', import.meta.url);
const REGISTER = fileURLToPath(new URL('../../bin/register.mjs', import.meta.url));

export interface RunSummary {
  seeds: number;
  failed: SimResult[];
  ms: number;
  /** Seal -> global final latencies (ms) of the calm phase, over every seed. */
  latencies: number[];
  committed: number;
  faults: number;
  /** With replica sets: elections won, and how long each new writer under-reported a commit (ms). */
  elections: number;
  underReports: number[];
  /** With replica sets: rounds signed that the signing rule before 2026-12-07 withheld; epochs past the heal no two members could sign; per seed, the latest election after the faults ended (ms). */
  earlySigns: number;
  unsignable: number;
  lastElections: number[];
  /** Hash over the trace hashes of every seed, in seed order: one value for the whole run. */
  runHash: string;
  hashes: Map<number, string>;
}

/** Seeds `from` .. `from + count - 1`. */
export async function runSeeds(o: { from: number; count: number; jobs: number; config: Partial<SimConfig>; onResult?: (r: SimResult) => void }): Promise<RunSummary> {
  const t0 = performance.now();
  const results: SimResult[] = [];
  const jobs = Math.max(1, Math.min(o.jobs, o.count));
  await Promise.all(Array.from({ length: jobs }, (_, k) => new Promise<void>((resolve, reject) => {
    const seeds: number[] = [];
    for (let s = o.from + k; s < o.from + o.count; s += jobs) seeds.push(s);
    const w = new Worker(WORKER_URL, { execArgv: ['--import', REGISTER], workerData: { seeds, config: o.config } });
    w.on('message', (r: SimResult) => {
      results.push(r);
      o.onResult?.(r);
    });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulator worker exited with code ${code}`))));
  })));
  results.sort((a, b) => a.seed - b.seed);
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for (const r of results) h.update(`${r.seed}:${r.traceHash}\n`);
  return {
    seeds: results.length, failed: results.filter((r) => !r.ok), ms: performance.now() - t0,
    latencies: results.flatMap((r) => r.stats.latencies), committed: results.reduce((n, r) => n + r.stats.committed, 0),
    faults: results.reduce((n, r) => n + r.stats.faults, 0), runHash: h.digest('hex').slice(0, 32),
    elections: results.reduce((n, r) => n + (r.stats.elections ?? 0), 0), underReports: results.flatMap((r) => r.stats.underReports ?? []),
    earlySigns: results.reduce((n, r) => n + (r.stats.earlySigns ?? 0), 0), unsignable: results.reduce((n, r) => n + (r.stats.unsignable ?? 0), 0),
    lastElections: results.map((r) => r.stats.lastElectionMs ?? 0),
    hashes: new Map(results.map((r) => [r.seed, r.traceHash])),
  };
}

/** A failure as printed: seed, violations, the trace's last lines, and how to replay it. */
export function formatFailure(r: SimResult, config: Partial<SimConfig>): string {
  const flags = [
    `--seed ${r.seed}`, config.depth ? `--depth ${config.depth}` : '', config.replicas && config.replicas > 1 ? `--replicas ${config.replicas}` : '', config.faults ? `--faults ${config.faults}` : '',
    config.faultKinds ? `--kinds ${config.faultKinds.join(',')}` : '', config.faultEpochs !== undefined ? `--epochs ${config.faultEpochs}` : '',
    config.calmEpochs !== undefined ? `--calm ${config.calmEpochs}` : '', config.livenessEpochs !== undefined ? `--liveness ${config.livenessEpochs}` : '',
    config.txPerEpoch !== undefined ? `--tx ${config.txPerEpoch}` : '',
    config.bootMs ? `--boot ${config.bootMs[0]}-${config.bootMs[1]}` : '', config.disk === false ? '--no-disk' : '',
  ].filter(Boolean).join(' ');
  return [
    `FAIL seed ${r.seed} (trace ${r.traceHash}, ${r.traceLines} lines): replay with npm run sim -- ${flags} --verbose`,
    ...r.violations.map((v) => `  ${v}`),
    '  trace tail:',
    ...r.tail.map((l) => `    ${l}`),
  ].join('\n');
}
