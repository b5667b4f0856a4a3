// The one place that decides whether the agent may write: every folder it writes (spool, products,
// state, the run log's folder; logs go to the journal on the same disk as the data dir) must keep
// `retention.min_free_mb` free. Below it, space is freed by priority — spooled frames of finished runs
// oldest first, then products oldest first; never the run log and never a job's state (the live
// stack's saved stack) — and only if that is not enough is the work refused, with one line naming
// the folder and how much to free.
import { rmdirSync, statfsSync, unlinkSync } from 'node:fs';
import { rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { INCOMING_DIR } from './layout.js';
import type { Logger } from '../log.js';
import type { SqliteRunLog } from '../runlog/sqlite.js';

export interface GuardedFolder {
  /** Config field that names it (for the error line). */
  field: string;
  path: string;
}

export interface SpaceGuardDeps {
  minFreeMb: number;
  folders: GuardedFolder[];
  runlog: SqliteRunLog;
  log: Logger;
  /** Free bytes for a folder's file system (tests inject a fake). */
  freeBytes?: (path: string) => number;
  /** Path prefixes never deleted (the running run's folders). */
  protect?: () => string[];
}

export class DiskSpaceError extends Error {
  readonly code = 'ENOSPC';
  constructor(
    readonly folder: GuardedFolder,
    readonly freeMb: number,
    readonly minFreeMb: number,
  ) {
    const need = Math.max(1, Math.ceil(minFreeMb - freeMb));
    super(`${folder.path}: only ${freeMb.toFixed(0)} MB free, below retention.min_free_mb=${minFreeMb}; free at least ${need} MB there (retention already removed what it may)`);
    this.name = 'DiskSpaceError';
  }
}

/** "Older than this" = everything (the run log compares ISO strings, so stay within year 9999). */
const FAR_FUTURE = new Date('9999-12-31T00:00:00Z');

const statfsFree = (path: string): number => {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
};

export class SpaceGuard {
  private readonly freeBytesOf: (path: string) => number;

  constructor(private readonly d: SpaceGuardDeps) {
    this.freeBytesOf = d.freeBytes ?? statfsFree;
  }

  get minFreeMb(): number {
    return this.d.minFreeMb;
  }

  /** The guarded folder with the least free space, if it is below the floor (a missing folder is skipped). */
  lowest(): { folder: GuardedFolder; freeMb: number } | null {
    let worst: { folder: GuardedFolder; freeMb: number } | null = null;
    for (const folder of this.d.folders) {
      let free: number;
      try {
        free = this.freeBytesOf(folder.path) / 1e6;
      } catch {
        continue;
      }
      if (free < this.d.minFreeMb && (!worst || free < worst.freeMb)) worst = { folder, freeMb: free };
    }
    return worst;
  }

  /** Ok to start writing? Frees space by priority when below the floor; throws DiskSpaceError if still below. */
  async ensure(): Promise<void> {
    if (!this.lowest()) return;
    await this.free();
    const low = this.lowest();
    if (low) throw new DiskSpaceError(low.folder, low.freeMb, this.d.minFreeMb);
  }

  /** Delete by priority until every folder is above the floor (with a margin). Returns what went. */
  async free(): Promise<{ frames: number; products: number }> {
    return this.freeWith(async (p) => {
      await unlink(p);
      // The run folder, once empty (its .incoming staging folder first).
      await rmdir(join(dirname(p), INCOMING_DIR)).catch(() => {});
      await rmdir(dirname(p)).catch(() => {});
    });
  }

  /** Same, synchronously: for the run log's SQLITE_FULL hook, which must answer before retrying. */
  freeSync(): boolean {
    let freed = 0;
    // A promise-free path: candidates and deletions are all synchronous.
    const target = this.targetMb();
    const enough = () => !this.d.folders.some((f) => this.safeFreeMb(f.path) < target);
    for (const table of ['frames', 'products'] as const) {
      const done: number[] = [];
      for (const r of this.candidates(table)) {
        if (enough()) break;
        try {
          unlinkSync(r.path);
          for (const d of [join(dirname(r.path), INCOMING_DIR), dirname(r.path)]) {
            try {
              rmdirSync(d);
            } catch {
              // not empty
            }
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') continue;
        }
        done.push(r.id);
      }
      freed += done.length;
      if (done.length) this.markDeleted(table, done);
    }
    if (freed) this.d.log.warn('disk full: deleted old files to make room', { files: freed });
    return freed > 0 || enough();
  }

  private targetMb(): number {
    // A margin above the floor, so one freeing pass lasts more than one frame.
    return this.d.minFreeMb * 1.2 + 1;
  }

  private safeFreeMb(path: string): number {
    try {
      return this.freeBytesOf(path) / 1e6;
    } catch {
      return Infinity;
    }
  }

  private candidates(table: 'frames' | 'products'): { id: number; path: string }[] {
    const protect = this.d.protect?.() ?? [];
    const all = table === 'frames' ? this.d.runlog.expiredFrames(FAR_FUTURE) : this.d.runlog.expiredProducts(FAR_FUTURE);
    return all.filter((r) => !protect.some((p) => r.path.startsWith(p)));
  }

  private markDeleted(table: 'frames' | 'products', ids: number[]): void {
    try {
      this.d.runlog.markDeleted(table, ids);
    } catch (err) {
      // Files are gone; the rows say so at the next pass (deleting a missing file counts as done).
      this.d.log.warn('disk full: could not mark deleted rows', { table, error: (err as Error).message });
    }
  }

  private async freeWith(del: (path: string) => Promise<void>): Promise<{ frames: number; products: number }> {
    const target = this.targetMb();
    const enough = () => !this.d.folders.some((f) => this.safeFreeMb(f.path) < target);
    const counts = { frames: 0, products: 0 };
    for (const table of ['frames', 'products'] as const) {
      if (enough()) break;
      const done: number[] = [];
      for (const r of this.candidates(table)) {
        if (enough()) break;
        try {
          await del(r.path);
          done.push(r.id);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') done.push(r.id);
          else this.d.log.warn('retention: cannot delete', { path: r.path, error: err });
        }
      }
      if (done.length) this.markDeleted(table, done);
      counts[table] = done.length;
    }
    if (counts.frames || counts.products) {
      this.d.log.warn('low disk space: deleted the oldest files to stay above retention.min_free_mb', { ...counts, min_free_mb: this.d.minFreeMb });
    }
    return counts;
  }
}
