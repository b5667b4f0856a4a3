// Crash leftovers: temp files a killed process never renamed into place (`<file>.tmp-<pid>-<rand>` from
// lib/atomic.ts, a driver's half-written frame in `.incoming/`, a 48 MB `livestack.state.tmp-*`). They
// are removed at start and by retention, one log line per folder naming the count and the files.
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { INCOMING_DIR } from './layout.js';

const TEMP_WITH_PID = /\.tmp-(\d+)-[^/]*$/;
/** A temp file of a live process that has not been touched for this long is abandoned anyway. */
const STALE_MS = 6 * 3_600_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LeftoverOptions {
  /** Our own process id (its temp files are in use). */
  pid?: number;
  /** When this process started: `.incoming` temp files older than that are a previous run's. */
  startedAt?: number;
  now?: number;
  /** How deep to walk below each root (spool/<day>/<run>/.incoming is 3). */
  maxDepth?: number;
}

/** Is `name` (in a folder called `dirName`, last modified `mtimeMs`) a leftover of a dead writer? */
export function isLeftover(name: string, dirName: string, mtimeMs: number, o: Required<Omit<LeftoverOptions, 'maxDepth'>>): boolean {
  const m = TEMP_WITH_PID.exec(name);
  if (m) {
    const pid = Number(m[1]);
    if (pid === o.pid) return false;
    return !alive(pid) || o.now - mtimeMs > STALE_MS;
  }
  return dirName === INCOMING_DIR && name.includes('.tmp') && mtimeMs < o.startedAt;
}

/** Remove leftovers under each root; returns how many files and bytes went. */
export async function removeLeftovers(roots: string[], log: Logger, o: LeftoverOptions = {}): Promise<{ files: number; bytes: number }> {
  const opts = { pid: o.pid ?? process.pid, startedAt: o.startedAt ?? Date.now() - process.uptime() * 1000, now: o.now ?? Date.now() };
  const maxDepth = o.maxDepth ?? 4;
  let files = 0;
  let bytes = 0;
  const seen = new Set<string>();
  const walk = async (dir: string, dirName: string, depth: number): Promise<void> => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const removed: string[] = [];
    let folderBytes = 0;
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < maxDepth) await walk(p, e.name, depth + 1);
        continue;
      }
      if (!e.isFile() || !e.name.includes('.tmp')) continue;
      const st = await stat(p).catch(() => null);
      if (!st || !isLeftover(e.name, dirName, st.mtimeMs, opts)) continue;
      try {
        await unlink(p);
        removed.push(e.name);
        folderBytes += st.size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('cannot remove a crash leftover', { path: p, error: err });
      }
    }
    if (removed.length) {
      files += removed.length;
      bytes += folderBytes;
      const shown = removed.slice(0, 5).join(',') + (removed.length > 5 ? `,… (${removed.length - 5} more)` : '');
      log.info('removed crash leftovers', { folder: dir, count: removed.length, mb: Math.round(folderBytes / 1e5) / 10, files: shown });
    }
  };
  for (const r of roots) await walk(r, '', 0);
  return { files, bytes };
}
