// Separable Gaussian blur, on whole planes and on bands (vertical pass uses the band's halo rows).
import { borderTable, type BorderMode } from './border.js';
import type { Band } from './plane.js';

export function gaussianKernel(sigma: number, truncate = 3): Float32Array {
  const r = Math.max(1, Math.ceil(truncate * sigma));
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp((-i * i) / (2 * sigma * sigma));
    k[i + r] = v;
    s += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  return k;
}

export function kernelRadius(k: Float32Array): number {
  return (k.length - 1) >> 1;
}

/** Horizontal pass over `nRows` rows of width w, in place (one row of scratch). */
export function blurRowsH(data: Float32Array, w: number, nRows: number, k: Float32Array, border: BorderMode, channels = 1): void {
  const r = kernelRadius(k);
  const cols = borderTable(w, r, border);
  const row = new Float32Array(w * channels);
  for (let y = 0; y < nRows; y++) {
    const o = y * w * channels;
    row.set(data.subarray(o, o + w * channels));
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let j = 0; j < k.length; j++) {
          const cx = cols[x + j]!;
          if (cx >= 0) acc += k[j]! * row[cx * channels + c]!;
        }
        data[o + x * channels + c] = acc;
      }
    }
  }
}

/** Vertical pass over a whole plane (w×h×channels), returns a new array. */
export function blurColsPlane(data: Float32Array, w: number, h: number, k: Float32Array, border: BorderMode, channels = 1): Float32Array {
  const r = kernelRadius(k);
  const rowsIdx = borderTable(h, r, border);
  const stride = w * channels;
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    const o = y * stride;
    for (let j = 0; j < k.length; j++) {
      const sy = rowsIdx[y + j]!;
      if (sy < 0) continue;
      const kv = k[j]!;
      const so = sy * stride;
      for (let i = 0; i < stride; i++) out[o + i]! += kv * data[so + i]!;
    }
  }
  return out;
}

export function gaussianBlurPlane(data: Float32Array, w: number, h: number, sigma: number, border: BorderMode = 'reflect', channels = 1): Float32Array {
  if (!(sigma > 0)) return data.slice();
  const k = gaussianKernel(sigma);
  const tmp = data.slice();
  blurRowsH(tmp, w, h, k, border, channels);
  return blurColsPlane(tmp, w, h, k, border, channels);
}

/**
 * Blur a band: horizontal over all stored rows (in place), then vertical for the interior rows.
 * Rows outside the image must already hold the border-extended values (bandFromPlane does that).
 */
export function gaussianBlurBand(band: Band, k: Float32Array, border: BorderMode): Float32Array {
  const r = kernelRadius(k);
  if (band.halo < r) throw new Error(`blur: band halo ${band.halo} < kernel radius ${r}`);
  const w = band.width;
  const stored = band.rows + 2 * band.halo;
  blurRowsH(band.data, w, stored, k, border);
  const out = new Float32Array(band.rows * w);
  for (let y = 0; y < band.rows; y++) {
    const o = y * w;
    for (let j = 0; j < k.length; j++) {
      const sr = band.halo + y + j - r;
      const kv = k[j]!;
      const so = sr * w;
      for (let x = 0; x < w; x++) out[o + x]! += kv * band.data[so + x]!;
    }
  }
  return out;
}

/** Box widths whose three successive passes approximate a Gaussian of `sigma` (Kovesi 2010). */
export function boxesForGauss(sigma: number, n = 3): number[] {
  const wIdeal = Math.sqrt((12 * sigma * sigma) / n + 1);
  let wl = Math.floor(wIdeal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const m = Math.round((12 * sigma * sigma - n * wl * wl - 4 * n * wl - 3 * n) / (-4 * wl - 4));
  return Array.from({ length: n }, (_, i) => (i < m ? wl : wu));
}

/** One box pass (odd width, zeros outside) along `n` samples starting at `off` with `stride`. */
function boxLine(src: Float32Array, dst: Float32Array, off: number, n: number, stride: number, width: number): void {
  const r = width >> 1;
  const inv = 1 / width;
  let acc = 0;
  for (let i = 0; i <= r && i < n; i++) acc += src[off + i * stride]!;
  for (let i = 0; i < n; i++) {
    dst[off + i * stride] = acc * inv;
    const add = i + r + 1;
    const sub = i - r;
    if (add < n) acc += src[off + add * stride]!;
    if (sub >= 0) acc -= src[off + sub * stride]!;
  }
}

/**
 * Fast Gaussian for wide kernels (the KDE's bandwidth): five box passes each way, O(1) per pixel
 * whatever the sigma, within a few per cent of the exact kernel. Zeros outside (constant border);
 * for a band the halo must cover 1.5× the box widths, which 3σ does.
 */
export function boxGaussianBand(band: Band, sigma: number): Float32Array {
  const w = band.width;
  const stored = band.rows + 2 * band.halo;
  const boxes = boxesForGauss(sigma, 5);
  let a: Float32Array = band.data.subarray(0, stored * w);
  let b: Float32Array = new Float32Array(stored * w);
  for (const bw of boxes) {
    for (let y = 0; y < stored; y++) boxLine(a, b, y * w, w, 1, bw);
    [a, b] = [b, a];
  }
  for (const bw of boxes) {
    for (let x = 0; x < w; x++) boxLine(a, b, x, stored, w, bw);
    [a, b] = [b, a];
  }
  return a.slice(band.halo * w, (band.halo + band.rows) * w);
}
