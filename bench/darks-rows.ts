// Dark calibration by rows at full size: a 4000×3000 (or --size 6000x4000) float master dark + bias with
// hot pixels, applied to every row of a frame, exact and scaled. Prints ms per frame; run under
// bench/run-with-rss.sh for the peak RSS (the calibrator holds one row of each master).
//   bash bench/run-with-rss.sh node --import tsx bench/darks-rows.ts [--size 6000x4000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDarkCalibrator } from '../agent/darks/library.js';
import type { DarkMasterRow } from '../agent/runlog/sqlite.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { openFitsRowSink } from '../pipeline/image/fits-sink.js';

const arg = process.argv.indexOf('--size');
const [W, H] = (arg > 0 ? process.argv[arg + 1]! : '4000x3000').split('x').map(Number) as [number, number];
const dir = await mkdtemp(join(tmpdir(), 'skyrig-bench-darks-'));
try {
  // Masters written by rows too, so the bench's own RSS stays the calibrator's.
  const write = async (path: string, level: number) => {
    const sink = await openFitsRowSink(path, W, H, 1, -32, { EXPTIME: 30 });
    const row = new Float32Array(W);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) row[x] = level + 1e-4 * ((x * 7 + y * 13) % 17);
      await sink.writeRows(row, 1);
    }
    await sink.finish();
  };
  await write(join(dir, 'dark.fits'), 0.03);
  await write(join(dir, 'bias.fits'), 0.015);
  const hot: [number, number][] = [];
  for (let i = 0; i < (W * H) / 4000; i++) hot.push([(i * 7919) % W, (i * 104729) % H]);
  await writeFileAtomic(join(dir, 'dark.badpix.json'), JSON.stringify({ width: W, height: H, k: 8, pixels: hot }));
  const base = { width: W, height: H, channels: 1, bayer: null, gain: 100, iso: null, temperatureC: 0, frameCount: 10, method: 'median', sizeBytes: 0, median: 0.03, camera: 'bench', createdAt: new Date().toISOString() };
  const dark: DarkMasterRow = { ...base, id: 1, kind: 'dark', exposureS: 30, path: join(dir, 'dark.fits'), badPixelsPath: join(dir, 'dark.badpix.json'), badPixels: hot.length };
  const bias: DarkMasterRow = { ...base, id: 2, kind: 'bias', exposureS: 0, path: join(dir, 'bias.fits'), badPixelsPath: null, badPixels: null };
  const row = new Float32Array(W);
  for (const [name, sel] of [['exact', { dark, bias: null, scale: 1 }], ['scaled', { dark, bias, scale: 0.5 }]] as const) {
    const cal = await openDarkCalibrator(sel);
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let y = 0; y < H; y++) {
      row.fill(0.1);
      cal.apply(row, y, 1);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    const cpuMs = (c.user + c.system) / 1000;
    await cal.close();
    // CPU time is the figure on a shared machine; wall time includes waiting for a core.
    process.stdout.write(`${W}×${H} ${name}: ${cpuMs.toFixed(0)} ms CPU per frame (${((cpuMs / H) * 1000).toFixed(1)} µs per row; wall ${ms.toFixed(0)} ms), ${hot.length} bad pixels\n`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
