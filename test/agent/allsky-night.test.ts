// A compressed night on the simulated all-sky rig through the agent (real SQLite, run folders, state):
// exposure follows dusk and dawn, every frame row carries exposure/gain/sky level/mode/target, the
// night opens below the night altitude, every night frame becomes one keogram column, and at dawn the
// night is closed as a `night` run with its products, published as retained images and a result.
import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { validateConfig } from '../../agent/config/load.js';
import { memoryLogger } from '../../agent/log.js';
import { RecordingPublisher } from '../../agent/publisher.js';
import { startRuntime } from '../../agent/runtime.js';
import { createAllskyJob, defaultOpenNightProducts } from '../../agent/jobs/allsky.js';
import { ALLSKY_STATE_KEYS } from '../../agent/homeassistant/allsky-entities.js';
import { jobRunners } from '../../agent/jobs/runners.js';
import { sunAltitudeDeg } from '../../agent/jobs/sun.js';
import { tempDir } from '../helpers/tmp.js';
import type { OpenNightProducts } from '../../agent/night/types.js';
import { TestNightProducts } from '../helpers/allsky.js';

const LAT = 45;
const LON = 0;
const STEP_S = 600; // ten minutes of sky per frame

async function boot(t: import('ava').ExecutionContext, dir: string, start: string, params: Record<string, unknown> = { initial_exposure_s: 0.001 }, open: OpenNightProducts = TestNightProducts.open) {
  const config = validateConfig({
    station: { id: 'sky', name: 'Test Station' },
    site: { latitude: LAT, longitude: LON, night_sun_altitude: -6 },
    paths: { data_dir: dir },
    devices: { cameras: { allsky: { url: `sim://night?lens=fisheye&lat=${LAT}&lon=${LON}&start=${start}&scene=auto&width=200&height=150&seed=5&time_step=${STEP_S}` } } },
    jobs: [{ name: 'sky', kind: 'allsky', camera: 'allsky', params: { black_level: 1000, ...params, night_max_exposure_s: 10, target_day: 0.3, target_night: 0.15, preview_width: 160 } }],
    mqtt: { enabled: false },
    retention: { min_free_mb: 1, frames_days: 100000 }, // the simulated night is months before the wall clock
  });
  const publisher = new RecordingPublisher();
  const images: { kind: string; jpeg: Buffer }[] = [];
  const image = publisher.image.bind(publisher);
  publisher.image = (kind, jpeg) => {
    images.push({ kind, jpeg });
    image(kind, jpeg);
  };
  const rt = await startRuntime({
    config,
    baseDir: dir,
    log: memoryLogger('info'),
    alsoPublishTo: publisher,
    runners: { ...jobRunners, allsky: createAllskyJob({ openNightProducts: open }) },
  });
  t.teardown(() => rt.shutdown());
  return { rt, publisher, images };
}

test('a compressed night: auto-exposure through dusk and dawn, the night opened, one column per frame, closed at dawn', async (t) => {
  const dir = await tempDir(t);
  // 2026-03-20 at 45° N: sunset ≈ 18:00 UTC, sunrise ≈ 06:00 UTC. 17:00 → 07:00 in 10-minute steps.
  // The real night products (pipeline/night): keogram, star trails and the ffmpeg timelapse.
  const { rt, publisher, images } = await boot(t, dir, '2026-03-20T17:00:00Z', undefined, defaultOpenNightProducts);
  const frames = 85;
  for (let i = 0; i < frames; i++) {
    const r = await rt.agent.command('job', { name: 'sky' });
    t.true(r.ok, r.error);
  }
  const runs = rt.runlog.listRuns(200);
  const skyRuns = runs.filter((r) => r.kind === 'allsky').reverse();
  t.is(skyRuns.length, frames);
  t.true(skyRuns.every((r) => r.status === 'ok'));
  const rows = skyRuns.flatMap((r) => rt.runlog.framesOf(r.id));
  t.is(rows.length, frames);
  for (const f of rows) {
    for (const k of ['exposure_s', 'gain', 'sky_level', 'mode', 'target', 'stars', 'sun_alt']) t.not(f.stats[k], undefined, `frame ${f.id} has ${k}`);
  }
  const sun = rows.map((f) => sunAltitudeDeg(new Date(f.capturedAt), LAT, LON));
  if (process.env.ALLSKY_DEBUG) for (const [i, f] of rows.entries()) console.log(f.capturedAt, sun[i]!.toFixed(1), f.stats.mode, f.exposureS, f.stats.gain, f.stats.sky_level, f.stats.target, f.stats.error_ev, f.stats.ae, f.stats.stars, f.stats.night ?? '');
  // Exposure follows dusk: day frames short at the camera minimum gain, night frames long and gained.
  // (The very first frame has no camera time yet: it is decided on the wall clock, so it is left out.)
  const day = rows.filter((_, i) => i > 0 && sun[i]! > 5);
  const deepNight = rows.filter((_, i) => sun[i]! < -20);
  t.true(day.length >= 3 && deepNight.length >= 20, `day ${day.length}, night ${deepNight.length}`);
  t.true(day.every((f) => f.stats.mode === 'day' && f.stats.gain === 1));
  t.true(deepNight.every((f) => f.stats.mode === 'night' && f.exposureS === 10 && (f.stats.gain as number) > 2), JSON.stringify(deepNight.map((f) => [f.exposureS, f.stats.gain])));
  // The controller holds the target: after the first 8 frames (from 1 ms at 17:00), with ten minutes of
  // twilight between frames (up to a stop of sky change each), every frame is within 0.75 stop of its target.
  const err = (f: (typeof rows)[number]) => Math.log2(((f.stats.sky_level as number) - 1000 / 65535) / ((f.stats.target as number) - 1000 / 65535));
  const settled = rows.slice(8);
  const worst = Math.max(...settled.map((f) => Math.abs(err(f))));
  t.true(worst < 0.75, `worst error ${worst.toFixed(2)} EV: ${settled.map((f) => err(f).toFixed(2)).join(' ')}`);
  if (process.env.ALLSKY_DEBUG) t.log(`worst ${worst.toFixed(3)} EV`);
  // No flicker: through the dark hours the setting does not change at all.
  t.is(new Set(deepNight.map((f) => `${f.exposureS}/${f.stats.gain}`)).size, 1);
  t.true(deepNight.every((f) => Math.abs(err(f)) < 0.5), deepNight.map((f) => err(f).toFixed(2)).join(' '));
  // Stars at night, and fewer (none) by day.
  t.true(deepNight.every((f) => (f.stats.stars as number) > 10), deepNight.map((f) => f.stats.stars).join(','));

  // The night: frames below −6° tagged with the night's date, one keogram column each, in order.
  const nightRows = rows.filter((f) => f.stats.night === '2026-03-20');
  const expected = rows.filter((_, i) => sun[i]! < -6);
  t.is(nightRows.length, expected.length);
  t.deepEqual(nightRows.map((f) => f.stats.keogram_column), nightRows.map((_, i) => i));

  // Dawn closed it: a `night` run with keogram and star-trails products; the keogram has one column per frame.
  const nightRun = runs.find((r) => r.kind === 'night');
  t.truthy(nightRun, 'a night run');
  t.is(nightRun!.status, 'ok');
  const products = rt.runlog.productsOf(nightRun!.id);
  t.deepEqual(products.map((p) => p.kind).sort(), ['keogram', 'startrails', 'timelapse']);
  const keogram = products.find((p) => p.kind === 'keogram')!;
  t.true(keogram.path.startsWith(join(dir, 'products', 'night', '2026-03-20')));
  t.is((await sharp(keogram.path).metadata()).width, nightRows.length);
  t.is(nightRun!.metrics.frames, nightRows.length);
  // The timelapse: every night frame at 25 fps.
  const timelapse = products.find((p) => p.kind === 'timelapse')!;
  t.true((await stat(timelapse.path)).size > 1000);
  t.true(Math.abs((nightRun!.metrics.timelapse_seconds as number) - nightRows.length / 25) < 0.05, `timelapse ${nightRun!.metrics.timelapse_seconds} s`);
  t.is(typeof nightRun!.metrics.clear_fraction, 'number');
  t.true((nightRun!.metrics.clear_fraction as number) > 0.8);
  t.true((nightRun!.metrics.darkest_sky as number) > 0);
  // Published: retained keogram and star-trails images, the night result, the night's state figures.
  t.true(images.some((i) => i.kind === 'keogram'));
  t.true(images.some((i) => i.kind === 'startrails'));
  t.is((await sharp(images.find((i) => i.kind === 'keogram')!.jpeg).metadata()).format, 'jpeg');
  const result = publisher.results.find((r) => r.kind === 'night');
  t.truthy(result);
  t.is(result!.payload.frames, nightRows.length);
  t.is(result!.payload.night, '2026-03-20');
  t.is(publisher.current.night_clear_fraction, nightRun!.metrics.clear_fraction);
  t.is(publisher.current.night_darkest_sky, nightRun!.metrics.darkest_sky);
  // Every state key the Home Assistant entities read has been published.
  for (const key of Object.values(ALLSKY_STATE_KEYS)) t.not(publisher.current[key], undefined, `state ${key}`);
  // Per-frame state and the all-sky preview.
  t.is(typeof publisher.current.allsky_exposure_s, 'number');
  t.is(publisher.current.allsky_mode, 'day');
  t.true(images.filter((i) => i.kind === 'allsky').length === frames);
  // The dawn frames after the close do not reopen the night.
  t.is(runs.filter((r) => r.kind === 'night').length, 1);
  const state = JSON.parse(await readFile(join(dir, 'state', 'jobs', 'sky', 'night.json'), 'utf8'));
  t.deepEqual(state, { open: null, lastClosed: '2026-03-20' });
});

test('a restart mid-night continues the same night: frames logged but not in the products are added first, no column lost, the exposure carries on', async (t) => {
  const dir = await tempDir(t);
  const a = await boot(t, dir, '2026-03-20T21:00:00Z', { initial_exposure_s: 5 });
  for (let i = 0; i < 8; i++) t.true((await a.rt.agent.command('job', { name: 'sky' })).ok);
  const lastBefore = a.rt.runlog.framesWithStat('night', '2026-03-20').at(-1)!;
  await a.rt.shutdown();
  // As after a kill -9 between the frame rows and the products' save: the products lack the last 2 frames.
  const progress = join(dir, 'products', 'night', '2026-03-20', 'progress.json');
  const saved = JSON.parse(await readFile(progress, 'utf8')) as string[];
  t.is(saved.length, 8);
  await writeFile(progress, JSON.stringify(saved.slice(0, -2)));

  const b = await boot(t, dir, '2026-03-20T22:20:00Z', { initial_exposure_s: 5 });
  for (let i = 0; i < 3; i++) t.true((await b.rt.agent.command('job', { name: 'sky' })).ok);
  const rows = b.rt.runlog.framesWithStat('night', '2026-03-20');
  t.is(rows.length, 11);
  t.deepEqual(rows.map((f) => f.stats.keogram_column), rows.map((_, i) => i));
  t.deepEqual(rows.filter((f) => f.stats.caught_up).map((f) => f.id), rows.slice(6, 8).map((f) => f.id));
  t.is((JSON.parse(await readFile(progress, 'utf8')) as string[]).length, 11);
  // The loop's history survived: the first frame after the restart is a hold or a small step from the last one.
  const first = rows[8]!;
  t.not(first.stats.ae, 'initial');
  t.true(Math.abs(Math.log2((first.exposureS * (first.stats.gain as number)) / (lastBefore.exposureS * (lastBefore.stats.gain as number)))) < 0.5);
  t.false(b.rt.runlog.listRuns(50).some((r) => r.kind === 'night'));
});

test('night products that cannot open (a missing tool, a full disk): the frames go on, dawn logs one failed night run, not one per frame', async (t) => {
  const dir = await tempDir(t);
  const broken: OpenNightProducts = async (d) => {
    throw new Error(`${d}: ENOSPC: no space left on device`);
  };
  const { rt, publisher } = await boot(t, dir, '2026-03-21T04:30:00Z', { initial_exposure_s: 5 }, broken);
  for (let i = 0; i < 14; i++) t.true((await rt.agent.command('job', { name: 'sky' })).ok);
  const runs = rt.runlog.listRuns(50);
  t.is(runs.filter((r) => r.kind === 'allsky' && r.status === 'ok').length, 14);
  const nights = runs.filter((r) => r.kind === 'night');
  t.is(nights.length, 1);
  t.is(nights[0]!.status, 'failed');
  t.regex(nights[0]!.error!, /night\/2026-03-20: ENOSPC/);
  t.is(publisher.results.filter((r) => r.kind === 'night').length, 1);
  t.is(publisher.results.find((r) => r.kind === 'night')!.payload.status, 'failed');
  // Every frame still has its exposure figures; the night frames are tagged (the timelapse could be rebuilt).
  const rows = runs.filter((r) => r.kind === 'allsky').flatMap((r) => rt.runlog.framesOf(r.id));
  t.true(rows.every((f) => typeof f.stats.sky_level === 'number'));
  t.true(rows.filter((f) => f.stats.night === '2026-03-20').length >= 5);
});
