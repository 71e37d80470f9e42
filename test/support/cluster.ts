// Tearing a test cluster down for certain: graceful `smt cluster down`, then SIGKILL whatever
// survived (shard processes and the machine's prover service), then its temp dir.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterLayout } from '../../src/cluster/layout.js';
import { processName } from '../../src/cluster/layout.js';
import { isAlive, proverPid, readPid } from '../../src/cluster/supervisor.js';
import { smt } from './process.js';

/** Stops every shard process of the cluster in `netDir` and removes `tmp` (kept if SMT_KEEP_E2E is set). */
export async function teardownCluster(netDir: string, layout: ClusterLayout | undefined, tmp: string): Promise<void> {
  if (existsSync(join(netDir, 'cluster.json'))) await smt(['cluster', 'down', '--network', netDir, '--grace', '3'], 30_000);
  for (const s of layout?.shards ?? []) {
    const pid = readPid(netDir, s);
    if (isAlive(pid)) process.kill(pid!, 'SIGKILL');
  }
  const prover = proverPid(netDir); // the cluster's prover service
  if (isAlive(prover)) process.kill(prover!, 'SIGKILL');
  if (process.env.SMT_KEEP_E2E) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

/** Prints the last `n` lines (HTTP request lines left out) of every node's log: CI keeps only the test
 * output, so a failed multi-process test shows what its nodes were doing. */
export function printLogTails(netDir: string, layout: ClusterLayout | undefined, n = 20): void {
  for (const s of layout?.shards ?? []) {
    const f = join(netDir, 'logs', `${processName(s)}.log`);
    if (!existsSync(f)) continue;
    const lines = readFileSync(f, 'utf8').split('\n').filter((l) => l && !l.includes('"module":"http"')).slice(-n);
    console.log(`\nlast lines of ${processName(s)}'s log (without HTTP requests):`);
    for (const l of lines) console.log(`  ${l.slice(0, 400)}`);
  }
}
