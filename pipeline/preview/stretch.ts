// Display stretch for previews of linear frames: the midtones transfer function (MTF) fitted so the
// background lands at a target level, as PixInsight's screen transfer function and Siril's autostretch do.
// 8-bit, already-gamma'd JPEGs are returned as they are.
import type { ImageF32 } from '../image/types.js';
import { frameStats } from './stats.js';

export function mtf(m: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return ((m - 1) * x) / ((2 * m - 1) * x - m);
}

export interface StretchOptions {
  /** Where the background should land (0..1). */
  targetBackground?: number;
  /** Shadows clipped at median − k·noise. */
  shadowsClipSigma?: number;
}

export function autoStretch(img: ImageF32, options: StretchOptions = {}): ImageF32 {
  if (img.bitDepth === 8) return img;
  const target = options.targetBackground ?? 0.25;
  const k = options.shadowsClipSigma ?? 2.8;
  const st = frameStats(img);
  const c0 = Math.max(0, st.median - k * st.noise);
  const range = Math.max(1e-6, 1 - c0);
  const bg = Math.min(0.999, Math.max(1e-6, (st.median - c0) / range));
  // Solve mtf(m, bg) = target for the midtones balance m.
  const m = (bg * (target - 1)) / (2 * bg * target - bg - target);
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = mtf(m, (img.data[i]! - c0) / range);
  return { ...img, data: out, bitDepth: 8 };
}
