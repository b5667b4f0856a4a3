// The allsky job with a DSLR-like camera (ISO and shutter-speed ladders, no gain) and a dark library:
// settings come from the ladders and go out as ISO; night frames get the matching dark handed to the
// products (and closed); a missing dark is reported once per night, not per frame.
import test, { type ExecutionContext } from 'ava';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Camera, CameraCapabilities, CaptureRequest, CapturedFrame } from '../../drivers/types.js';
import { createJobContext } from '../../agent/jobs/context.js';
import { createAllskyJob } from '../../agent/jobs/allsky.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { memoryLogger } from '../../agent/log.js';
import type { DarkProvider, DarkQuery, NightFrameInput, RowCalibrator } from '../../agent/night/types.js';
import { shutterLadder } from '../../pipeline/exposure/index.js';
import { TestNightProducts } from '../helpers/allsky.js';
import { tempDir } from '../helpers/tmp.js';

const ISO = [100, 200, 400, 800, 1600, 3200, 6400];

/** A DSLR over a uniform sky: JPEG-like 8-bit PNG, value = (radiance · t · ISO/100)^(1/2.2). */
function dslr(radiance: (at: Date) => number, startMs: number): Camera & { requests: CaptureRequest[] } {
  const requests: CaptureRequest[] = [];
  let now = startMs;
  const caps: CameraCapabilities = { model: 'dslr', width: 64, height: 48, bitDepth: 8, color: true, minExposureS: 1 / 4000, maxExposureS: 30, isoValues: ISO, frameTypes: ['light'], canAbort: false, hasCooler: false };
  return {
    url: 'test://dslr',
    requests,
    connect: async () => {},
    disconnect: async () => {},
    capabilities: async () => caps,
    abort: async () => {},
    temperature: async () => 12,
    async capture(r: CaptureRequest): Promise<CapturedFrame> {
      if (r.gain !== undefined) throw new Error('a DSLR takes an ISO, not a gain');
      requests.push(r);
      const at = new Date(now);
      now += 60_000;
      const lin = Math.min(1, radiance(at) * r.exposureS * ((r.iso ?? 100) / 100));
      const v = Math.round(255 * Math.pow(lin, 1 / 2.2));
      const path = join(r.outDir, `${r.fileStem}.png`);
      await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: v, g: v, b: v } } }).png().toFile(path);
      return { path, format: 'png', width: 64, height: 48, channels: 3, bitDepth: 8, exposureS: r.exposureS, iso: r.iso, frameType: 'light', timestamp: at, meta: {} };
    },
  };
}

async function harness(t: ExecutionContext, camera: Camera, stateDir: string, runlog: SqliteRunLog, dir: string) {
  const runId = runlog.beginRun('allsky', {});
  const spoolDir = join(dir, 'spool', String(runId));
  const productsDir = join(dir, 'products', String(runId));
  await mkdir(spoolDir, { recursive: true });
  await mkdir(productsDir, { recursive: true });
  const state: Record<string, unknown> = {};
  const ctx = createJobContext({
    runId,
    kind: 'allsky',
    params: { products: true, initial_exposure_s: 1 },
    camera,
    spoolDir,
    productsDir,
    stateDir,
    runlog,
    log: memoryLogger(),
    signal: new AbortController().signal,
    publish: { image: () => {}, result: () => {}, state: (s) => Object.assign(state, s) },
    progress: () => {},
    station: { id: 's', name: 'S', latitude: 45, longitude: 0, elevation: 0, nightSunAltitude: -6, productsRoot: join(dir, 'products'), jobName: 'sky' },
    minFreeMb: 1,
  });
  t.truthy(ctx);
  return { ctx, runId, state };
}

test('DSLR: ISO and shutter speeds from the ladders; darks matched per night frame, a gap reported once', async (t) => {
  const dir = await tempDir(t);
  const runlog = new SqliteRunLog(join(dir, 'runs.db'));
  t.teardown(() => runlog.close());
  const stateDir = join(dir, 'state');
  await mkdir(stateDir, { recursive: true });
  // Deep night at 45° N (sun far below −18°), a sky that needs ISO above 100 at 30 s.
  const camera = dslr(() => 2e-4, Date.parse('2026-03-20T23:00:00Z'));
  const queries: DarkQuery[] = [];
  const opened: { closed: boolean }[] = [];
  const seen: (RowCalibrator | undefined)[] = [];
  let haveDarks = false;
  const darks: DarkProvider = {
    async match(q) {
      queries.push(q);
      if (!haveDarks) return null;
      return {
        masterPath: '/darks/m.fits', exposureS: q.exposureS, gain: null, temperatureC: 12, scale: 1, describe: `dark ${q.exposureS} s ISO ${q.iso}`,
        async open() {
          const c = { closed: false };
          opened.push(c);
          return { apply: () => {}, close: async () => void (c.closed = true) };
        },
      };
    },
  };
  const open = TestNightProducts.open;
  const job = createAllskyJob({
    darks,
    openNightProducts: async (d, c, deps) => {
      const p = await open(d, c, deps);
      const add = p.add.bind(p);
      p.add = async (f: NightFrameInput) => (seen.push(f.calibrate), add(f));
      return p;
    },
  });
  const ladder = shutterLadder(1 / 4000, 30);
  for (let i = 0; i < 12; i++) {
    if (i === 8) haveDarks = true;
    const { ctx } = await harness(t, camera, stateDir, runlog, dir);
    await job(ctx);
  }
  for (const r of camera.requests) {
    t.true(ladder.some((s) => Math.abs(s - r.exposureS) < 1e-12), `shutter ${r.exposureS}`);
    t.true(r.iso === undefined || ISO.includes(r.iso), `iso ${r.iso}`);
  }
  const last = camera.requests.at(-1)!;
  t.is(last.exposureS, 30);
  t.true(last.iso! > 100);
  // Settled: the last frames hold one setting near the target.
  const tail = camera.requests.slice(-3);
  t.is(new Set(tail.map((r) => `${r.exposureS}/${r.iso}`)).size, 1);
  // Darks: asked for every night frame with the frame's ISO and the sensor temperature.
  t.is(queries.length, 12);
  t.deepEqual(queries.at(-1), { exposureS: 30, gain: null, iso: last.iso, temperatureC: 12, width: 64, height: 48, channels: 3 });
  // Eight frames without a dark: one warning event for the night, not eight.
  const events = runlog.db.prepare(`SELECT message FROM events WHERE level = 'warn' AND message LIKE '%no master dark%'`).all() as { message: string }[];
  t.is(events.length, 1);
  t.regex(events[0]!.message, /night 2026-03-20: no master dark for 1 s ISO 100 at 12\.0 °C; frames processed without darks/);
  // With darks: each of the last 4 frames got a calibrator, closed after the frame.
  t.is(seen.length, 12);
  t.true(seen.slice(0, 8).every((c) => c === undefined));
  t.true(seen.slice(8).every((c) => c !== undefined));
  t.is(opened.length, 4);
  t.true(opened.every((c) => c.closed));
});

test('moon-aware target: under a high full moon the night target is lowered, and the loop holds the lower level', async (t) => {
  const run = async (startIso: string) => {
    const dir = await tempDir(t);
    const runlog = new SqliteRunLog(join(dir, 'runs.db'));
    t.teardown(() => runlog.close());
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    const camera = dslr(() => 2e-3, Date.parse(startIso));
    const job = createAllskyJob({ darks: null, openNightProducts: TestNightProducts.open });
    const runs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { ctx, runId } = await harness(t, camera, stateDir, runlog, dir);
      await job(ctx);
      runs.push(runId);
    }
    return runs.flatMap((id) => runlog.framesOf(id)).slice(-3);
  };
  // 2026-03-02 23:00 UTC at 45° N: moon full (1.00) at 52°; 2026-03-20: new moon, below the horizon.
  const moonlit = await run('2026-03-02T23:00:00Z');
  const dark = await run('2026-03-20T23:00:00Z');
  t.true(moonlit.every((f) => (f.stats.moon_illumination as number) > 0.95 && (f.stats.moon_alt as number) > 30));
  for (const f of dark) t.is(f.stats.target, 0.15);
  // Default moon_reduction 0.5: the target halves under a full moon at 30° or higher.
  for (const f of moonlit) t.true(Math.abs((f.stats.target as number) - 0.075) < 0.002, `target ${f.stats.target}`);
  // Held: the sky level (8-bit, gamma 2.2) within 0.5 stop of each target, and the moonlit frames darker.
  const stops = (f: (typeof dark)[number]) => 2.2 * Math.log2((f.stats.sky_level as number) / (f.stats.target as number));
  for (const f of [...moonlit, ...dark]) t.true(Math.abs(stops(f)) < 0.5, `${f.stats.sky_level} vs ${f.stats.target}`);
  t.true((moonlit[2]!.stats.sky_level as number) < (dark[2]!.stats.sky_level as number));
});
