// Sky background and noise of a mono image on a coarse grid: per-cell median and MAD of a
// subsample, then bilinear interpolation. Robust to stars (median) and cheap on 12 MP frames.
import type { ImageF32 } from '../image/types.js';

export interface BackgroundGrid {
  cell: number;
  cols: number;
  rows: number;
  /** Median per cell, row-major. */
  level: Float32Array;
  /** Global median background (median of cell medians). */
  median: number;
  /** Global noise sigma (1.4826 × median of cell MADs). */
  sigma: number;
}

export function median(values: Float32Array | number[], n = values.length): number {
  if (n === 0) return NaN;
  const a = Float32Array.from(values.slice(0, n) as ArrayLike<number>).sort();
  return n % 2 ? a[(n - 1) >> 1]! : 0.5 * (a[n / 2 - 1]! + a[n / 2]!);
}

export function estimateBackground(img: ImageF32, cell = 64): BackgroundGrid {
  if (img.channels !== 1) throw new Error('estimateBackground needs a mono image');
  const { width: w, height: h, data } = img;
  cell = Math.max(8, Math.min(cell, Math.max(w, h)));
  const cols = Math.ceil(w / cell);
  const rows = Math.ceil(h / cell);
  const level = new Float32Array(cols * rows);
  const mads = new Float32Array(cols * rows);
  // Sample every `step` pixels in both axes: ~256 samples per cell.
  const step = Math.max(1, Math.floor(cell / 16));
  const buf = new Float32Array(Math.ceil(cell / step) ** 2 + 4);
  for (let cy = 0; cy < rows; cy++) {
    for (let cx = 0; cx < cols; cx++) {
      let n = 0;
      const y1 = Math.min(h, (cy + 1) * cell);
      const x1 = Math.min(w, (cx + 1) * cell);
      for (let y = cy * cell; y < y1; y += step) {
        for (let x = cx * cell; x < x1; x += step) {
          const v = data[y * w + x]!;
          if (v === v) buf[n++] = v; // skip NaN
        }
      }
      const sub = buf.subarray(0, n).sort();
      // Iteratively drop the bright tail (stars) once: median of the lower 90 %.
      const m = n ? sub[n >> 1]! : 0;
      for (let i = 0; i < n; i++) buf[i] = Math.abs(sub[i]! - m);
      const mad = n ? buf.subarray(0, n).sort()[n >> 1]! : 0;
      level[cy * cols + cx] = m;
      mads[cy * cols + cx] = mad;
    }
  }
  const med = median(level);
  const sigma = 1.4826 * median(mads);
  return { cell, cols, rows, level, median: med, sigma };
}

/** Background value for each pixel of row `y` (bilinear between cell centres). */
export function backgroundRow(g: BackgroundGrid, y: number, width: number, out: Float32Array): Float32Array {
  const fy = Math.min(Math.max((y + 0.5) / g.cell - 0.5, 0), g.rows - 1);
  const y0 = Math.floor(fy);
  const y1 = Math.min(y0 + 1, g.rows - 1);
  const ty = fy - y0;
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) / g.cell - 0.5, 0), g.cols - 1);
    const x0 = Math.floor(fx);
    const x1 = Math.min(x0 + 1, g.cols - 1);
    const tx = fx - x0;
    const a = g.level[y0 * g.cols + x0]! * (1 - tx) + g.level[y0 * g.cols + x1]! * tx;
    const b = g.level[y1 * g.cols + x0]! * (1 - tx) + g.level[y1 * g.cols + x1]! * tx;
    out[x] = a * (1 - ty) + b * ty;
  }
  return out;
}

/**
 * Row `y` of the background for sparse lookups: `at(x)` is exactly backgroundRow's value at x (the
 * same arithmetic, rounded to f32), and `min` a lower bound of the whole row — bilinear between cell
 * centres is piecewise linear along the row, so its minimum is at a centre (less a rounding margin).
 */
export function backgroundRowLookup(g: BackgroundGrid, y: number): { min: number; at(x: number): number } {
  const fy = Math.min(Math.max((y + 0.5) / g.cell - 0.5, 0), g.rows - 1);
  const y0 = Math.floor(fy);
  const y1 = Math.min(y0 + 1, g.rows - 1);
  const ty = fy - y0;
  const L = g.level, cols = g.cols;
  let min = Infinity;
  for (let c = 0; c < cols; c++) {
    const v = L[y0 * cols + c]! * (1 - ty) + L[y1 * cols + c]! * ty;
    if (v < min) min = v;
  }
  return {
    min: min - 1e-6 * (Math.abs(min) + 1e-3),
    at(x: number): number {
      const fx = Math.min(Math.max((x + 0.5) / g.cell - 0.5, 0), cols - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, cols - 1);
      const tx = fx - x0;
      const a = L[y0 * cols + x0]! * (1 - tx) + L[y0 * cols + x1]! * tx;
      const b = L[y1 * cols + x0]! * (1 - tx) + L[y1 * cols + x1]! * tx;
      return Math.fround(a * (1 - ty) + b * ty);
    },
  };
}

/** Full background map (one float per pixel). */
export function backgroundMap(img: ImageF32, g: BackgroundGrid): Float32Array {
  const out = new Float32Array(img.width * img.height);
  for (let y = 0; y < img.height; y++) backgroundRow(g, y, img.width, out.subarray(y * img.width, (y + 1) * img.width));
  return out;
}
