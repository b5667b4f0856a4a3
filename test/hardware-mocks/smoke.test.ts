import test from 'ava';
import { stat } from 'node:fs/promises';
import { createSimCamera, createSimFocuser } from '../../hardware-mocks/index.js';
import { tempDir } from '../helpers/tmp.js';
import { readAdu, simContext } from './helpers.js';

test('camera and focuser on one rig: FITS written with cards, focus position in meta', async (t) => {
  const dir = await tempDir(t);
  const ctx = simContext();
  const cam = createSimCamera(new URL('sim://rig?seed=7&start=2026-01-10T22:00:00Z'), ctx);
  const foc = createSimFocuser(new URL('sim://rig?dead_band=0'), ctx);
  await cam.connect();
  await foc.connect();
  t.is(await foc.moveTo(1100), 1100);
  const f = await cam.capture({ exposureS: 2, gain: 2, outDir: dir, fileStem: 'a' });
  t.true((await stat(f.path)).size > 640 * 480 * 2);
  t.is(f.width, 640);
  t.is(f.bitDepth, 16);
  t.is(f.meta.focusPosition, 1100);
  t.is(f.meta.defocusSteps, 100);
  const { cards } = await readAdu(f.path);
  t.is(cards.EXPTIME, 2);
  t.is(cards.GAIN, 2);
  t.is(cards.FOCUSPOS, 1100);
  t.is(cards.IMAGETYP, 'Light Frame');
  t.is(cards['DATE-OBS'], '2026-01-10T22:00:00.050'); // the 100-step move took 0.05 s of simulated clock
  t.is(cards.INSTRUME, 'skyrig-sim');
});

test('bad URL parameter names the parameter and what is allowed', (t) => {
  const err = t.throws(() => createSimCamera(new URL('sim://x?scene=moon'), simContext()));
  t.regex(err.message, /scene="moon" not allowed \(sky\|day\|auto\)/);
  const err2 = t.throws(() => createSimCamera(new URL('sim://x?sede=1'), simContext()));
  t.regex(err2.message, /unknown parameter 'sede'/);
});
