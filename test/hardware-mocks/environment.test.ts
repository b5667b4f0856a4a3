import test from 'ava';
import SunCalc from 'suncalc';
import { createSimCamera, createSimFocuser } from '../../hardware-mocks/index.js';
import { tempDir } from '../helpers/tmp.js';
import { median, readAdu, simContext } from './helpers.js';

test('temperature drifts with the simulated clock and moves best focus by temp_coeff', async (t) => {
  const dir = await tempDir(t);
  const ctx = simContext();
  const cam = createSimCamera(new URL('sim://e?start=2026-01-10T20:00:00Z&temp=8&temp_drift=-1.5&temp_coeff=-10&width=64&height=48'), ctx);
  const foc = createSimFocuser(new URL('sim://e?dead_band=0'), ctx);
  await cam.connect();
  await foc.connect();
  t.is(await foc.temperature(), 8);
  t.is(cam.rig.bestFocus(), 1000);
  // Two hours of exposures: 60 × 120 s (+0.1 s readout each).
  for (let i = 0; i < 60; i++) await cam.capture({ exposureS: 120, frameType: 'bias', outDir: dir, fileStem: `b${i}` });
  // Bias frames take no exposure time: only readouts advanced the clock.
  t.is(cam.rig.now().toISOString(), '2026-01-10T20:00:06.000Z');
  for (let i = 0; i < 60; i++) await cam.capture({ exposureS: 120, frameType: 'dark', outDir: dir, fileStem: `d${i}` });
  const hours = cam.rig.hoursSinceStart();
  t.true(Math.abs(hours - 2.00333) < 1e-3, `${hours} h`);
  t.true(Math.abs((await foc.temperature())! - (8 - 1.5 * hours)) < 0.01);
  t.true(Math.abs(cam.rig.bestFocus() - (1000 + 10 * 1.5 * hours)) < 1e-6);
  const f = await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'l' });
  t.true(Math.abs((f.meta.defocusSteps as number) + 10 * 1.5 * hours) < 0.1, `defocus ${f.meta.defocusSteps}`);
  t.true(Math.abs((f.meta.sensorTempC as number) - (8 - 1.5 * hours + 3)) < 0.01);
});

test('twilight: the sky glow rises as the sun nears the horizon', async (t) => {
  const dir = await tempDir(t);
  const background = async (iso: string) => {
    const cam = createSimCamera(new URL(`sim://tw?lat=52&lon=5&start=${iso}&width=96&height=64&vignette=0`), simContext());
    await cam.connect();
    const f = await cam.capture({ exposureS: 5, outDir: dir, fileStem: iso.replace(/:/g, '') });
    return { bg: median((await readAdu(f.path)).adu) - 1000, alt: f.meta.sunAltitudeDeg as number };
  };
  const night = await background('2026-01-10T22:00:00Z');
  const dusk = await background('2026-01-10T17:00:00Z');
  t.true(night.alt < -18 && dusk.alt > -18 && dusk.alt < 0, `${night.alt} ${dusk.alt}`);
  t.true(dusk.bg > 5 * night.bg, `night ${night.bg} ADU, dusk ${dusk.bg} ADU`);
});

test('scene=auto switches from day to night at sunset within one sequence', async (t) => {
  const dir = await tempDir(t);
  // The moment the sun's centre crosses the horizon (suncalc's `sunset` is the upper limb at −0.833°).
  let lo = Date.parse('2026-06-21T16:00:00Z');
  let hi = Date.parse('2026-06-21T22:00:00Z');
  while (hi - lo > 1000) {
    const mid = (lo + hi) / 2;
    if (SunCalc.getPosition(new Date(mid), 52, 5).altitude > 0) lo = mid;
    else hi = mid;
  }
  const start = new Date(lo - 40_000).toISOString();
  const cam = createSimCamera(new URL(`sim://ss?scene=auto&lat=52&lon=5&start=${start}&width=64&height=48`), simContext());
  await cam.connect();
  const before = await cam.capture({ exposureS: 0.001, outDir: dir, fileStem: 'a' });
  await cam.capture({ exposureS: 60, frameType: 'dark', outDir: dir, fileStem: 'wait' });
  const after = await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'b' });
  t.is(before.meta.scene, 'day');
  t.is(after.meta.scene, 'sky');
  t.true((before.meta.sunAltitudeDeg as number) > 0 && (after.meta.sunAltitudeDeg as number) < 0);
});
