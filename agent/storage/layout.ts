// Where a run's files go: <spool>/<YYYY-MM-DD>/<kind>-<runId>/ for frames and
// <products>/<YYYY-MM-DD>/<kind>-<runId>/ for products. One folder per run keeps retention simple.
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** Per-run staging folder the camera writes into; see agent/jobs/context.ts. */
export const INCOMING_DIR = '.incoming';

export function dayFolder(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export async function runDirs(spoolRoot: string, productsRoot: string, kind: string, runId: number, now = new Date()): Promise<{ spoolDir: string; productsDir: string }> {
  const name = `${kind}-${String(runId).padStart(6, '0')}`;
  const spoolDir = join(spoolRoot, dayFolder(now), name);
  const productsDir = join(productsRoot, dayFolder(now), name);
  await mkdir(spoolDir, { recursive: true });
  await mkdir(productsDir, { recursive: true });
  return { spoolDir, productsDir };
}

/** `20261122T031500_0001000us` style stem: sortable, unique per exposure within a run. */
export function frameStem(at: Date, exposureS: number, index: number): string {
  const ts = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${ts}_${String(index).padStart(3, '0')}_${Math.round(exposureS * 1e6)}us`;
}

/**
 * After a crash: files left in `<run>/.incoming` whose row was committed move into place; a complete
 * file without a row (killed between write and insert) is adopted — `adopt` logs its row — then moved.
 */
export async function recoverIncoming(
  spoolRoot: string,
  deps: { hasRow(finalPath: string): boolean; adopt(incomingPath: string, finalPath: string, runId: number): Promise<void> },
): Promise<{ moved: number; adopted: number }> {
  let moved = 0;
  let adopted = 0;
  const days = await readdir(spoolRoot, { withFileTypes: true }).catch(() => []);
  for (const day of days.filter((d) => d.isDirectory())) {
    const runs = await readdir(join(spoolRoot, day.name), { withFileTypes: true }).catch(() => []);
    for (const run of runs.filter((d) => d.isDirectory())) {
      const inc = join(spoolRoot, day.name, run.name, INCOMING_DIR);
      const runId = Number(/-(\d+)$/.exec(run.name)?.[1]);
      const files = await readdir(inc).catch(() => [] as string[]);
      for (const f of files) {
        if (f.includes('.tmp')) continue; // a driver's half-written temp file: never a frame
        const finalPath = join(spoolRoot, day.name, run.name, f);
        if (!deps.hasRow(finalPath)) {
          if (!Number.isInteger(runId)) continue;
          await deps.adopt(join(inc, f), finalPath, runId);
          adopted++;
        } else moved++;
        await rename(join(inc, f), finalPath);
      }
    }
  }
  return { moved, adopted };
}
