// A simulator worker thread: runs its seeds one after the other and posts each result.
import { parentPort, workerData } from 'node:worker_threads';
import { runSeed, type SimConfig } from './world.js';

const { seeds, config } = workerData as { seeds: number[]; config: Partial<SimConfig> };
for (const s of seeds) {
  let r;
  try {
    r = await runSeed(s, config);
  } catch (e) {
    r = { seed: s, ok: false, violations: [`the run threw: ${(e as Error).stack ?? String(e)}`], traceHash: 'error', traceLines: 0, tail: [], stats: { epochs: 0, globals: 0, committed: 0, cross: 0, faults: 0, messages: 0, lost: 0, latencies: [], steps: 0 } };
  }
  parentPort!.postMessage(r);
}
