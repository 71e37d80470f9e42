// Time and timers behind one small interface, so protocol drivers (src/gossip/network.ts,
// src/node/xshard.ts) run on the wall clock in a node and on a virtual clock in the simulator.
export interface Scheduler {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Calls `fn` once after `ms` unless the returned function is called first. */
  after(ms: number, fn: () => void): () => void;
}

/** The wall clock and Node's timers (unref'd: they never keep a process alive). */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
