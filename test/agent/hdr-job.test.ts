import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import type { Camera, CameraCapabilities, CaptureRequest, CapturedFrame } from '../../drivers/types.js';
import { createJobContext } from '../../agent/jobs/context.js';
import { hdrJob } from '../../agent/jobs/hdr.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { memoryLogger } from '../../agent/log.js';
import { calibrateResponse, saveResponse, findBrackets } from '../../pipeline/hdr/index.js';
import { makeScene, renderFrame } from '../../pipeline/hdr/synth.js';
import { tempDir } from '../helpers/tmp.js';

/** A small camera over the synthetic day scene: PNG frames rendered through the known curve. */
function synthCamera(width = 96, height = 64): Camera & { captured: number[] } {
  const scene = makeScene(width, height, { lnMin: -1, lnMax: 7 });
  const captured: number[] = [];
  let n = 0;
  const caps: CameraCapabilities = { model: 'synth', width, height, bitDepth: 8, color: true, minExposureS: 1e-5, maxExposureS: 30, frameTypes: ['light'], canAbort: false, hasCooler: false };
  return {
    url: 'test://synth',
    captured,
    connect: async () => {},
    disconnect: async () => {},
    capabilities: async () => caps,
    abort: async () => {},
    temperature: async () => null,
    async capture(r: CaptureRequest): Promise<CapturedFrame> {
      captured.push(r.exposureS);
      const path = join(r.outDir, `${r.fileStem}.png`);
      const codes = renderFrame(scene, r.exposureS, { seed: ++n });
      await sharp(Buffer.from(codes), { raw: { width, height, channels: 3 } }).png().toFile(path);
      return { path, format: 'png', width, height, channels: 3, bitDepth: 8, exposureS: r.exposureS, frameType: 'light', timestamp: new Date(), meta: {} };
    },
  };
}

async function harness(t: ExecutionContext, params: Record<string, unknown>) {
  const dir = await tempDir(t);
  const runlog = new SqliteRunLog(join(dir, 'runs.db'));
  t.teardown(() => runlog.close());
  const runId = runlog.beginRun('hdr', params);
  const published: { images: Buffer[]; results: Record<string, unknown>[]; state: Record<string, unknown> } = { images: [], results: [], state: {} };
  const camera = synthCamera();
  const ctx = createJobContext({
    runId,
    kind: 'hdr',
    params,
    camera,
    spoolDir: join(dir, 'spool'),
    productsDir: join(dir, 'products'),
    stateDir: join(dir, 'state'),
    runlog,
    log: memoryLogger(),
    signal: new AbortController().signal,
    publish: { image: (b) => published.images.push(b), result: (r) => published.results.push(r), state: (s) => Object.assign(published.state, s) },
    progress: () => {},
    minFreeMb: 1,
  });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'spool'), { recursive: true });
  await mkdir(join(dir, 'products'), { recursive: true });
  return { dir, runlog, runId, ctx, camera, published };
}

test('hdr job: fixed bracket + response → radiance and JPEG products, metrics, preview published', async (t) => {
  // Calibrate a response from one bracket of the same synthetic camera.
  const pre = await harness(t, {});
  for (const e of [1 / 512, 1 / 64, 1 / 8, 1]) await pre.ctx.capture({ exposureS: e, stem: `20250601120000_${Math.round(e * 1e6)}` });
  const cal = await calibrateResponse(await findBrackets(join(pre.dir, 'spool')), { samples: 300 });
  const responsePath = join(pre.dir, 'response.npz');
  await saveResponse(responsePath, cal.response);

  const h = await harness(t, { exposures: [1 / 512, 1 / 64, 1 / 8, 1], response: responsePath, formats: ['hdr', 'fits'], threads: 2 });
  const res = await hdrJob(h.ctx);
  t.is(res.metrics.algorithm, 'debevec');
  t.is(res.metrics.merge_kernels, 'wasm');
  t.is(res.metrics.merge_threads, 2);
  t.is(res.metrics.frames, 4);
  t.true((res.metrics.lne_max as number) > (res.metrics.lne_min as number));
  t.true((res.metrics.merge_ms as number) >= 0);
  t.true((res.metrics.peak_rss_mb as number) > 10);
  const products = h.runlog.productsOf(h.runId);
  t.deepEqual(products.map((p) => p.kind).sort(), ['hdr-fits', 'hdr-jpeg', 'hdr-radiance']);
  for (const p of products) t.true((await stat(p.path)).size > 0);
  t.is(h.runlog.framesOf(h.runId).length, 4);
  t.is(h.published.images.length, 1);
  t.is((await sharp(h.published.images[0]!).metadata()).format, 'jpeg');
  t.is(h.published.results.length, 1);
  t.deepEqual(h.published.results[0]!.exposures, [1 / 512, 1 / 64, 1 / 8, 1]);
  t.is(typeof h.published.state.hdr_lne_min, 'number');
});

test('hdr job: auto-exposure metering then a Mertens bracket spread around it', async (t) => {
  const h = await harness(t, { steps: 3, ev_step: 2, meter_exposure_s: 1 });
  const res = await hdrJob(h.ctx);
  t.is(res.metrics.algorithm, 'mertens');
  const auto = res.metrics.auto_exposure_s as number;
  t.true(auto > 0 && auto < 1, `auto exposure ${auto}`);
  const frames = h.runlog.framesOf(h.runId);
  const meters = frames.filter((f) => f.reason === 'metering');
  t.true(meters.length >= 1);
  const bracket = h.camera.captured.slice(meters.length);
  t.is(bracket.length, 3);
  t.true(Math.abs(bracket[1]! - auto) / auto < 1e-9);
  t.true(Math.abs(bracket[2]! / bracket[0]! - 16) < 1e-6);
  t.deepEqual(h.runlog.productsOf(h.runId).map((p) => p.kind), ['hdr-jpeg']);
  t.is(h.published.images.length, 1);
});

test('hdr job: bad params name the field', async (t) => {
  const h = await harness(t, { exposures: [0.01], response: '/nonexistent/r.npz' });
  const e = await t.throwsAsync(hdrJob(h.ctx));
  t.regex(e!.message, /nonexistent\/r\.npz: cannot read response file/);
  const h2 = await harness(t, { exposures: [0.01, 0.01] });
  const e2 = await t.throwsAsync(hdrJob(h2.ctx));
  t.regex(e2!.message, /params\.exposures/);
  const h3 = await harness(t, { exposures: [0.01, 0.1], formats: ['bmp'] });
  const e3 = await t.throwsAsync(hdrJob(h3.ctx));
  t.regex(e3!.message, /params\.formats/);
  const h4 = await harness(t, { exposures: [0.01, 0.1], threads: 0 });
  const e4 = await t.throwsAsync(hdrJob(h4.ctx));
  t.regex(e4!.message, /params\.threads/);
});

test('hdr job on the simulated rig (day scene): metered bracket, merge; the response recovered from it matches the rig curve', async (t) => {
  const { createSimCamera, responseLnTable } = await import('../../hardware-mocks/index.js');
  const { createDriverContext } = await import('../../drivers/context.js');
  const dir = await tempDir(t);
  const camera = createSimCamera(new URL('sim://hdrday?scene=day&format=jpeg&quality=95&width=200&height=150&seed=4&response=srgb&vignette=0'), createDriverContext({ log: memoryLogger(), stateDir: dir }));
  await camera.connect();
  const runlog = new SqliteRunLog(join(dir, 'runs.db'));
  t.teardown(() => runlog.close());
  const params = { steps: 7, ev_step: 2, meter_exposure_s: 0.001 };
  const runId = runlog.beginRun('hdr', params);
  const published: Record<string, unknown>[] = [];
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'spool'), { recursive: true });
  await mkdir(join(dir, 'products'), { recursive: true });
  const ctx = createJobContext({
    runId, kind: 'hdr', params, camera, spoolDir: join(dir, 'spool'), productsDir: join(dir, 'products'), runlog, log: memoryLogger(),
    signal: new AbortController().signal, publish: { image: () => {}, result: (r) => published.push(r), state: () => {} }, progress: () => {}, minFreeMb: 1, stateDir: dir,
  });
  const res = await hdrJob(ctx);
  t.is(res.metrics.frames, 7);
  t.is(runlog.productsOf(runId).length, 1);
  // Calibrate from the job's own bracket and compare with the rig's true curve (up to the gauge offset).
  const frames = runlog.framesOf(runId).filter((f) => f.reason !== 'metering').map((f) => ({ path: f.path, exposureS: f.exposureS, timestamp: null }));
  const cal = await calibrateResponse([{ id: 'job', stamp: 'job', relDir: '', frames: frames.sort((a, b) => a.exposureS - b.exposureS) }], { samples: 1000, seed: 2 });
  const truth = responseLnTable('srgb');
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let z = 30; z <= 225; z++) {
    const d = cal.response.g[z * 3 + 1]! - truth[z]!;
    s += d;
    s2 += d * d;
    n++;
  }
  const rmse = Math.sqrt(s2 / n - (s / n) ** 2);
  t.log(`green response RMSE vs rig curve (codes 30..225, after offset): ${rmse.toFixed(4)}`);
  t.true(rmse < 0.1, `rmse ${rmse}`);
});
