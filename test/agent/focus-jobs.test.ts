import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { createJobContext } from '../../agent/jobs/context.js';
import { autofocusJob } from '../../agent/jobs/autofocus.js';
import { focusbracketJob } from '../../agent/jobs/focusbracket.js';
import { memoryLogger } from '../../agent/log.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { createDriverContext } from '../../drivers/context.js';
import { createSimCamera, createSimFocuser, simRigOf } from '../../hardware-mocks/index.js';
import { tempDir } from '../helpers/tmp.js';

async function harness(t: ExecutionContext, kind: string, params: Record<string, unknown>, sim: string) {
  const dir = await tempDir(t);
  const runlog = new SqliteRunLog(join(dir, 'runs.db'));
  t.teardown(() => runlog.close());
  const dctx = createDriverContext({ log: memoryLogger(), stateDir: dir });
  const camera = createSimCamera(new URL(sim), dctx);
  const focuser = createSimFocuser(new URL(sim), dctx);
  await camera.connect();
  await focuser.connect();
  const runId = runlog.beginRun(kind, params);
  const published = { images: [] as Buffer[], results: [] as Record<string, unknown>[], state: {} as Record<string, unknown>, status: [] as string[] };
  await mkdir(join(dir, 'spool'), { recursive: true });
  await mkdir(join(dir, 'products'), { recursive: true });
  const ctx = createJobContext({
    runId, kind, params, camera, focuser,
    spoolDir: join(dir, 'spool'),
    productsDir: join(dir, 'products'),
    stateDir: join(dir, 'state'),
    runlog,
    log: memoryLogger(),
    signal: new AbortController().signal,
    publish: { image: (b) => published.images.push(b), result: (r) => published.results.push(r), state: (s) => Object.assign(published.state, s) },
    progress: (s) => published.status.push(s),
    minFreeMb: 1,
  });
  return { ctx, runlog, runId, published, focuser, rig: simRigOf(dctx, new URL(sim).hostname)! };
}

test('focusbracket job: frames at each rail position logged, stacked right after, product logged, preview published', async (t) => {
  const h = await harness(t, 'focusbracket', { count: 5, step: 60, exposure_s: 0.002, algorithm: 'pyramid', depth_map: false }, 'sim://fb?scene=day&format=jpeg&width=240&height=160&near_focus=200&seed=2');
  await h.focuser.moveTo(1100);
  const res = await focusbracketJob(h.ctx);
  t.is(res.metrics.frames, 5);
  const frames = h.runlog.framesOf(h.runId);
  t.deepEqual(frames.map((f) => f.focusPosition), [980, 1040, 1100, 1160, 1220]);
  const products = h.runlog.productsOf(h.runId);
  const stack = products.find((p) => p.kind === 'focus-stack')!;
  t.truthy(stack);
  t.true(existsSync(stack.path));
  t.is((await sharp(stack.path).metadata()).width, 240);
  t.is(h.published.images.length, 1);
  t.is(h.published.results[0]!.frames, 5);
  t.is(await h.focuser.position(), 1100, 'rail back where it started');
  t.is(h.published.state.focus_position, 1100);
});

test('focusbracket job: the pyramid runs on `threads` SIMD kernel threads (in the metrics); a bad thread count is refused by name', async (t) => {
  const h = await harness(t, 'focusbracket', { count: 3, step: 60, exposure_s: 0.002, algorithm: 'pyramid', threads: 2 }, 'sim://fbt?scene=day&format=jpeg&width=160&height=120&near_focus=200&seed=5');
  await h.focuser.moveTo(1100);
  const res = await focusbracketJob(h.ctx);
  t.is(res.metrics.kernels, 'wasm');
  t.is(res.metrics.threads, 2);
  t.is(h.published.results[0]!.threads, 2);
  const bad = await harness(t, 'focusbracket', { count: 2, threads: 1.5 }, 'sim://fbt2?scene=day&format=jpeg&width=64&height=48');
  await t.throwsAsync(focusbracketJob(bad.ctx), { message: /params\.threads must be a whole number/ });
});

test('focusbracket job: positions outside the rail range and a missing focuser are refused by name', async (t) => {
  const h = await harness(t, 'focusbracket', { positions: [100, 5000] }, 'sim://fb2?scene=day&format=jpeg&width=64&height=48');
  await t.throwsAsync(focusbracketJob(h.ctx), { message: /focusbracket job: params\.positions position 5000 is outside the focuser range/ });
  await t.throwsAsync(focusbracketJob({ ...h.ctx, focuser: undefined }), { message: /params\.focuser is required/ });
});

test('focusbracket job: depthmap with shinestacker parameters (tiled bands, soft max) and a bad tiling refused by name', async (t) => {
  const h = await harness(t, 'focusbracket', { count: 3, step: 60, exposure_s: 0.002, algorithm: 'depthmap', map: 'max', temperature: 0.2, tiling: 'tiled', tile_size: 64, smoothing: 'gaussian', depth_map: true, threads: 2 }, 'sim://fb3?scene=day&format=jpeg&width=160&height=128&near_focus=200&seed=4');
  await h.focuser.moveTo(1100);
  const res = await focusbracketJob(h.ctx);
  t.is(res.metrics.frames, 3);
  // Two bands, two passes (soft max): every frame decoded once into memory, the kernels on 2 threads.
  t.like(res.metrics, { threads: 2, frame_store: 'memory', spill_mb: 0 });
  const products = h.runlog.productsOf(h.runId);
  t.is((await sharp(products.find((p) => p.kind === 'focus-stack')!.path).metadata()).height, 128);
  t.true(existsSync(products.find((p) => p.kind === 'focus-depthmap')!.path));
  const bad = await harness(t, 'focusbracket', { count: 2, tiling: 'tiles' }, 'sim://fb4?scene=day&format=jpeg&width=64&height=48');
  await t.throwsAsync(focusbracketJob(bad.ctx), { message: /params\.tiling must be one of auto\|memory\|tiled/ });
  const badThreads = await harness(t, 'focusbracket', { count: 2, threads: 1.5 }, 'sim://fb5?scene=day&format=jpeg&width=64&height=48');
  await t.throwsAsync(focusbracketJob(badThreads.ctx), { message: /threads must be a whole number, got 1\.5/ });
});

test('autofocus job: best position and HFR, V-curve product, state published; skipped when HFR is fine', async (t) => {
  const h = await harness(t, 'autofocus', { exposure_s: 5, step: 40, overshoot: 60 }, 'sim://afj?seed=3&width=320&height=240&dead_band=20');
  await h.focuser.moveTo(1200);
  const res = await autofocusJob(h.ctx);
  t.true(Math.abs(h.rig.defocusSteps()) <= h.rig.depthOfFocusSteps);
  t.is(res.metrics.best_position, await h.focuser.position());
  t.true((res.metrics.hfr as number) < 2.5);
  const vcurve = h.runlog.productsOf(h.runId).find((p) => p.kind === 'vcurve')!;
  t.true(existsSync(vcurve.path));
  t.is(h.published.state.focus_position, res.metrics.best_position);
  t.is(h.published.state.hfr_px, Number((res.metrics.hfr as number).toFixed(2)));
  const frames = h.runlog.framesOf(h.runId);
  t.is(frames.length, res.metrics.frames as number);
  t.true(frames.every((f) => typeof f.focusPosition === 'number'));

  const again = await harness(t, 'autofocus', { exposure_s: 5, only_if_hfr_above: 3 }, 'sim://afj2?seed=3&width=320&height=240');
  const skip = await autofocusJob(again.ctx);
  t.is(skip.metrics.skipped, true);
  t.is(again.runlog.framesOf(again.runId).length, 1);
});
