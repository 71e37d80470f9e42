// Wide-area figures from the simulator's network model (docs/SIMULATION.md): a depth-1 and a
// depth-2 network, no faults, 1% loss on every link, one-way delay 0, 40 and 100 ms (+ exponential
// jitter of a tenth of it): seal -> global final latency (p50/p99, ms and epochs) and committed
// transfers per second. Seeds 1..SIM_WAN_SEEDS (default 4) per point. Last line: one JSON object.
import { runSeeds } from '../test/sim/runner.js';

const seeds = Number(process.env.SIM_WAN_SEEDS ?? 4);
const out: Record<string, unknown>[] = [];
for (const depth of [1, 2]) {
  for (const delay of [0, 40, 100]) {
    const epochs = 12;
    const s = await runSeeds({
      from: 1, count: seeds, jobs: 2,
      config: { depth, faults: 'none', faultEpochs: 2, calmEpochs: epochs, txPerEpoch: 20, link: { baseMs: delay, jitterMs: Math.max(1, delay / 10), loss: 0.01, dup: 0 } },
    });
    const l = [...s.latencies].sort((a, b) => a - b);
    const q = (p: number): number => l[Math.min(l.length - 1, Math.floor(p * l.length))] ?? NaN;
    const row = {
      depth, oneWayMs: delay, loss: 0.01, seeds, failed: s.failed.length, samples: l.length,
      p50Ms: q(0.5), p99Ms: q(0.99), p50Epochs: +(q(0.5) / 1000).toFixed(2), p99Epochs: +(q(0.99) / 1000).toFixed(2),
      txPerS: +(s.committed / seeds / (epochs + 2)).toFixed(1),
    };
    console.log(`depth ${depth}, one-way ${delay} ms, 1% loss: seal->global p50 ${row.p50Ms} ms (${row.p50Epochs} epochs), p99 ${row.p99Ms} ms (${row.p99Epochs} epochs), ${row.txPerS} tx/s offered-and-committed, ${row.failed} failed seeds`);
    out.push(row);
  }
}
console.log(JSON.stringify({ wan: out }));
