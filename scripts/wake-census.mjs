// What wakes a node's event loop: a preload that counts every callback of the main thread
// (async_hooks: timers by the place that set them, I/O by resource type) over a window, and the
// wake-ups among them (a callback that starts after the loop was idle for over 1 ms counts as one,
// charged to that first callback). For an idle cluster, e.g.:
//   SMT_CLUSTER_NODE_FLAGS="--import $PWD/scripts/wake-census.mjs" smt cluster up --network /tmp/n
// writes SMT_WAKE_OUT-<pid>.txt (default /tmp/smt-wakes-<pid>.txt) per node, SMT_WAKE_START_MS
// (default 35000) after start, over SMT_WAKE_MS (default 20000). Its hooks cost CPU of their own:
// read its counts and compare its CPU figures only with another run under the same preload.
import { createHook } from 'node:async_hooks';
import { isMainThread } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';

if (isMainThread) {
  const START = Number(process.env.SMT_WAKE_START_MS ?? 35_000);
  const SPAN = Number(process.env.SMT_WAKE_MS ?? 20_000);
  const OUT = process.env.SMT_WAKE_OUT ?? '/tmp/smt-wakes';
  const IDLE_MS = 1;
  /** async id -> what it is: a timer's or an immediate's setting place, else its resource type */
  const kinds = new Map();
  /** kind -> { cb, wakes, cpuUs } */
  const stats = new Map();
  let on = false;
  let depth = 0;
  let lastEnd = 0;
  let cpuStart;
  let current;
  const shorten = (line) => line.replace(/^at /, '').replace(/file:\/\/\/\S*?\/(src|scripts|node_modules)\//, '$1/').replace(/node_modules\//g, 'nm/');
  const placeOf = (type) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 30;
    const o = {};
    Error.captureStackTrace(o);
    Error.stackTraceLimit = limit;
    const all = o.stack.split('\n').slice(1).map((l) => l.trim()).filter((l) => !l.includes('wake-census'));
    const ours = all.filter((l) => !l.includes('node:'));
    // a timer made inside Node (its HTTP server, fetch) or inside a bare Promise: show Node's frames
    const inside = ours.length === 0 || ours[0].includes('new Promise');
    return `${type} ${(inside ? all.slice(3, 12) : ours.slice(0, 2)).map(shorten).join(' < ') || '?'}`;
  };
  const stat = (k) => {
    let s = stats.get(k);
    if (!s) stats.set(k, (s = { cb: 0, wakes: 0, cpuUs: 0 }));
    return s;
  };
  createHook({
    init(id, type) {
      if (type !== 'PROMISE') kinds.set(id, type === 'Timeout' || type === 'Immediate' ? placeOf(type) : type);
    },
    before(id) {
      const k = kinds.get(id);
      if (k === undefined || !on || depth++ > 0) return;
      const s = stat(k);
      s.cb++;
      if (performance.now() - lastEnd > IDLE_MS) s.wakes++;
      current = k;
      cpuStart = process.cpuUsage();
    },
    after(id) {
      if (!kinds.has(id) || !on || --depth > 0 || current === undefined) return;
      const c = process.cpuUsage(cpuStart);
      stat(current).cpuUs += c.user + c.system;
      lastEnd = performance.now();
    },
    destroy(id) {
      kinds.delete(id);
    },
  }).enable();
  setTimeout(() => {
    on = true;
    depth = 1; // inside this timer's callback: its own `after` comes next
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    setTimeout(() => {
      on = false;
      const cpu = process.cpuUsage(cpu0);
      const secs = (performance.now() - t0) / 1000;
      const rows = [...stats.entries()].sort((a, b) => b[1].wakes - a[1].wakes || b[1].cb - a[1].cb);
      const cb = rows.reduce((n, [, s]) => n + s.cb, 0);
      const wakes = rows.reduce((n, [, s]) => n + s.wakes, 0);
      const out = [
        `pid ${process.pid}: ${process.argv.slice(2).join(' ')}`,
        `${secs.toFixed(1)} s: process CPU ${((cpu.user + cpu.system) / 1000 / secs).toFixed(1)} ms/s, main-thread callbacks ${(cb / secs).toFixed(2)}/s, wake-ups ${(wakes / secs).toFixed(2)}/s`,
        'wakes/s   callbacks/s   us/callback   what',
        ...rows.map(([k, s]) => `${(s.wakes / secs).toFixed(2).padStart(7)} ${(s.cb / secs).toFixed(2).padStart(13)} ${(s.cpuUs / s.cb).toFixed(0).padStart(13)}   ${k}`),
      ];
      writeFileSync(`${OUT}-${process.pid}.txt`, `${out.join('\n')}\n`);
    }, SPAN).unref();
  }, START).unref();
}
