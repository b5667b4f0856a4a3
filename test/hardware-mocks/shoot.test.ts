import test from 'ava';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseExposureList, shoot } from '../../hardware-mocks/shoot.js';
import { readNpy } from '../../pipeline/image/npy.js';
import { tempDir } from '../helpers/tmp.js';

test('shoot: an HDR bracket named for skyrig hdr, with radiance truth', async (t) => {
  const dir = await tempDir(t);
  const r = await shoot({
    url: new URL('sim://s?scene=day&format=jpeg&seed=3&width=160&height=120&start=2026-06-21T12:00:00Z'),
    outDir: dir,
    exposures: parseExposureList('1/100000,1/1000,1/10'),
    count: 1,
    naming: 'hdr',
    truth: true,
  });
  t.is(r.frames.length, 3);
  const names = (await readdir(dir)).sort();
  t.deepEqual(names, ['20260621120000_10.jpg', '20260621120000_100000.jpg', '20260621120000_1000.jpg', 'truth-radiance.npy', 'truth.json'].sort());
  const truth = JSON.parse(await readFile(join(dir, 'truth.json'), 'utf8'));
  t.is(truth.frames.length, 3);
  t.is(truth.response.lnTable.length, 256);
  const rad = await readNpy(join(dir, 'truth-radiance.npy'));
  t.deepEqual(rad.shape, [120, 160, 3]);
});

test('shoot: a focus bracket moves the rig focuser and records the defocus', async (t) => {
  const dir = await tempDir(t);
  const r = await shoot({
    url: new URL('sim://f?scene=sky&seed=2&width=128&height=96&focus_best=1000&start=2026-01-10T22:00:00Z'),
    outDir: dir,
    exposures: [2],
    count: 1,
    positions: [900, 1000, 1100],
    focuserQuery: 'dead_band=0',
    naming: 'seq',
    prefix: 'fb',
    truth: true,
  });
  t.deepEqual(r.frames.map((f) => f.meta.defocusSteps), [-100, 0, 100]);
  t.true(r.frames[0]!.path.endsWith('fb_0000_pos900.fits'));
  const truth = JSON.parse(await readFile(join(dir, 'truth.json'), 'utf8'));
  t.true(truth.frames[1].stars.length > 0);
  t.is(truth.depthOfFocusSteps, 2.8 / 0.05);
});

test('skyrig sim shoot: bad exposure list is a one-line error', async (t) => {
  t.throws(() => parseExposureList('1/100,fast'), { message: '--exposures: "fast" is not an exposure in seconds (e.g. 0.01 or 1/100)' });
  const root = resolve(import.meta.dirname, '../..');
  const err = await t.throwsAsync(
    promisify(execFile)(process.execPath, [join(root, 'bin/skyrig.js'), 'sim', 'shoot', 'sim://x?scene=moon', '--out', await tempDir(t)], {
      env: { ...process.env, SKYRIG_FROM_SOURCE: '1' },
    }),
  );
  const stderr = (err as unknown as { stderr: string }).stderr.trim();
  t.is(stderr.split('\n').length, 1);
  t.regex(stderr, /^skyrig: sim:\/\/x: scene="moon" not allowed \(sky\|day\|auto\)$/);
});
