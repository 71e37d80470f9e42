// Groth16 proving off the hot path: one long-lived child process per Prover (so snarkjs's curve and
// its thread pool are built once), niced to lower priority, fed one proof request at a time. The
// child holds no reference on the parent's event loop while idle.
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Groth16Proof } from 'snarkjs';
import { artifactsDir, circuitsBuilt, type CircuitKind } from './artifacts.js';
import type { CircuitInput } from './tree.js';

export class ProverError extends Error {
  override name = 'ProverError';
}

export interface ProofResult {
  proof: Groth16Proof;
  publicSignals: string[];
  ms: number; // wall time in the child, witness + proof
}

interface Pending {
  resolve: (r: ProofResult) => void;
  reject: (e: Error) => void;
}

const WORKER = fileURLToPath(new URL('./prover-worker.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../../bin/register.mjs', import.meta.url));

export interface ProverOptions {
  dir?: string; // artifacts dir (default: the cache dir of the current circuit sources)
  nice?: number; // 0..19, default 10
}

export class Prover {
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(opts: ProverOptions = {}) {
    this.dir = opts.dir ?? artifactsDir();
    if (!circuitsBuilt(this.dir)) throw new ProverError(`circuits not built in ${this.dir}: run npm run build:circuits`);
    this.child = fork(WORKER, [], { execArgv: ['--import', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      setPriority(this.child.pid!, opts.nice ?? 10);
    } catch {
      // Not permitted everywhere (containers); proving still works at normal priority.
    }
    this.child.on('message', (m: { id: number; ok: boolean; proof?: Groth16Proof; publicSignals?: string[]; ms?: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      this.refresh();
      if (m.ok) p.resolve({ proof: m.proof!, publicSignals: m.publicSignals!, ms: m.ms! });
      else p.reject(new ProverError(`proof failed: ${m.error}`));
    });
    this.child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new ProverError(`prover process exited (${code})`));
      this.pending.clear();
      this.closed = true;
    });
    this.refresh();
  }

  /** Keep the parent alive only while a proof is outstanding. */
  private refresh(): void {
    const ch = this.child as ChildProcess & { channel?: { ref(): void; unref(): void } };
    if (this.pending.size > 0) {
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
      this.child.send({ id, kind, input, dir: this.dir });
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

let shared: Prover | null = null;

function sharedProver(): Prover {
  shared ??= new Prover();
  return shared;
}

export function proveTriadLeaf(input: CircuitInput): Promise<ProofResult> {
  return sharedProver().proveTriadLeaf(input);
}

export function proveTriadInner(input: CircuitInput): Promise<ProofResult> {
  return sharedProver().proveTriadInner(input);
}

export async function closeSharedProver(): Promise<void> {
  const p = shared;
  shared = null;
  await p?.close();
}
