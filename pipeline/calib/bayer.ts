// Colour-filter-array helpers: which colour sits at (x, y) for a BAYERPAT, and a bilinear
// demosaic. Calibration (dark, flat, hot pixels) runs on the mosaic before this step.
import type { ImageF32 } from '../image/types.js';

export type BayerPattern = 'RGGB' | 'BGGR' | 'GRBG' | 'GBRG';

export function parseBayer(s: unknown): BayerPattern | null {
  if (typeof s !== 'string') return null;
  const p = s.trim().toUpperCase().replace(/[^RGB]/g, '');
  return p === 'RGGB' || p === 'BGGR' || p === 'GRBG' || p === 'GBRG' ? p : null;
}

/** Channel index (0 R, 1 G, 2 B) at (x, y). */
export function cfaChannel(p: BayerPattern, x: number, y: number): number {
  const c = p[((y & 1) << 1) | (x & 1)]!;
  return c === 'R' ? 0 : c === 'G' ? 1 : 2;
}

/** Bilinear demosaic: each missing colour is the mean of the nearest samples of that colour. */
export function debayerBilinear(img: ImageF32, p: BayerPattern): ImageF32 {
  if (img.channels !== 1) throw new Error('debayer needs a one-channel mosaic');
  const { width: w, height: h, data: s } = img;
  const out = new Float32Array(w * h * 3);
  const pat = new Uint8Array(4);
  for (let k = 0; k < 4; k++) pat[k] = cfaChannel(p, k & 1, k >> 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const own = pat[((y & 1) << 1) | (x & 1)]!;
      const o = (y * w + x) * 3;
      const sum = [0, 0, 0], cnt = [0, 0, 0];
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const c = pat[((yy & 1) << 1) | (xx & 1)]!;
          if (c === own && (dx || dy)) continue;
          // Green from the 4-neighbourhood only (the diagonal greens are further away).
          if (c === 1 && own !== 1 && dx && dy) continue;
          sum[c] += s[yy * w + xx]!;
          cnt[c]++;
        }
      }
      for (let c = 0; c < 3; c++) out[o + c] = c === own ? s[y * w + x]! : cnt[c] ? sum[c]! / cnt[c]! : 0;
    }
  }
  return { width: w, height: h, channels: 3, bitDepth: img.bitDepth, data: out };
}
