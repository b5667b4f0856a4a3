// Retention: delete spooled frames (and optionally products) of finished runs past their age,
// marking rows deleted rather than removing them so history stays queryable.
import { unlink } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { SqliteRunLog } from '../runlog/sqlite.js';

export interface RetentionPolicy {
  framesDays: number;
  productsDays: number;
}

export async function applyRetention(runlog: SqliteRunLog, policy: RetentionPolicy, log: Logger, now = new Date()): Promise<{ frames: number; products: number }> {
  const day = 86_400_000;
  const del = async (rows: { id: number; path: string }[]) => {
    const done: number[] = [];
    for (const r of rows) {
      try {
        await unlink(r.path);
        done.push(r.id);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') done.push(r.id);
        else log.warn('retention: cannot delete', { path: r.path, error: err });
      }
    }
    return done;
  };
  let frames = 0;
  let products = 0;
  if (policy.framesDays > 0) {
    const ids = await del(runlog.expiredFrames(new Date(now.getTime() - policy.framesDays * day)));
    runlog.markDeleted('frames', ids);
    frames = ids.length;
  }
  if (policy.productsDays > 0) {
    const ids = await del(runlog.expiredProducts(new Date(now.getTime() - policy.productsDays * day)));
    runlog.markDeleted('products', ids);
    products = ids.length;
  }
  if (frames || products) log.info('retention: deleted old files', { frames, products });
  return { frames, products };
}
