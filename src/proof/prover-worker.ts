// Child process of prover.ts: runs snarkjs Groth16 proving at lower CPU priority, off the node's
// event loop. Protocol over the IPC channel:
//   parent -> child  {id, kind, input}
//   child -> parent  {id, ok, proof, publicSignals, ms, witnessMs, proveMs, cpuMs} | {id, ok: false, error}
//                    {warm: true, ms} once, when the keys are loaded and the curve is built.
// It warms up at spawn (argv: artifacts dir, thread mode): both zkeys are read and parsed once
// (groth16-prover.ts), both witness WASMs compiled once into reusable witness calculators, and the
// bn128 curve built once, so a proof is witness (tens of ms) + Groth16 on the parsed key, with no
// file I/O, no key parsing, no WASM compilation and no curve construction (snarkjs's fullProve does
// all four on every call, its groth16.prove the parsing).
import { readFileSync } from 'node:fs';
import * as snarkjs from 'snarkjs';
import { WitnessCalculatorBuilder, type WitnessCalculator } from 'circom_runtime';
import { CIRCUIT_KINDS, circuitFiles, type CircuitKind } from './artifacts.js';
import { groth16Prove, parseZkey, type ProvingKey, type WasmCurve } from './groth16-prover.js';
import { loadOrBuildTables, tablesFile } from './msm-tables.js';

interface Request {
  id: number;
  kind: CircuitKind;
  input: Record<string, unknown>;
}

export type ThreadMode = 'single' | 'pool';

const dir = process.argv[2];
const mode: ThreadMode = process.argv[3] === 'pool' ? 'pool' : 'single';
// The witness WASMs need a few MB; circom_runtime's default reserves 2 GB of WASM memory per
// calculator. 512 pages = 32 MB each.
const WITNESS_MEMORY_PAGES = 512;

interface Circuit {
  pk: ProvingKey;
  wc: WitnessCalculator;
}

let curve: WasmCurve;

async function warm(): Promise<Map<CircuitKind, Circuit>> {
  // 'single': the curve runs on this thread only. On a machine shared by several provers (a local
  // cluster: three lowest-level proofs at once on two cores) a thread pool per prover only adds
  // oversubscription and memory. snarkjs looks the curve up through ffjavascript's process-wide
  // cache (globalThis.curve_bn128), which only ever holds a pooled curve, so the single-threaded
  // curve is put there by hand; every later lookup (zkey header, prove) then gets it.
  const c = await snarkjs.curves.getCurveFromName('bn128', { singleThread: mode === 'single' });
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = c;
  curve = c as unknown as WasmCurve;
  const m = new Map<CircuitKind, Circuit>();
  for (const kind of CIRCUIT_KINDS) {
    const f = circuitFiles(kind, dir);
    const pk = parseZkey(curve, new Uint8Array(readFileSync(f.zkey)));
    // fixed-base tables: less CPU per proof (docs/PROOFS.md §3, §7); SMT_PROVER_TABLES=0 proves without
    if (process.env.SMT_PROVER_TABLES !== '0') await loadOrBuildTables(curve, pk, tablesFile(dir!, kind));
    m.set(kind, { pk, wc: await WitnessCalculatorBuilder(readFileSync(f.wasm), { memorySize: WITNESS_MEMORY_PAGES }) });
  }
  return m;
}

const t0 = performance.now();
const ready = warm();
ready.then(
  () => process.send?.({ warm: true, ms: performance.now() - t0 }),
  (e: unknown) => process.send?.({ warm: false, error: e instanceof Error ? e.message : String(e) }),
);

// One proof at a time: queued requests keep memory bounded, and several provers of one machine
// already compete for its cores.
let queue: Promise<void> = Promise.resolve();

process.on('message', (msg: Request) => {
  queue = queue.then(async () => {
    try {
      const c = (await ready).get(msg.kind);
      if (!c) throw new Error(`unknown circuit ${String(msg.kind)}`);
      const t = performance.now();
      const cpu = process.cpuUsage(); // this process, all threads (pool mode included)
      const wtns = await c.wc.calculateWTNSBin(msg.input, true);
      const tw = performance.now();
      const { proof, publicSignals } = await groth16Prove(curve, c.pk, wtns);
      const tp = performance.now();
      const c2 = process.cpuUsage(cpu);
      process.send!({ id: msg.id, ok: true, proof, publicSignals, ms: tp - t, witnessMs: tw - t, proveMs: tp - tw, cpuMs: (c2.user + c2.system) / 1000 });
    } catch (e) {
      process.send!({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
});

// The parent closing the channel means we are done; release snarkjs's worker threads (pool mode)
// and leave.
process.on('disconnect', () => {
  const c = (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128;
  void Promise.resolve(c?.terminate()).catch(() => {}).finally(() => process.exit(0));
});
