// The dark library on a real INDI camera: indi_simulator_ccd behind indiserver, dark frames through
// CCD_FRAME_TYPE = FRAME_DARK, masters matched back. Under CI a missing indiserver fails the test.
import test from 'ava';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { captureDarkGrid, DarkLibrary } from '../../agent/darks/index.js';
import { memoryLogger } from '../../agent/log.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { createDriverContext } from '../../drivers/context.js';
import { createIndiCamera } from '../../drivers/indi/index.js';
import { readFits, readFitsHeader } from '../../pipeline/image/fits.js';
import { CCD_SIM, startIndiServer } from '../helpers/indiserver.js';
import { tempDir } from '../helpers/tmp.js';

test('indi_simulator_ccd: a dark grid at binning 4 through FRAME_DARK, masters logged and matched', async (t) => {
  const server = await startIndiServer(t, { drivers: ['indi_simulator_ccd'] });
  const dir = await tempDir(t);
  const log = memoryLogger();
  const ctx = createDriverContext({ log, stateDir: dir });
  const url = `indi://127.0.0.1:${server.port}/${encodeURIComponent(CCD_SIM)}`;
  const camera = createIndiCamera(new URL(url), ctx);
  t.teardown(() => camera.disconnect());
  await camera.connect();
  const runlog = new SqliteRunLog(join(dir, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const frames: string[] = [];
  await mkdir(join(dir, 'frames'));
  const masters = await captureDarkGrid({
    camera,
    cameraUrl: url,
    exposures: [0.2, 0.5],
    settings: [{ gain: 50 }],
    count: 2,
    darksDir: join(dir, 'darks'),
    store: runlog,
    // a small frame: binning 4 of the 1280×1024 simulator
    shoot: async (r) => {
      const f = await camera.capture({ exposureS: r.exposureS, gain: r.gain, frameType: r.frameType, binning: 4, outDir: join(dir, 'frames'), fileStem: r.stem });
      frames.push(f.path);
      return f;
    },
    log,
  });
  t.deepEqual(masters.map((m) => [m.kind, m.exposureS, m.gain, m.frameCount]), [['bias', masters[0]!.exposureS, 50, 2], ['dark', 0.2, 50, 2], ['dark', 0.5, 50, 2]]);
  // The driver was asked for dark frames (FRAME card) and bias frames.
  const types = await Promise.all(frames.map(async (p) => (await readFitsHeader(p)).cards.FRAME));
  t.deepEqual(types, ['Bias', 'Bias', 'Dark', 'Dark', 'Dark', 'Dark']);
  const rows = runlog.darkMasters();
  t.is(rows.length, 3);
  const d = rows.find((r) => r.exposureS === 0.5)!;
  t.is(d.width, 320);
  t.is(d.height, 256);
  t.true(d.median! < 0.25, `dark level ${d.median}`);
  const { image } = await readFits(d.path);
  t.is(image.width, 320);
  const lib = new DarkLibrary(runlog);
  const exact = await lib.match({ exposureS: 0.5, gain: 50, temperatureC: d.temperatureC, width: 320, height: 256, channels: 1 });
  t.is(exact?.masterPath, d.path);
  t.is(exact?.scale, 1);
  const scaled = await lib.match({ exposureS: 1, gain: 50, temperatureC: d.temperatureC, width: 320, height: 256, channels: 1 });
  t.is(scaled?.scale, 2);
  t.is(await lib.match({ exposureS: 0.5, gain: 10, temperatureC: d.temperatureC, width: 320, height: 256, channels: 1 }), null);
  // Calibrate a row of one of the dark frames with its own master: what is left is noise around 0.
  const cal = await exact!.open();
  const raw = (await readFits(frames[5]!)).image.data;
  const row = raw.slice(100 * 320, 101 * 320);
  cal.apply(row, 100, 1);
  await cal.close();
  const mean = row.reduce((a, b) => a + b, 0) / row.length;
  t.true(Math.abs(mean) < 0.01, `mean after dark subtraction ${mean}`);
});
