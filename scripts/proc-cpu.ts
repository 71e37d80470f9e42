// Where a benchmark's CPU goes, from Linux /proc (empty figures elsewhere): CPU seconds and context
// switches per thread name of a process, per process tree, and of the whole machine. Clock ticks
// are 10 ms: meaningful over a window of seconds, summed over many threads.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // Linux USER_HZ

/** Thread name -> CPU seconds (user + system), main thread as 'main', trailing digits folded into '#'. */
export interface ThreadSample {
  cpu: Record<string, number>;
  /** Context switches of all threads: voluntary (waits) and involuntary (preempted). */
  vcsw: number;
  ivcsw: number;
}

function statTimes(stat: string): { name: string; cpu: number; ppid: number } {
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name, cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK, ppid: Number(f[1]) };
}

/** Per-thread CPU of process `pid` (threads that ended before the sample are not in it). */
export function threadSample(pid: number): ThreadSample {
  const out: ThreadSample = { cpu: {}, vcsw: 0, ivcsw: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const { name, cpu } = statTimes(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'));
      const k = t === String(pid) ? 'main' : name.replace(/[0-9]+$/, '#');
      out.cpu[k] = (out.cpu[k] ?? 0) + cpu;
      const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      out.vcsw += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      out.ivcsw += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
    } catch { /* the thread ended */ }
  }
  return out;
}

/** b - a, per thread name (names only in b count from 0). */
export function threadDelta(a: ThreadSample, b: ThreadSample): ThreadSample {
  const cpu: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.cpu)) cpu[k] = v - (a.cpu[k] ?? 0);
  return { cpu, vcsw: b.vcsw - a.vcsw, ivcsw: b.ivcsw - a.ivcsw };
}

export function sumThreads(samples: ThreadSample[]): ThreadSample {
  const out: ThreadSample = { cpu: {}, vcsw: 0, ivcsw: 0 };
  for (const s of samples) {
    for (const [k, v] of Object.entries(s.cpu)) out.cpu[k] = (out.cpu[k] ?? 0) + v;
    out.vcsw += s.vcsw;
    out.ivcsw += s.ivcsw;
  }
  return out;
}

export const totalCpu = (s: ThreadSample): number => Object.values(s.cpu).reduce((a, b) => a + b, 0);

/**
 * CPU seconds of process `root` and all its descendants alive now (e.g. a prover service and its
 * prover children). A descendant that exited meanwhile is not counted: sample before and after a
 * window in which the tree keeps its processes.
 */
export function treeCpu(root: number | undefined): number {
  if (root === undefined) return 0;
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const { cpu: c, ppid } = statTimes(readFileSync(`/proc/${d}/stat`, 'utf8'));
      cpu.set(Number(d), c);
      const l = children.get(ppid) ?? [];
      l.push(Number(d));
      children.set(ppid, l);
    } catch { /* gone */ }
  }
  let total = 0;
  const todo = [root];
  while (todo.length > 0) {
    const p = todo.pop()!;
    total += cpu.get(p) ?? 0;
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}

/**
 * CPU seconds of the whole machine (all cores) from /proc/stat: busy (everything but idle, iowait
 * and steal) and stolen (a virtual machine's cores running someone else: a slow spell of the host).
 */
export function machineCpu(): { busy: number; steal: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return { busy: (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / CLK_TCK, steal: (f[7] ?? 0) / CLK_TCK };
  } catch {
    return { busy: 0, steal: 0 };
  }
}
