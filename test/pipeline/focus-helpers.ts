// Shared by the focus tests: synthetic focus brackets with known truth, image metrics, data paths.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { gaussianBlurPlane } from '../../pipeline/focus/gaussian.js';

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export function sharedData(): string {
  const env = process.env.SKYRIG_SHARED_DATA;
  if (env) return env;
  const rel = resolve(repoRoot, '../shared/data');
  return existsSync(rel) ? rel : '/work/shared/data';
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SynthBracket {
  w: number;
  h: number;
  truth: Float32Array; // RGB 0..1
  frames: Float32Array[];
  depth: Float32Array; // in frame units
}

/**
 * A sharp RGB texture (blocks, lines and fine noise) and a smooth depth map spanning `n` focal
 * planes; frame k is blurred per pixel by sigma = blurPerPlane·|depth − k|.
 */
export function synthBracket(w: number, h: number, n: number, seed = 7, blurPerPlane = 1.6): SynthBracket {
  const r = rng(seed);
  const truth = new Float32Array(w * h * 3);
  const blocks = Array.from({ length: 64 }, () => [r(), r(), r()]);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const b = blocks[((y >> 4) * 8 + (x >> 4)) % 64]!;
      const line = (x + 2 * y) % 11 < 2 ? 0.35 : 0;
      for (let c = 0; c < 3; c++) truth[(y * w + x) * 3 + c] = Math.min(1, Math.max(0, 0.15 + 0.6 * b[c]! + (r() - 0.5) * 0.3 - line));
    }
  const depth = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const dx = x - w * 0.65, dy = y - h * 0.4;
      const disc = Math.exp(-(dx * dx + dy * dy) / (2 * (w * 0.15) ** 2));
      depth[y * w + x] = Math.min(n - 1, Math.max(0, (x / (w - 1)) * (n - 1) * 0.8 + disc * (n - 1) * 0.5 - 0.2 * (y / h)));
    }
  // Blur table: sigmas 0..6 in 0.25 steps, each a full blurred copy (small images only).
  const sigmas = Array.from({ length: 25 }, (_, i) => i * 0.25);
  const table = sigmas.map((s) => (s === 0 ? truth : gaussianBlurPlane(truth, w, h, s, 'reflect', 3)));
  const frames: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const f = new Float32Array(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      const s = Math.min(6, blurPerPlane * Math.abs(depth[i]! - k)) / 0.25;
      const a = Math.floor(s), b = Math.min(24, a + 1), t = s - a;
      for (let c = 0; c < 3; c++) f[i * 3 + c] = table[a]![i * 3 + c]! * (1 - t) + table[b]![i * 3 + c]! * t;
    }
    frames.push(f);
  }
  return { w, h, truth, frames, depth };
}

export function toU8(f: Float32Array): Buffer {
  const b = Buffer.alloc(f.length);
  for (let i = 0; i < f.length; i++) b[i] = Math.max(0, Math.min(255, Math.round(f[i]! * 255)));
  return b;
}

export async function writeRgbPng(path: string, f: Float32Array, w: number, h: number): Promise<void> {
  await sharp(toU8(f), { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
}

/** Write a synthetic bracket of n frames as f0.png … into dir; returns the bracket and the paths. */
export async function writeSynthBracket(dir: string, n: number, w: number, h: number): Promise<{ b: SynthBracket; files: string[] }> {
  const b = synthBracket(w, h, n);
  const files: string[] = [];
  for (let k = 0; k < n; k++) {
    const p = join(dir, `f${k}.png`);
    await writeRgbPng(p, b.frames[k]!, w, h);
    files.push(p);
  }
  return { b, files };
}

export async function readRgb(path: string): Promise<{ data: Buffer; w: number; h: number }> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data, w: info.width, h: info.height };
}

/** PSNR (dB) of 8-bit buffers, ignoring a border of `crop` px (alignment/edge effects). */
export function psnr(a: Uint8Array, b: Uint8Array, w: number, h: number, c = 3, crop = 0): number {
  let s = 0, n = 0;
  for (let y = crop; y < h - crop; y++)
    for (let x = crop; x < w - crop; x++)
      for (let k = 0; k < c; k++) {
        const i = (y * w + x) * c + k;
        const d = a[i]! - b[i]!;
        s += d * d;
        n++;
      }
  return 10 * Math.log10((255 * 255) / (s / n));
}

/** Mean SSIM of the luminance over 8×8 windows (stride 4). */
export function ssim(a: Uint8Array, b: Uint8Array, w: number, h: number, c = 3, crop = 0): number {
  const lum = (d: Uint8Array, i: number) => (c === 1 ? d[i]! : 0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!);
  const C1 = (0.01 * 255) ** 2, C2 = (0.03 * 255) ** 2;
  let total = 0, n = 0;
  for (let y = crop; y + 8 <= h - crop; y += 4)
    for (let x = crop; x + 8 <= w - crop; x += 4) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let j = 0; j < 8; j++)
        for (let i = 0; i < 8; i++) {
          const p = (y + j) * w + x + i;
          const va = lum(a, p), vb = lum(b, p);
          sa += va; sb += vb; saa += va * va; sbb += vb * vb; sab += va * vb;
        }
      const ma = sa / 64, mb = sb / 64;
      const va = saa / 64 - ma * ma, vb = sbb / 64 - mb * mb, cov = sab / 64 - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      n++;
    }
  return total / n;
}

/** Mean Tenengrad (Sobel gradient energy) of an 8-bit RGB buffer's luminance. */
export function meanTenengrad(d: Uint8Array, w: number, h: number): number {
  const g = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) g[i] = (0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!) / 255;
  let s = 0;
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const p = (yy: number, xx: number) => g[yy * w + xx]!;
      const gx = p(y - 1, x + 1) + 2 * p(y, x + 1) + p(y + 1, x + 1) - p(y - 1, x - 1) - 2 * p(y, x - 1) - p(y + 1, x - 1);
      const gy = p(y + 1, x - 1) + 2 * p(y + 1, x) + p(y + 1, x + 1) - p(y - 1, x - 1) - 2 * p(y - 1, x) - p(y - 1, x + 1);
      s += gx * gx + gy * gy;
    }
  return s / ((w - 2) * (h - 2));
}
