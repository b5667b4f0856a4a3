// SD-card write budget of the all-sky HDR loop and of retention, in this process, from
// /proc/self/io (write_bytes − cancelled_write_bytes) around each step, beside the size of the
// frames the step captured. The HDR job runs as the agent runs it (createJobContext: frames into
// the spool with their SQLite rows, Debevec merge with a calibrated response, products, run log);
// "every 30 s" is the cadence, the runs here are back to back (bytes do not depend on the wait).
//   npx tsx bench/write-budget-hdr.ts [--width 1920 --height 1080 --runs 5 --formats hdr,jpg]  (default: the job's, hdr,jpg with a response)
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { Camera, CameraCapabilities, CaptureRequest, CapturedFrame } from '../drivers/types.js';
import { createJobContext } from '../agent/jobs/context.js';
import { hdrJob } from '../agent/jobs/hdr.js';
import { SqliteRunLog } from '../agent/runlog/sqlite.js';
import { memoryLogger } from '../agent/log.js';
import { applyRetention } from '../agent/storage/retention.js';
import { calibrateResponse, findBrackets, saveResponse } from '../pipeline/hdr/index.js';
import { makeScene, renderFrame } from '../pipeline/hdr/synth.js';
import { readProcessWrites } from '../pipeline/stack/disk-io.js';

const { values: a } = parseArgs({ options: { width: { type: 'string', default: '1920' }, height: { type: 'string', default: '1080' }, runs: { type: 'string', default: '5' }, formats: { type: 'string' }, out: { type: 'string', default: resolve('bench/out/write-budget-hdr') } } });
const W = Number(a.width), H = Number(a.height), RUNS = Number(a.runs);
const root = a.out!;
await rm(root, { recursive: true, force: true });
await mkdir(root, { recursive: true });
const scene = makeScene(W, H, { lnMin: -1, lnMax: 7 });
let n = 0;
const caps: CameraCapabilities = { model: 'synth', width: W, height: H, bitDepth: 8, color: true, minExposureS: 1e-5, maxExposureS: 30, frameTypes: ['light'], canAbort: false, hasCooler: false };
const camera: Camera = {
  url: 'bench://synth', connect: async () => {}, disconnect: async () => {}, capabilities: async () => caps, abort: async () => {}, temperature: async () => null,
  async capture(r: CaptureRequest): Promise<CapturedFrame> {
    const path = join(r.outDir, `${r.fileStem}.png`);
    await sharp(Buffer.from(renderFrame(scene, r.exposureS, { seed: ++n })), { raw: { width: W, height: H, channels: 3 } }).png().toFile(path);
    return { path, format: 'png', width: W, height: H, channels: 3, bitDepth: 8, exposureS: r.exposureS, frameType: 'light', timestamp: new Date(), meta: {} };
  },
};
const runlog = new SqliteRunLog(join(root, 'runs.db'));
const exposures = [1 / 512, 1 / 64, 1 / 8, 1];
const ctxFor = (runId: number, params: Record<string, unknown>, dir: string) => createJobContext({
  runId, kind: 'hdr', params, camera, spoolDir: join(dir, 'spool'), productsDir: join(dir, 'products'), stateDir: join(root, 'state'),
  runlog, log: memoryLogger(), signal: new AbortController().signal,
  publish: { image: () => {}, result: () => {}, state: () => {} }, progress: () => {}, minFreeMb: 1,
});
// A response calibrated once (as a station does at install), outside the measurement
const calDir = join(root, 'cal');
await mkdir(join(calDir, 'spool'), { recursive: true });
const cal = ctxFor(runlog.beginRun('hdr', {}), {}, calDir);
for (const e of exposures) await cal.capture({ exposureS: e, stem: `20260601120000_${Math.round(e * 1e6)}` });
const responsePath = join(root, 'response.npz');
await saveResponse(responsePath, (await calibrateResponse(await findBrackets(join(calDir, 'spool')), { samples: 300 })).response);

const mb = (b: number) => (b / 1e6).toFixed(2);
const dirBytes = async (d: string) => { let s = 0; for (const f of await readdir(d).catch(() => [])) s += (await stat(join(d, f))).isFile() ? (await stat(join(d, f))).size : 0; return s; };
let total = 0, totalFrames = 0;
for (let i = 0; i < RUNS; i++) {
  const dir = join(root, `run${i}`);
  await mkdir(join(dir, 'spool'), { recursive: true });
  await mkdir(join(dir, 'products'), { recursive: true });
  const params = a.formats ? { exposures, response: responsePath, formats: a.formats.split(',') } : { exposures, response: responsePath };
  const runId = runlog.beginRun('hdr', params);
  const before = readProcessWrites()!;
  const res = await hdrJob(ctxFor(runId, params, dir));
  runlog.finishRun(runId, 'ok', { metrics: res.metrics });
  const written = readProcessWrites()!.net - before.net;
  const frames = await dirBytes(join(dir, 'spool'));
  const products = await dirBytes(join(dir, 'products'));
  total += written; totalFrames += frames;
  console.log(`HDR run ${i + 1}: ${mb(written)} MB written; bracket frames ${mb(frames)} MB (4 × ${W}×${H} PNG), products ${mb(products)} MB → ${(written / frames).toFixed(2)}× the frames, ${((written - frames) / 1e6).toFixed(2)} MB beyond them`);
}
console.log(`HDR every 30 s (formats ${a.formats ?? 'default'}): ${mb(total / RUNS)} MB per run = ${(total / totalFrames).toFixed(2)}× the bracket's own size; ${mb((total / RUNS) * 2 * 60 * 12)} MB per 12 h night`);

// Retention: delete every run's frames and products as expired
const before = readProcessWrites()!;
const removed = await applyRetention(runlog, { framesDays: 1, productsDays: 1 }, memoryLogger(), new Date(Date.now() + 3 * 86_400_000));
// write_bytes alone: deleting files whose pages were still dirty shows as cancelled writes, not as wear
const after = readProcessWrites()!;
const written = after.written - before.written;
console.log(`retention: deleted ${removed.frames} frames and ${removed.products} products, ${mb(written)} MB written (SQLite rows marked deleted; ${(written / Math.max(1, removed.frames + removed.products) / 1024).toFixed(1)} KB per file; ${mb(after.cancelled - before.cancelled)} MB of not-yet-written pages dropped)`);
runlog.close();
