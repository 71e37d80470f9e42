// The whole-network simulator (docs/SIMULATION.md): npm run sim -- --seeds N [--seed S] [--depth D]
// Runs seeds S .. S+N-1 (default 1 .. 100) and prints each failure's seed, violations and trace tail;
// exits 1 if any failed. With --seed and no --seeds, one seed is replayed and its trace printed
// (--verbose adds the nodes' own log lines); the trace hash shows it replays byte for byte.
// Last line: one JSON object (seeds, failures, seconds, run hash).
import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { formatFailure, runSeeds } from '../test/sim/runner.js';
import { World, DEFAULTS, FAULT_KINDS, REPLICA_FAULT_KINDS, type FaultKind, type SimConfig } from '../test/sim/world.js';

const cmd = new Command('sim')
  .description('deterministic simulation of the whole network on a virtual clock')
  .option('--seeds <n>', 'number of seeds to run', (v) => Number.parseInt(v, 10))
  .option('--seed <s>', 'first seed (alone: replay this seed and print its trace)', (v) => Number.parseInt(v, 10))
  .option('--depth <d>', 'hierarchy depth (3^d shards)', (v) => Number.parseInt(v, 10), 1)
  .option('--replicas <n>', 'replicas per shard (3: every shard a replica set running the replica protocol)', (v) => Number.parseInt(v, 10), 1)
  .addOption(new Option('--faults <mode>', 'fault model').choices(['random', 'one-per-triad', 'none']).default('random'))
  .option('--kinds <list>', `fault kinds, comma-separated (${FAULT_KINDS.join(', ')}; with --replicas: ${REPLICA_FAULT_KINDS.join(', ')})`)
  .option('--epochs <n>', 'epochs with faults', (v) => Number.parseInt(v, 10))
  .option('--calm <n>', 'epochs after the faults heal', (v) => Number.parseInt(v, 10))
  .option('--tx <n>', 'transfers submitted per epoch', (v) => Number.parseInt(v, 10))
  .option('--liveness <n>', 'a global snapshot of every epoch must be final within this many epochs of its seal', (v) => Number.parseInt(v, 10))
  .option('--boot <min-max>', 'ms a restarted process takes to come up, drawn per restart (default 1000-5000; 0-0: at once)')
  .option('--no-disk', 'no disk latency (every store operation completes at once)')
  .option('--jobs <n>', 'worker threads', (v) => Number.parseInt(v, 10), Math.min(2, availableParallelism()))
  .option('--verbose', 'with --seed alone: trace the nodes\' log lines too')
  .parse();
const o = cmd.opts<{ seeds?: number; seed?: number; depth: number; replicas: number; faults: SimConfig['faults']; epochs?: number; calm?: number; liveness?: number; tx?: number; jobs: number; verbose?: boolean; kinds?: string; boot?: string; disk: boolean }>();
const config: Partial<SimConfig> = {
  depth: o.depth, faults: o.faults, ...(o.replicas > 1 ? { replicas: o.replicas } : {}),
  ...(o.kinds ? { faultKinds: o.kinds.split(',') as FaultKind[] } : {}),
  ...(o.epochs !== undefined ? { faultEpochs: o.epochs } : {}),
  ...(o.calm !== undefined ? { calmEpochs: o.calm } : {}),
  ...(o.liveness !== undefined ? { livenessEpochs: o.liveness } : {}),
  ...(o.tx !== undefined ? { txPerEpoch: o.tx } : {}),
  ...(o.boot !== undefined ? { bootMs: parseRange(o.boot) } : {}),
  ...(o.disk ? {} : { disk: false }),
};

function parseRange(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`--boot wants <min>-<max> in ms (e.g. 1000-5000), got ${v}`);
  return [Number(m[1]), Number(m[2])];
}

if (o.seed !== undefined && o.seeds === undefined) {
  const w = new World({ ...DEFAULTS, ...config, seed: o.seed, verbose: o.verbose, traceTail: 1_000_000 });
  const r0 = await w.run();
  await w.close();
  const r = { ...r0, ok: r0.violations.length === 0 }; // a rejection while closing counts too
  for (const l of r.tail) console.log(l);
  for (const v of r.violations) console.log(`VIOLATION ${v}`);
  console.log(JSON.stringify({ seed: r.seed, ok: r.ok, traceHash: r.traceHash, traceLines: r.traceLines, globals: r.stats.globals, committed: r.stats.committed, faults: r.stats.faults }));
  process.exit(r.ok ? 0 : 1);
}

const from = o.seed ?? 1;
const count = o.seeds ?? 100;
let done = 0;
const s = await runSeeds({
  from, count, jobs: o.jobs, config,
  onResult: (r) => {
    done++;
    if (!r.ok) console.log(formatFailure(r, config));
    if (done % 100 === 0) console.error(`${done}/${count} seeds`);
  },
});
console.log(`${s.seeds} seeds (${from}..${from + count - 1}), depth ${o.depth}${o.replicas > 1 ? ` x ${o.replicas} replicas` : ''}, faults ${o.faults}: ${s.failed.length} failed, ${s.faults} faults injected, ${s.committed} commits, ${(s.ms / 1000).toFixed(1)} s`);
if (o.replicas > 1) {
  const u = s.underReports.sort((a, b) => a - b);
  console.log(`replicas: ${s.elections} elections; ${u.length} new writers reported a committed epoch below one already acknowledged committed, for ${u.length ? `${u[0]}..${u[u.length - 1]} ms (median ${u[u.length >> 1]})` : '-'}`);
  const l = s.lastElections.sort((a, b) => a - b);
  console.log(`replicas: latest election after the faults ended ${l[l.length - 1]} ms (median per seed ${l[l.length >> 1]}); ${s.earlySigns} rounds signed in a writer's first epoch; ${s.unsignable} epochs past the heal no two members could sign (not judged)`);
}
console.log(JSON.stringify({ seeds: s.seeds, failed: s.failed.map((r) => r.seed), seconds: Math.round(s.ms / 100) / 10, runHash: s.runHash, depth: o.depth, replicas: o.replicas, faults: o.faults }));
process.exit(s.failed.length ? 1 : 0);
