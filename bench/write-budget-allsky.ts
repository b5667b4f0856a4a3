// SD-card write budget of the all-sky loop with its night products, in this process, from
// /proc/self/io (write_bytes − cancelled_write_bytes) around each frame, beside the frame's own size.
// The loop runs as the agent runs it (startRuntime, the allsky job through the command path): frame
// into the spool with its SQLite row, metering, preview, state, the night session and its products
// (keogram column, star-trails update, progress saved), and at dawn the close (timelapse and renders).
// The simulated fisheye steps `--step` seconds of sky per frame from 17:00 UTC (sunset ≈ 18:15).
//   npx tsx bench/write-budget-allsky.ts [--size 1280 --frames 40 --step 1200]
import { mkdir, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { validateConfig } from '../agent/config/load.js';
import { memoryLogger } from '../agent/log.js';
import { startRuntime } from '../agent/runtime.js';
import { readProcessWrites } from '../pipeline/stack/disk-io.js';

const { values: a } = parseArgs({ options: { size: { type: 'string', default: '1280' }, frames: { type: 'string', default: '40' }, step: { type: 'string', default: '1200' }, out: { type: 'string', default: resolve('bench/out/write-budget-allsky') } } });
const S = Number(a.size), N = Number(a.frames), STEP = Number(a.step);
const root = a.out!;
await rm(root, { recursive: true, force: true });
await mkdir(root, { recursive: true });
const config = validateConfig({
  station: { id: 'bench' },
  site: { latitude: 52, longitude: 5 },
  paths: { data_dir: root },
  devices: { cameras: { allsky: { url: `sim://bench?lens=fisheye&scene=auto&lat=52&lon=5&start=2026-03-20T17:00:00Z&time_step=${STEP}&width=${S}&height=${S}&seed=3&format=fits` } } },
  jobs: [{ name: 'sky', kind: 'allsky', camera: 'allsky', params: { night_max_exposure_s: 15, timelapse_width: Math.min(S, 1280) } }],
  mqtt: { enabled: false },
  retention: { min_free_mb: 1, frames_days: 100000 },
});
const rt = await startRuntime({ config, baseDir: root, log: memoryLogger('warn') });
const mb = (b: number) => (b / 1e6).toFixed(2);
let written = 0, frameBytes = 0, nightFrames = 0, nightWritten = 0, closeWritten = 0;
for (let i = 0; i < N; i++) {
  const before = readProcessWrites()!;
  const r = await rt.agent.command('job', { name: 'sky' });
  const w = readProcessWrites()!.net - before.net;
  if (!r.ok) throw new Error(`frame ${i + 1}: ${r.error}`);
  const run = rt.runlog.listRuns(3).find((x) => x.kind === 'allsky')!;
  const f = rt.runlog.framesOf(run.id)[0]!;
  const size = (await stat(f.path)).size;
  const closed = run.metrics.night_closed_run != null;
  if (closed) closeWritten += w;
  else {
    written += w;
    frameBytes += size;
    if (f.stats.night) {
      nightFrames++;
      nightWritten += w;
    }
  }
}
await rt.shutdown();
const frame = frameBytes / Math.max(1, N - (closeWritten ? 1 : 0));
console.log(`all-sky loop, ${S}×${S} 16-bit FITS frames (${mb(frame)} MB each), ${N} frames, ${STEP} s of sky per frame, ${nightFrames} in the night`);
console.log(`per frame: ${mb(written / Math.max(1, N - (closeWritten ? 1 : 0)))} MB written = ${(written / frameBytes).toFixed(2)}× the frame (frame + SQLite row + preview + state)`);
if (nightFrames) console.log(`per night frame (with keogram column, star trails, progress): ${mb(nightWritten / nightFrames)} MB = ${(nightWritten / nightFrames / frame).toFixed(2)}× the frame`);
if (closeWritten) console.log(`the dawn frame that closed the night (timelapse, keogram and star-trail renders): ${mb(closeWritten)} MB`);
