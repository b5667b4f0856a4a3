// Cheap whole-frame statistics for the run log and the dashboard: background (median from a
// histogram), mean, max, saturated fraction. One pass, fixed 4096-bin histogram, any channel count.
import type { ImageF32 } from '../image/types.js';

export interface FrameStats {
  mean: number;
  median: number;
  max: number;
  min: number;
  saturatedFraction: number;
  /** Robust noise: 1.4826 × median absolute deviation, estimated from the histogram. */
  noise: number;
}

const BINS = 4096;

export function frameStats(img: ImageF32, saturation = 0.995): FrameStats {
  const hist = new Uint32Array(BINS);
  let sum = 0;
  let max = -Infinity;
  let min = Infinity;
  let sat = 0;
  const d = img.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    sum += v;
    if (v > max) max = v;
    if (v < min) min = v;
    if (v >= saturation) sat++;
    hist[Math.min(BINS - 1, Math.max(0, Math.floor(v * BINS)))]!++;
  }
  const median = histQuantile(hist, d.length, 0.5);
  // MAD from a second histogram of |v - median|.
  const dev = new Uint32Array(BINS);
  for (let i = 0; i < d.length; i++) dev[Math.min(BINS - 1, Math.floor(Math.abs(d[i]! - median) * BINS))]!++;
  const mad = histQuantile(dev, d.length, 0.5);
  return { mean: sum / d.length, median, max, min, saturatedFraction: sat / d.length, noise: 1.4826 * mad };
}

function histQuantile(hist: Uint32Array, n: number, q: number): number {
  const target = q * n;
  let acc = 0;
  for (let b = 0; b < hist.length; b++) {
    acc += hist[b]!;
    if (acc >= target) return (b + 0.5) / hist.length;
  }
  return 1;
}
