// Child processes in tests: run a command to completion (killed past a timeout), the `smt` CLI, and
// a node process (`smt node start`) waited for until it serves.
import { spawn, type ChildProcess } from 'node:child_process';
import { SMT_BIN } from '../../src/cluster/supervisor.js';
import { REPO_ROOT } from '../../src/proof/artifacts.js';

export interface Run { code: number | null; stdout: string; stderr: string }

/** Runs `cmd` to completion; SIGKILL after `timeoutMs` (then code is null). `onLine`: each stdout line as it comes (progress). */
export function run(cmd: string, args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env, onLine?: (line: string) => void): Promise<Run> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    let seen = 0;
    p.stdout.on('data', (d) => {
      stdout += d;
      if (!onLine) return;
      const end = stdout.lastIndexOf('\n') + 1;
      if (end <= seen) return;
      for (const l of stdout.slice(seen, end).split('\n')) if (l.trim()) onLine(l);
      seen = end;
    });
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

export interface NodeProcess {
  proc: ChildProcess;
  /** The API base URL it printed ("api listening on URL"). */
  url: string;
  stdout(): string;
  stderr(): string;
  /** Everything it wrote, stdout and stderr interleaved. */
  output(): string;
  /** Its exit code (null after a signal). */
  exited: Promise<number | null>;
}

/**
 * Starts `smt node start ...args` and resolves once it prints "api listening on URL". Rejects (and
 * kills it) if it does not within `timeoutMs`, or rejects if it exits first, with what it wrote.
 * `nodeFlags` go to node itself (e.g. --max-old-space-size).
 */
export function startNode(args: string[], o: { timeoutMs?: number; nodeFlags?: string[]; env?: NodeJS.ProcessEnv; bin?: string } = {}): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [...(o.nodeFlags ?? []), o.bin ?? SMT_BIN, 'node', 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  let out = '';
  let err = '';
  let all = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d; all += d; });
  const timeoutMs = o.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`node did not start within ${timeoutMs / 1000} s; stderr: ${err}; stdout: ${out}`));
    }, timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      all += d;
      const m = /^api listening on (http:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ proc, url: m[1]!, stdout: () => out, stderr: () => err, output: () => all, exited });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`node exited with ${code} before listening; stderr: ${err}; stdout: ${out}`));
    });
  });
}
