// Dark calibration one row at a time, for frames that never sit whole in memory (an all-sky night):
//   exact   L' = L − D
//   scaled  L' = L − (B + (D − B)·s)     s = t_light / t_dark; only the thermal part D − B scales,
//                                      the bias B is kept (the same rule as `stack --dark-scale`)
// then the bad pixels of the master (hot pixels: master > median + k·σ_MAD) are replaced by the median
// of their same-colour neighbours in the row. Pure kernels over typed arrays; the reader is elsewhere.
import type { ImageF32 } from '../image/types.js';

/** Subtract the (scaled) master dark from one row in place; `bias` is required when `scale` ≠ 1. */
export function subtractDarkRow(row: Float32Array, dark: Float32Array, bias: Float32Array | null, scale: number): void {
  const n = row.length;
  if (dark.length !== n) throw new RangeError(`dark row has ${dark.length} samples, frame row ${n}`);
  if (scale === 1 || !bias) {
    if (scale !== 1) throw new RangeError('a scaled dark needs the bias row (only dark − bias scales)');
    for (let i = 0; i < n; i++) row[i] -= dark[i]!;
    return;
  }
  if (bias.length !== n) throw new RangeError(`bias row has ${bias.length} samples, frame row ${n}`);
  for (let i = 0; i < n; i++) row[i] -= bias[i]! + (dark[i]! - bias[i]!) * scale;
}

/**
 * Replace the bad pixels `xs` (sorted column indices) of one row in place by the median of their
 * nearest same-colour neighbours in the row (x ± step, x ± 2·step; other bad pixels left out), per
 * channel. `step` is 2 on a Bayer mosaic, else 1. Returns how many pixels were replaced.
 */
export function fixBadPixelsInRow(row: Float32Array, width: number, channels: number, xs: ArrayLike<number>, step = 1): number {
  const bad = new Set<number>();
  for (let k = 0; k < xs.length; k++) bad.add(xs[k]!);
  const vals = new Float64Array(4);
  let fixed = 0;
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!;
    if (x < 0 || x >= width) continue;
    for (let c = 0; c < channels; c++) {
      let m = 0;
      for (const d of [-2 * step, -step, step, 2 * step]) {
        const xx = x + d;
        if (xx < 0 || xx >= width || bad.has(xx)) continue;
        vals[m++] = row[xx * channels + c]!;
      }
      if (!m) continue;
      const v = vals.subarray(0, m).sort();
      row[x * channels + c] = m % 2 ? v[(m - 1) >> 1]! : 0.5 * (v[m / 2 - 1]! + v[m / 2]!);
    }
    fixed++;
  }
  return fixed;
}

/** Robust level and spread of a master: median and σ = 1.4826·MAD (from a subsample on big frames). */
export function medianAndSigma(data: Float32Array, maxSamples = 200_000): { median: number; sigma: number } {
  const stride = Math.max(1, Math.floor(data.length / maxSamples));
  const s: number[] = [];
  for (let i = 0; i < data.length; i += stride) if (data[i] === data[i]) s.push(data[i]!);
  if (!s.length) return { median: 0, sigma: 0 };
  s.sort((a, b) => a - b);
  const median = s[s.length >> 1]!;
  const dev = s.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
  return { median, sigma: 1.4826 * dev[dev.length >> 1]! };
}

/**
 * Hot pixels of a master dark: any channel above median + k·σ (σ from the MAD, floored so a noiseless
 * master does not flag its rounding). Coordinates, row-major.
 */
export function findBadPixels(master: ImageF32, k = 8, sigmaFloor = 1e-5): { x: number; y: number }[] {
  const { width: w, height: h, channels: ch, data: d } = master;
  const { median, sigma } = medianAndSigma(d);
  const limit = median + k * Math.max(sigma, sigmaFloor);
  const out: { x: number; y: number }[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * ch;
      for (let c = 0; c < ch; c++) if (d[o + c]! > limit) { out.push({ x, y }); break; }
    }
  }
  return out;
}

/** Bad pixels grouped by row: y → sorted columns. */
export function badPixelsByRow(pixels: readonly { x: number; y: number }[]): Map<number, Uint32Array> {
  const rows = new Map<number, number[]>();
  for (const p of pixels) {
    const r = rows.get(p.y);
    if (r) r.push(p.x);
    else rows.set(p.y, [p.x]);
  }
  return new Map([...rows].map(([y, xs]) => [y, Uint32Array.from(xs.sort((a, b) => a - b))]));
}
