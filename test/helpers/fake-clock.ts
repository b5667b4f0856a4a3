// A manual clock for scheduler tests: timers fire only when the test advances time.
import type { Clock } from '../../agent/jobs/scheduler.js';

export interface FakeClock extends Clock {
  advance(ms: number): void;
  sleep(ms: number): Promise<void>;
  /** Timers currently armed (for checking nothing is armed past the chunk limit). */
  armed(): number[];
}

export function fakeClock(start: number): FakeClock {
  let now = start;
  let timers: { at: number; fn: () => void }[] = [];
  const clock: FakeClock = {
    now: () => new Date(now),
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn };
      timers.push(t);
      return { cancel: () => (timers = timers.filter((x) => x !== t)) };
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    },
    sleep: (ms) => new Promise((r) => clock.setTimeout(r, ms)),
    armed: () => timers.map((t) => t.at - now),
  };
  return clock;
}
