import test from 'ava';
import sharp from 'sharp';
import { createSimCamera, createSimFocuser, dayGeometry, renderRadiance, SUN_RADIANCE } from '../../hardware-mocks/index.js';
import { tempDir } from '../helpers/tmp.js';
import { simContext } from './helpers.js';

async function rgb(path: string) {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const W = 320;
const H = 240;

test('radiance truth spans more than five decades', (t) => {
  const rad = renderRadiance({ width: W, height: H, seed: 3 });
  let lo = Infinity;
  let hi = 0;
  for (const v of rad) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  t.true(hi / lo > 1e5, `range ${hi / lo}`);
  t.true(hi >= 0.99 * SUN_RADIANCE);
});

test('day bracket: the short exposure holds the sun, the long one shows the ground', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(new URL(`sim://d?scene=day&format=jpeg&seed=3&width=${W}&height=${H}`), simContext());
  await cam.connect();
  const g = dayGeometry({ width: W, height: H, seed: 3 });
  const short = await rgb((await cam.capture({ exposureS: 1e-5, outDir: dir, fileStem: 'short' })).path);
  const long = await rgb((await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'long' })).path);
  const sunPx = (img: typeof short) => img.data[(Math.round(g.sunY) * W + Math.round(g.sunX)) * 3 + 1]!;
  t.true(sunPx(short) > 40 && sunPx(short) < 240, `sun at 1e-5 s: ${sunPx(short)}`);
  t.is(sunPx(long), 255);
  // Ground: rows well below the horizon.
  const ground = (img: typeof short) => {
    const v: number[] = [];
    for (let y = Math.ceil(Math.max(...g.horizon)) + 10; y < H - 5; y++) for (let x = 5; x < W - 5; x++) v.push(img.data[(y * W + x) * 3 + 1]!);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, sd };
  };
  const gs = ground(short);
  const gl = ground(long);
  t.true(gs.mean < 3, `ground at 1e-5 s: ${JSON.stringify(gs)}`);
  t.true(gl.mean > 30 && gl.mean < 200, `ground at 1 s: ${JSON.stringify(gl)}`);
  t.true(gl.sd > 8, `ground detail at 1 s: ${JSON.stringify(gl)}`);
});

test('JPEG values follow the exported response of the true radiance', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(new URL(`sim://r?scene=day&format=png&seed=8&width=${W}&height=${H}&vignette=0`), simContext());
  await cam.connect();
  const rad = cam.renderRadiance().data;
  let err = 0;
  let n = 0;
  for (const exposureS of [0.02, 0.3]) {
    const img = await rgb((await cam.capture({ exposureS, outDir: dir, fileStem: `r${exposureS}` })).path);
    for (let i = 0; i < rad.length; i++) {
      const x = cam.normalisedSignal(rad[i]!, exposureS);
      if (x < 0.02 || x > 0.9) continue; // noise-dominated shadows and clipped highlights
      err += Math.abs(img.data[i]! - 255 * cam.response(x));
      n++;
    }
  }
  t.true(n > 10000, `${n} mid-tone samples`);
  t.true(err / n < 3, `mean |error| ${err / n} codes`);
  // g(z) table: monotonic, ln X of code 255 is 0.
  const g = cam.responseLnTable();
  t.is(g.length, 256);
  t.true(Math.abs(g[255]!) < 1e-9);
  for (let z = 1; z < 256; z++) t.true(g[z]! > g[z - 1]!);
});

test('scene=auto picks day or night from the sun at the site', async (t) => {
  const dir = await tempDir(t);
  const at = (iso: string) => createSimCamera(new URL(`sim://a?scene=auto&lat=52&lon=5&start=${iso}&width=64&height=48`), simContext());
  const noon = at('2026-06-21T12:00:00Z');
  const night = at('2026-06-21T23:30:00Z');
  t.is(noon.sceneAt(), 'day');
  t.is(night.sceneAt(), 'sky');
  await noon.connect();
  const f = await noon.capture({ exposureS: 0.001, outDir: dir, fileStem: 'n' });
  t.is(f.meta.scene, 'day');
  t.true((f.meta.sunAltitudeDeg as number) > 55);
  t.throws(() => createSimCamera(new URL('sim://z?scene=auto'), simContext()), { message: /scene=auto needs the site/ });
});

/** Variance of the 4-neighbour Laplacian over rows y0..y1 of the green channel. */
function laplacianEnergy(img: { data: Buffer; width: number }, y0: number, y1: number): number {
  let s = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 10; x < img.width - 10; x++) {
      const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * 3 + 1]!;
      const l = 4 * at(x, y) - at(x - 1, y) - at(x + 1, y) - at(x, y - 1) - at(x, y + 1);
      s += l * l;
      n++;
    }
  }
  return s / n;
}

test('near_focus: the sharp band of ground follows the focuser (focus-bracket depth truth)', async (t) => {
  const dir = await tempDir(t);
  const ctx = simContext();
  const cam = createSimCamera(new URL(`sim://f?scene=day&format=png&seed=3&width=${W}&height=${H}&near_focus=400&focus_best=1000`), ctx);
  const foc = createSimFocuser(new URL('sim://f?dead_band=0'), ctx);
  await cam.connect();
  await foc.connect();
  const offsets = cam.focusOffsetMap();
  const g = dayGeometry({ width: W, height: H, seed: 3 });
  t.is(offsets[Math.round(g.sunY) * W + Math.round(g.sunX)], 0); // sky at infinity
  t.true(Math.abs(offsets[(H - 1) * W + 100]! - 400) < 1e-3); // bottom row: nearest ground
  const top = Math.ceil(Math.max(...g.horizon)) + 4;
  const bottom = H - 12;
  const energies = [];
  for (const pos of [1000, 1400]) {
    await foc.moveTo(pos);
    const img = await rgb((await cam.capture({ exposureS: 1, outDir: dir, fileStem: `p${pos}` })).path);
    // Far: the horizon silhouette (at infinity); near: the bottom rows of ground.
    energies.push({ near: laplacianEnergy(img, bottom, H - 2), far: laplacianEnergy(img, Math.floor(Math.min(...g.horizon)) - 2, top) });
  }
  const [inf, near] = energies as [{ near: number; far: number }, { near: number; far: number }];
  t.true(near.near > 5 * inf.near, JSON.stringify(energies));
  t.true(inf.far > 5 * near.far, JSON.stringify(energies));
});

test('breathing: the day scene scales about the centre as focus moves', async (t) => {
  const dir = await tempDir(t);
  const ctx = simContext();
  const cam = createSimCamera(new URL(`sim://br?scene=day&format=png&depth=16&seed=3&width=${W}&height=${H}&breathing=0.0005&vignette=0`), ctx);
  const foc = createSimFocuser(new URL('sim://br?dead_band=0'), ctx);
  await cam.connect();
  await foc.connect();
  const g = dayGeometry({ width: W, height: H, seed: 3 });
  const sunCentroid = async (stem: string) => {
    const { data } = await sharp((await cam.capture({ exposureS: 2e-5, outDir: dir, fileStem: stem })).path).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    const px = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    let max = 0;
    for (let i = 1; i < px.length; i += 3) max = Math.max(max, px[i]!);
    let sx = 0;
    let sy = 0;
    let s = 0;
    for (let i = 1; i < px.length; i += 3) {
      if (px[i]! < 0.5 * max) continue;
      const p = (i - 1) / 3;
      sx += (p % W) * px[i]!;
      sy += Math.floor(p / W) * px[i]!;
      s += px[i]!;
    }
    return [sx / s, sy / s] as const;
  };
  const [x0, y0] = await sunCentroid('a');
  t.true(Math.hypot(x0 - g.sunX, y0 - g.sunY) < 0.5, `in focus: ${x0},${y0} vs ${g.sunX},${g.sunY}`);
  await foc.moveTo(1200);
  const f = await cam.capture({ exposureS: 2e-5, outDir: dir, fileStem: 'meta' });
  t.true(Math.abs((f.meta.scale as number) - 1.1) < 1e-9);
  const [x1, y1] = await sunCentroid('b');
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  t.true(Math.hypot(x1 - (cx + (g.sunX - cx) * 1.1), y1 - (cy + (g.sunY - cy) * 1.1)) < 0.5, `at +200: ${x1},${y1}`);
});
