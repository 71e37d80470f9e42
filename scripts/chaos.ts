// npm run test:chaos -- --seed N --duration S [--depth D] [--clients K] [--accounts A] [--epoch-ms MS] [--cross-shard] [--replicas 3] [--keep]
// --replicas 3: every shard a replica set, and the nemesis adds kill-writer, kill-follower, partition-writer and wipe-follower faults.
// The chaos bank test (scripts/chaos-lib.ts): prints the seed, the schedule of faults as it runs and
// the checker's tables; exits 1 on any anomaly, 3 when the checker could not check everything. Re-run a failing seed with the same --seed.
import { parseArgs } from 'node:util';
import { runChaos } from './chaos-lib.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' }, duration: { type: 'string', default: '60' }, depth: { type: 'string', default: '1' },
    clients: { type: 'string', default: '4' }, accounts: { type: 'string', default: '24' }, 'epoch-ms': { type: 'string', default: '1000' },
    keep: { type: 'boolean', default: false },
    'cross-shard': { type: 'boolean', default: false },
    replicas: { type: 'string', default: '1' },
  },
});
const int = (name: string, v: string | undefined, min: number, max: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};
const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : int('seed', values.seed, 0, 2 ** 32 - 1);
console.log(`seed ${seed} (re-run with --seed ${seed})`);
const r = await runChaos({
  seed, durationS: int('duration', values.duration, 5, 3600), depth: int('depth', values.depth, 0, 2),
  clients: int('clients', values.clients, 1, 64), accounts: int('accounts', values.accounts, 2, 1000),
  epochMs: int('epoch-ms', values['epoch-ms'], 100, 10_000), keepDir: values.keep,
  crossShard: values['cross-shard'] || undefined,
  replicas: int('replicas', values.replicas, 1, 7),
});
if (values.keep) console.log(`kept ${r.dir}`);
process.exit(r.anomalies.length > 0 ? 1 : r.inconclusive.length > 0 ? 3 : 0);
