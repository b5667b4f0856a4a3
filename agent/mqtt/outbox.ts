// Run results, events and command replies that could not go out (broker down, connection lost
// mid-publish) wait in a bounded outbox — SQLite in the agent, so a restart keeps them — and are
// delivered in order on the next connect. Past `max` the oldest are dropped and counted.
import type { Logger } from '../log.js';

export interface OutboxMessage {
  topic: string;
  payload: string;
  qos: 0 | 1;
}

export interface OutboxEntry extends OutboxMessage {
  id: number;
}

/** Storage of the outbox: a FIFO with ids. `agent/runlog/outbox-store.ts` keeps it in the run log. */
export interface OutboxStore {
  /** Append, then drop the oldest beyond `max`; returns how many were dropped. */
  push(message: OutboxMessage, max: number): number;
  /** Oldest first. */
  peek(limit: number): OutboxEntry[];
  remove(ids: readonly number[]): void;
  size(): number;
}

export function memoryOutboxStore(): OutboxStore {
  let rows: OutboxEntry[] = [];
  let next = 1;
  return {
    push(m, max) {
      rows.push({ ...m, id: next++ });
      const over = Math.max(0, rows.length - max);
      if (over) rows = rows.slice(over);
      return over;
    },
    peek: (limit) => rows.slice(0, limit),
    remove(ids) {
      const gone = new Set(ids);
      rows = rows.filter((r) => !gone.has(r.id));
    },
    size: () => rows.length,
  };
}

export interface OutboxCounts {
  pending: number;
  /** Dropped (oldest beyond the bound, or a failed store write) since the process started. */
  dropped: number;
}

export interface Outbox {
  /** Send now when nothing is waiting; otherwise queue behind what is waiting (order kept). */
  publish(message: OutboxMessage): void;
  /** Deliver what is waiting, oldest first, in batches; stops when the connection drops. */
  flush(): Promise<void>;
  counts(): OutboxCounts;
}

export interface OutboxDeps {
  store: OutboxStore;
  max: number;
  connected: () => boolean;
  send: (m: OutboxMessage) => Promise<void>;
  log: Logger;
  /** Called whenever the counts change (the link puts them in `state`). */
  onCounts?: (c: OutboxCounts) => void;
}

const BATCH = 100;

export function createOutbox(d: OutboxDeps): Outbox {
  let dropped = 0;
  let flushing: Promise<void> | null = null;
  let warnedDrop = false;
  const counts = (): OutboxCounts => ({ pending: safeSize(), dropped });
  const report = () => d.onCounts?.(counts());

  function safeSize(): number {
    try {
      return d.store.size();
    } catch {
      return 0;
    }
  }

  const enqueue = (m: OutboxMessage) => {
    try {
      const n = d.store.push(m, d.max);
      if (n > 0) {
        dropped += n;
        if (!warnedDrop) {
          warnedDrop = true;
          d.log.warn('mqtt outbox full; dropping the oldest messages', { max: d.max });
        }
      }
    } catch (err) {
      dropped++;
      d.log.warn('mqtt outbox write failed; message dropped', { topic: m.topic, error: err as Error });
    }
    report();
  };

  const drain = async () => {
    while (d.connected()) {
      const batch = d.store.peek(BATCH);
      if (!batch.length) break;
      // Published back to back on one connection: the broker keeps their order.
      await Promise.all(batch.map((e) => d.send(e)));
      d.store.remove(batch.map((e) => e.id));
      report();
    }
    if (safeSize() === 0) warnedDrop = false;
  };

  const outbox: Outbox = {
    publish(m) {
      if (d.connected() && !flushing && safeSize() === 0) {
        // The common case: straight out, nothing written to disk. Lost mid-flight → kept for the next connect.
        d.send(m).catch(() => {
          enqueue(m);
          void outbox.flush();
        });
        return;
      }
      enqueue(m);
      void outbox.flush();
    },
    flush() {
      if (flushing || !d.connected()) return flushing ?? Promise.resolve();
      flushing = drain()
        .catch((err: Error) => d.log.debug('mqtt outbox delivery interrupted', { error: err }))
        .finally(() => {
          flushing = null;
        });
      return flushing;
    },
    counts,
  };
  return outbox;
}
