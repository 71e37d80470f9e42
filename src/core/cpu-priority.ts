// Lowering CPU priority where Linux ranks it, best effort (false where it could not):
//  - a thread's nice value is its own on Linux (not the process's), so the calling thread is named
//    by its thread id, read from /proc/thread-self;
//  - with autogroup scheduling (kernel.sched_autogroup_enabled, the default on desktop and many
//    server kernels) nice values only rank threads against others of the same session: sessions
//    share the CPU evenly whatever their processes' nice values, unless the session's autogroup is
//    niced itself (/proc/<pid>/autogroup). A process started detached (its own session) that must
//    yield to the rest of the machine needs both.
// Raising a nice value (lowering the priority) needs no privilege; lowering it again does.
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
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
