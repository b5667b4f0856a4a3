import test from 'ava';
import { mkdir, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Camera, CaptureRequest, CapturedFrame } from '../../drivers/types.js';
import type { JobContext } from '../../agent/jobs/types.js';
import type { FrameRecord, FrameUpdate, ProductRecord, RunLog } from '../../agent/runlog/types.js';
import { memoryLogger } from '../../agent/log.js';
import { livestackJob, livestackStateDir, parseLivestackParams } from '../../agent/jobs/livestack.js';
import { readFits } from '../../pipeline/image/fits.js';
import { writeFits } from '../../pipeline/image/fits.js';
import { makeCatalog, renderStarField } from '../../pipeline/stack/synth.js';
import { tempDir } from '../helpers/tmp.js';

const W = 160, H = 128;
const catalog = makeCatalog(41, 90, W, H);

/** A camera over a synthetic sky drifting 1.5 px per frame; `black` frame numbers come out dark (cap on). */
function fakeCamera(black: Set<number> = new Set()): Camera & { shots: number } {
  let n = 0;
  const cam = {
    url: 'fake://sky',
    shots: 0,
    connect: async () => {},
    disconnect: async () => {},
    abort: async () => {},
    temperature: async () => null,
    capabilities: async () => ({ model: 'fake', width: W, height: H, bitDepth: 16 as const, color: false, minExposureS: 0.001, maxExposureS: 3600, frameTypes: ['light' as const], canAbort: true, hasCooler: false }),
    async capture(req: CaptureRequest): Promise<CapturedFrame> {
      const i = n++;
      cam.shots = n;
      const img = renderStarField({ width: W, height: H, catalog, seed: 300 + i, quantize: 16, transform: { dx: 1.5 * i, dy: -0.7 * i, rotDeg: 0.02 * i }, ...(black.has(i) ? { catalog: [], background: 0, noise: 0 } : {}) });
      const path = join(req.outDir, `${req.fileStem}.fits`);
      const timestamp = new Date(Date.UTC(2026, 0, 1, 23, 0, i * 20));
      await writeFits(path, img, { bitpix: 16, cards: { EXPTIME: req.exposureS, 'DATE-OBS': timestamp.toISOString().replace('Z', '') } });
      return { path, format: 'fits', width: W, height: H, channels: 1, bitDepth: 16, exposureS: req.exposureS, frameType: 'light', timestamp, meta: {} };
    },
  };
  return cam;
}

class MemoryRunLog implements RunLog {
  frames: (FrameRecord & FrameUpdate)[] = [];
  products: ProductRecord[] = [];
  events: string[] = [];
  beginRun(): number { return 1; }
  addFrame(_run: number, f: FrameRecord): number { this.frames.push({ ...f }); return this.frames.length; }
  updateFrame(id: number, u: FrameUpdate): void { Object.assign(this.frames[id - 1]!, u); }
  addProduct(_run: number, p: ProductRecord): number { this.products.push(p); return this.products.length; }
  addEvent(level: string, message: string): void { this.events.push(`${level}: ${message}`); }
  finishRun(): void {}
}

async function context(t: Parameters<typeof tempDir>[0], root: string, runId: number, params: Record<string, unknown>, camera: Camera, stopAfterShots?: number) {
  const spoolDir = join(root, 'spool', String(runId));
  const productsDir = join(root, 'products', String(runId));
  const stateDir = join(root, 'state', 'jobs', 'eaa'); // one per job, shared by its runs
  await mkdir(spoolDir, { recursive: true });
  await mkdir(productsDir, { recursive: true });
  const runlog = new MemoryRunLog();
  const ac = new AbortController();
  const published = { images: [] as Buffer[], state: {} as Record<string, unknown>, results: [] as Record<string, unknown>[] };
  let shots = 0;
  const ctx: JobContext = {
    runId, kind: 'livestack', params, camera, spoolDir, productsDir, stateDir, runlog, log: memoryLogger(), signal: ac.signal,
    publish: { result: (p) => published.results.push(p), image: (j) => published.images.push(j), state: (p) => Object.assign(published.state, p) },
    progress: () => {},
    async capture(o) {
      const frame = await camera.capture({ ...o, outDir: spoolDir, fileStem: `f${String(shots).padStart(3, '0')}` });
      shots++;
      if (stopAfterShots && shots >= stopAfterShots) ac.abort();
      const frameId = runlog.addFrame(runId, { path: frame.path, sizeBytes: 0, sha256: '', exposureS: frame.exposureS, width: frame.width, height: frame.height, timestamp: frame.timestamp });
      return { frame, frameId };
    },
  };
  void t;
  return { ctx, runlog, published, ac };
}

test('livestack job: shoots, stacks, refuses a capped frame, logs frames/products, publishes preview and state', async (t) => {
  const root = await tempDir(t);
  const { ctx, runlog, published } = await context(t, root, 1, { exposure_s: 20, method: 'mean', max_frames: 4 }, fakeCamera(new Set([2])));
  const res = await livestackJob(ctx);
  t.is(res.metrics.stack_frames, 4);
  t.is(res.metrics.frames_refused, 1);
  t.is(runlog.frames.length, 5);
  t.is(runlog.frames[2]!.accepted, false);
  t.regex(runlog.frames[2]!.reason!, /all black/);
  t.true(runlog.frames.filter((f) => f.accepted).every((f) => typeof f.stats?.hfr === 'number' && (f.stats.stars as number) > 10 && Math.abs((f.stats.signal as number) - 1) < 0.2));
  t.deepEqual(runlog.products.map((p) => p.kind).sort(), ['stack-fits', 'stack-metrics-csv', 'stack-metrics-json', 'stack-metrics-plot', 'stack-preview']);
  const plot = runlog.products.find((p) => p.kind === 'stack-metrics-plot')!.path;
  t.regex(plot, /stack-frames\.png$/);
  t.is((await readFile(plot)).subarray(1, 4).toString('latin1'), 'PNG');
  // The first three good frames are judged together: the preview appears with the third, then every frame.
  t.is(published.images.length, 2);
  t.is(published.images[0]!.subarray(0, 2).toString('hex'), 'ffd8');
  for (const k of ['star_count', 'hfr_px', 'fwhm_px', 'sky_background', 'stack_frames', 'star_signal_pct']) t.true(k in published.state, k);
  t.true(Math.abs((published.state.star_signal_pct as number) - 100) < 20, String(published.state.star_signal_pct));
  t.is(published.results.length, 1);
  const { header } = await readFits(join(ctx.productsDir, 'livestack.fits'));
  t.is(header.cards.NCOMBINE, 4);
  t.is(header.cards.EXPTIME, 80);
});

test('livestack job stops on abort and a restarted job resumes the same stack', async (t) => {
  const root = await tempDir(t);
  const cam = fakeCamera();
  const first = await context(t, root, 1, { exposure_s: 10, method: 'sigma', resume: false }, cam, 3);
  const r1 = await livestackJob(first.ctx);
  t.is(r1.metrics.stack_frames, 3);
  t.true(first.published.results[0]!.aborted as boolean);
  const second = await context(t, root, 2, { exposure_s: 10, method: 'sigma', max_frames: 5 }, cam);
  t.is(livestackStateDir(second.ctx.stateDir), livestackStateDir(first.ctx.stateDir));
  const r2 = await livestackJob(second.ctx);
  t.is(r2.metrics.stack_frames, 5);
  t.is(r2.metrics.frames_shot, 2);
  t.is((await readFits(join(second.ctx.productsDir, 'livestack.fits'))).header.cards.NCOMBINE, 5);
  // resume "auto" (the default) does not reopen a stack saved long ago: a new session starts.
  const old = new Date(Date.now() - 2 * 3600 * 1000);
  await utimes(join(livestackStateDir(second.ctx.stateDir), 'livestack.state'), old, old);
  const third = await context(t, root, 3, { exposure_s: 10, method: 'sigma', max_frames: 2 }, cam);
  t.is((await livestackJob(third.ctx)).metrics.stack_frames, 2);
});

test('livestack job killed between checkpoints: the restarted job re-stacks the frames taken since from the spool', async (t) => {
  const root = await tempDir(t);
  const cam = fakeCamera();
  // The camera dies on the 6th shot: the job fails without finishing (as a killed agent would).
  const dying = Object.assign(Object.create(cam) as typeof cam, {
    async capture(req: CaptureRequest) { if (cam.shots >= 5) throw new Error('camera gone'); return cam.capture(req); },
  });
  const first = await context(t, root, 1, { exposure_s: 10, method: 'mean', resume: false }, dying);
  await t.throwsAsync(livestackJob(first.ctx), { message: 'camera gone' });
  // Five frames stacked, no checkpoint yet (every 10 frames): no master FITS written
  t.is(first.runlog.frames.filter((f) => f.accepted).length, 5);
  t.false(await import('node:fs').then((fs) => fs.existsSync(join(first.ctx.productsDir, 'livestack.fits'))));
  const second = await context(t, root, 2, { exposure_s: 10, method: 'mean', max_frames: 7 }, cam);
  const r2 = await livestackJob(second.ctx);
  t.is(r2.metrics.frames_shot, 2);
  t.is(r2.metrics.stack_frames, 7);
  t.is((await readFits(join(second.ctx.productsDir, 'livestack.fits'))).header.cards.NCOMBINE, 7);
  // The write figures are in the run's metrics and the MQTT state
  t.is(typeof r2.metrics.disk_writes_mb, 'number');
  t.true((r2.metrics.stack_writes_mb as number) > 0);
  t.is(typeof r2.metrics.state_on_tmpfs, 'boolean');
  t.is(typeof second.published.state.disk_writes_mb, 'number');
});

test('livestack job rejects bad params with a message naming the param', async (t) => {
  const root = await tempDir(t);
  const { ctx } = await context(t, root, 1, { exposure_s: 'long' }, fakeCamera());
  await t.throwsAsync(livestackJob(ctx), { message: 'livestack job: params.exposure_s must be a number, got "long"' });
  const bad = await context(t, root, 2, { method: 'median' }, fakeCamera());
  await t.throwsAsync(livestackJob(bad.ctx), { message: /params\.method unknown method "median"/ });
});

test('the threads param (kernel threads) is a whole number 1..64, named when wrong', (t) => {
  t.is(parseLivestackParams({ threads: 3 }).threads, 3);
  t.is(parseLivestackParams({}).threads, undefined);
  t.throws(() => parseLivestackParams({ threads: 2.5 }), { message: /threads.*whole number/ });
  t.throws(() => parseLivestackParams({ threads: 0 }), { message: /threads/ });
});
