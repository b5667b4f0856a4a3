// The retained `state` JSON: patches merge into one object, publications are throttled and coalesced,
// and the whole object goes out again on every connect (one object in memory, never a queue).
import type { Connection } from './connection.js';
import type { StateValue } from './link-types.js';

export interface RetainedState {
  patch(p: Record<string, StateValue | undefined>): void;
  current(): Record<string, StateValue>;
  readonly dirty: boolean;
  /** Publish now when connected (connect, close). */
  publishNow(): void;
  /** The connection closed: a pending publication waits for the next connect. */
  disconnected(): void;
}

export function createRetainedState(conn: Connection, topic: string, throttleMs: number, now: () => Date): RetainedState {
  const obj: Record<string, StateValue> = {};
  let dirty = false;
  let lastAt = 0;
  let timer: NodeJS.Timeout | null = null;

  const publishNow = () => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (!conn.connected) return; // stays dirty; the next connect publishes it
    dirty = false;
    lastAt = Date.now();
    conn.sendQuietly(topic, JSON.stringify({ ...obj, updated_at: now().toISOString() }), 1, true);
  };

  const schedule = () => {
    if (!conn.connected || timer) return;
    const wait = lastAt + throttleMs - Date.now();
    if (wait <= 0) {
      publishNow();
      return;
    }
    timer = setTimeout(publishNow, wait);
    timer.unref();
  };

  return {
    patch(p) {
      let changed = false;
      for (const [k, v] of Object.entries(p)) {
        if (v === undefined || obj[k] === v) continue;
        obj[k] = v;
        changed = true;
      }
      if (!changed) return;
      dirty = true;
      schedule();
    },
    current: () => ({ ...obj }),
    get dirty() {
      return dirty;
    },
    publishNow,
    disconnected() {
      if (timer) {
        clearTimeout(timer);
        timer = null;
        dirty = true;
      }
    },
  };
}
