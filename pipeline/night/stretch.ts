// Display stretch for products too big to hold: a 4096-bin histogram filled strip by strip, then the
// same midtones transfer function autoStretch fits (background to 25 %, shadows clipped at
// median − 2.8·noise), applied strip by strip.
import { mtf } from '../preview/stretch.js';

const BINS = 4096;

export class Histogram {
  readonly bins = new Float64Array(BINS);
  n = 0;

  add(data: ArrayLike<number>, count = data.length, scale = 1, stride = 1): void {
    for (let i = 0; i < count; i += stride) {
      const v = data[i]! * scale;
      if (v !== v) continue;
      this.bins[v <= 0 ? 0 : v >= 1 ? BINS - 1 : Math.floor(v * BINS)]!++;
      this.n++;
    }
  }

  quantile(q: number): number {
    const target = q * this.n;
    let acc = 0;
    for (let b = 0; b < BINS; b++) {
      acc += this.bins[b]!;
      if (acc >= target && acc > 0) return (b + 0.5) / BINS;
    }
    return 1;
  }

  /** Robust noise: 1.4826 × median absolute deviation, from the histogram. */
  noise(median: number): number {
    const dev = new Float64Array(BINS);
    for (let b = 0; b < BINS; b++) {
      const d = Math.abs((b + 0.5) / BINS - median);
      dev[Math.min(BINS - 1, Math.floor(d * BINS))]! += this.bins[b]!;
    }
    let acc = 0;
    for (let b = 0; b < BINS; b++) {
      acc += dev[b]!;
      if (acc >= this.n / 2) return 1.4826 * ((b + 0.5) / BINS);
    }
    return 0;
  }
}

export interface Stretch {
  c0: number;
  range: number;
  m: number;
  /** Already display-referred (8-bit JPEG sources): values pass through. */
  identity: boolean;
}

export function fitStretch(h: Histogram, identity = false, target = 0.25): Stretch {
  if (identity || h.n === 0) return { c0: 0, range: 1, m: 0.5, identity: true };
  const median = h.quantile(0.5);
  const noise = h.noise(median);
  const c0 = Math.max(0, median - 2.8 * noise);
  const range = Math.max(1e-6, 1 - c0);
  const bg = Math.min(0.999, Math.max(1e-6, (median - c0) / range));
  const m = (bg * (target - 1)) / (2 * bg * target - bg - target);
  return { c0, range, m, identity: false };
}

export function applyStretch(s: Stretch, v: number): number {
  if (s.identity) return v <= 0 ? 0 : v >= 1 ? 1 : v;
  return mtf(s.m, (v - s.c0) / s.range);
}
