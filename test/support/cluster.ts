// Tearing a test cluster down for certain: graceful `smt cluster down`, then SIGKILL whatever
// survived (shard processes and the machine's prover service), then its temp dir.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterLayout } from '../../src/cluster/layout.js';
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
