// One prover pool per machine (`smt prover serve`): the nodes of a local cluster (`smt cluster up`)
// share it instead of each running its own prover child, so at most `workers` proofs (one per core
// by default) run on the machine at once, ordered and skipped machine-wide (pool-queue.ts). It also
// measures the capacity proving has (CPU per proof, cores left free by everything else) and keeps
// the cadence plan (cadence.ts) every node sharing it follows.
//
// Loopback HTTP, JSON bodies (proof inputs are not hashed or signed: JSON is only the transport):
//   POST /v1/prove   {kind, input, epoch, level} -> 200 {result} | 409 {skipped} | 503 {busy}
//   GET  /v1/plan    -> {version, segments, choice} (the cadence every node follows)
//   GET  /v1/plan?after=V -> the same, once the plan's version is not V (held up to PLAN_HOLD_MS)
//   GET  /v1/status  -> pool, capacity, plan
// Anyone on the machine can submit work; it is bounded by the queue (PoolQueue.maxQueued) and by
// the workers, and the service listens on 127.0.0.1 only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { cpus, availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { CIRCUIT_KINDS, type CircuitKind } from './artifacts.js';
import { CadencePlan, changeLead, chooseCadence, type CadenceChoice } from './cadence.js';
import { PoolBusy, ProofSkipped, ProverPool, type PoolResult, type PoolStatus, type ProofPool } from './prover-pool.js';
import type { CircuitInput } from './tree.js';
import { requestJson } from '../core/http-json.js';

const MAX_BODY = 1 << 20; // a circuit input is a few KB
/** Reference CPU ms per proof (docs/PROOFS.md §7), used until this pool has measured its own. */
export const ASSUMED_CPU_MS: Record<CircuitKind, number> = { triad_leaf: 1500, triad_inner: 850 };
const SAMPLE_MS = 2000; // capacity sampling interval
const DECIDE_EVERY = 3; // samples between cadence decisions
const AGREE = 2; // consecutive decisions that must agree before the plan changes
const WARMUP_MS = 30_000; // no cadence change until the nodes have run this long (their start-up is not their steady load)
/**
 * Longest a plan request with `after` is held while the plan stays the same. The nodes learn a
 * change at once instead of polling every 2 s (nine nodes' polls were ~4.5 HTTP requests a second
 * on an idle machine); the timeout refreshes `choice` (the status's why) and bounds a lost request.
 */
export const PLAN_HOLD_MS = 30_000;

/**
 * The latest epoch a job may be for: the clock's epoch + max(2 epochs, 10 s), as for proofs a node
 * accepts (docs/PROOFS.md, "Accepting a proof"). A job of a later epoch is refused: started, it
 * would make the pool skip every earlier epoch (pool-queue.ts) until the clock caught up.
 */
export function latestJobEpoch(clockEpoch: number, epochMs: number): number {
  return clockEpoch + Math.max(2, Math.ceil(10_000 / epochMs));
}

export interface PlanAnswer {
  /** Counts the plan's changes: a node that asks with `after` = this gets an answer once it changes (a long poll). */
  version: number;
  segments: { from: number; every: number }[];
  choice: CadenceChoice & { freeCores: number; decidedAt: number };
}

export interface ProverServiceOptions {
  workers?: number;
  depth: number;
  epochMs: number;
  genesisTime: number;
  logger: Logger;
  host?: string;
  port?: number;
  /** How long a plan request with `after` is held at most (default PLAN_HOLD_MS). */
  planHoldMs?: number;
}

/** Cores busy with anything, from the kernel's per-CPU counters (ms of non-idle time). */
function busyMs(): number {
  let busy = 0;
  for (const c of cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return busy;
}

/** CPU ms used so far by process `pid` (Linux /proc; 0 where unavailable). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

export class ProverService {
  readonly pool: ProverPool;
  private readonly o: ProverServiceOptions;
  private server: Server | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private plan: CadencePlan;
  private planVersion = 0;
  /** Plan requests held until the plan changes (or PLAN_HOLD_MS): answer() each with the current plan. */
  private readonly planWaiters = new Set<() => void>();
  private choice: PlanAnswer['choice'];
  private freeCores: number;
  private lastBusy = busyMs();
  private lastPool = 0;
  private lastAt = Date.now();
  private samples = 0;
  private pending: number[] = [];
  private closing = false;
  /** When the first node asked for the plan: the nodes' start-up load is not measured as their steady load. */
  private firstAskAt: number | undefined;

  constructor(o: ProverServiceOptions) {
    this.o = o;
    this.pool = new ProverPool({ workers: o.workers });
    this.freeCores = availableParallelism();
    this.choice = this.decide();
    this.plan = CadencePlan.fixed(this.choice.every);
  }

  private clockEpoch(now = Date.now()): number {
    return Math.floor((now - this.o.genesisTime) / this.o.epochMs) - 1;
  }

  private decide(): PlanAnswer['choice'] {
    const cost = this.pool.status().cost;
    const leaf = cost.triad_leaf;
    const inner = cost.triad_inner;
    const measured = leaf !== undefined && leaf.samples >= 2;
    const c = chooseCadence({
      depth: this.o.depth, epochMs: this.o.epochMs,
      leafCpuMs: measured ? leaf.cpuMs : ASSUMED_CPU_MS.triad_leaf,
      innerCpuMs: inner && inner.samples >= 1 && measured ? inner.cpuMs : ASSUMED_CPU_MS.triad_inner,
      source: measured ? 'measured' : 'assumed',
      freeCores: this.freeCores, workers: this.pool.workers,
    });
    return { ...c, freeCores: Number(this.freeCores.toFixed(2)), decidedAt: Date.now() };
  }

  /** Measures the cores left free by everything but this pool's provers; every few samples, revisits the cadence. */
  private sample(): void {
    const now = Date.now();
    const busy = busyMs();
    const poolMs = this.pool.childPids().reduce<number>((a, pid) => a + processCpuMs(pid), 0);
    const dt = now - this.lastAt;
    if (dt > 0) {
      const others = Math.max(0, busy - this.lastBusy - Math.max(0, poolMs - this.lastPool)) / dt;
      const free = Math.max(0, availableParallelism() - others);
      this.freeCores = this.samples === 0 ? free : this.freeCores + 0.2 * (free - this.freeCores);
    }
    this.lastBusy = busy;
    this.lastPool = poolMs;
    this.lastAt = now;
    if (++this.samples % DECIDE_EVERY !== 0 || this.firstAskAt === undefined || now - this.firstAskAt < WARMUP_MS) return;
    const c = this.decide();
    const cur = this.plan.everyAt(this.clockEpoch() + changeLead(this.o.epochMs));
    if (c.every === cur) {
      this.pending = [];
      this.choice = c;
      return;
    }
    this.pending.push(c.every);
    if (this.pending.length < AGREE || this.pending.slice(-AGREE).some((x) => x !== c.every)) return;
    this.pending = [];
    this.plan = this.plan.withChange(c.every, this.clockEpoch() + changeLead(this.o.epochMs));
    this.planVersion++;
    this.choice = c;
    this.o.logger.info({ every: c.every, from: this.plan.segments.at(-1)!.from, why: c.why }, 'proving cadence changed');
    this.wakePlanWaiters();
  }

  private wakePlanWaiters(): void {
    for (const w of [...this.planWaiters]) w();
  }

  planAnswer(): PlanAnswer {
    return { version: this.planVersion, segments: this.plan.toJSON(), choice: this.choice };
  }

  /** GET /v1/plan[?after=V]: at once, or (with `after` equal to the current version) when the plan changes or after PLAN_HOLD_MS. */
  private answerPlan(url: URL, res: ServerResponse, send: (status: number, body: unknown) => void): void {
    this.firstAskAt ??= Date.now();
    const after = url.searchParams.get('after');
    if (after === null || !/^\d{1,15}$/.test(after) || Number(after) !== this.planVersion || this.closing) return send(200, this.planAnswer());
    let t: NodeJS.Timeout | undefined;
    const answer = (): void => {
      clearTimeout(t);
      this.planWaiters.delete(answer);
      if (!res.writableEnded && !res.destroyed) send(200, this.planAnswer());
    };
    t = setTimeout(answer, this.o.planHoldMs ?? PLAN_HOLD_MS);
    this.planWaiters.add(answer);
    res.once('close', () => {
      clearTimeout(t);
      this.planWaiters.delete(answer);
    });
  }

  status(): { pool: PoolStatus; plan: PlanAnswer } {
    return { pool: this.pool.status(), plan: this.planAnswer() };
  }

  async listen(): Promise<number> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.requestTimeout = 0; // a proof may wait in the queue for a while
    await new Promise<void>((resolveP, rejectP) => {
      this.server!.once('error', rejectP);
      this.server!.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', () => resolveP());
    });
    this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/v1/plan') return this.answerPlan(url, res, send);
      if (req.method === 'GET' && req.url === '/v1/status') return send(200, this.status());
      if (req.method !== 'POST' || req.url !== '/v1/prove') return send(404, { error: 'not found' });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > MAX_BODY) return send(413, { error: 'body too large' });
        chunks.push(c as Buffer);
      }
      const j = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { kind?: unknown; input?: unknown; epoch?: unknown; level?: unknown };
      if (!CIRCUIT_KINDS.includes(j.kind as CircuitKind)) return send(400, { error: 'unknown circuit' });
      if (!Number.isSafeInteger(j.epoch) || (j.epoch as number) < 0 || !Number.isSafeInteger(j.level) || (j.level as number) < 0 || (j.level as number) > 40) return send(400, { error: 'bad epoch or level' });
      if (typeof j.input !== 'object' || j.input === null) return send(400, { error: 'bad input' });
      if ((j.epoch as number) > latestJobEpoch(this.clockEpoch(), this.o.epochMs)) return send(400, { error: 'epoch beyond the clock' });
      let aborted = false;
      res.once('close', () => (aborted = !res.writableEnded));
      try {
        const r = await this.pool.prove(j.kind as CircuitKind, j.input as CircuitInput, { epoch: j.epoch as number, level: j.level as number });
        if (!aborted) send(200, { result: r });
      } catch (e) {
        if (e instanceof ProofSkipped) send(409, { skipped: e.message });
        else if (e instanceof PoolBusy) send(503, { busy: e.message });
        else send(500, { error: (e as Error).message });
      }
    } catch (e) {
      if (!res.headersSent) send(400, { error: (e as Error).message });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    this.closing = true;
    this.wakePlanWaiters(); // held plan requests would keep server.close() waiting
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    await this.pool.close();
  }
}

/** A node's client of the machine's prover service: the ProofPool interface over loopback HTTP
 * (node:http, not fetch: see core/http-json.ts). */
export class RemoteProofPool implements ProofPool {
  readonly url: string;
  private closed = false;
  private readonly controllers = new Set<AbortController>();

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  async prove(kind: CircuitKind, input: CircuitInput, meta: { epoch: number; level: number }): Promise<PoolResult> {
    if (this.closed) throw new Error('prover client closed');
    const ac = new AbortController();
    this.controllers.add(ac);
    try {
      const r = await requestJson(`${this.url}/v1/prove`, { method: 'POST', body: { kind, input, epoch: meta.epoch, level: meta.level }, signal: ac.signal });
      const j = (r.json ?? {}) as { result?: PoolResult; skipped?: string; busy?: string; error?: string };
      if (r.status === 200 && j.result) return j.result;
      if (r.status === 409) throw new ProofSkipped(j.skipped ?? 'skipped');
      if (r.status === 503) throw new PoolBusy(j.busy ?? 'busy');
      throw new Error(`prover service: ${r.status} ${j.error ?? ''}`);
    } finally {
      this.controllers.delete(ac);
    }
  }

  /**
   * The service's cadence plan; with `after` (a version this node has), once the plan is another
   * (the service holds the request up to PLAN_HOLD_MS, then answers with the same plan).
   */
  async plan(after?: number): Promise<PlanAnswer> {
    if (this.closed) throw new Error('prover client closed');
    const ac = new AbortController();
    this.controllers.add(ac);
    const t = setTimeout(() => ac.abort(), after === undefined ? 2000 : PLAN_HOLD_MS + 5000);
    try {
      const r = await requestJson(`${this.url}/v1/plan${after === undefined ? '' : `?after=${after}`}`, { signal: ac.signal });
      if (r.status !== 200) throw new Error(`prover service plan: ${r.status}`);
      return r.json as PlanAnswer;
    } finally {
      clearTimeout(t);
      this.controllers.delete(ac);
    }
  }

  async status(): Promise<PoolStatus> {
    const r = await requestJson(`${this.url}/v1/status`, { signal: AbortSignal.timeout(2000) });
    return (r.json as { pool: PoolStatus }).pool;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.controllers) c.abort();
  }
}
