// Master calibration frames from a folder of darks, flats or bias frames, in bounded memory:
// each frame is decoded once and spilled to a raw float32 file, then the masters are combined
// strip by strip across all files, so a median of 50 darks never holds 50 frames at once.
//   median  per-pixel median (default)
//   sigma   kappa-sigma clipped mean (iterated 3×)
//   mean    plain mean
//   seed    the seed's rising rule in name order: M = D₁, then M ← Dᵢ > M ? (M + Dᵢ)/2 : M
// Flats are divided by their own median before combining (flats of varying level combine) and
// the master is normalised to median 1. Bias (when given) is subtracted from darks' and flats'
// frames only when the light calibration uses the bias separately (see buildCalibration).
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageF32 } from '../image/types.js';
import { findHotPixels, type Calibration, type Master } from './apply.js';
import { isImagePath, loadFrame } from './load.js';
import { readFitsHeader } from '../image/fits.js';
import { releaseGarbage } from '../image/gc.js';
import { checkImageFile } from '../image/header-size.js';
import { isFitsPath } from '../image/read.js';
import { ImageFormatError } from '../image/types.js';
import { medianOfFits16, type Fits16Source } from '../kernels/stack-wasm.js';

export type CombineMethod = 'median' | 'sigma' | 'mean' | 'seed';

export interface MasterOptions {
  method?: CombineMethod;
  kappa?: number;
  /** Subtracted from every frame before combining. */
  subtract?: ImageF32;
  /** Divide each frame by its median and normalise the master to median 1 (flats). */
  normalize?: boolean;
  /** Memory budget for one strip across all frames, bytes (default 64 MB). */
  stripBytes?: number;
  /** Threads for the WASM median of 16-bit FITS frames (default the cores); 0 = the plain-TS path. */
  threads?: number;
  tmpDir?: string;
}

export async function listImages(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${dir}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
  });
  return names.filter((n) => isImagePath(n) && !n.includes('.tmp-')).sort().map((n) => join(dir, n));
}

function sampleMedian(d: Float32Array): number {
  const stride = Math.max(1, Math.floor(d.length / 100000));
  const s: number[] = [];
  for (let i = 0; i < d.length; i += stride) if (d[i] === d[i]) s.push(d[i]!);
  s.sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}

export async function buildMaster(paths: string[], source: string, opts: MasterOptions = {}): Promise<Master> {
  if (!paths.length) throw new Error(`${source}: no image files`);
  const method = opts.method ?? 'median';
  let first: ImageF32 | null = null;
  const check = (img: ImageF32, p: string) => {
    if (!first) { first = img; return; }
    if (img.width !== first.width || img.height !== first.height || img.channels !== first.channels) {
      throw new Error(`${p}: ${img.width}×${img.height}×${img.channels} differs from the other frames in ${source} (${first.width}×${first.height}×${first.channels})`);
    }
  };
  const exposures: number[] = [];
  const noteExposure = (e: number | null) => { if (e !== null && e > 0) exposures.push(e); };
  /** Median exposure of the frames that carry one (null when none do). */
  const exposureS = () => (exposures.length ? exposures.sort((a, b) => a - b)[exposures.length >> 1]! : null);
  const prep = (img: ImageF32) => {
    const d = img.data;
    if (opts.subtract) {
      if (opts.subtract.data.length !== d.length) throw new Error(`${source}: size differs from the bias master`);
      for (let i = 0; i < d.length; i++) d[i] -= opts.subtract.data[i]!;
    }
    if (opts.normalize) {
      const m = sampleMedian(d);
      if (!(m > 0)) throw new Error(`${source}: flat frame with median ${m}`);
      for (let i = 0; i < d.length; i++) d[i]! /= m;
    }
  };
  if (method === 'seed' || method === 'mean') {
    let acc: Float32Array | null = null;
    let n = 0;
    for (const p of paths) {
      const f = await loadFrame(p);
      check(f.image, p);
      noteExposure(f.exposureS);
      prep(f.image);
      const d = f.image.data;
      if (!acc) acc = Float32Array.from(d);
      else if (method === 'seed') for (let i = 0; i < d.length; i++) { const v = d[i]!, m = acc[i]!; if (v > m) acc[i] = 0.5 * (v + m); }
      else for (let i = 0; i < d.length; i++) acc[i] += d[i]!;
      n++;
    }
    if (method === 'mean') for (let i = 0; i < acc!.length; i++) acc![i]! /= n;
    const f0 = first! as ImageF32;
    const image: ImageF32 = { width: f0.width, height: f0.height, channels: f0.channels, bitDepth: 32, data: acc! };
    if (opts.normalize) normalize(image);
    return { image, source, count: n, exposureS: exposureS() };
  }
  if (method === 'median' && !opts.subtract && !opts.normalize && opts.threads !== 0) {
    const fast = await medianFromFits16(paths, source, opts);
    if (fast) return fast;
  }
  const tmp = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'skyrig-master-'));
  try {
    const spills: string[] = [];
    for (const [i, p] of paths.entries()) {
      const f = await loadFrame(p);
      check(f.image, p);
      noteExposure(f.exposureS);
      prep(f.image);
      const sp = join(tmp, `${i}.f32`);
      const fh = await open(sp, 'w');
      await fh.write(new Uint8Array(f.image.data.buffer, f.image.data.byteOffset, f.image.data.byteLength));
      await fh.close();
      spills.push(sp);
    }
    const f0 = first! as ImageF32;
    const rowLen = f0.width * f0.channels;
    const n = spills.length;
    const rows = Math.max(1, Math.min(f0.height, Math.floor((opts.stripBytes ?? 64 << 20) / (rowLen * 4 * n))));
    const out = new Float32Array(rowLen * f0.height);
    const handles = await Promise.all(spills.map((s) => open(s, 'r')));
    try {
      const strips = handles.map(() => new Float32Array(rows * rowLen));
      const vals = new Float64Array(n);
      const kappa = opts.kappa ?? 3;
      for (let y0 = 0; y0 < f0.height; y0 += rows) {
        const r = Math.min(rows, f0.height - y0);
        const len = r * rowLen;
        await Promise.all(handles.map((h, k) => h.read(new Uint8Array(strips[k]!.buffer, 0, len * 4), 0, len * 4, y0 * rowLen * 4)));
        for (let i = 0; i < len; i++) {
          for (let k = 0; k < n; k++) vals[k] = strips[k]![i]!;
          out[y0 * rowLen + i] = method === 'median' ? medianInPlace(vals, n) : sigmaClippedMean(vals, n, kappa);
        }
      }
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
    const image: ImageF32 = { width: f0.width, height: f0.height, channels: f0.channels, bitDepth: 32, data: out };
    if (opts.normalize) normalize(image);
    return { image, source, count: n, exposureS: exposureS() };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The median of mono 16-bit FITS frames read strip by strip from the files by the WASM kernels: each
 * byte read once, nothing decoded whole, nothing spilled (the plain path writes every frame to a temp
 * file first). Null when the frames are anything else or the kernels cannot load.
 */
async function medianFromFits16(paths: string[], source: string, opts: MasterOptions): Promise<Master | null> {
  if (!paths.every(isFitsPath)) return null;
  const files: Fits16Source[] = [];
  const exposures: number[] = [];
  let first: { width: number; height: number; path: string } | null = null;
  for (const p of paths) {
    await checkImageFile(p);
    const h = await readFitsHeader(p);
    if (h.bitpix !== 16 || h.planes !== 1) return null;
    if (!first) first = { width: h.width, height: h.height, path: p };
    else if (h.width !== first.width || h.height !== first.height) {
      throw new Error(`${p}: ${h.width}×${h.height}×1 differs from the other frames in ${source} (${first.width}×${first.height}×1)`);
    }
    const need = h.dataOffset + h.width * h.height * 2;
    const size = (await stat(p)).size;
    if (size < need) throw new ImageFormatError(p, `truncated FITS data (${size} bytes, need ${need})`);
    const e = typeof h.cards.EXPTIME === 'number' ? h.cards.EXPTIME : typeof h.cards.EXPOSURE === 'number' ? h.cards.EXPOSURE : null;
    if (e !== null && Number.isFinite(e) && e > 0) exposures.push(e);
    files.push({ path: p, dataOffset: h.dataOffset, scale: h.bscale / 65535, zero: h.bzero / 65535 });
  }
  const { width, height } = first!;
  const data = await medianOfFits16(files, width, height, opts.threads ?? availableParallelism(), opts.stripBytes);
  if (!data) return null;
  exposures.sort((a, b) => a - b);
  return { image: { width, height, channels: 1, bitDepth: 32, data }, source, count: paths.length, exposureS: exposures.length ? exposures[exposures.length >> 1]! : null };
}

function normalize(img: ImageF32): void {
  const m = sampleMedian(img.data);
  if (!(m > 0)) throw new Error('master flat has a non-positive median');
  for (let i = 0; i < img.data.length; i++) img.data[i]! /= m;
}

function medianInPlace(v: Float64Array, n: number): number {
  // Insertion sort: n is the number of calibration frames (tens).
  for (let i = 1; i < n; i++) {
    const x = v[i]!;
    let j = i - 1;
    while (j >= 0 && v[j]! > x) { v[j + 1] = v[j]!; j--; }
    v[j + 1] = x;
  }
  return n % 2 ? v[(n - 1) >> 1]! : 0.5 * (v[n / 2 - 1]! + v[n / 2]!);
}

function sigmaClippedMean(v: Float64Array, n: number, kappa: number): number {
  let lo = -Infinity, hi = Infinity, mean = 0;
  for (let it = 0; it < 3; it++) {
    let s = 0, s2 = 0, c = 0;
    for (let k = 0; k < n; k++) { const x = v[k]!; if (x >= lo && x <= hi) { s += x; s2 += x * x; c++; } }
    if (!c) break;
    mean = s / c;
    const sd = Math.sqrt(Math.max(0, s2 / c - mean * mean));
    if (sd === 0) break;
    lo = mean - kappa * sd; hi = mean + kappa * sd;
  }
  return mean;
}

export interface CalibrationDirs {
  darks?: string;
  flats?: string;
  bias?: string;
  method?: CombineMethod;
  kappa?: number;
  /** Hot-pixel threshold on the master dark in σ (default 8; 0 = off). */
  hotSigma?: number;
  /** Cosmetic correction of isolated defects in each light, σ (default 0 = off when darks given, 10 otherwise). */
  cosmeticSigma?: number;
  /**
   * Scale the dark's thermal part (dark − bias) by light exposure / dark exposure, for lights shot at
   * another exposure than the darks. Needs a bias and darks with an exposure time.
   */
  darkScale?: boolean;
  /** Threads for the WASM master median (default the cores; 0 = plain TS). */
  threads?: number;
}

/** Build every master the options name. Darks keep their bias (they are taken at the lights' settings). */
export async function buildCalibration(o: CalibrationDirs): Promise<Calibration> {
  const cal: Calibration = {};
  const common = { method: o.method, kappa: o.kappa, threads: o.threads };
  if (o.bias) cal.bias = await buildMaster(await listImages(o.bias), o.bias, { ...common, method: o.method === 'seed' ? 'seed' : 'median' });
  if (o.darks) cal.dark = await buildMaster(await listImages(o.darks), o.darks, common);
  if (o.flats) {
    // Flats lose their offset before normalising: the bias master when there is one.
    cal.flat = await buildMaster(await listImages(o.flats), o.flats, { ...common, normalize: true, subtract: cal.bias?.image });
  }
  if (cal.dark && (o.hotSigma ?? 8) > 0) cal.hotPixels = findHotPixels(cal.dark.image, o.hotSigma ?? 8);
  cal.cosmeticSigma = o.cosmeticSigma ?? (cal.dark ? 0 : 10);
  // The combine's strips and decoded frames are garbage now: give them back before the lights come.
  releaseGarbage();
  if (o.darkScale) {
    if (!cal.dark) throw new Error('--dark-scale: needs --darks');
    if (!cal.bias) throw new Error('--dark-scale: needs --bias (the bias is kept, only dark − bias is scaled)');
    if (!cal.dark.exposureS) throw new Error(`--dark-scale: the darks in ${o.darks} have no exposure time (EXPTIME/EXIF)`);
    cal.darkScale = true;
  }
  return cal;
}
