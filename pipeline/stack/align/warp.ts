// Resample a frame onto the reference grid: for each reference pixel, look up the frame at
// refToFrame(x, y) with bilinear interpolation. Pixels that fall outside the frame become NaN,
// which every accumulator treats as "no data" (so edges are not darkened by zeros).
import type { ImageF32 } from '../../image/types.js';
import type { Mat3 } from './transform.js';

export function warpBilinear(src: ImageF32, refToFrame: Mat3, out?: ImageF32): ImageF32 {
  const { width: w, height: h, channels: ch, data: s } = src;
  const dst = out ?? { width: w, height: h, channels: ch, bitDepth: 32 as const, data: new Float32Array(w * h * ch) };
  const d = dst.data;
  const [a, b, c, e, f, g, p, q, r] = refToFrame as unknown as number[];
  const projective = Math.abs(p!) > 1e-12 || Math.abs(q!) > 1e-12;
  const W = dst.width, H = dst.height;
  if (!projective && ch === 1) {
    // Hot path (mono, affine): coordinates step linearly along a row; no division, no floor().
    const A = a! / r!, B = b! / r!, C = c! / r!, E = e! / r!, F = f! / r!, G = g! / r!;
    const xmax = w - 1, ymax = h - 1;
    for (let y = 0; y < H; y++) {
      let fx = B * y + C, fy = F * y + G;
      let o = y * W;
      for (let x = 0; x < W; x++, o++, fx += A, fy += E) {
        if (fx >= 0 && fy >= 0 && fx < xmax && fy < ymax) {
          const x0 = fx | 0, y0 = fy | 0;
          const tx = fx - x0, ty = fy - y0;
          const i = y0 * w + x0;
          const top = s[i]! + (s[i + 1]! - s[i]!) * tx;
          const bot = s[i + w]! + (s[i + w + 1]! - s[i + w]!) * tx;
          d[o] = top + (bot - top) * ty;
        } else if (fx >= 0 && fy >= 0 && fx <= xmax && fy <= ymax) {
          d[o] = s[Math.round(fy) * w + Math.round(fx)]!;
        } else d[o] = NaN;
      }
    }
    return dst;
  }
  for (let y = 0; y < H; y++) {
    let o = y * W * ch;
    for (let x = 0; x < W; x++, o += ch) {
      let fx = a! * x + b! * y + c!;
      let fy = e! * x + f! * y + g!;
      if (projective) {
        const wz = p! * x + q! * y + r!;
        fx /= wz;
        fy /= wz;
      }
      const x0 = Math.floor(fx), y0 = Math.floor(fy);
      if (x0 < 0 || y0 < 0 || x0 >= w - 1 || y0 >= h - 1) {
        // Allow the exact last row/column; otherwise no data.
        if (fx >= 0 && fy >= 0 && fx <= w - 1 && fy <= h - 1) {
          const xi = Math.min(w - 1, Math.round(fx)), yi = Math.min(h - 1, Math.round(fy));
          for (let k = 0; k < ch; k++) d[o + k] = s[(yi * w + xi) * ch + k]!;
        } else for (let k = 0; k < ch; k++) d[o + k] = NaN;
        continue;
      }
      const tx = fx - x0, ty = fy - y0;
      const i00 = (y0 * w + x0) * ch;
      const i10 = i00 + ch, i01 = i00 + w * ch, i11 = i01 + ch;
      const w00 = (1 - tx) * (1 - ty), w10 = tx * (1 - ty), w01 = (1 - tx) * ty, w11 = tx * ty;
      for (let k = 0; k < ch; k++) d[o + k] = s[i00 + k]! * w00 + s[i10 + k]! * w10 + s[i01 + k]! * w01 + s[i11 + k]! * w11;
    }
  }
  return dst;
}
