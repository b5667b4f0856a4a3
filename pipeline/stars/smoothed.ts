// Peak candidates on the image smoothed by a small Gaussian (σ = 1 px, the detection filter of
// SExtractor/DAOFind): a faint or defocused star spreads its signal over many pixels, and its raw
// peak may not clear k·σ while the smoothed one does. The smoothed image is never held whole: a
// ring of 5 rows of the horizontal pass and 3 of the result. Its noise is measured (on every 16th
// row), not derived from the raw σ, so correlated noise (debayered, JPEG) does not fake stars.
import type { ImageF32 } from '../image/types.js';
import { backgroundRow, type BackgroundGrid } from './background.js';

export interface Candidate { x: number; y: number; e: number; bg: number }

/** Gaussian σ = 1 px, 5 taps, normalised; applied along x then y. */
const KERNEL = (() => {
  const k = [-2, -1, 0, 1, 2].map((t) => Math.exp(-(t * t) / 2));
  const sum = k.reduce((a, b) => a + b, 0);
  return Float64Array.from(k, (v) => v / sum);
})();

class SmoothRows {
  private readonly hRows: Float32Array[];
  constructor(private readonly img: ImageF32) {
    this.hRows = Array.from({ length: 5 }, () => new Float32Array(img.width));
  }
  /** Horizontal pass of row y (clamped to the image) into ring slot y mod 5. */
  horizontal(y: number): void {
    const { width: w, height: h, data } = this.img;
    const out = this.hRows[((y % 5) + 5) % 5]!;
    const row = Math.min(h - 1, Math.max(0, y)) * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = -2; t <= 2; t++) {
        const v = data[row + Math.min(w - 1, Math.max(0, x + t))]!;
        acc += (v === v ? v : 0) * KERNEL[t + 2]!;
      }
      out[x] = acc;
    }
  }
  /** Vertical pass for row y from the ring (rows y−2..y+2 must be in it). */
  vertical(y: number, out: Float32Array): void {
    for (let x = 0; x < out.length; x++) {
      let acc = 0;
      for (let t = 0; t < 5; t++) acc += this.hRows[(((y + t - 2) % 5) + 5) % 5]![x]! * KERNEL[t]!;
      out[x] = acc;
    }
  }
  /** Smoothed row y on its own (fills the ring for it). */
  row(y: number, out: Float32Array): void {
    for (let t = y - 2; t <= y + 2; t++) this.horizontal(t);
    this.vertical(y, out);
  }
}

/** Noise σ of the smoothed image above the background: 1.4826 × MAD over every 16th row, every 4th pixel. */
export function smoothedNoise(img: ImageF32, bg: BackgroundGrid): number {
  const { width: w, height: h } = img;
  const sm = new SmoothRows(img);
  const row = new Float32Array(w), bgRow = new Float32Array(w);
  const vals: number[] = [];
  for (let y = 2; y < h - 2; y += 16) {
    sm.row(y, row);
    backgroundRow(bg, y, w, bgRow);
    for (let x = 2; x < w - 2; x += 4) vals.push(row[x]! - bgRow[x]!);
  }
  if (!vals.length) return bg.sigma;
  vals.sort((a, b) => a - b);
  const med = vals[vals.length >> 1]!;
  const dev = vals.map((v) => Math.abs(v - med)).sort((a, b) => a - b);
  return 1.4826 * dev[dev.length >> 1]!;
}

/**
 * Local maxima of the smoothed image more than k·σ_s above the background, that are not a single
 * hot pixel in the raw image. `e` is the smoothed excess (for ranking).
 */
export function smoothedCandidates(img: ImageF32, bg: BackgroundGrid, k: number, saturation: number): Candidate[] {
  const { width: w, height: h, data } = img;
  const sigmaS = Math.max(smoothedNoise(img, bg), 1e-7);
  const thr = k * sigmaS;
  const sm = new SmoothRows(img);
  const sRows = Array.from({ length: 3 }, () => new Float32Array(w));
  const bgRow = new Float32Array(w);
  const border = 2;
  const out: Candidate[] = [];
  // Ring priming: rows −2..2 for smoothed row 0, then row 3 (replacing −2) for smoothed row 1.
  for (let y = -2; y <= 2; y++) sm.horizontal(y);
  sm.vertical(0, sRows[0]!);
  sm.horizontal(3);
  sm.vertical(1, sRows[1]!);
  for (let y = 1; y < h - border; y++) {
    sm.horizontal(y + 3);
    sm.vertical(y + 1, sRows[(y + 1) % 3]!);
    if (y < border) continue;
    const sp = sRows[(y - 1) % 3]!, sc = sRows[y % 3]!, sn = sRows[(y + 1) % 3]!;
    backgroundRow(bg, y, w, bgRow);
    const row = y * w;
    for (let x = border; x < w - border; x++) {
      const vs = sc[x]!;
      const b = bgRow[x]!;
      if (!(vs - b > thr)) continue;
      if (!(vs > sp[x - 1]! && vs > sp[x]! && vs > sp[x + 1]! && vs > sc[x - 1]!)) continue;
      if (!(vs >= sc[x + 1]! && vs >= sn[x - 1]! && vs >= sn[x]! && vs >= sn[x + 1]!)) continue;
      // A single hot pixel smooths into a blob: test the raw pixels for it.
      const v = data[row + x]!;
      let nbMax = -Infinity;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (dx || dy) nbMax = Math.max(nbMax, data[row + dy * w + x + dx]! - b);
      if (v - b > 0 && nbMax < 0.15 * (v - b) && v < saturation) continue;
      out.push({ x, y, e: vs - b, bg: b });
    }
  }
  return out;
}
