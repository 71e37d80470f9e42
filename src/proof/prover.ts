// Groth16 proving off the hot path: one long-lived child process per Prover, niced to lower
// priority, fed one proof request at a time. The child warms up as soon as it is spawned (zkeys in
// memory, witness WASMs compiled, curve built: prover-worker.ts), so constructing a Prover at boot
// takes the cold start off the first proof. The child holds no reference on the parent's event loop
// while idle.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Groth16Proof } from 'snarkjs';
import { niceProcess } from '../core/cpu-priority.js';
import { artifactsDir, circuitsBuilt, type CircuitKind } from './artifacts.js';
import type { ThreadMode } from './prover-worker.js';
import type { CircuitInput } from './tree.js';

/** The provers' CPU priority (the nodes keep theirs). */
export const PROVER_NICE = 10;

export class ProverError extends Error {
  override name = 'ProverError';
}

export interface ProofResult {
  proof: Groth16Proof;
  publicSignals: string[];
  ms: number; // wall time in the child, witness + proof
  witnessMs?: number;
  proveMs?: number;
  cpuMs?: number; // CPU time of the child during the proof (all its threads)
}

interface Pending {
  resolve: (r: ProofResult) => void;
  reject: (e: Error) => void;
}

const WORKER = fileURLToPath(new URL('./prover-worker.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../../bin/register.mjs', import.meta.url));

export interface ProverOptions {
  dir?: string; // artifacts dir (default: the cache dir of the current circuit sources)
  nice?: number; // 0..19, default PROVER_NICE
  /**
   * 'single' (default): the curve runs on the child's one thread; 'pool': snarkjs's worker-thread
   * pool (one thread per core), faster for a lone proof on an idle machine, no faster when several
   * provers share the cores. Env SMT_PROVER_THREADS overrides the default.
   */
  threads?: ThreadMode;
}

export class Prover {
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private warming = true;
  private nice: number | undefined;
  readonly threads: ThreadMode;
  /** Resolves with the child's warm-up time (keys loaded, WASM compiled, curve built). */
  readonly warmed: Promise<number>;

  constructor(opts: ProverOptions = {}) {
    this.dir = opts.dir ?? artifactsDir();
    if (!circuitsBuilt(this.dir)) throw new ProverError(`circuits not built in ${this.dir}: run npm run build:circuits`);
    this.threads = opts.threads ?? (process.env.SMT_PROVER_THREADS === 'pool' ? 'pool' : 'single');
    this.child = fork(WORKER, [this.dir, this.threads], { execArgv: ['--import', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let warmed!: (ms: number) => void;
    let failed!: (e: Error) => void;
    this.warmed = new Promise<number>((res, rej) => {
      warmed = res;
      failed = rej;
    });
    this.warmed.catch(() => {}); // a failed warm-up also fails every proof, which callers see
    this.setNice(opts.nice ?? PROVER_NICE);
    this.child.on('message', (m: { id?: number; warm?: boolean; ok?: boolean; proof?: Groth16Proof; publicSignals?: string[]; ms?: number; witnessMs?: number; proveMs?: number; cpuMs?: number; error?: string }) => {
      if (m.warm !== undefined) {
        this.warming = false;
        this.refresh();
        if (m.warm) warmed(m.ms!);
        else failed(new ProverError(`prover warm-up failed: ${m.error}`));
        return;
      }
      const p = this.pending.get(m.id!);
      if (!p) return;
      this.pending.delete(m.id!);
      this.refresh();
      if (m.ok) p.resolve({ proof: m.proof!, publicSignals: m.publicSignals!, ms: m.ms!, witnessMs: m.witnessMs, proveMs: m.proveMs, cpuMs: m.cpuMs });
      else p.reject(new ProverError(`proof failed: ${m.error}`));
    });
    this.child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new ProverError(`prover process exited (${code})`));
      this.pending.clear();
      this.closed = true;
      failed(new ProverError(`prover process exited (${code})`));
    });
    this.refresh();
  }

  /** The child's process id (capacity measurement). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Sets the child's CPU priority (nice). Lowering the priority is always permitted; raising it
   * back needs privilege (root or CAP_SYS_NICE): where refused, the child keeps the lower one.
   * False when refused.
   */
  setNice(n: number): boolean {
    if (n === this.nice) return true;
    if (this.closed || this.child.pid === undefined) return false;
    // every thread of the child: in 'pool' mode the proving work runs on its worker threads
    if (!niceProcess(this.child.pid, n)) return false; // not permitted everywhere (containers, unprivileged raise); proving still works
    this.nice = n;
    return true;
  }

  /** Keep the parent alive only while warming up or a proof is outstanding. */
  private refresh(): void {
    const ch = this.child as ChildProcess & { channel?: { ref(): void; unref(): void } };
    if (this.pending.size > 0 || (this.warming && !this.closed)) {
      this.child.ref();
      ch.channel?.ref();
    } else {
      this.child.unref();
      ch.channel?.unref();
    }
  }

  prove(kind: CircuitKind, input: CircuitInput): Promise<ProofResult> {
    if (this.closed) return Promise.reject(new ProverError('prover is closed'));
    const id = this.nextId++;
    return new Promise<ProofResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.refresh();
      this.child.send({ id, kind, input });
    });
  }

  proveTriadLeaf(input: CircuitInput): Promise<ProofResult> {
    return this.prove('triad_leaf', input);
  }

  proveTriadInner(input: CircuitInput): Promise<ProofResult> {
    return this.prove('triad_inner', input);
  }

  /** Ends the child process (it releases its threads on disconnect). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
