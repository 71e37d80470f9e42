// Child process of prover.ts: runs snarkjs Groth16 proving at lower CPU priority, off the node's
// event loop. Protocol over the IPC channel: {id, kind, input} -> {id, ok, proof, publicSignals, ms}
// or {id, ok: false, error}.
import * as snarkjs from 'snarkjs';
import { circuitFiles, type CircuitKind } from './artifacts.js';

interface Request {
  id: number;
  kind: CircuitKind;
  input: Record<string, unknown>;
  dir?: string;
}

// One proof at a time: snarkjs already uses every core for one proof, and queued requests keep
// memory bounded.
let queue: Promise<void> = Promise.resolve();

process.on('message', (msg: Request) => {
  queue = queue.then(async () => {
    const t = performance.now();
    try {
      const f = circuitFiles(msg.kind, msg.dir);
      const { proof, publicSignals } = await snarkjs.groth16.fullProve(msg.input, f.wasm, f.zkey);
      process.send!({ id: msg.id, ok: true, proof, publicSignals, ms: performance.now() - t });
    } catch (e) {
      process.send!({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
});

// The parent closing the channel means we are done; release snarkjs's worker threads and leave.
process.on('disconnect', () => {
  void snarkjs.curves.getCurveFromName('bn128').then((c) => c.terminate()).finally(() => process.exit(0));
});
