// Applying calibration masters to a light (before debayering and alignment):
//   L' = (L − D) / F̂     D = master dark (holds the bias) or, without darks, the master bias;
//                       with darkScale D = B + (dark − B)·t_light/t_dark;
//                       F̂ = master flat normalised to median 1,
// then hot pixels (from the master dark) and isolated cosmetic defects are replaced by the
// median of their same-colour neighbours.
import type { ImageF32 } from '../image/types.js';

export interface Master {
  image: ImageF32;
  /** Where it came from (a directory or file), for error messages. */
  source: string;
  count: number;
  /** Median exposure of its frames (null when they carry none). */
  exposureS?: number | null;
}

export interface Calibration {
  dark?: Master;
  bias?: Master;
  /** Normalised (median 1). */
  flat?: Master;
  /** Pixel indices (y·width + x) of hot pixels found in the master dark. */
  hotPixels?: Uint32Array;
  /** Detect and fix isolated hot pixels in each light (k·σ above all neighbours); 0 = off. */
  cosmeticSigma?: number;
  /** D = bias + (dark − bias) × light exposure / dark exposure (built by buildCalibration's darkScale). */
  darkScale?: boolean;
}

export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}

function checkSize(m: Master, img: ImageF32, kind: string, lightPath: string): void {
  const a = m.image;
  if (a.width !== img.width || a.height !== img.height || a.channels !== img.channels) {
    throw new CalibrationError(
      `${m.source}: master ${kind} is ${a.width}×${a.height}×${a.channels} but ${lightPath} is ${img.width}×${img.height}×${img.channels}`,
    );
  }
}

/** Check the masters fit a light of this geometry (throws CalibrationError naming the master). */
export function checkCalibration(cal: Calibration, img: ImageF32, lightPath: string): void {
  if (cal.dark) checkSize(cal.dark, img, 'dark', lightPath);
  if (cal.bias) checkSize(cal.bias, img, 'bias', lightPath);
  if (cal.flat) checkSize(cal.flat, img, 'flat', lightPath);
}

/**
 * Calibrate in place; `cfaStep` is 2 for a Bayer mosaic (same-colour neighbours), else 1;
 * `exposureS` is the light's, for a scaled dark.
 */
export function calibrate(img: ImageF32, cal: Calibration, lightPath: string, cfaStep = 1, exposureS?: number | null): { hotFixed: number; cosmeticFixed: number } {
  checkCalibration(cal, img, lightPath);
  const d = img.data;
  const n = d.length;
  if (cal.darkScale && cal.dark && cal.bias) {
    if (!exposureS || !(exposureS > 0)) throw new CalibrationError(`${lightPath}: no exposure time to scale the dark by (--dark-scale); give --exposure`);
    const r = exposureS / cal.dark.exposureS!;
    const D = cal.dark.image.data, B = cal.bias.image.data;
    for (let i = 0; i < n; i++) d[i] -= B[i]! + (D[i]! - B[i]!) * r;
  } else {
    const sub = cal.dark?.image.data ?? cal.bias?.image.data;
    if (sub) for (let i = 0; i < n; i++) d[i] -= sub[i]!;
  }
  if (cal.flat) {
    const f = cal.flat.image.data;
    // Vignetted corners below 5 % would amplify noise without bound; leave them as they are.
    for (let i = 0; i < n; i++) { const v = f[i]!; if (v > 0.05) d[i]! /= v; }
  }
  let hotFixed = 0;
  if (cal.hotPixels?.length) hotFixed = fixPixels(img, cal.hotPixels, cfaStep);
  let cosmeticFixed = 0;
  if (cal.cosmeticSigma) cosmeticFixed = fixPixels(img, findCosmetic(img, cal.cosmeticSigma, cfaStep), cfaStep);
  return { hotFixed, cosmeticFixed };
}

/** Replace the listed pixels (indices into width×height, all channels) by their neighbours' median. */
export function fixPixels(img: ImageF32, idx: Uint32Array, step: number): number {
  const { width: w, height: h, channels: ch, data: d } = img;
  const vals: number[] = [];
  for (const p of idx) {
    const x = p % w, y = (p - x) / w;
    for (let c = 0; c < ch; c++) {
      vals.length = 0;
      for (let dy = -step; dy <= step; dy += step) for (let dx = -step; dx <= step; dx += step) {
        if (!dx && !dy) continue;
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        vals.push(d[(yy * w + xx) * ch + c]!);
      }
      if (!vals.length) continue;
      vals.sort((a, b) => a - b);
      const m = vals.length >> 1;
      d[(y * w + x) * ch + c] = vals.length % 2 ? vals[m]! : 0.5 * (vals[m - 1]! + vals[m]!);
    }
  }
  return idx.length;
}

/**
 * Isolated defects in a light: a pixel more than k·σ above the median of its same-colour
 * neighbours while its brightest neighbour holds less than a fifth of that excess. Real stars
 * (FWHM ≥ 1.5 px) spread half their peak into the next pixel, so they are not touched.
 */
export function findCosmetic(img: ImageF32, k: number, step: number): Uint32Array {
  const { width: w, height: h, channels: ch, data: d } = img;
  // Noise from a subsample of first-difference MAD (robust, star-insensitive).
  const diffs: number[] = [];
  const stride = Math.max(1, Math.floor((w * h) / 20000));
  for (let i = 0; i + step < w * h; i += stride) {
    const a = d[i * ch]!, b = d[(i + step) * ch]!;
    if (a === a && b === b) diffs.push(Math.abs(a - b));
  }
  diffs.sort((a, b) => a - b);
  const sigma = Math.max(1e-6, (1.4826 * (diffs[diffs.length >> 1] ?? 0)) / Math.SQRT2);
  const found: number[] = [];
  const nb = new Float64Array(8);
  for (let y = step; y < h - step; y++) {
    for (let x = step; x < w - step; x++) {
      for (let c = 0; c < ch; c++) {
        const v = d[(y * w + x) * ch + c]!;
        let j = 0, mx = -Infinity;
        for (let dy = -step; dy <= step; dy += step) for (let dx = -step; dx <= step; dx += step) {
          if (!dx && !dy) continue;
          const u = d[((y + dy) * w + x + dx) * ch + c]!;
          nb[j++] = u;
          if (u > mx) mx = u;
        }
        if (v - mx < k * sigma * 0.5) continue; // quick reject: not far above every neighbour
        nb.sort();
        const med = 0.5 * (nb[3]! + nb[4]!);
        const ex = v - med;
        if (ex > k * sigma && mx - med < 0.2 * ex) { found.push(y * w + x); break; }
      }
    }
  }
  return Uint32Array.from(found);
}

/** Hot pixels of a master dark: above median + k·σ (σ from the MAD). */
export function findHotPixels(dark: ImageF32, k = 8): Uint32Array {
  const { width: w, height: h, channels: ch, data: d } = dark;
  const stride = Math.max(1, Math.floor(d.length / 50000));
  const s: number[] = [];
  for (let i = 0; i < d.length; i += stride) s.push(d[i]!);
  s.sort((a, b) => a - b);
  const med = s[s.length >> 1]!;
  const dev = s.map((v) => Math.abs(v - med)).sort((a, b) => a - b);
  const sigma = Math.max(1e-5, 1.4826 * dev[dev.length >> 1]!);
  const out: number[] = [];
  for (let p = 0; p < w * h; p++) {
    for (let c = 0; c < ch; c++) if (d[p * ch + c]! > med + k * sigma) { out.push(p); break; }
  }
  return Uint32Array.from(out);
}
