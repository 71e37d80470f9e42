// Counts the timer callbacks (setTimeout/setInterval) that run in this process: a test of how often
// an idle component wakes the event loop. Timers made before trackTimers() is called are not seen,
// so call it at the top of a test file, before the component starts.
import { createHook } from 'node:async_hooks';

export interface TimerCounter {
  /** Timer callbacks that ran while `fn` ran. */
  during(fn: () => Promise<void>): Promise<number>;
}

export function trackTimers(): TimerCounter {
  const timers = new Set<number>();
  let counting = false;
  let ran = 0;
  createHook({
    init(id, type) { if (type === 'Timeout') timers.add(id); },
    before(id) { if (counting && timers.has(id)) ran++; },
    destroy(id) { timers.delete(id); },
  }).enable();
  return {
    async during(fn) {
      ran = 0;
      counting = true;
      try {
        await fn();
      } finally {
        counting = false;
      }
      return ran;
    },
  };
}
