// The dark library end to end on the simulated rig: a grid captured through the CLI function, masters
// that are the median of their frames, rows in SQLite, matching (exact, scaled, temperature window),
// the row calibrator against frame − master, `darks list`, the DSLR refusal and the `darks` job.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runDarksCapture, runDarksList, runDarksMatch } from '../../agent/cli/commands/darks.js';
import { captureDarkGrid, createGapReporter, DarkLibrary, darkProviderOf, formatDarkList, selectDark, type DarkQuery } from '../../agent/darks/index.js';
import { createJobContext } from '../../agent/jobs/context.js';
import { darksJob } from '../../agent/jobs/darks.js';
import { memoryLogger } from '../../agent/log.js';
import { SqliteRunLog, type DarkMasterRow } from '../../agent/runlog/sqlite.js';
import { createSimCamera } from '../../hardware-mocks/index.js';
import { fixBadPixelsInRow } from '../../pipeline/calib/rows.js';
import { readFits } from '../../pipeline/image/fits.js';
import { simContext } from '../hardware-mocks/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const env = { ...process.env, SKYRIG_FROM_SOURCE: '1' };

const W = 64;
const H = 48;
// One rig (seed 5): the same hot pixels in the darks and in the lights calibrated with them.
const RIG = `width=${W}&height=${H}&seed=5&hot_pixels=25&dark_rate=2&temp=10&temp_drift=0&start=2026-01-10T20:00:00Z`;

async function grid(t: Parameters<typeof tempDir>[0]) {
  const dataDir = await tempDir(t);
  const r = await runDarksCapture(
    { camera: `sim://lib?${RIG}`, exposures: '2,8', gains: '1,4', count: '5', dataDir, keepFrames: true },
    { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream,
  );
  return { dataDir, ...r };
}

function medianOf(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!);
}

test('darks capture: a grid of masters, each the median of its frames, logged in SQLite with a bad-pixel map', async (t) => {
  const { dataDir, masters, runId } = await grid(t);
  t.is(masters.length, 6, '2 gains × (bias + 2 exposures)');
  const log = new SqliteRunLog(join(dataDir, 'skyrig.db'));
  t.teardown(() => log.close());
  const rows = log.darkMasters();
  t.is(rows.length, 6);
  const d8g4 = rows.find((r) => r.kind === 'dark' && r.exposureS === 8 && r.gain === 4)!;
  t.like(d8g4, { temperatureC: 13, width: W, height: H, channels: 1, frameCount: 5, method: 'median', runId });
  t.is(d8g4.sizeBytes, (await stat(d8g4.path)).size);
  t.true(d8g4.path.startsWith(join(dataDir, 'darks') + '/') && d8g4.path.endsWith('.fits'));
  t.is(rows.filter((r) => r.kind === 'bias').length, 2);
  t.is(log.listRuns(1)[0]!.kind, 'darks');
  t.is(log.listRuns(1)[0]!.status, 'ok');

  // The master is the per-pixel median of its five frames (float FITS, normalised units).
  const framesRoot = join(dataDir, 'darks', '.frames');
  const [stamp] = await readdir(framesRoot);
  const framePaths = (await readdir(join(framesRoot, stamp!))).filter((n) => n.startsWith('dark_8_4_')).sort().map((n) => join(framesRoot, stamp!, n));
  t.is(framePaths.length, 5);
  const frames = await Promise.all(framePaths.map(async (p) => (await readFits(p)).image.data));
  const { image: master, header } = await readFits(d8g4.path);
  t.is(header.bitpix, -32);
  t.is(header.cards.IMAGETYP, 'Master Dark');
  t.is(header.cards.NCOMBINE, 5);
  t.is(header.cards['CCD-TEMP'], 13);
  let worst = 0;
  for (let i = 0; i < master.data.length; i++) worst = Math.max(worst, Math.abs(master.data[i]! - medianOf(frames.map((f) => f[i]!))));
  t.true(worst < 1e-6, `max |master − median| = ${worst}`);

  // Bad pixels = the sim's hot pixels (truth), nothing else.
  const cam = createSimCamera(new URL(`sim://truth?${RIG}`), simContext());
  const truth = [...cam.fixed().hot.index].map((i) => `${i % W},${Math.floor(i / W)}`).sort();
  const bp = JSON.parse(await readFile(d8g4.badPixelsPath!, 'utf8')) as { pixels: [number, number][] };
  t.deepEqual(bp.pixels.map(([x, y]) => `${x},${y}`).sort(), truth);
  t.is(d8g4.badPixels, truth.length);
});

test('match: exact, scaled over the bias, temperature window, and null outside it', async (t) => {
  const { dataDir } = await grid(t);
  const log = new SqliteRunLog(join(dataDir, 'skyrig.db'));
  t.teardown(() => log.close());
  const lib = new DarkLibrary(log);
  const q = (o: Partial<DarkQuery>): DarkQuery => ({ exposureS: 8, gain: 4, temperatureC: 13, width: W, height: H, channels: 1, ...o });
  const exact = (await lib.match(q({})))!;
  t.is(exact.scale, 1);
  t.is(exact.exposureS, 8);
  t.is(exact.gain, 4);
  t.regex(exact.describe, /^dark #\d+ 8 s gain 4 13\.0 °C \(5 frames, 0\.\d h old\), exact$/);
  const scaled = (await lib.match(q({ exposureS: 6 })))!;
  t.is(scaled.exposureS, 8, 'nearest exposure in ratio');
  t.is(scaled.scale, 0.75);
  t.regex(scaled.describe, /scaled ×0\.750 over bias #\d+/);
  t.is((await lib.match(q({ exposureS: 1 })))!.exposureS, 2);
  t.truthy(await lib.match(q({ temperatureC: 15.9 })), 'within ±3 °C');
  t.is(await lib.match(q({ temperatureC: 16.5 })), null, 'outside ±3 °C');
  t.is(await lib.match(q({ temperatureC: 9.9 })), null);
  t.truthy(await new DarkLibrary(log, { temperatureWindowC: 5 }).match(q({ temperatureC: 17.5 })), 'a wider window');
  t.is(await lib.match(q({ gain: 2 })), null, 'no master at gain 2');
  t.is(await lib.match(q({ width: 640 })), null, 'another frame size');
  t.is(await lib.match(q({ channels: 3 })), null);
  t.is(await lib.match(q({ temperatureC: null })), null, 'unknown temperature does not match a known one');

  // Without a bias master only exact exposures match.
  const rows = log.darkMasters().filter((r) => r.kind === 'dark');
  t.is(selectDark(rows, q({ exposureS: 6 })), null);
  t.is(selectDark(rows, q({}))!.scale, 1);
  // Newest master of equal fit wins; closer temperature beats newer.
  const d = rows.find((r) => r.exposureS === 8 && r.gain === 4)!;
  const newer: DarkMasterRow = { ...d, id: 999, createdAt: '2099-01-01T00:00:00.000Z' };
  t.is(selectDark([d, newer], q({}))!.dark.id, 999);
  const warmer: DarkMasterRow = { ...newer, temperatureC: 15 };
  t.is(selectDark([d, warmer], q({}))!.dark.id, d.id);

  // A gap is reported once per gain and temperature, not per frame.
  const glog = memoryLogger();
  const gaps = createGapReporter(glog);
  t.true(gaps.missing(q({ gain: 2, exposureS: 10 })));
  t.false(gaps.missing(q({ gain: 2, exposureS: 12 })));
  t.false(gaps.missing(q({ gain: 2, exposureS: 10, temperatureC: 13.2 })));
  t.true(gaps.missing(q({ gain: 2, temperatureC: 8 })));
  t.is(gaps.gaps.length, 2);
  t.regex(gaps.gaps[0]!, /^no dark for 10 s gain 2 at 13\.0 °C \(64×48\); frames go uncalibrated/);
});

test('row calibrator: frame − master (scaled: − bias − (dark − bias)·s) to 1e-6, bad pixels replaced', async (t) => {
  const { dataDir } = await grid(t);
  const log = new SqliteRunLog(join(dataDir, 'skyrig.db'));
  t.teardown(() => log.close());
  const lib = new DarkLibrary(log);
  const rows = log.darkMasters();
  const bad = JSON.parse(await readFile(rows.find((r) => r.kind === 'dark' && r.exposureS === 8 && r.gain === 4)!.badPixelsPath!, 'utf8')) as { pixels: [number, number][] };
  const badSet = new Set(bad.pixels.map(([x, y]) => y * W + x));
  // A light on the same sensor (same seed → same hot pixels), a few hours of clock later at the same temperature.
  const cam = createSimCamera(new URL(`sim://light?${RIG}&stars=0`), simContext());
  await cam.connect();
  const dir = await tempDir(t);
  for (const [exposureS, expectScale] of [[8, 1], [6, 0.75]] as const) {
    const f = await cam.capture({ exposureS, gain: 4, outDir: dir, fileStem: `l${exposureS}` });
    const light = (await readFits(f.path)).image.data;
    const m = (await lib.match({ exposureS, gain: 4, temperatureC: f.meta.sensorTempC as number, width: W, height: H, channels: 1 }))!;
    t.is(m.scale, expectScale);
    const dark = (await readFits(m.masterPath)).image.data;
    const bias = (await readFits(rows.find((r) => r.kind === 'bias' && r.gain === 4)!.path)).image.data;
    const cal = await m.open();
    let worst = 0;
    let hotBefore = 0;
    let hotAfter = 0;
    // Rows out of order: the calibrator reads the master row it is asked for.
    for (const y of [...Array(H).keys()].reverse()) {
      const row = light.slice(y * W, (y + 1) * W);
      cal.apply(row, y, 1);
      const expected = new Float32Array(W);
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        expected[x] = light[i]! - (m.scale === 1 ? dark[i]! : bias[i]! + (dark[i]! - bias[i]!) * m.scale);
      }
      const xs = [...badSet].filter((i) => Math.floor(i / W) === y).map((i) => i % W).sort((a, b) => a - b);
      const beforeFix = Float32Array.from(expected);
      fixBadPixelsInRow(expected, W, 1, xs);
      for (let x = 0; x < W; x++) worst = Math.max(worst, Math.abs(row[x]! - expected[x]!));
      for (const x of xs) {
        hotBefore = Math.max(hotBefore, beforeFix[x]! - medianOf([...beforeFix]));
        hotAfter = Math.max(hotAfter, Math.abs(row[x]! - medianOf([...row])));
      }
      // Good pixels are exactly frame − master.
      for (let x = 0; x < W; x++) if (!xs.includes(x)) t.true(Math.abs(row[x]! - beforeFix[x]!) < 1e-6);
    }
    await cal.close();
    t.true(worst < 1e-6, `${exposureS} s: max deviation ${worst}`);
    // Hot pixels left something in frame − dark (noise and scaling); after the fix they sit at the row level.
    t.true(hotAfter < 0.01, `${exposureS} s: hot pixels ${hotBefore.toFixed(4)} → ${hotAfter.toFixed(4)}`);
    t.throws(() => cal.apply(new Float32Array(W), 0, 1), { message: /closed/ });
  }
  const cal = await (await lib.match({ exposureS: 8, gain: 4, temperatureC: 13, width: W, height: H, channels: 1 }))!.open();
  t.throws(() => cal.apply(new Float32Array(W * 3), 0, 3), { message: /master is 64×1, frame row has 64×3/ });
  await cal.close();
});

test('darks list: coverage table; skyrig darks list and the DSLR refusal through the real CLI', async (t) => {
  const { dataDir } = await grid(t);
  const rows = await runDarksList({ dataDir });
  const text = formatDarkList(rows, new Date(Date.parse(rows[0]!.createdAt) + 7200_000));
  const lines = text.trim().split('\n');
  t.regex(lines[0]!, /^id\s+kind\s+exposure\s+gain\/iso\s+temp °C\s+size\s+frames\s+bad px\s+age\s+file$/);
  t.is(lines.length, 8);
  t.regex(lines[1]!, /^\d+\s+bias\s+-\s+gain 1\s+13\.0\s+64×48\s+5\s+-\s+2\.0 h\s+\S+bias_g1_13\.0C_\d+T\d+\.fits$/);
  t.regex(lines[3]!, /^\d+\s+dark\s+8 s\s+gain 1\s+13\.0\s+64×48\s+5\s+25\s+2\.0 h\s+\S+dark_8s_g1_13\.0C_/);
  t.is(lines[7], '6 masters: 2 exposures × 2 gain settings, 13.0..13.0 °C');
  t.deepEqual(await runDarksList({ dataDir: join(dataDir, 'nothing-here') }), []);
  t.is(formatDarkList([]), 'dark library is empty: skyrig darks capture --camera URL --exposures 1,5,15,30 --gains 0,100\n');

  const cli = await run('node', ['bin/skyrig.js', 'darks', 'list', '--data-dir', dataDir], { env });
  t.regex(cli.stdout, /6 masters: 2 exposures × 2 gain settings/);
  const refused = await t.throwsAsync(run('node', ['bin/skyrig.js', 'darks', 'capture', '--camera', 'gphoto2://', '--data-dir', dataDir], { env }));
  const stderr = (refused as unknown as { stderr: string }).stderr.trim();
  t.is(stderr.split('\n').length, 1, stderr);
  t.regex(stderr, /gphoto2:\/\/: a DSLR cannot close a shutter for darks — cap the lens \(or close the cover\) and pass --covered/);
  await t.throwsAsync(runDarksCapture({ camera: 'sim://x', exposures: '1,-2', dataDir }), { message: '--exposures: expected exposures in seconds > 0 separated by commas, got "1,-2"' });
  await t.throwsAsync(runDarksCapture({ camera: 'rpicam://0', dataDir }), { message: /a Pi camera cannot close a shutter/ });

  // darks match: what the all-sky job would get for a frame.
  const m = await runDarksMatch({ dataDir, exposure: '6', gain: '4', temp: '14.5', size: '64x48' });
  t.is(m.match?.scale, 0.75);
  t.regex(m.line, /^dark #\d+ 8 s gain 4 13\.0 °C \(5 frames, .*\), scaled ×0\.750 over bias #\d+: \S+dark_8s_g4_13\.0C_\S+\.fits$/);
  t.is((await runDarksMatch({ dataDir, exposure: '6', gain: '4', temp: '14.5', size: '64x48', window: '1' })).match, null);
  await t.throwsAsync(runDarksMatch({ dataDir, exposure: '6', size: '64by48' }), { message: /^--size: expected WIDTHxHEIGHT/ });
  const none = await t.throwsAsync(run('node', ['bin/skyrig.js', 'darks', 'match', '--data-dir', dataDir, '--exposure', '30', '--gain', '9', '--temp', '13', '--size', '64x48'], { env }));
  t.is((none as unknown as { stdout: string }).stdout, 'no dark for 30 s gain 9 at 13.0 °C (64×48); frames go uncalibrated — run skyrig darks capture at this gain and temperature\n');
  t.is((none as unknown as { code: number }).code, 1);
});

test('the darks job: frames logged as darks, masters as products and in the library', async (t) => {
  const dir = await tempDir(t);
  const runlog = new SqliteRunLog(join(dir, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const params = { exposures: [3], gains: [2], count: 3 };
  const runId = runlog.beginRun('darks', params);
  const camera = createSimCamera(new URL(`sim://job?${RIG}`), simContext());
  await camera.connect();
  const published: Record<string, unknown>[] = [];
  const ctx = createJobContext({
    runId,
    kind: 'darks',
    params,
    camera,
    spoolDir: join(dir, 'spool'),
    productsDir: join(dir, 'products'),
    stateDir: join(dir, 'state', 'jobs', 'darks'),
    dataDir: dir,
    runlog,
    log: memoryLogger(),
    signal: new AbortController().signal,
    publish: { image: () => {}, result: (r) => published.push(r), state: () => {} },
    progress: () => {},
    minFreeMb: 1,
  });
  await mkdir(join(dir, 'spool'), { recursive: true }); // the agent makes the run's dirs
  const { metrics } = await darksJob(ctx);
  t.like(metrics, { masters: 2, darks: 1, frames: 6, temperature_c: 13 });
  const frames = runlog.db.prepare(`SELECT frame_type, exposure_s FROM frames WHERE run_id = ?`).all(runId) as { frame_type: string; exposure_s: number }[];
  t.deepEqual(frames.map((f) => f.frame_type), ['bias', 'bias', 'bias', 'dark', 'dark', 'dark']);
  t.deepEqual(runlog.productsOf(runId).map((p) => p.kind), ['master-bias', 'master-dark']);
  t.is(runlog.darkMasters().length, 2);
  t.truthy(darkProviderOf(runlog));
  t.is(darkProviderOf({}), null);
  t.is(published[0]!.darks_dir, join(dir, 'darks'));
  await t.throwsAsync(darksJob({ ...ctx, params: { count: 0 } }), { message: 'darks job: params.count must be within 1..1000, got 0' });
  await t.throwsAsync(darksJob({ ...ctx, params: { method: 'mean' } }), { message: 'darks job: params.method must be one of median|sigma, got "mean"' });
});

test('sigma-clipped masters; a "dark" that saw light fails naming the cell', async (t) => {
  const dir = await tempDir(t);
  const runlog = new SqliteRunLog(join(dir, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const camera = createSimCamera(new URL(`sim://sig?${RIG}`), simContext());
  await camera.connect();
  const paths: string[] = [];
  const masters = await captureDarkGrid({
    camera, cameraUrl: camera.url, exposures: [4], settings: [{ gain: 2 }], count: 3, method: 'sigma', bias: false,
    darksDir: join(dir, 'darks'), store: runlog, log: memoryLogger(),
    shoot: async (r) => {
      const f = await camera.capture({ exposureS: r.exposureS, gain: r.gain, frameType: r.frameType, outDir: join(dir, 'f'), fileStem: r.stem });
      paths.push(f.path);
      return f;
    },
  });
  t.is(masters.length, 1);
  t.is(masters[0]!.method, 'sigma');
  // Three values never lie 3σ from their mean: the clipped mean is the plain mean.
  const frames = await Promise.all(paths.map(async (p) => (await readFits(p)).image.data));
  const master = (await readFits(masters[0]!.path)).image.data;
  let worst = 0;
  for (let i = 0; i < master.length; i++) worst = Math.max(worst, Math.abs(master[i]! - (frames[0]![i]! + frames[1]![i]! + frames[2]![i]!) / 3));
  t.true(worst < 1e-6, `${worst}`);

  // The cap was off: frames of a bright sky instead of darks.
  const sky = createSimCamera(new URL(`sim://leak?${RIG}&sky_glow=2000`), simContext());
  await sky.connect();
  await t.throwsAsync(
    captureDarkGrid({
      camera: sky, cameraUrl: 'gphoto2://', covered: true, exposures: [10], settings: [{ iso: 800 }], count: 2, bias: false,
      darksDir: join(dir, 'darks'), store: runlog, log: memoryLogger(),
      shoot: (r) => sky.capture({ exposureS: r.exposureS, iso: r.iso, frameType: 'light', outDir: join(dir, 'f'), fileStem: `leak${r.stem}` }),
    }),
    { message: /^darks: dark 10 s ISO 800 is at \d+ % of full scale — light reaches the sensor \(cap the lens, close the cover\)$/ },
  );
  t.is(runlog.darkMasters().length, 1, 'nothing recorded for the leaking cell');
});
