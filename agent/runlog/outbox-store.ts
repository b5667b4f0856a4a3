// The MQTT outbox kept in the run log database (table `mqtt_outbox`, migration 3): a FIFO that survives
// restarts, bounded by dropping the oldest rows. Written only while the broker is away.
import type Database from 'better-sqlite3';
import type { OutboxEntry, OutboxMessage, OutboxStore } from '../mqtt/outbox.js';

export function sqliteOutboxStore(db: Database.Database, now: () => Date = () => new Date()): OutboxStore {
  const insert = db.prepare(`INSERT INTO mqtt_outbox (topic, payload, qos, queued_at) VALUES (?, ?, ?, ?)`);
  const count = db.prepare(`SELECT count(*) AS n FROM mqtt_outbox`).pluck();
  const dropOldest = db.prepare(`DELETE FROM mqtt_outbox WHERE id IN (SELECT id FROM mqtt_outbox ORDER BY id LIMIT ?)`);
  const peek = db.prepare(`SELECT id, topic, payload, qos FROM mqtt_outbox ORDER BY id LIMIT ?`);
  const remove = db.prepare(`DELETE FROM mqtt_outbox WHERE id = ?`);
  const push = db.transaction((m: OutboxMessage, max: number): number => {
    insert.run(m.topic, m.payload, m.qos, now().toISOString());
    const over = Math.max(0, (count.get() as number) - max);
    if (over) dropOldest.run(over);
    return over;
  });
  const removeAll = db.transaction((ids: readonly number[]) => {
    for (const id of ids) remove.run(id);
  });
  return {
    push: (m, max) => push(m, max),
    peek: (limit) => peek.all(limit) as OutboxEntry[],
    remove: (ids) => removeAll(ids),
    size: () => count.get() as number,
  };
}
