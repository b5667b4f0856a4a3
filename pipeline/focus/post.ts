// Finishing steps on the fused image: edge-preserving denoise and unsharp-mask sharpening.
import { gaussianBlurPlane } from './gaussian.js';
import type { Plane } from './pyramid.js';

/**
 * Bilateral 5×5 denoise. `amount` is the range sigma in 8-bit code values (like the `h` of the
 * non-local-means denoise shinestacker uses: ~1 is mild, 3+ is strong).
 */
export function denoise(p: Plane, amount: number): void {
  if (!(amount > 0)) return;
  const { w, h, c } = p;
  const sr = amount / 255;
  const inv2sr = 1 / (2 * sr * sr);
  const src = p.data.slice();
  const spatial: number[] = [];
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) spatial.push(Math.exp(-(dx * dx + dy * dy) / (2 * 1.5 * 1.5)));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * c;
      for (let ch = 0; ch < c; ch++) {
        const v0 = src[o + ch]!;
        let s = 0, ws = 0, k = 0;
        for (let dy = -2; dy <= 2; dy++) {
          const yy = Math.min(h - 1, Math.max(0, y + dy));
          for (let dx = -2; dx <= 2; dx++, k++) {
            const xx = Math.min(w - 1, Math.max(0, x + dx));
            const v = src[(yy * w + xx) * c + ch]!;
            const d = v - v0;
            const wt = spatial[k]! * Math.exp(-d * d * inv2sr);
            s += wt * v;
            ws += wt;
          }
        }
        p.data[o + ch] = s / ws;
      }
    }
  }
}

/** Unsharp mask: v += percent/100 · (v − blur_radius(v)) where |v − blur| ≥ threshold (8-bit codes). */
export function sharpen(p: Plane, percent: number, radius: number, threshold: number): void {
  if (!(percent > 0)) return;
  const blurred = gaussianBlurPlane(Float32Array.from(p.data), p.w, p.h, Math.max(0.3, radius), 'reflect', p.c);
  const amt = percent / 100;
  const thr = threshold / 255;
  for (let i = 0; i < p.data.length; i++) {
    const d = p.data[i]! - blurred[i]!;
    if (Math.abs(d) >= thr) p.data[i] = p.data[i]! + amt * d;
  }
}
