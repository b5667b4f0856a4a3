import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { runFocusMap, runFocusScore } from '../../agent/cli/commands/focus.js';
import { borderIndex } from '../../pipeline/focus/border.js';
import { boxGaussianBand, gaussianBlurPlane, gaussianKernel, kernelRadius } from '../../pipeline/focus/gaussian.js';
import { DEFAULT_KDE, kdeOnFused } from '../../pipeline/focus/kde.js';
import { jet } from '../../pipeline/focus/colormap.js';
import { kdeCap } from '../../pipeline/focus/map.js';
import { ENERGY_MEASURES, energyPlane, scorePlane } from '../../pipeline/focus/measures.js';
import { readNpyF32 } from '../../pipeline/focus/npy-stream.js';
import { bandFromPlane, planeFromFloat } from '../../pipeline/focus/plane.js';
import { LogHistogram } from '../../pipeline/focus/quantiles.js';
import { DEFAULT_RADII, fuseScales, normFromStats, parseRadii, rdfBand } from '../../pipeline/focus/rdf.js';
import { tempDir } from '../helpers/tmp.js';
import { synthBracket, toU8 } from './focus-helpers.js';

/** Noise texture whose right half is blurred: a frame sharp on the left only. */
function halfSharp(w = 96, h = 64): Float32Array {
  let s = 12345;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const tex = Float32Array.from({ length: w * h }, () => r());
  const blurred = gaussianBlurPlane(tex, w, h, 2.5);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = x < w / 2 ? tex[y * w + x]! : blurred[y * w + x]!;
  return out;
}

test('border modes: reflect-101, replicate, constant', (t) => {
  t.deepEqual([-2, -1, 0, 4, 5, 6].map((i) => borderIndex(i, 5, 'reflect')), [2, 1, 0, 4, 3, 2]);
  t.deepEqual([-2, 5, 6].map((i) => borderIndex(i, 5, 'replicate')), [0, 4, 4]);
  t.deepEqual([-1, 5].map((i) => borderIndex(i, 5, 'constant')), [-1, -1]);
});

test('RDF responds to sharp detail, per scale and fused, and is band-invariant', (t) => {
  const w = 96, h = 64;
  const img = halfSharp(w, h);
  const p = planeFromFloat(w, h, img);
  const whole = rdfBand(bandFromPlane(p, 0, h, 7, 'reflect'), DEFAULT_RADII, 2, 'reflect');
  t.is(whole.length, 3);
  for (const m of whole) {
    let left = 0, right = 0;
    for (let y = 10; y < h - 10; y++) for (let x = 10; x < w / 2 - 10; x++) { left += m[y * w + x]!; right += m[y * w + x + w / 2]!; }
    t.true(left > 5 * right);
  }
  // Bands of 16 rows give exactly the whole-image maps.
  for (let y0 = 0; y0 < h; y0 += 16) {
    const part = rdfBand(bandFromPlane(p, y0, 16, 7, 'reflect'), DEFAULT_RADII, 2, 'reflect');
    t.deepEqual(Array.from(part[2]!.subarray(0, 50)), Array.from(whole[2]!.subarray(y0 * w, y0 * w + 50)));
  }
  // Constant border with coverage correction: a flat image gives zero response even at the edges.
  const flat = planeFromFloat(w, h, new Float32Array(w * h).fill(0.5));
  const c = rdfBand(bandFromPlane(flat, 0, h, 7, 'constant'), [[2, 5]], 1, 'constant')[0]!;
  t.true(Math.max(...c) < 1e-6);
  // Normalisation: p99 scales to ~1, mad gives a robust z-score.
  const hist = new LogHistogram();
  hist.add(whole[0]!);
  const n99 = normFromStats('p99', { p99: hist.quantile(0.99), ...hist.medianMad() });
  const fused = new Float32Array(w * h);
  fuseScales([whole[0]!], [n99], fused);
  const sorted = Float32Array.from(fused).sort();
  t.true(Math.abs(sorted[Math.floor(0.99 * sorted.length)]! - 1) < 0.05);
  t.deepEqual(parseRadii('1:3, 2:5'), [[1, 3], [2, 5]]);
  t.throws(() => parseRadii('3:2'), { message: /--radii: need 1 <= inner < outer/ });
});

test('classic measures: every one scores a sharp frame above its blurred copy; the grid sees where', (t) => {
  const w = 96, h = 64;
  const img = halfSharp(w, h);
  const sharpP = planeFromFloat(w, h, img);
  const blurP = planeFromFloat(w, h, gaussianBlurPlane(img, w, h, 1.5));
  for (const m of ENERGY_MEASURES) {
    const a = scorePlane(sharpP, m), b = scorePlane(blurP, m);
    t.true(a.score > b.score, m);
    t.true(a.grid[3]! > 3 * a.grid[5]!, `${m}: left cell sharper than right`);
    t.is(energyPlane(sharpP, m).length, w * h);
  }
});

test('five-box Gaussian stays within a few per cent of the exact Gaussian', (t) => {
  const w = 120, h = 90;
  const imp = new Float32Array(w * h);
  imp[45 * w + 60] = 1;
  imp[20 * w + 30] = 1;
  const exact = gaussianBlurPlane(imp, w, h, 10, 'constant');
  const k = gaussianKernel(10);
  const fast = boxGaussianBand(bandFromPlane(planeFromFloat(w, h, imp), 0, h, kernelRadius(k), 'constant'), 10);
  const peak = Math.max(...exact);
  let worst = 0;
  for (let i = 0; i < exact.length; i++) worst = Math.max(worst, Math.abs(exact[i]! - fast[i]!));
  t.true(worst / peak < 0.06, `max error ${(worst / peak).toFixed(3)} of the peak`);
});

test('KDE focus regions: density 0..1, high where the frame is sharp', (t) => {
  const w = 96, h = 64;
  const p = planeFromFloat(w, h, halfSharp(w, h));
  const maps = rdfBand(bandFromPlane(p, 0, h, 7, 'reflect'), DEFAULT_RADII, 2, 'reflect');
  const fused = new Float32Array(w * h);
  fuseScales(maps, maps.map(() => ({ gain: 1, offset: 0 })), fused);
  const { density, threshold } = kdeOnFused(fused, w, h, { topPercent: 20, bandwidthPx: 4, includeStrength: true, clipPercentile: 99.5, normalize: true });
  t.true(threshold > 0);
  t.is(Math.max(...density), 1);
  t.true(Math.min(...density) >= 0);
  t.true(density[32 * w + 20]! > 0.5);
  t.true(density[32 * w + 80]! < 0.05);
  t.throws(() => kdeOnFused(fused, w, h, { topPercent: 0, bandwidthPx: 4, includeStrength: false, clipPercentile: null, normalize: true }), { message: /--top-percent/ });
});

test('focus map CLI writes the focus_response layout: float32 .npy numpy loads, grey and heat-map PNGs', async (t) => {
  const dir = await tempDir(t);
  const b = synthBracket(128, 96, 3);
  const files: string[] = [];
  for (let k = 0; k < 3; k++) {
    files.push(join(dir, `frame${k}.png`));
    await sharp(toU8(b.frames[k]!), { raw: { width: 128, height: 96, channels: 3 } }).png().toFile(files[k]!);
  }
  const out = join(dir, 'out');
  const results = await runFocusMap(files, out, { radii: '1:3,2:5', normalize: 'mad', border: 'replicate', topPercent: '10', bandwidthPx: '6', includeStrength: true, saveScales: true, workers: '2' }, devNull());
  t.is(results.length, 3);
  for (const r of results) {
    t.true(r.filterMs > 0 && r.kdeMs > 0);
    for (const f of [r.files.filter, r.files.kde, r.files.filterVis, r.files.kdeVis, r.files.kdeOverlay, ...r.files.scales]) t.true(f !== null && existsSync(f), String(f));
    t.is(r.files.scales.length, 2);
    const kde = await readNpyF32(r.files.kde!);
    t.deepEqual(kde.shape, [96, 128]);
    t.true(Math.abs(Math.max(...kde.data) - 1) < 1e-6);
    t.is((await sharp(r.files.filterVis!).metadata()).channels, 1);
    t.is((await sharp(r.files.kdeVis!).metadata()).channels, 3);
    // kde_vis is focus_response's plain jet map: every pixel is jet(density) of the saved density.
    const vis = await sharp(r.files.kdeVis!).raw().toBuffer();
    let worst = 0;
    for (let i = 0; i < kde.data.length; i += 97) {
      const [jr, jg, jb] = jet(kde.data[i]!);
      worst = Math.max(worst, Math.abs(vis[i * 3]! - jr), Math.abs(vis[i * 3 + 1]! - jg), Math.abs(vis[i * 3 + 2]! - jb));
    }
    t.true(worst <= 2.5, `jet map off by ${worst} codes`);
  }
  t.true(existsSync(join(out, 'filter_arrays', 'frame0_filter.npy')));
  t.true(existsSync(join(out, 'kde_arrays', 'frame2_kde.npy')));
  if (existsSync('/usr/bin/python3')) {
    const py = execFileSync('/usr/bin/python3', ['-c', `import numpy as n; a=n.load('${join(out, 'filter_arrays', 'frame1_filter.npy')}'); print(a.dtype, a.shape)`], { encoding: 'utf8' });
    t.is(py.trim(), 'float32 (96, 128)');
  }
  // Downsampled maps come back at full size.
  const ds = await runFocusMap([files[0]!], join(dir, 'ds'), { downsample: '2' }, devNull());
  t.deepEqual((await readNpyF32(ds[0]!.files.filter!)).shape, [96, 128]);
  await t.throwsAsync(runFocusMap(files, out, { power: '3' }, devNull()), { message: /--power/ });
  await t.throwsAsync(runFocusMap([join(dir, 'missing.png')], out, {}, devNull()), { message: /missing\.png: no such file/ });
});

test('focus score: sharpest frame of a bracket, 3×3 grid, tilt and curvature figures', async (t) => {
  const dir = await tempDir(t);
  const w = 96, h = 64;
  const img = halfSharp(w, h);
  await sharp(toU8(img), { raw: { width: w, height: h, channels: 1 } }).png().toFile(join(dir, 'a.png'));
  await sharp(toU8(gaussianBlurPlane(img, w, h, 2)), { raw: { width: w, height: h, channels: 1 } }).png().toFile(join(dir, 'b.png'));
  const rows = await runFocusScore([dir], { measure: 'laplacian' });
  t.is(rows.length, 2);
  t.true(rows[0]!.score > rows[1]!.score);
  t.is(rows[0]!.grid.length, 9);
  t.true(rows[0]!.tilt < 0.5); // left corners sharp, right corners soft
  await t.throwsAsync(runFocusScore([dir], { measure: 'nope' }), { message: /--measure: expected one of/ });
});

function devNull(): NodeJS.WriteStream {
  return { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
}

test('focus_response defaults: top 25 %, clip at the filter map\'s percentile (or the density\'s), switches and --recursive', async (t) => {
  t.is(DEFAULT_KDE.topPercent, 25);
  t.is(DEFAULT_KDE.clipOver, 'filter');
  // The cap is the 99th percentile of whichever map the rule names, never above the density's maximum.
  const filter = new LogHistogram();
  const density = new LogHistogram();
  filter.add(Float32Array.from({ length: 1000 }, (_, i) => i / 1000)); // p99 ≈ 0.99
  density.add(Float32Array.from({ length: 1000 }, (_, i) => (i / 1000) * 5)); // p99 ≈ 4.95, max 4.995
  const kde = { ...DEFAULT_KDE, clipPercentile: 99 };
  t.true(Math.abs(kdeCap(kde, filter, density) - 0.99) < 0.01);
  t.true(Math.abs(kdeCap({ ...kde, clipOver: 'density' }, filter, density) - 4.95) < 0.05);
  t.true(Math.abs(kdeCap({ ...kde, clipPercentile: null }, filter, density) - density.max) < 1e-9);
  const big = new LogHistogram();
  big.add(Float32Array.from({ length: 100 }, () => 100));
  t.is(kdeCap(kde, big, density), density.max);

  const dir = await tempDir(t);
  const b = synthBracket(64, 48, 2);
  await sharp(toU8(b.frames[0]!), { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(join(dir, 'top.png'));
  await mkdir(join(dir, 'sub'));
  await sharp(toU8(b.frames[1]!), { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(join(dir, 'sub', 'deep.png'));
  t.is((await runFocusMap([dir], join(dir, 'o1'), { workers: '1' }, devNull())).length, 1);
  // o1's maps (under the input folder) are not inputs of the next run; o2 is outside it.
  const rec = await runFocusMap([dir], join(dir, 'o1'), { recursive: true, workers: '1' }, devNull());
  t.deepEqual(rec.map((r) => r.name), ['top', 'deep']);
  const out2 = await tempDir(t);
  const rec2 = await runFocusMap([dir], join(out2, 'o2'), { recursive: true, saveArrays: false, workers: '1' }, devNull());
  for (const r of rec2) {
    t.is(r.files.filter, null);
    t.true(existsSync(r.files.kdeVis!) && existsSync(r.files.kdeOverlay!));
  }
  t.deepEqual((await readdir(join(out2, 'o2'))).sort(), ['filter_vis', 'kde_vis']);
  const novis = await runFocusMap([join(dir, 'top.png')], join(dir, 'o3'), { saveVisualizations: false, workers: '1' }, devNull());
  t.is(novis[0]!.files.kdeVis, null);
  t.deepEqual((await readdir(join(dir, 'o3'))).sort(), ['filter_arrays', 'kde_arrays']);
});
