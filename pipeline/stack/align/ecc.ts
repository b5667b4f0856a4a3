// Enhanced Correlation Coefficient alignment (Evangelidis & Psarakis 2008), homography model —
// the seed's method, written here because there is no OpenCV in node. Coarse-to-fine over an
// image pyramid so shifts of tens of pixels converge; the finest level is capped at `maxSize`
// (sub-pixel accuracy survives downsampling, the cost does not).
import type { ImageF32 } from '../../image/types.js';
import { identity, invert, multiply, solveLinear, type Mat3 } from './transform.js';
import { warpBilinear } from './warp.js';

export interface EccOptions {
  /** Longest side of the finest pyramid level used (default 1024). */
  maxSize?: number;
  /** Smallest pyramid level (default 64 px on the short side). */
  minSize?: number;
  iterations?: number; // per level, default 50
  epsilon?: number; // stop when ρ changes less, default 1e-5
  /** Initial reference → frame homography (full-resolution coordinates). */
  init?: Mat3;
}

export interface EccResult {
  /** Reference → frame (what warping needs). */
  refToFrame: Mat3;
  /** Frame → reference. */
  transform: Mat3;
  /** Final correlation coefficient. */
  rho: number;
}

function half(img: ImageF32): ImageF32 {
  const w = img.width >> 1, h = img.height >> 1;
  const out = new Float32Array(w * h);
  const s = img.data, W = img.width;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = 2 * y * W + 2 * x;
    out[y * w + x] = 0.25 * (s[i]! + s[i + 1]! + s[i + W]! + s[i + W + 1]!);
  }
  return { width: w, height: h, channels: 1, bitDepth: 32, data: out };
}

function blur(img: ImageF32): ImageF32 {
  // 1-2-1 binomial in both axes: widens the basin of attraction for point-like stars.
  const { width: w, height: h, data: s } = img;
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    tmp[i] = 0.25 * (s[x > 0 ? i - 1 : i]! + 2 * s[i]! + s[x < w - 1 ? i + 1 : i]!);
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    out[i] = 0.25 * (tmp[y > 0 ? i - w : i]! + 2 * tmp[i]! + tmp[y < h - 1 ? i + w : i]!);
  }
  return { ...img, data: out };
}

function gradients(img: ImageF32): [ImageF32, ImageF32] {
  const { width: w, height: h, data: s } = img;
  const gx = new Float32Array(w * h), gy = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    gx[i] = 0.5 * (s[x < w - 1 ? i + 1 : i]! - s[x > 0 ? i - 1 : i]!);
    gy[i] = 0.5 * (s[y < h - 1 ? i + w : i]! - s[y > 0 ? i - w : i]!);
  }
  return [{ ...img, data: gx }, { ...img, data: gy }];
}

function scaleH(m: Mat3, f: number): Mat3 {
  // Pyramid coordinates: x_fine = f·x_coarse + (f−1)/2 (2×2 averaging puts the coarse pixel
  // centre between its fine ones); H' = S H S⁻¹.
  const o = (f - 1) / 2;
  const S = Float64Array.of(f, 0, o, 0, f, o, 0, 0, 1);
  const Si = Float64Array.of(1 / f, 0, -o / f, 0, 1 / f, -o / f, 0, 0, 1);
  const r = multiply(multiply(S, m), Si);
  const n = r[8]!;
  for (let k = 0; k < 9; k++) r[k]! /= n;
  return r;
}

function eccLevel(T: ImageF32, I: ImageF32, H: Mat3, iterations: number, eps: number): { H: Mat3; rho: number } {
  const [gx, gy] = gradients(I);
  const n = T.width * T.height;
  const W = T.width;
  let Iw: ImageF32 | undefined, GXw: ImageF32 | undefined, GYw: ImageF32 | undefined;
  let rho = -1, last = -2;
  const hess = new Float64Array(64), iproj = new Float64Array(8), tproj = new Float64Array(8);
  const G = new Float64Array(8);
  for (let it = 0; it < iterations && Math.abs(rho - last) >= eps; it++) {
    Iw = warpBilinear(I, H, Iw);
    GXw = warpBilinear(gx, H, GXw);
    GYw = warpBilinear(gy, H, GYw);
    let mt = 0, mi = 0, cnt = 0;
    for (let i = 0; i < n; i++) {
      const v = Iw.data[i]!;
      if (v !== v) continue;
      mt += T.data[i]!; mi += v; cnt++;
    }
    if (cnt < 64) throw new Error('ECC: images do not overlap');
    mt /= cnt; mi /= cnt;
    hess.fill(0); iproj.fill(0); tproj.fill(0);
    let corr = 0, inorm = 0, tnorm = 0;
    const [h0, h1, h2, h3, h4, h5, h6, h7] = H as unknown as number[];
    for (let i = 0; i < n; i++) {
      const v = Iw.data[i]!;
      if (v !== v) continue;
      const x = i % W, y = (i - x) / W;
      const den = 1 / (h6! * x + h7! * y + 1);
      const xw = (h0! * x + h1! * y + h2!) * den;
      const yw = (h3! * x + h4! * y + h5!) * den;
      const ix = GXw.data[i]! * den, iy = GYw.data[i]! * den;
      const c = -(ix * xw + iy * yw);
      G[0] = ix * x; G[1] = ix * y; G[2] = ix; G[3] = iy * x; G[4] = iy * y; G[5] = iy; G[6] = c * x; G[7] = c * y;
      const tz = T.data[i]! - mt, iz = v - mi;
      corr += tz * iz; inorm += iz * iz; tnorm += tz * tz;
      for (let a = 0; a < 8; a++) {
        const ga = G[a]!;
        iproj[a] += ga * iz;
        tproj[a] += ga * tz;
        for (let b = a; b < 8; b++) hess[a * 8 + b] += ga * G[b]!;
      }
    }
    for (let a = 0; a < 8; a++) for (let b = 0; b < a; b++) hess[a * 8 + b] = hess[b * 8 + a]!;
    last = rho;
    rho = corr / Math.sqrt(inorm * tnorm);
    const ipH = solveLinear(hess, iproj, 8);
    if (!ipH) throw new Error('ECC: singular Hessian (featureless image?)');
    let ipd = 0, tpd = 0;
    for (let a = 0; a < 8; a++) { ipd += iproj[a]! * ipH[a]!; tpd += tproj[a]! * ipH[a]!; }
    const lambdaD = corr - tpd;
    if (lambdaD <= 0) throw new Error('ECC: diverged (images uncorrelated or not overlapping)');
    const lambda = (inorm - ipd) / lambdaD;
    const eproj = new Float64Array(8);
    for (let a = 0; a < 8; a++) eproj[a] = lambda * tproj[a]! - iproj[a]!;
    const dp = solveLinear(hess, eproj, 8);
    if (!dp) throw new Error('ECC: singular Hessian');
    const next = Float64Array.from(H);
    for (let a = 0; a < 8; a++) next[a] += dp[a]!;
    H = next;
  }
  return { H, rho };
}

export function eccAlign(ref: ImageF32, frame: ImageF32, opts: EccOptions = {}): EccResult {
  if (ref.channels !== 1 || frame.channels !== 1) throw new Error('eccAlign needs mono images');
  const maxSize = opts.maxSize ?? 1024, minSize = opts.minSize ?? 64;
  let T = ref, I = frame, f = 1;
  while (Math.max(T.width, T.height) > maxSize) { T = half(T); I = half(I); f *= 2; }
  const tp: ImageF32[] = [blur(T)], ip: ImageF32[] = [blur(I)];
  while (Math.min(tp[0]!.width, tp[0]!.height) >= 2 * minSize) { tp.unshift(blur(half(tp[0]!))); ip.unshift(blur(half(ip[0]!))); }
  const levels = tp.length;
  let H = scaleH(opts.init ?? identity(), 1 / (f * 2 ** (levels - 1)));
  let rho = 0;
  for (let l = 0; l < levels; l++) {
    const r = eccLevel(tp[l]!, ip[l]!, H, opts.iterations ?? 50, opts.epsilon ?? 1e-5);
    H = r.H;
    rho = r.rho;
    if (l < levels - 1) H = scaleH(H, 2);
  }
  const refToFrame = scaleH(H, f);
  return { refToFrame, transform: invert(refToFrame), rho };
}
