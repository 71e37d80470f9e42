// Waiting in tests, bounded in time: sleep, poll for a value (until) or for a condition (waitFor).
// Every wait names what it waits for, so a timeout says what did not happen.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `f` every `everyMs` until it returns something other than undefined, and returns that; a
 * throw counts as "not yet", unless `fatal` says the error ends the wait (then it is rethrown).
 * Throws "timed out after <ms> ms waiting for <what>" past `timeoutMs`.
 */
export async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined> | T | undefined, everyMs = 200, fatal?: (e: unknown) => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve().then(f).catch((e: unknown) => {
      if (fatal?.(e)) throw e;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Checks `cond` every `everyMs` until it holds; throws past `timeoutMs` (a throwing `cond` fails the wait at once). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
