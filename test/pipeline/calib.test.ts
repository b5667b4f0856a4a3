import test from 'ava';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFits } from '../../pipeline/image/fits.js';
import { writeImage } from '../../pipeline/image/write.js';
import { createImage, type ImageF32 } from '../../pipeline/image/types.js';
import { buildCalibration, buildMaster, listImages } from '../../pipeline/calib/master.js';
import { calibrate, findCosmetic } from '../../pipeline/calib/apply.js';
import { loadFrame } from '../../pipeline/calib/load.js';
import { LiveStacker } from '../../pipeline/stack/index.js';
import { gaussianRng, makeCatalog, renderStarField } from '../../pipeline/stack/synth.js';
import { tempDir } from '../helpers/tmp.js';

const W = 96, H = 80;

function darkFrame(seed: number, hot: number[]): ImageF32 {
  const img = createImage(W, H, 1, 16);
  const g = gaussianRng(seed);
  for (let i = 0; i < W * H; i++) img.data[i] = 0.02 + 0.001 * (i % 7) + 0.002 * g();
  for (const h of hot) img.data[h] = 0.6;
  return img;
}

test('master dark: median (strip by strip) drops a cosmic ray, sigma and seed rules as documented', async (t) => {
  const dir = await tempDir(t);
  const hot = [5 * W + 7, 40 * W + 50];
  for (let i = 0; i < 5; i++) {
    const d = darkFrame(i + 1, hot);
    if (i === 2) d.data[10 * W + 10] = 0.9; // cosmic ray in one dark
    await writeFits(join(dir, `d${i}.fits`), d, { bitpix: -32 });
  }
  const paths = await listImages(dir);
  const whole = await buildMaster(paths, dir, { method: 'median' });
  const strips = await buildMaster(paths, dir, { method: 'median', stripBytes: 5 * W * 4 * 3 }); // 3 rows per strip
  t.deepEqual(Array.from(strips.image.data), Array.from(whole.image.data));
  t.true(Math.abs(whole.image.data[10 * W + 10]! - 0.02 - 0.001 * ((10 * W + 10) % 7)) < 0.005);
  const sigma = await buildMaster(paths, dir, { method: 'sigma', kappa: 1.5 });
  t.true(sigma.image.data[10 * W + 10]! < 0.05);
  const seed = await buildMaster(paths, dir, { method: 'seed' });
  // The seed's rising rule: M = d0, then M = d > M ? (d + M)/2 : M — never falls.
  const frames = await Promise.all(paths.map(async (p) => (await loadFrame(p)).image.data));
  for (const i of [10 * W + 10, 3 * W + 4, hot[0]!]) {
    let expect = frames[0]![i]!;
    for (const f of frames.slice(1)) if (f[i]! > expect) expect = (f[i]! + expect) / 2;
    t.true(Math.abs(seed.image.data[i]! - expect) < 1e-6, `pixel ${i}`);
  }
  // the cosmic ray in d2 lifts the master halfway and later, darker darks do not pull it down
  t.true(seed.image.data[10 * W + 10]! > 0.45);
  t.is(whole.count, 5);
});

test('a dark folder with frames of different sizes is refused naming the file', async (t) => {
  const dir = await tempDir(t);
  await writeFits(join(dir, 'a.fits'), darkFrame(1, []), { bitpix: 16 });
  await writeFits(join(dir, 'b.fits'), createImage(50, 50, 1, 16), { bitpix: 16 });
  const err = await t.throwsAsync(buildMaster(await listImages(dir), dir));
  t.regex(err!.message, /b\.fits: 50×50×1 differs from the other frames in .* \(96×80×1\)/);
});

test('calibration: (light − dark) / normalised flat recovers the sky; hot pixels fixed', async (t) => {
  const dir = await tempDir(t);
  const darks = join(dir, 'darks'), flats = join(dir, 'flats');
  await mkdir(darks); await mkdir(flats);
  const hot = [5 * W + 7, 40 * W + 50];
  for (let i = 0; i < 3; i++) await writeFits(join(darks, `d${i}.fits`), darkFrame(i + 1, hot), { bitpix: -32 });
  const vignette = (x: number, y: number) => 1 - 0.4 * (((x - W / 2) / W) ** 2 + ((y - H / 2) / H) ** 2);
  for (let i = 0; i < 3; i++) {
    const f = createImage(W, H, 1, 32);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f.data[y * W + x] = 0.5 * (1 + 0.1 * i) * vignette(x, y);
    await writeFits(join(flats, `f${i}.fits`), f, { bitpix: -32 });
  }
  const cal = await buildCalibration({ darks, flats });
  t.is(cal.hotPixels!.length, 2);
  const light = darkFrame(9, hot);
  const sky = 0.1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) light.data[y * W + x] += sky * vignette(x, y);
  const r = calibrate(light, cal, 'light.fits');
  t.is(r.hotFixed, 2);
  // Flat normalised to median 1: the calibrated sky is flat (same level corner and centre).
  const centre = light.data[(H / 2) * W + W / 2]!, corner = light.data[2 * W + 2]!;
  t.true(Math.abs(centre - corner) < 0.008, `${centre} vs ${corner}`);
  t.true(light.data[hot[0]!]! < 0.2);
});

test('cosmetic correction finds isolated hot pixels but not stars', (t) => {
  const img = renderStarField({ width: 128, height: 128, catalog: makeCatalog(4, 40, 128, 128, 0, [0.5, 3]), fwhm: 2, noise: 0.003, hotPixels: [{ x: 30, y: 40, value: 0.4 }, { x: 90, y: 100, value: 0.3 }], seed: 3 });
  const found = Array.from(findCosmetic(img, 10, 1)).sort((a, b) => a - b);
  t.deepEqual(found, [40 * 128 + 30, 100 * 128 + 90]);
});

test('inputs: 8-bit PNG, 16-bit PNG/TIFF, FITS 8/16/32-bit integer and float all load to 0..1', async (t) => {
  const dir = await tempDir(t);
  const img = createImage(32, 24, 1, 16);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i % 200) / 255;
  await writeImage(join(dir, 'a.png'), img, { depth: 8 });
  await writeImage(join(dir, 'b.png'), img, { depth: 16 });
  await writeImage(join(dir, 'c.tif'), img, { depth: 16 });
  await writeFits(join(dir, 'd.fits'), img, { bitpix: 8 });
  await writeFits(join(dir, 'e.fits'), img, { bitpix: 16 });
  await writeFits(join(dir, 'f.fits'), img, { bitpix: -32 });
  const expectDepth: Record<string, 8 | 16 | 32> = { 'a.png': 8, 'b.png': 16, 'c.tif': 16, 'd.fits': 8, 'e.fits': 16, 'f.fits': 32 };
  for (const [name, depth] of Object.entries(expectDepth)) {
    const f = await loadFrame(join(dir, name));
    t.is(f.image.bitDepth, depth, name);
    // (sharp may hand a grey PNG back as RGB: compare the first channel of pixel 150)
    const v = f.image.data[150 * f.image.channels]!;
    t.true(Math.abs(v - 150 / 255) < 2e-3, `${name}: ${v}`);
  }
});

test('a BAYERPAT mosaic is calibrated then debayered into a colour stack', async (t) => {
  const dir = await tempDir(t);
  const cat = makeCatalog(8, 80, 128, 128, 10, [1, 3]);
  // Red-only scene on an RGGB sensor: only the R sites see the stars.
  const lights = join(dir, 'lights');
  await mkdir(lights);
  for (let i = 0; i < 3; i++) {
    const sky = renderStarField({ width: 128, height: 128, catalog: cat, seed: 20 + i, fwhm: 3, transform: { dx: i * 2, dy: -i, rotDeg: 0 } });
    const mosaic = createImage(128, 128, 1, 16);
    for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) {
      const isRed = (y & 1) === 0 && (x & 1) === 0;
      mosaic.data[y * 128 + x] = isRed ? sky.data[y * 128 + x]! : 0.05;
    }
    await writeFits(join(lights, `m${i}.fits`), mosaic, { bitpix: 16, cards: { BAYERPAT: 'RGGB', EXPTIME: 5 } });
  }
  const st = new LiveStacker({ outDir: join(dir, 'out'), methods: ['mean'], previewMaxSize: 128 });
  for (const p of await listImages(lights)) t.not((await st.push(p)).status, 'rejected');
  t.is(st.count, 3);
  const s = st.stacked()!;
  t.is(s.channels, 3);
  // Stars live in red: red brightest pixel far above green and blue.
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < 128 * 128; i++) { r = Math.max(r, s.data[i * 3]!); g = Math.max(g, s.data[i * 3 + 1]!); b = Math.max(b, s.data[i * 3 + 2]!); }
  t.true(r > 0.2 && g < 0.06 && b < 0.06, `${r} ${g} ${b}`);
});

test('--dark-scale: darks at 60 s calibrate a 30 s light (bias kept, thermal signal halved); bad setups named', async (t) => {
  const dir = await tempDir(t);
  const darks = join(dir, 'darks'), bias = join(dir, 'bias');
  await mkdir(darks); await mkdir(bias);
  const level = (v: (i: number) => number) => { const img = createImage(W, H, 1, 32); for (let i = 0; i < W * H; i++) img.data[i] = v(i); return img; };
  const B = (i: number) => 0.05 + 0.0001 * (i % 11); // bias with a pattern
  const thermal60 = (i: number) => 0.02 + 0.0002 * (i % 13); // dark current over 60 s, with a pattern
  for (let k = 0; k < 3; k++) {
    await writeFits(join(darks, `d${k}.fits`), level((i) => B(i) + thermal60(i)), { bitpix: -32, cards: { EXPTIME: 60 } });
    await writeFits(join(bias, `b${k}.fits`), level(B), { bitpix: -32, cards: { EXPTIME: 0.001 } });
  }
  const light = () => level((i) => B(i) + thermal60(i) / 2 + 0.1);
  const cal = await buildCalibration({ darks, bias, darkScale: true, hotSigma: 0 });
  t.is(cal.dark!.exposureS, 60);
  const a = light();
  calibrate(a, cal, 'light30.fits', 1, 30);
  let worst = 0;
  for (const v of a.data) worst = Math.max(worst, Math.abs(v - 0.1));
  t.true(worst < 1e-5, `scaled: worst ${worst}`);
  // Without scaling the 60 s dark over-subtracts half its thermal signal.
  const plain = await buildCalibration({ darks, bias, hotSigma: 0 });
  const b = light();
  calibrate(b, plain, 'light30.fits', 1, 30);
  t.true(Math.abs(b.data[0]! - (0.1 - 0.01)) < 1e-5);
  // A light without an exposure time, a setup without bias: one line naming what is missing.
  t.throws(() => calibrate(light(), cal, 'noexp.fits', 1, null), { message: /^noexp\.fits: no exposure time to scale the dark by \(--dark-scale\)/ });
  await t.throwsAsync(buildCalibration({ darks, darkScale: true }), { message: /^--dark-scale: needs --bias/ });
});
