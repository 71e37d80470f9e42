// Shared by the multi-process tests: run a command to completion with a kill timeout, and tear a
// cluster down for certain (graceful `cluster down`, then SIGKILL whatever survived).
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterLayout } from '../../src/cluster/layout.js';
import { isAlive, proverPid, readPid, SMT_BIN } from '../../src/cluster/supervisor.js';
import { REPO_ROOT } from '../../src/proof/artifacts.js';

export interface Run { code: number | null; stdout: string; stderr: string }

export function run(cmd: string, args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

/** `node bin/smt.mjs ...args` */
export const smt = (args: string[], timeoutMs = 90_000, env?: NodeJS.ProcessEnv): Promise<Run> => run(process.execPath, [SMT_BIN, ...args], timeoutMs, env);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
