// AssemblyScript (built to pipeline/kernels/focus.wasm) — the depth-map stack's per-frame energy
// kernels with 128-bit SIMD: luminance and shinestacker's native gray, our energy measures,
// separable filters (its Sobel/Laplacian/box/Gaussian), Gaussian blur and the bilateral filter.
// References, which these equal bit for bit (test/pipeline/kernels-focus.test.ts):
//   luminance                    pipeline/focus/stack.ts luminance (frameEnergy, `ours`)
//   energyRows                   pipeline/focus/measures.ts energyBand
//   blurH / blurV                pipeline/focus/gaussian.ts blurRowsH / blurColsPlane
//   grayNative, sepH/sepV, combine   pipeline/focus/shine-energy.ts (frameEnergy, `shinestacker`)
//   bilateralRows                pipeline/focus/bilateral.ts bilateralPlane
// The references compute in f64 (JavaScript numbers) from f32 samples and round to f32 on store;
// so do these, with f64x2 lanes, in the same order. exp is never needed here: the bilateral filter's
// tables come from the caller.
//
// A plane is w×h f32, rows contiguous, at a byte address; borders reflect without repeating the edge
// (reflect-101), as the references do. Every function works on output rows [y0, y1) or samples
// [start, end), so row bands of one plane run on several threads over the shared memory. Nothing
// here allocates.
//
// The blend (stack.ts WeightedPyramidBlend) runs here too on planar f32 pyramids: deinterleave,
// the shared reduce/expand of lib/planes.ts (f32 arithmetic, so within 1e-6 of the f64-intermediate
// reference, not bit for bit), the weighted accumulate in f64 as the reference, the per-level
// normalisation and the collapse. The map-building loops (shinestacker's E^p/ΣE^p, ours E^p, the
// depth) equal the reference bit for bit.

import { expandAddRows, reduceRows } from './lib/planes';
export { expandAddRows, reduceRows } from './lib/planes';

@inline
function refl(i: i32, n: i32): i32 {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

@inline
function f(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

/** Two f32 at p (byte address) as f64x2. */
@inline
function f2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Store the two f64 lanes of v as f32 at p. */
@inline
function st2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

// ---------------------------------------------------------------------------------------------
// Luminance of interleaved samples (c = 1: a copy; c = 3: Rec. 709 weights), pixels [start, end).

export function luminance(src: usize, c: i32, dst: usize, start: i32, end: i32): void {
  if (c == 1) {
    memory.copy(dst + (<usize>start << 2), src + (<usize>start << 2), <usize>(end - start) << 2);
    return;
  }
  for (let i = start; i < end; i++) {
    const p = src + (<usize>(i * c) << 2);
    // In f64 (a cast around the sum would make the literals f32).
    const v: f64 = <f64>0.2126 * <f64>load<f32>(p) + <f64>0.7152 * <f64>load<f32>(p, 4) + <f64>0.0722 * <f64>load<f32>(p, 8);
    store<f32>(dst + (<usize>i << 2), <f32>v);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoded codes → the frame's f32 samples (frame-store.ts codesToPlane): code / 255 (8-bit) or
// code / 65535 (16-bit, host order) in f64, rounded to f32 — the reference's values exactly.

export function codesToFloat(codes: usize, is16: i32, dst: usize, start: i32, end: i32): void {
  let i = start;
  if (is16) {
    const k = f64x2.splat(65535);
    for (; i + 2 <= end; i += 2) {
      const v = f64x2.convert_low_i32x4_u(i32x4.extend_low_i16x8_u(v128.load32_zero(codes + (<usize>i << 1))));
      st2(dst + (<usize>i << 2), f64x2.div(v, k));
    }
    for (; i < end; i++) store<f32>(dst + (<usize>i << 2), <f32>(<f64>load<u16>(codes + (<usize>i << 1)) / 65535));
    return;
  }
  const k = f64x2.splat(255);
  for (; i + 4 <= end; i += 4) {
    const u = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(codes + <usize>i)));
    const lo = f32x4.demote_f64x2_zero(f64x2.div(f64x2.convert_low_i32x4_u(u), k));
    const hi = f32x4.demote_f64x2_zero(f64x2.div(f64x2.convert_low_i32x4_u(i32x4.shuffle(u, u, 2, 3, 0, 1)), k));
    v128.store(dst + (<usize>i << 2), i32x4.shuffle(lo, hi, 0, 1, 4, 5));
  }
  for (; i < end; i++) store<f32>(dst + (<usize>i << 2), <f32>(<f64>load<u8>(codes + <usize>i) / 255));
}

/** codesToFloat's values straight into c planes (dst + ch·stride) for pixels [start, end). */
export function codesToPlanes(codes: usize, is16: i32, c: i32, dst: usize, stride: usize, start: i32, end: i32): void {
  if (c == 1) {
    codesToFloat(codes, is16, dst, start, end);
    return;
  }
  const k = f64x2.splat(is16 ? 65535 : 255);
  for (let i = start; i < end; i++) {
    const o = dst + (<usize>i << 2);
    if (is16) {
      const p = codes + (<usize>(i * c) << 1);
      for (let ch = 0; ch < c; ch++) store<f32>(o + <usize>ch * stride, <f32>(<f64>load<u16>(p + (<usize>ch << 1)) / 65535));
    } else if (c == 3) {
      const p = codes + <usize>(i * 3);
      const v = f64x2.div(f64x2.replace_lane(f64x2.splat(<f64>load<u8>(p)), 1, <f64>load<u8>(p, 1)), k);
      store<f32>(o, <f32>f64x2.extract_lane(v, 0));
      store<f32>(o + stride, <f32>f64x2.extract_lane(v, 1));
      store<f32>(o + 2 * stride, <f32>(<f64>load<u8>(p, 2) / 255));
    } else {
      const p = codes + <usize>(i * c);
      for (let ch = 0; ch < c; ch++) store<f32>(o + <usize>ch * stride, <f32>(<f64>load<u8>(p + <usize>ch) / 255));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Energy measures (measures.ts energyBand over a whole plane with reflect borders).

export const TENENGRAD = 0;
export const SOBEL = 1;
export const LAPLACIAN = 2;
export const MODIFIED_LAPLACIAN = 3;
export const BRENNER = 4;
export const VARIANCE = 5;

@inline
function sobel(a00: f64, a01: f64, a02: f64, a10: f64, a12: f64, a20: f64, a21: f64, a22: f64, root: bool): f64 {
  const gx = a02 + 2 * a12 + a22 - a00 - 2 * a10 - a20;
  const gy = a20 + 2 * a21 + a22 - a00 - 2 * a01 - a02;
  const g2 = gx * gx + gy * gy;
  return root ? Math.sqrt(g2) : g2;
}

@inline
function sobel2(a00: v128, a01: v128, a02: v128, a10: v128, a12: v128, a20: v128, a21: v128, a22: v128, root: bool): v128 {
  const two = f64x2.splat(2);
  const gx = f64x2.sub(f64x2.sub(f64x2.sub(f64x2.add(f64x2.add(a02, f64x2.mul(two, a12)), a22), a00), f64x2.mul(two, a10)), a20);
  const gy = f64x2.sub(f64x2.sub(f64x2.sub(f64x2.add(f64x2.add(a20, f64x2.mul(two, a21)), a22), a00), f64x2.mul(two, a01)), a02);
  const g2 = f64x2.add(f64x2.mul(gx, gx), f64x2.mul(gy, gy));
  return root ? f64x2.sqrt(g2) : g2;
}

/** Energy `m` of plane p (w×h) into out, rows [y0, y1). `window`: the variance's window (odd). */
export function energyRows(m: i32, p: usize, w: i32, h: i32, out: usize, y0: i32, y1: i32, window: i32): void {
  const two = f64x2.splat(2);
  const four = f64x2.splat(4);
  for (let y = y0; y < y1; y++) {
    const rm = p + (<usize>(refl(y - 1, h) * w) << 2);
    const r0 = p + (<usize>(y * w) << 2);
    const rp = p + (<usize>(refl(y + 1, h) * w) << 2);
    const o = out + (<usize>(y * w) << 2);
    if (m == TENENGRAD || m == SOBEL) {
      const root = m == SOBEL;
      let x = 1;
      for (; x + 2 <= w - 1; x += 2) {
        const xo = <usize>x << 2;
        const v = sobel2(f2(rm + xo - 4), f2(rm + xo), f2(rm + xo + 4), f2(r0 + xo - 4), f2(r0 + xo + 4), f2(rp + xo - 4), f2(rp + xo), f2(rp + xo + 4), root);
        st2(o + xo, v);
      }
      for (; x < w - 1; x++) store<f32>(o + (<usize>x << 2), <f32>sobel(f(rm, x - 1), f(rm, x), f(rm, x + 1), f(r0, x - 1), f(r0, x + 1), f(rp, x - 1), f(rp, x), f(rp, x + 1), root));
      for (let e = 0; e < 2; e++) {
        const xe = e == 0 ? 0 : w - 1;
        if (e == 1 && w == 1) break;
        const a = refl(xe - 1, w), b = refl(xe + 1, w);
        store<f32>(o + (<usize>xe << 2), <f32>sobel(f(rm, a), f(rm, xe), f(rm, b), f(r0, a), f(r0, b), f(rp, a), f(rp, xe), f(rp, b), root));
      }
    } else if (m == LAPLACIAN || m == MODIFIED_LAPLACIAN) {
      const mod = m == MODIFIED_LAPLACIAN;
      let x = 1;
      for (; x + 2 <= w - 1; x += 2) {
        const xo = <usize>x << 2;
        const c = f2(r0 + xo), l = f2(r0 + xo - 4), r = f2(r0 + xo + 4), u = f2(rm + xo), d = f2(rp + xo);
        let e: v128;
        if (mod) {
          const c2 = f64x2.mul(two, c);
          e = f64x2.add(f64x2.abs(f64x2.sub(f64x2.sub(c2, l), r)), f64x2.abs(f64x2.sub(f64x2.sub(c2, u), d)));
        } else {
          const lap = f64x2.sub(f64x2.add(f64x2.add(f64x2.add(l, r), u), d), f64x2.mul(four, c));
          e = f64x2.mul(lap, lap);
        }
        st2(o + xo, e);
      }
      for (let xx = 0; xx < w; xx++) {
        if (xx >= 1 && xx < x) continue; // done by the vector loop
        const c = f(r0, xx), l = f(r0, refl(xx - 1, w)), r = f(r0, refl(xx + 1, w)), u = f(rm, xx), d = f(rp, xx);
        let e: f64;
        if (mod) e = Math.abs(2 * c - l - r) + Math.abs(2 * c - u - d);
        else {
          const lap = l + r + u + d - 4 * c;
          e = lap * lap;
        }
        store<f32>(o + (<usize>xx << 2), <f32>e);
      }
    } else if (m == BRENNER) {
      const r2 = p + (<usize>(refl(y + 2, h) * w) << 2);
      for (let x = 0; x < w; x++) {
        const c = f(r0, x);
        const dx = f(r0, refl(x + 2, w)) - c;
        const dy = f(r2, x) - c;
        store<f32>(o + (<usize>x << 2), <f32>(dx * dx + dy * dy));
      }
    } else {
      const hw = window >> 1;
      const n = <f64>((2 * hw + 1) * (2 * hw + 1));
      for (let x = 0; x < w; x++) {
        let s: f64 = 0;
        let s2: f64 = 0;
        for (let dy = -hw; dy <= hw; dy++) {
          const row = p + (<usize>(refl(y + dy, h) * w) << 2);
          for (let dx = -hw; dx <= hw; dx++) {
            const v = f(row, refl(x + dx, w));
            s += v;
            s2 += v * v;
          }
        }
        const mean = s / n;
        store<f32>(o + (<usize>x << 2), <f32>Math.max(0, s2 / n - mean * mean));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Separable Gaussian blur (gaussian.ts gaussianBlurPlane with reflect borders): blurH then blurV,
// each over output rows [y0, y1); `k` holds `taps` f32 weights.

export function blurH(src: usize, dst: usize, w: i32, k: usize, taps: i32, y0: i32, y1: i32): void {
  const r = taps >> 1;
  for (let y = y0; y < y1; y++) {
    const s = src + (<usize>(y * w) << 2);
    const o = dst + (<usize>(y * w) << 2);
    let x = r;
    for (; x + 2 <= w - r; x += 2) {
      let acc = f64x2.splat(0);
      for (let j = 0; j < taps; j++) acc = f64x2.add(acc, f64x2.mul(f64x2.splat(f(k, j)), f2(s + (<usize>(x - r + j) << 2))));
      st2(o + (<usize>x << 2), acc);
    }
    for (let xx = 0; xx < w; xx++) {
      if (xx >= r && xx < x) continue; // done by the vector loop
      let acc: f64 = 0;
      for (let j = 0; j < taps; j++) acc += f(k, j) * f(s, refl(xx - r + j, w));
      store<f32>(o + (<usize>xx << 2), <f32>acc);
    }
  }
}

/** Vertical pass: each tap's sum rounds to f32, as the reference accumulates in a Float32Array. */
export function blurV(src: usize, dst: usize, w: i32, h: i32, k: usize, taps: i32, y0: i32, y1: i32): void {
  const r = taps >> 1;
  for (let y = y0; y < y1; y++) {
    const o = dst + (<usize>(y * w) << 2);
    let x = 0;
    for (; x + 4 <= w; x += 4) {
      let lo = f32x4.splat(0);
      let hi = f32x4.splat(0);
      for (let j = 0; j < taps; j++) {
        const kv = f64x2.splat(f(k, j));
        const s = src + (<usize>(refl(y - r + j, h) * w + x) << 2);
        const v = v128.load(s);
        const a = f64x2.add(f64x2.promote_low_f32x4(lo), f64x2.mul(kv, f64x2.promote_low_f32x4(v)));
        const b = f64x2.add(f64x2.promote_low_f32x4(hi), f64x2.mul(kv, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))));
        lo = f32x4.demote_f64x2_zero(a);
        hi = f32x4.demote_f64x2_zero(b);
      }
      v128.store(o + (<usize>x << 2), i32x4.shuffle(lo, hi, 0, 1, 4, 5));
    }
    for (; x < w; x++) {
      let acc: f32 = 0;
      for (let j = 0; j < taps; j++) acc = <f32>(<f64>acc + f(k, j) * f(src + (<usize>(refl(y - r + j, h) * w) << 2), x));
      store<f32>(o + (<usize>x << 2), acc);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// shinestacker's energies (shine-energy.ts) and bilateral filter (bilateral.ts).

/** grayNative over pixels [start, end): channels rounded to integer codes, OpenCV's fixed-point gray. */
export function grayNative(src: usize, c: i32, scale: f64, dst: usize, start: i32, end: i32): void {
  for (let i = start; i < end; i++) {
    const p = src + (<usize>(i * c) << 2);
    let g: f64;
    if (c == 1) g = q(<f64>load<f32>(p), scale);
    else g = Math.floor((q(<f64>load<f32>(p), scale) * 4899 + q(<f64>load<f32>(p, 4), scale) * 9617 + q(<f64>load<f32>(p, 8), scale) * 1868 + 8192) / 16384);
    store<f32>(dst + (<usize>i << 2), <f32>g);
  }
}

// Math.round (ties toward +∞) of v·scale, clamped to 0..scale.
@inline
function q(v: f64, scale: f64): f64 {
  const x = v * scale;
  let r = Math.floor(x);
  if (x - r >= 0.5) r += 1;
  return r < 0 ? 0 : r > scale ? scale : r;
}

// ---------------------------------------------------------------------------------------------
// shinestacker's Sobel energies fused: grayNative → sepFilter(kd, ks) and sepFilter(ks, kd) → combine,
// row by row. The horizontal passes of a gray row are kept in a ring of three rows per thread, so the
// vertical passes and the combination follow without full-plane intermediates; the arithmetic (f64
// sums from 0 in tap order, the Sobel results rounded to f32, then the combination) is the unfused
// steps' exactly.

/** Ring bytes per thread for width w: 4 tags, one gray row (f64), 3 + 3 horizontal-pass rows (f64). */
export function sobelRingBytes(w: i32): i32 {
  return 16 + 8 * w + 48 * w + 64;
}

// Math.round (ties toward +∞) of v·scale, clamped to 0..scale, on two lanes.
@inline
function q2(v: v128, scale: v128): v128 {
  const x = f64x2.mul(v, scale);
  let r = f64x2.floor(x);
  r = f64x2.add(r, v128.and(f64x2.ge(f64x2.sub(x, r), f64x2.splat(0.5)), f64x2.splat(1)));
  return f64x2.pmin(f64x2.pmax(r, f64x2.splat(0)), scale);
}

/** grayNative of row y into g (f64: the gray values are integers, exact in f32 and f64). */
function grayRow(src: usize, c: i32, scale: f64, w: i32, y: i32, g: usize): void {
  const sv = f64x2.splat(scale);
  const base = y * w;
  let x = 0;
  if (c == 3) {
    for (; x + 2 <= w; x += 2) {
      const p = src + (<usize>((base + x) * 3) << 2);
      const R = q2(f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p)), 1, <f64>load<f32>(p, 12)), sv);
      const G = q2(f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p, 4)), 1, <f64>load<f32>(p, 16)), sv);
      const B = q2(f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p, 8)), 1, <f64>load<f32>(p, 20)), sv);
      const s = f64x2.add(f64x2.add(f64x2.add(f64x2.mul(R, f64x2.splat(4899)), f64x2.mul(G, f64x2.splat(9617))), f64x2.mul(B, f64x2.splat(1868))), f64x2.splat(8192));
      v128.store(g + (<usize>x << 3), f64x2.floor(f64x2.div(s, f64x2.splat(16384))));
    }
  } else if (c == 1) {
    for (; x + 2 <= w; x += 2) v128.store(g + (<usize>x << 3), q2(f2(src + (<usize>(base + x) << 2)), sv));
  }
  for (; x < w; x++) {
    const p = src + (<usize>((base + x) * c) << 2);
    let v: f64;
    if (c == 1) v = q(<f64>load<f32>(p), scale);
    else v = Math.floor((q(<f64>load<f32>(p), scale) * 4899 + q(<f64>load<f32>(p, 4), scale) * 9617 + q(<f64>load<f32>(p, 8), scale) * 1868 + 8192) / 16384);
    store<f64>(g + (<usize>x << 3), <f64><f32>v);
  }
}

/**
 * grayRow from the decoded codes (codes ≠ 0 in sobelEnergyRows: src is the codes, 8- or 16-bit):
 * round(f32(code / max) · max) is the code itself (the f32 error is under 0.005 of a level), so the
 * gray is the same without the floats.
 */
function grayRowCodes(codes: usize, is16: bool, c: i32, w: i32, y: i32, g: usize): void {
  const base = y * w;
  for (let x = 0; x < w; x++) {
    const i = (base + x) * c;
    let v: f64;
    if (is16) {
      const p = codes + (<usize>i << 1);
      v = c == 1 ? <f64>load<u16>(p) : Math.floor((<f64>load<u16>(p) * 4899 + <f64>load<u16>(p, 2) * 9617 + <f64>load<u16>(p, 4) * 1868 + 8192) / 16384);
    } else {
      const p = codes + <usize>i;
      // Integer arithmetic: every term is exact in f64 too (sums below 2^24), and floor(s / 2^14) = s >> 14.
      v = c == 1 ? <f64>load<u8>(p) : <f64>((<i32>load<u8>(p) * 4899 + <i32>load<u8>(p, 1) * 9617 + <i32>load<u8>(p, 2) * 1868 + 8192) >> 14);
    }
    store<f64>(g + (<usize>x << 3), v);
  }
}

/** 3-tap horizontal pass of the f64 row g into o: ((0 + k0·g[x−1]) + k1·g[x]) + k2·g[x+1], reflect-101. */
function hpass3(g: usize, o: usize, w: i32, k0: f64, k1: f64, k2: f64): void {
  const a = f64x2.splat(k0), b = f64x2.splat(k1), c = f64x2.splat(k2), z = f64x2.splat(0);
  let x = 1;
  for (; x + 2 <= w - 1; x += 2) {
    const p = g + (<usize>x << 3);
    const acc = f64x2.add(f64x2.add(f64x2.add(z, f64x2.mul(a, v128.load(p - 8))), f64x2.mul(b, v128.load(p))), f64x2.mul(c, v128.load(p + 8)));
    v128.store(o + (<usize>x << 3), acc);
  }
  for (let xx = 0; xx < w; xx++) {
    if (xx >= 1 && xx < x) continue;
    let acc: f64 = 0;
    acc += k0 * load<f64>(g + (<usize>refl(xx - 1, w) << 3));
    acc += k1 * load<f64>(g + (<usize>xx << 3));
    acc += k2 * load<f64>(g + (<usize>refl(xx + 1, w) << 3));
    store<f64>(o + (<usize>xx << 3), acc);
  }
}

/**
 * Rows [y0, y1) of shinestacker's tenengrad (op 0: f32(Sx² + Sy²), 0 where ≤ 5) or |Sx| + |Sy| (op 1)
 * of the interleaved frame src (c channels, values 0..1, `scale` 255 or 65535) into out. k: the
 * derivative [−1, 0, 1] then the smoothing [1, 2, 1] kernel, 6 f64. ring: this thread's sobelRingBytes(w).
 */
export function sobelEnergyRows(src: usize, c: i32, scale: f64, w: i32, h: i32, out: usize, op: i32, k: usize, ring: usize, y0: i32, y1: i32, codes: i32): void {
  const d0 = load<f64>(k), d1 = load<f64>(k, 8), d2 = load<f64>(k, 16);
  const s0 = load<f64>(k, 24), s1 = load<f64>(k, 32), s2 = load<f64>(k, 40);
  const g = ring + 16;
  const rows = g + (<usize>w << 3);
  const rowBytes = <usize>w << 3;
  for (let i = 0; i < 3; i++) store<i32>(ring + (<usize>i << 2), -1);
  for (let y = y0; y < y1; y++) {
    const r0 = refl(y - 1, h), r2 = refl(y + 1, h);
    // Slot t of the ring holds row r ≡ t (mod 3): its horizontal passes with kd (Sx) and ks (Sy).
    for (let t = 0; t < 3; t++) {
      const r = t == 0 ? r0 : t == 1 ? y : r2;
      const slot = r % 3;
      if (load<i32>(ring + (<usize>slot << 2)) == r) continue;
      if (codes) grayRowCodes(src, codes == 2, c, w, r, g);
      else grayRow(src, c, scale, w, r, g);
      hpass3(g, rows + <usize>(2 * slot) * rowBytes, w, d0, d1, d2);
      hpass3(g, rows + <usize>(2 * slot + 1) * rowBytes, w, s0, s1, s2);
      store<i32>(ring + (<usize>slot << 2), r);
    }
    const xa = rows + <usize>(2 * (r0 % 3)) * rowBytes, xb = rows + <usize>(2 * (y % 3)) * rowBytes, xc = rows + <usize>(2 * (r2 % 3)) * rowBytes;
    const ya = xa + rowBytes, yb = xb + rowBytes, yc = xc + rowBytes;
    const o = out + (<usize>(y * w) << 2);
    const vs0 = f64x2.splat(s0), vs1 = f64x2.splat(s1), vs2 = f64x2.splat(s2);
    const vd0 = f64x2.splat(d0), vd1 = f64x2.splat(d1), vd2 = f64x2.splat(d2);
    const z = f64x2.splat(0);
    let x = 0;
    for (; x + 2 <= w; x += 2) {
      const b = <usize>x << 3;
      // Vertical passes, rounded to f32 as sepFilter's Float32Array result.
      const gx = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.add(f64x2.add(f64x2.add(z, f64x2.mul(vs0, v128.load(xa + b))), f64x2.mul(vs1, v128.load(xb + b))), f64x2.mul(vs2, v128.load(xc + b)))));
      const gy = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.add(f64x2.add(f64x2.add(z, f64x2.mul(vd0, v128.load(ya + b))), f64x2.mul(vd1, v128.load(yb + b))), f64x2.mul(vd2, v128.load(yc + b)))));
      let v: v128;
      if (op == 0) {
        const t = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(gx, gx), f64x2.mul(gy, gy))));
        v = v128.and(t, f64x2.gt(t, f64x2.splat(5)));
      } else v = f64x2.add(f64x2.abs(gx), f64x2.abs(gy));
      st2(o + (<usize>x << 2), v);
    }
    for (; x < w; x++) {
      const b = <usize>x << 3;
      let sx: f64 = 0;
      sx += s0 * load<f64>(xa + b);
      sx += s1 * load<f64>(xb + b);
      sx += s2 * load<f64>(xc + b);
      let sy: f64 = 0;
      sy += d0 * load<f64>(ya + b);
      sy += d1 * load<f64>(yb + b);
      sy += d2 * load<f64>(yc + b);
      const gx = <f64><f32>sx, gy = <f64><f32>sy;
      let v: f64;
      if (op == 0) {
        const t = <f64><f32>(gx * gx + gy * gy);
        v = t > 5 ? t : 0;
      } else v = Math.abs(gx) + Math.abs(gy);
      store<f32>(o + (<usize>x << 2), <f32>v);
    }
  }
}

/** sepFilter's horizontal pass: tmp (f64) = Σ_j kx[j]·src[refl(x + j − r)] over rows [y0, y1). kx: n f64. */
export function sepH(src: usize, tmp: usize, w: i32, kx: usize, n: i32, y0: i32, y1: i32): void {
  const r = (n - 1) >> 1;
  for (let y = y0; y < y1; y++) {
    const s = src + (<usize>(y * w) << 2);
    const o = tmp + (<usize>(y * w) << 3);
    let x = r;
    for (; x + 2 <= w - r; x += 2) {
      let acc = f64x2.splat(0);
      for (let j = 0; j < n; j++) acc = f64x2.add(acc, f64x2.mul(f64x2.splat(load<f64>(kx + (<usize>j << 3))), f2(s + (<usize>(x - r + j) << 2))));
      v128.store(o + (<usize>x << 3), acc);
    }
    for (let xx = 0; xx < w; xx++) {
      if (xx >= r && xx < x) continue;
      let acc: f64 = 0;
      for (let j = 0; j < n; j++) acc += load<f64>(kx + (<usize>j << 3)) * f(s, refl(xx + j - r, w));
      store<f64>(o + (<usize>xx << 3), acc);
    }
  }
}

/** sepFilter's vertical pass: dst (f32) = Σ_j ky[j]·tmp[refl(y + j − r)] over rows [y0, y1). */
export function sepV(tmp: usize, dst: usize, w: i32, h: i32, ky: usize, n: i32, y0: i32, y1: i32): void {
  const r = (n - 1) >> 1;
  for (let y = y0; y < y1; y++) {
    const o = dst + (<usize>(y * w) << 2);
    let x = 0;
    for (; x + 2 <= w; x += 2) {
      let acc = f64x2.splat(0);
      for (let j = 0; j < n; j++) acc = f64x2.add(acc, f64x2.mul(f64x2.splat(load<f64>(ky + (<usize>j << 3))), v128.load(tmp + (<usize>(refl(y + j - r, h) * w + x) << 3))));
      st2(o + (<usize>x << 2), acc);
    }
    for (; x < w; x++) {
      let acc: f64 = 0;
      for (let j = 0; j < n; j++) acc += load<f64>(ky + (<usize>j << 3)) * load<f64>(tmp + (<usize>(refl(y + j - r, h) * w + x) << 3));
      store<f32>(o + (<usize>x << 2), <f32>acc);
    }
  }
}

/**
 * Per-sample combinations over [start, end): 0 tenengrad (t = f32(a² + b²), 0 where ≤ 5); 1 |a| + |b|;
 * 2 |a + b|; 3 a² (b unused); 4 a − b² (variance: meanSq − mean²).
 */
export function combine(op: i32, a: usize, b: usize, out: usize, start: i32, end: i32): void {
  for (let i = start; i < end; i++) {
    const x = f(a, i);
    let v: f64;
    if (op == 0) {
      const y = f(b, i);
      const t = <f64><f32>(x * x + y * y);
      v = t > 5 ? t : 0;
    } else if (op == 1) v = Math.abs(x) + Math.abs(f(b, i));
    else if (op == 2) v = Math.abs(x + f(b, i));
    else if (op == 3) v = x * x;
    else {
      const y = f(b, i);
      v = x - y * y;
    }
    store<f32>(out + (<usize>i << 2), <f32>v);
  }
}

/** Smallest and largest sample of [start, end) into the two f32 at `slot` (bilateral.ts's range). */
export function minMaxInto(p: usize, start: i32, end: i32, slot: usize): void {
  let lo: f32 = Infinity;
  let hi: f32 = -Infinity;
  for (let i = start; i < end; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  store<f32>(slot, lo);
  store<f32>(slot, hi, 4);
}

/** The bilateral tap weight of two lanes: spatial × the colour table at |v − c|·scaleIndex (rounded to f32), interpolated. */
@inline
function bilateralWeight(v: v128, c: v128, ok: v128, si: v128, sp: v128, lut: usize): v128 {
  // (NaN lanes read the table at 0; the caller drops them.)
  const d = v128.and(f64x2.mul(f64x2.abs(f64x2.sub(v, c)), si), ok);
  const a0 = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(d));
  const fl = f64x2.floor(a0);
  const a = f64x2.sub(a0, fl);
  const ix = i32x4.shl(i32x4.trunc_sat_f64x2_s_zero(fl), 2);
  const p0 = lut + <usize>i32x4.extract_lane(ix, 0);
  const p1 = lut + <usize>i32x4.extract_lane(ix, 1);
  const l0 = f64x2.promote_low_f32x4(v128.load32_lane(p1, v128.load32_zero(p0), 1));
  const l1 = f64x2.promote_low_f32x4(v128.load32_lane(p1 + 4, v128.load32_zero(p0 + 4), 1));
  return f64x2.mul(sp, f64x2.add(l0, f64x2.mul(a, f64x2.sub(l1, l0))));
}

/**
 * cv2.bilateralFilter as bilateral.ts computes it, rows [y0, y1): `count` taps (dx, dy i32 pairs at
 * offs, f32 spatial weights), colour weights from the f32 table `lut` interpolated at |Δ|·scaleIndex.
 */
export function bilateralRows(src: usize, dst: usize, w: i32, h: i32, offs: usize, spatial: usize, count: i32, lut: usize, scaleIndex: f64, y0: i32, y1: i32, scratch: usize): void {
  // The window's reach: inside it no index needs reflecting (the fast path below).
  let r = 0;
  for (let j = 0; j < 2 * count; j++) r = max(r, abs(load<i32>(offs + (<usize>j << 2))));
  // Each tap's byte offset from the centre (for the fast path), in this thread's scratch.
  for (let j = 0; j < count; j++) store<i32>(scratch + (<usize>j << 2), (load<i32>(offs + (<usize>(2 * j + 1) << 2)) * w + load<i32>(offs + (<usize>(2 * j) << 2))) << 2);
  for (let y = y0; y < y1; y++) {
    const inner = y - r >= 0 && y + r < h;
    let x = 0;
    if (inner) {
      // Four pixels at a time (two independent pairs of f64x2 lanes), then pairs; the same arithmetic per lane.
      const si = f64x2.splat(scaleIndex);
      for (x = r; x + 3 + r < w; x += 4) {
        const at = src + (<usize>(y * w + x) << 2);
        const cA = f2(at);
        const cB = f2(at + 8);
        let nA = cA, nB = cB;
        let dA = f64x2.splat(1), dB = f64x2.splat(1);
        for (let j = 0; j < count; j++) {
          const off = <usize>load<i32>(scratch + (<usize>j << 2));
          const sp = f64x2.splat(f(spatial, j));
          const vA = f2(at + off);
          const vB = f2(at + 8 + off);
          const okA = f64x2.eq(vA, vA);
          const okB = f64x2.eq(vB, vB);
          const wA = bilateralWeight(vA, cA, okA, si, sp, lut);
          const wB = bilateralWeight(vB, cB, okB, si, sp, lut);
          nA = v128.bitselect(f64x2.add(nA, f64x2.mul(vA, wA)), nA, okA);
          dA = v128.bitselect(f64x2.add(dA, wA), dA, okA);
          nB = v128.bitselect(f64x2.add(nB, f64x2.mul(vB, wB)), nB, okB);
          dB = v128.bitselect(f64x2.add(dB, wB), dB, okB);
        }
        const o = dst + (<usize>(y * w + x) << 2);
        st2(o, f64x2.div(nA, dA));
        st2(o + 8, f64x2.div(nB, dB));
      }
      for (; x + 1 + r < w; x += 2) {
        const at = src + (<usize>(y * w + x) << 2);
        const c = f2(at);
        let num = c;
        let den = f64x2.splat(1);
        const si = f64x2.splat(scaleIndex);
        for (let j = 0; j < count; j++) {
          const v = f2(at + <usize>load<i32>(scratch + (<usize>j << 2)));
          const ok = f64x2.eq(v, v); // NaN taps are skipped
          // (NaN lanes read the table at 0 and are dropped below.)
          const d = v128.and(f64x2.mul(f64x2.abs(f64x2.sub(v, c)), si), ok);
          const a0 = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(d));
          const fl = f64x2.floor(a0);
          const a = f64x2.sub(a0, fl);
          const ix = i32x4.shl(i32x4.trunc_sat_f64x2_s_zero(fl), 2);
          const p0 = lut + <usize>i32x4.extract_lane(ix, 0);
          const p1 = lut + <usize>i32x4.extract_lane(ix, 1);
          const l0 = f64x2.promote_low_f32x4(v128.load32_lane(p1, v128.load32_zero(p0), 1));
          const l1 = f64x2.promote_low_f32x4(v128.load32_lane(p1 + 4, v128.load32_zero(p0 + 4), 1));
          const wt = f64x2.mul(f64x2.splat(f(spatial, j)), f64x2.add(l0, f64x2.mul(a, f64x2.sub(l1, l0))));
          num = v128.bitselect(f64x2.add(num, f64x2.mul(v, wt)), num, ok);
          den = v128.bitselect(f64x2.add(den, wt), den, ok);
        }
        st2(dst + (<usize>(y * w + x) << 2), f64x2.div(num, den));
      }
    }
    for (let xx = 0; xx < w; xx++) {
      if (inner && xx >= r && xx < x) continue; // done in lanes
      const x = xx;
      const c = f(src, y * w + x);
      let num = c;
      let den: f64 = 1;
      if (inner && x >= r && x + r < w) {
        // Same taps, same order, without the reflection (the reference's arithmetic exactly).
        const at = src + (<usize>(y * w + x) << 2);
        for (let j = 0; j < count; j++) {
          const dx = load<i32>(offs + (<usize>(2 * j) << 2));
          const dy = load<i32>(offs + (<usize>(2 * j + 1) << 2));
          const v = <f64>load<f32>(at + (<isize>(dy * w + dx) << 2));
          if (isNaN(v)) continue;
          let a = <f64><f32>(Math.abs(v - c) * scaleIndex);
          const idx = <i32>Math.floor(a);
          a -= <f64>idx;
          const l0 = f(lut, idx);
          const wt = f(spatial, j) * (l0 + a * (f(lut, idx + 1) - l0));
          num += v * wt;
          den += wt;
        }
        store<f32>(dst + (<usize>(y * w + x) << 2), <f32>(num / den));
        continue;
      }
      for (let j = 0; j < count; j++) {
        const dx = load<i32>(offs + (<usize>(2 * j) << 2));
        const dy = load<i32>(offs + (<usize>(2 * j + 1) << 2));
        const v = f(src, refl(y + dy, h) * w + refl(x + dx, w));
        if (isNaN(v)) continue;
        let a = <f64><f32>(Math.abs(v - c) * scaleIndex);
        const idx = <i32>Math.floor(a);
        a -= <f64>idx;
        const l0 = f(lut, idx);
        const wt = f(spatial, j) * (l0 + a * (f(lut, idx + 1) - l0));
        num += v * wt;
        den += wt;
      }
      store<f32>(dst + (<usize>(y * w + x) << 2), <f32>(num / den));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The depth map's weights and depth (stack.ts depthMapBand), bit for bit: f64 planes `total`,
// `dnum`, `den`; energies and weights f32. Sample ranges [start, end).

/** shinestacker average, pass 1: v = e (power 1) or e^power; total += v, dnum += v·k. */
export function sumPower(e: usize, power: f64, k: f64, total: usize, dnum: usize, start: i32, end: i32): void {
  let i = start;
  if (power == 1) {
    const kk = f64x2.splat(k);
    for (; i + 2 <= end; i += 2) {
      const v = f2(e + (<usize>i << 2));
      const t = total + (<usize>i << 3);
      const d = dnum + (<usize>i << 3);
      v128.store(t, f64x2.add(v128.load(t), v));
      v128.store(d, f64x2.add(v128.load(d), f64x2.mul(v, kk)));
    }
  }
  for (; i < end; i++) {
    const x = f(e, i);
    const v = power == 1 ? x : Math.pow(x, power);
    const t = total + (<usize>i << 3);
    const d = dnum + (<usize>i << 3);
    store<f64>(t, load<f64>(t) + v);
    store<f64>(d, load<f64>(d) + v * k);
  }
}

/** shinestacker average, pass 2: w = f32(v / total), 0 where total = 0; den += w. */
export function seedWeights(e: usize, power: f64, total: usize, w: usize, den: usize, start: i32, end: i32): void {
  let i = start;
  if (power == 1) {
    const z = f64x2.splat(0);
    for (; i + 2 <= end; i += 2) {
      const t = v128.load(total + (<usize>i << 3));
      // v / t where t ≠ 0, else 0 (the lanes with t = 0 are masked out after the division).
      const g = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v128.andnot(f64x2.div(f2(e + (<usize>i << 2)), t), f64x2.eq(t, z))));
      st2(w + (<usize>i << 2), g);
      const d = den + (<usize>i << 3);
      v128.store(d, f64x2.add(v128.load(d), g));
    }
  }
  for (; i < end; i++) {
    const x = f(e, i);
    const v = power == 1 ? x : Math.pow(x, power);
    const t = load<f64>(total + (<usize>i << 3));
    const g = <f32>(t != 0 ? v / t : 0);
    store<f32>(w + (<usize>i << 2), g);
    const d = den + (<usize>i << 3);
    store<f64>(d, load<f64>(d) + <f64>g);
  }
}

/** ours average: w = f32((e + 1e-6)^power); dnum += w·k; den += w. */
export function oursWeights(e: usize, power: f64, k: f64, w: usize, dnum: usize, den: usize, start: i32, end: i32): void {
  for (let i = start; i < end; i++) {
    const g = <f64><f32>Math.pow(f(e, i) + 1e-6, power);
    store<f32>(w + (<usize>i << 2), <f32>g);
    const d = den + (<usize>i << 3);
    store<f64>(d, load<f64>(d) + g);
    const n = dnum + (<usize>i << 3);
    store<f64>(n, load<f64>(n) + g * k);
  }
}

/** depth = f32(num / den), 0 where den ≤ 0 (f64 planes). */
export function depthRows(num: usize, den: usize, out: usize, start: i32, end: i32): void {
  for (let i = start; i < end; i++) {
    const d = load<f64>(den + (<usize>i << 3));
    store<f32>(out + (<usize>i << 2), <f32>(d > 0 ? load<f64>(num + (<usize>i << 3)) / d : 0));
  }
}

// ---------------------------------------------------------------------------------------------
// The weighted pyramid blend on planar planes (c planes `stride` bytes apart).

/** Interleaved c-channel pixels [start, end) of src into c planes at dst + ch·stride. */
export function deinterleave(src: usize, c: i32, dst: usize, stride: usize, start: i32, end: i32): void {
  if (c == 1) {
    memory.copy(dst + (<usize>start << 2), src + (<usize>start << 2), <usize>(end - start) << 2);
    return;
  }
  for (let i = start; i < end; i++) {
    const p = src + (<usize>(i * c) << 2);
    const o = dst + (<usize>i << 2);
    for (let ch = 0; ch < c; ch++) store<f32>(o + <usize>ch * stride, load<f32>(p + (<usize>ch << 2)));
  }
}

/** c planes at src + ch·stride into interleaved pixels [start, end) of dst. */
export function interleave(src: usize, stride: usize, c: i32, dst: usize, start: i32, end: i32): void {
  if (c == 1) {
    memory.copy(dst + (<usize>start << 2), src + (<usize>start << 2), <usize>(end - start) << 2);
    return;
  }
  for (let i = start; i < end; i++) {
    const p = dst + (<usize>(i * c) << 2);
    const o = src + (<usize>i << 2);
    for (let ch = 0; ch < c; ch++) store<f32>(p + (<usize>ch << 2), load<f32>(o + <usize>ch * stride));
  }
}

/** acc = f32(acc + g·b) with the product and sum in f64 (the reference's Float32Array +=), [start, end). */
export function accumulate(acc: usize, g: usize, b: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 2 <= end; i += 2) {
    const o = <usize>i << 2;
    st2(acc + o, f64x2.add(f2(acc + o), f64x2.mul(f2(g + o), f2(b + o))));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(acc + o, <f32>(f(acc, i) + f(g, i) * f(b, i)));
  }
}

/** acc = f32(acc + g) (f64 sum), [start, end). */
export function addInto(acc: usize, g: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 2 <= end; i += 2) {
    const o = <usize>i << 2;
    st2(acc + o, f64x2.add(f2(acc + o), f2(g + o)));
  }
  for (; i < end; i++) store<f32>(acc + (<usize>i << 2), <f32>(f(acc, i) + f(g, i)));
}

/** c planes N·d with d = 1/D where D > floor, else `keep` ? 1 : 0 (in f64, as the reference), [start, end). */
export function normalize(num: usize, stride: usize, c: i32, den: usize, floor: f64, keep: i32, start: i32, end: i32): void {
  for (let i = start; i < end; i++) {
    const D = f(den, i);
    const d: f64 = D > floor ? 1 / D : keep ? 1 : 0;
    for (let ch = 0; ch < c; ch++) {
      const p = num + <usize>ch * stride + (<usize>i << 2);
      store<f32>(p, <f32>(<f64>load<f32>(p) * d));
    }
  }
}

export { heapBase } from './lib/heap';

// ---------------------------------------------------------------------------------------------
// Output samples straight from the kernels (stack.ts's encoded path: the encoder gets them while
// the next band is computed). References: stack.ts's float path — the band clamped (and truncated
// for shinestacker) then image/pnm.ts floatToPnm, or the TIFF path's rounding — bit for bit.

/** floor(v·max + add) in f64 for four f32 lanes, clamped to [0, top]; NaN → 0 (saturating conversion). */
@inline
function quantizeLanes(v: v128, max: v128, add: v128, top: v128): v128 {
  const lo = f64x2.floor(f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(v), max), add));
  const hi = f64x2.floor(f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1)), max), add));
  const q = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(lo), i32x4.trunc_sat_f64x2_s_zero(hi), 0, 1, 4, 5);
  return i32x4.min_s(i32x4.max_s(q, i32x4.splat(0)), top);
}

@inline
function quantizeOne(v: f32, max: f64, add: f64): i32 {
  const x = <f64>v;
  // v ≤ 0 → 0 and v ≥ 1 → max as the reference tests them; NaN fails both and its floor → 0.
  if (x <= 0) return 0;
  if (x >= 1) return <i32>max;
  const f = Math.floor(x * max + add);
  return !(f > 0) ? 0 : <i32>f;
}

/**
 * Rows [y0, y1) of the c planar f32 planes at src (`stride` bytes apart, rows of w pixels) →
 * interleaved samples, row y at out + (y − origin)·w·c·bytes: v ≤ 0 → 0, v ≥ 1 → max, else
 * floor(v·max) (`trunc`: shinestacker's astype(uint8)) or floor(v·max + ½) (Math.round, as
 * floatToPnm), the product in f64; NaN → 0. `mode` 1: 8 bits; 2: 16 bits big-endian (PNM);
 * 3: 16 bits in this host's order (a Uint16Array, the TIFF path).
 */
export function bandSamples(src: usize, stride: usize, w: i32, c: i32, origin: i32, y0: i32, y1: i32, mode: i32, trunc: i32, out: usize): void {
  const maxI: i32 = mode == 1 ? 255 : 65535;
  const max = <f64>maxI;
  const add: f64 = trunc ? 0 : 0.5;
  const vmax = f64x2.splat(max);
  const vadd = f64x2.splat(add);
  const top = i32x4.splat(maxI);
  const bytes: usize = mode == 1 ? 1 : 2;
  for (let y = y0; y < y1; y++) {
    const s0 = src + ((<usize>y * <usize>w) << 2);
    const o = out + <usize>(y - origin) * <usize>w * <usize>c * bytes;
    let x = 0;
    if (mode == 1 && c == 3) {
      const s1 = s0 + stride;
      const s2 = s1 + stride;
      for (; x + 4 <= w; x += 4) {
        const xo = <usize>x << 2;
        const r = quantizeLanes(v128.load(s0 + xo), vmax, vadd, top);
        const g = quantizeLanes(v128.load(s1 + xo), vmax, vadd, top);
        const b = quantizeLanes(v128.load(s2 + xo), vmax, vadd, top);
        const b16 = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(r, g), i16x8.narrow_i32x4_u(b, b));
        // r0 r1 r2 r3 g0 g1 g2 g3 b0 b1 b2 b3 → r0 g0 b0 r1 g1 b1 …
        const px = i8x16.swizzle(b16, i8x16(0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, -1, -1, -1, -1));
        const d = o + <usize>(x * 3);
        v128.store64_lane(d, px, 0);
        v128.store32_lane(d, px, 2, 8);
      }
    } else if (mode == 1 && c == 1) {
      for (; x + 4 <= w; x += 4) {
        const q = quantizeLanes(v128.load(s0 + (<usize>x << 2)), vmax, vadd, top);
        const q16 = i16x8.narrow_i32x4_u(q, q);
        v128.store32_lane(o + <usize>x, i8x16.narrow_i16x8_u(q16, q16), 0);
      }
    }
    for (; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        const q = quantizeOne(load<f32>(s0 + <usize>ch * stride + (<usize>x << 2)), max, add);
        const i = <usize>(x * c + ch);
        if (mode == 1) store<u8>(o + i, <u8>q);
        else if (mode == 2) {
          store<u8>(o + (i << 1), <u8>(q >> 8));
          store<u8>(o + (i << 1) + 1, <u8>(q & 255));
        } else store<u16>(o + (i << 1), <u16>q);
      }
    }
  }
}

/**
 * Rows [y0, y1) of the depth plane at src (f32, rows of w) → 8-bit samples at out + (y − origin)·w:
 * the reference scales each value to 0..1 into a Float32Array (f32(d·scale)), then floatToPnm
 * rounds it: v ≤ 0 → 0, v ≥ 1 → 255, else floor(v·255 + ½).
 */
export function depthSamples(src: usize, scale: f64, w: i32, origin: i32, y0: i32, y1: i32, out: usize): void {
  for (let y = y0; y < y1; y++) {
    const s = src + ((<usize>y * <usize>w) << 2);
    const o = out + <usize>(y - origin) * <usize>w;
    for (let x = 0; x < w; x++) {
      const v = <f32>(<f64>load<f32>(s + (<usize>x << 2)) * scale);
      store<u8>(o + <usize>x, <u8>quantizeOne(v, 255, 0.5));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The hard max map (stack.ts depthMapBand, map 'max' with temperature < 1e-4) — equal to its JS
// loops bit for bit: the same f32 comparisons, f64 index sums, f32(1/count) and f32(Σk/count).

/**
 * Pass 1, pixels [start, end): frame k's energy at e against the best so far (f32 at best), the frame
 * reaching it (u16 at idx), how many frames tie there (u16 at count) and the sum of their indices
 * (f64 at sumIdx); k = 0 starts them. Stores 1 at `flag` (i32) when some pixel ties (e == best, k > 0).
 */
export function maxUpdate(e: usize, k: i32, best: usize, idx: usize, count: usize, sumIdx: usize, start: i32, end: i32, flag: usize): void {
  let tie: i32 = 0;
  if (k == 0) {
    for (let i = start; i < end; i++) {
      store<f32>(best + (<usize>i << 2), load<f32>(e + (<usize>i << 2)));
      store<u16>(idx + (<usize>i << 1), 0);
      store<u16>(count + (<usize>i << 1), 1);
      store<f64>(sumIdx + (<usize>i << 3), 0);
    }
  } else {
    const kk = <f64>k;
    for (let i = start; i < end; i++) {
      const v = load<f32>(e + (<usize>i << 2));
      const b = load<f32>(best + (<usize>i << 2));
      if (v > b) {
        store<f32>(best + (<usize>i << 2), v);
        store<u16>(idx + (<usize>i << 1), <u16>k);
        store<u16>(count + (<usize>i << 1), 1);
        store<f64>(sumIdx + (<usize>i << 3), kk);
      } else if (v == b) {
        tie = 1;
        const c = count + (<usize>i << 1);
        store<u16>(c, load<u16>(c) + 1);
        const s = sumIdx + (<usize>i << 3);
        store<f64>(s, load<f64>(s) + kk);
      }
    }
  }
  store<i32>(flag, tie);
}

/**
 * Pass 2, pixels [start, end): frame k's blend weight into w (f32). `ties` 0: 1 where frame k is the
 * one reaching the best, else 0; 1: f32(1/count) where its energy at e equals the best, else 0.
 */
export function maxWeights(ties: i32, e: usize, k: i32, best: usize, idx: usize, count: usize, w: usize, start: i32, end: i32): void {
  if (!ties) {
    for (let i = start; i < end; i++) store<f32>(w + (<usize>i << 2), <i32>load<u16>(idx + (<usize>i << 1)) == k ? 1 : 0);
    return;
  }
  for (let i = start; i < end; i++) {
    const hit = load<f32>(e + (<usize>i << 2)) == load<f32>(best + (<usize>i << 2));
    store<f32>(w + (<usize>i << 2), hit ? <f32>(1.0 / <f64>load<u16>(count + (<usize>i << 1))) : 0);
  }
}

/** The max map's depth, pixels [start, end): f32(Σk / count). */
export function maxDepth(sumIdx: usize, count: usize, out: usize, start: i32, end: i32): void {
  for (let i = start; i < end; i++) store<f32>(out + (<usize>i << 2), <f32>(load<f64>(sumIdx + (<usize>i << 3)) / <f64>load<u16>(count + (<usize>i << 1))));
}
