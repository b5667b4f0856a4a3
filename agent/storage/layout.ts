// Where a run's files go: <spool>/<YYYY-MM-DD>/<kind>-<runId>/ for frames and
// <products>/<YYYY-MM-DD>/<kind>-<runId>/ for products. One folder per run keeps retention simple.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

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
