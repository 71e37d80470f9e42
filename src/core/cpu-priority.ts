// Lowering CPU priority where Linux ranks it, best effort (false where it could not):
//  - a thread's nice value is its own on Linux (not the process's), so the calling thread is named
//    by its thread id, read from /proc/thread-self;
//  - with autogroup scheduling (kernel.sched_autogroup_enabled, the default on desktop and many
//    server kernels) nice values only rank threads against others of the same session: sessions
//    share the CPU evenly whatever their processes' nice values, unless the session's autogroup is
//    niced itself (/proc/<pid>/autogroup). A process started detached (its own session) that must
//    yield to the rest of the machine needs both.
// Raising a nice value (lowering the priority) needs no privilege; lowering it again does.
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Sets the nice value (0..19) of the calling thread only. */
export function niceThisThread(nice: number): boolean {
  try {
    const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sets the nice value of every thread of process `pid` (Linux: each thread has its own; a thread
 * inherits its creator's only when it is created, so threads already running, such as V8's GC
 * helpers or a proving pool's workers, keep theirs unless set one by one). Elsewhere, the process's.
 * False if the process's main thread could not be set (not permitted, gone).
 */
export function niceProcess(pid: number, nice: number): boolean {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    tids = []; // no /proc (not Linux), or the process is gone: the call below says which
  }
  try {
    setPriority(pid, nice); // the main thread (thread id = pid) first: its answer is the verdict
  } catch {
    return false;
  }
  for (const tid of tids) {
    if (tid === pid) continue;
    try {
      setPriority(tid, nice);
    } catch {
      // a thread that ended meanwhile; or raising the priority back is refused (unprivileged):
      // the main thread's verdict above already said so
    }
  }
  return true;
}

/** The nice value of thread `tid` of process `pid` (Linux), or undefined. */
export function threadNice(pid: number, tid: number): number | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[16]); // field 19 (nice), counted from the state field
  } catch {
    return undefined;
  }
}

/**
 * Sets the autogroup nice value (0..19) of the session of process `pid`: how that session's
 * processes as a whole rank against other sessions. Only for a process that leads its own session
 * (e.g. spawned detached): the autogroup is the whole session's. False without autogroups.
 */
export function niceSessionOf(pid: number, nice: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return true;
  } catch {
    return false;
  }
}
