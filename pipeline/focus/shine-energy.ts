// shinestacker's DepthMapStack energies, computed as it computes them (OpenCV calls on a float32
// gray image in the frame's own units: 0..255 for 8-bit frames, 0..65535 for 16-bit), so its
// tenengrad threshold (5), bilateral sigma colour (0.8) and temperature mean what they mean there.
// Written from its documented behaviour and OpenCV's definitions; borders are OpenCV's default
// BORDER_REFLECT_101 throughout.
import type { EnergyMeasure } from './measures.js';
import type { Plane } from './pyramid.js';

/** OpenCV getGaussianKernel(k, 0): fixed binomial-like tables up to 7 taps, a sampled Gaussian beyond. */
export function cvGaussianKernel(k: number): Float64Array {
  if (!(Number.isInteger(k) && k >= 1 && k % 2 === 1)) throw new Error(`Gaussian kernel size must be a positive odd integer, got ${k}`);
  const small: Record<number, number[]> = {
    1: [1],
    3: [0.25, 0.5, 0.25],
    5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
    7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
  };
  if (small[k]) return Float64Array.from(small[k]);
  const sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8;
  const out = new Float64Array(k);
  let s = 0;
  for (let i = 0; i < k; i++) {
    const x = i - (k - 1) / 2;
    out[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    s += out[i]!;
  }
  for (let i = 0; i < k; i++) out[i]! /= s;
  return out;
}

/** OpenCV's Sobel-family 1-D kernels (getDerivKernels): a binomial of ksize−1−order taps differentiated `order` times. */
export function cvDerivKernel(ksize: number, order: number): Float64Array {
  let k = [1];
  for (let i = 0; i < ksize - order - 1; i++) k = k.map((v, j) => v + (k[j - 1] ?? 0)).concat([1]);
  for (let i = 0; i < order; i++) {
    const d: number[] = [];
    for (let j = 0; j <= k.length; j++) d.push((k[j - 1] ?? 0) - (k[j] ?? 0));
    k = d;
  }
  return Float64Array.from(k);
}

function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/** Separable correlation (OpenCV sepFilter2D: row kernel kx, column kernel ky), reflect-101, float32 result. */
export function sepFilter(src: Float32Array, w: number, h: number, kx: ArrayLike<number>, ky: ArrayLike<number>): Float32Array {
  const rx = (kx.length - 1) >> 1;
  const ry = (ky.length - 1) >> 1;
  const tmp = new Float64Array(w * h);
  const xi = new Int32Array(w * kx.length);
  for (let x = 0; x < w; x++) for (let j = 0; j < kx.length; j++) xi[x * kx.length + j] = reflect101(x + j - rx, w);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < kx.length; j++) s += kx[j]! * src[o + xi[x * kx.length + j]!]!;
      tmp[o + x] = s;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < ky.length; j++) s += ky[j]! * tmp[reflect101(y + j - ry, h) * w + x]!;
      out[y * w + x] = s;
    }
  }
  return out;
}

/**
 * cv2.cvtColor(img, COLOR_BGR2GRAY) of the frame in its own integer units: OpenCV's fixed-point
 * Rec.601 weights (4899, 9617, 1868)/2¹⁴ with rounding, on channel values rounded to integers.
 * `scale` is 255 or 65535 (the plane holds 0..1).
 */
export function grayNative(p: Plane, scale: number): Float32Array {
  const n = p.w * p.h;
  const g = new Float32Array(n);
  const q = (v: number) => {
    const r = Math.round(v * scale);
    return r < 0 ? 0 : r > scale ? scale : r;
  };
  if (p.c === 1) for (let i = 0; i < n; i++) g[i] = q(p.data[i]!);
  else
    for (let i = 0; i < n; i++) {
      const R = q(p.data[i * p.c]!), G = q(p.data[i * p.c + 1]!), B = q(p.data[i * p.c + 2]!);
      g[i] = Math.floor((R * 4899 + G * 9617 + B * 1868 + 8192) / 16384);
    }
  return g;
}

/** cv2.Laplacian kernel (ksize 1: the 4-neighbour cross; ≥ 3: d²/dx² + d²/dy² of Sobel kernels) as the sum of two separable parts. */
export function laplacianParts(ksize: number): [Float64Array, Float64Array][] {
  if (ksize === 1) return [[Float64Array.from([1, -2, 1]), Float64Array.from([0, 1, 0])], [Float64Array.from([0, 1, 0]), Float64Array.from([1, -2, 1])]];
  const d2 = cvDerivKernel(ksize, 2);
  const s = cvDerivKernel(ksize, 0);
  return [[d2, s], [s, d2]];
}

export interface ShineEnergyOptions {
  /** GaussianBlur size before the Laplacian (shinestacker blur_size, odd). */
  blurSize: number;
  /** cv2.Laplacian ksize (shinestacker kernel_size, odd). */
  kernelSize: number;
}

/**
 * Energy map of a native-units gray plane, as shinestacker's DepthMapStack computes it:
 * tenengrad Sx²+Sy² zeroed where ≤ 5; sobel and modified-laplacian |Sx|+|Sy| (3×3 Sobel); laplacian
 * |Laplacian(GaussianBlur(gray, blur), ksize)|; variance box5(g²) − box5(g)².
 */
export function shineEnergy(gray: Float32Array, w: number, h: number, m: EnergyMeasure, o: ShineEnergyOptions): Float32Array {
  if (m === 'tenengrad' || m === 'sobel' || m === 'modified-laplacian') {
    const gx = sepFilter(gray, w, h, cvDerivKernel(3, 1), cvDerivKernel(3, 0));
    const gy = sepFilter(gray, w, h, cvDerivKernel(3, 0), cvDerivKernel(3, 1));
    const out = new Float32Array(w * h);
    for (let i = 0; i < out.length; i++) {
      if (m === 'tenengrad') {
        const t = Math.fround(gx[i]! * gx[i]! + gy[i]! * gy[i]!);
        out[i] = t > 5 ? t : 0;
      } else out[i] = Math.abs(gx[i]!) + Math.abs(gy[i]!);
    }
    return out;
  }
  if (m === 'laplacian') {
    const gk = o.blurSize > 1 ? cvGaussianKernel(o.blurSize) : null;
    const blurred = gk ? sepFilter(gray, w, h, gk, gk) : gray;
    const [[ax, ay], [bx, by]] = laplacianParts(o.kernelSize);
    const a = sepFilter(blurred, w, h, ax!, ay!);
    const b = sepFilter(blurred, w, h, bx!, by!);
    const out = new Float32Array(w * h);
    for (let i = 0; i < out.length; i++) out[i] = Math.abs(a[i]! + b[i]!);
    return out;
  }
  if (m === 'variance') {
    const box = Float64Array.from({ length: 5 }, () => 1 / 5);
    const sq = new Float32Array(gray.length);
    for (let i = 0; i < sq.length; i++) sq[i] = gray[i]! * gray[i]!;
    const mean = sepFilter(gray, w, h, box, box);
    const meanSq = sepFilter(sq, w, h, box, box);
    const out = new Float32Array(w * h);
    for (let i = 0; i < out.length; i++) out[i] = meanSq[i]! - mean[i]! * mean[i]!;
    return out;
  }
  throw new Error(`--energy ${m}: not one of shinestacker's energies (tenengrad, laplacian, modified-laplacian, sobel, variance); use --depthmap-preset ours for it`);
}
