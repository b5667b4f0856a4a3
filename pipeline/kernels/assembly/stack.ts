// AssemblyScript (compiled by `asc`, scripts/build-wasm.mjs) — the live stack's per-pixel loops:
// 16-bit FITS decode, dark subtraction, and the bilinear warp fused with the sigma-clipping update.
// References (the WASM results equal them bit for bit, test/pipeline/kernels-stack.test.ts):
// pipeline/calib/load.ts (readFitsWhole's 16-bit loop), pipeline/calib/apply.ts (calibrate's
// subtraction), pipeline/stack/align/warp.ts (warpBilinear, mono affine path) followed by
// pipeline/stack/methods.ts (the sigma accumulator's push). Where the reference computes in f64
// (JavaScript numbers) and stores f32, so does this: same operations, same order, same roundings.
//
// Memory is imported and shared; callers lay out the planes (pipeline/kernels/stack-wasm.ts) and
// several workers run these on disjoint row/sample ranges. Nothing here allocates.

// out[i] = f32(i16be(bytes[i]) · scale + zero) over samples [start, end). `bytes` is the FITS data
// unit (big-endian i16). SIMD: 8 samples per step, byte-swapped with one shuffle, the products in f64x2.
export function decodeI16BE(bytes: usize, out: usize, start: i32, end: i32, scale: f64, zero: f64): void {
  const sc = f64x2.splat(scale);
  const ze = f64x2.splat(zero);
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const raw = v128.load(bytes + (<usize>i << 1));
    const le = i8x16.swizzle(raw, i8x16(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
    const lo = i32x4.extend_low_i16x8_s(le);
    const hi = i32x4.extend_high_i16x8_s(le);
    const a = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(lo), sc), ze));
    const b = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(lo, lo, 2, 3, 0, 1)), sc), ze));
    const c = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(hi), sc), ze));
    const d = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(hi, hi, 2, 3, 0, 1)), sc), ze));
    const o = out + (<usize>i << 2);
    v128.store(o, i32x4.shuffle(a, b, 0, 1, 4, 5));
    v128.store(o, i32x4.shuffle(c, d, 0, 1, 4, 5), 16);
  }
  for (; i < end; i++) {
    const p = bytes + (<usize>i << 1);
    const v = <i16>((<i32>load<u8>(p) << 8) | <i32>load<u8>(p, 1));
    store<f32>(out + (<usize>i << 2), <f32>(<f64>v * scale + zero));
  }
}

// out[i] −= sub[i] over [start, end). The reference subtracts in f64 and rounds to f32; for two f32
// operands that is the correctly rounded f32 difference, which f32x4.sub computes.
export function subtract(out: usize, sub: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = out + (<usize>i << 2);
    v128.store(o, f32x4.sub(v128.load(o), v128.load(sub + (<usize>i << 2))));
  }
  for (; i < end; i++) {
    const o = out + (<usize>i << 2);
    store<f32>(o, load<f32>(o) - load<f32>(sub + (<usize>i << 2)));
  }
}

// Bilinear sample of the mono frame `src` (w × h) at (fx, fy), as warpBilinear's affine path: NaN
// outside, the nearest pixel on the exact last row/column.
@inline
function sample(src: usize, w: i32, h: i32, fx: f64, fy: f64): f32 {
  const xmax = <f64>(w - 1), ymax = <f64>(h - 1);
  if (fx >= 0 && fy >= 0 && fx < xmax && fy < ymax) {
    const x0 = <i32>fx, y0 = <i32>fy;
    const tx = fx - <f64>x0, ty = fy - <f64>y0;
    const p = src + ((<usize>y0 * <usize>w + <usize>x0) << 2);
    const s00 = <f64>load<f32>(p), s01 = <f64>load<f32>(p, 4);
    const q = p + (<usize>w << 2);
    const s10 = <f64>load<f32>(q), s11 = <f64>load<f32>(q, 4);
    const top = s00 + (s01 - s00) * tx;
    const bot = s10 + (s11 - s10) * tx;
    return <f32>(top + (bot - top) * ty);
  }
  if (fx >= 0 && fy >= 0 && fx <= xmax && fy <= ymax) {
    return load<f32>(src + ((<usize>roundHalfUp(fy) * <usize>w + <usize>roundHalfUp(fx)) << 2));
  }
  return NaN;
}

// JavaScript's Math.round for x ≥ 0 (ties toward +∞, exact where floor(x + 0.5) is not).
@inline
function roundHalfUp(x: f64): i32 {
  const r = Math.floor(x);
  return <i32>(x - r >= 0.5 ? r + 1 : r);
}

// Rows [y0, y1) of the sigma accumulator (planes M, M2, N, H of w·h floats), each pixel's new value
// the frame `src` warped onto the reference grid: F = bilinear(src, (A·x + B·y + C, E·x + F·y + G))
// stepping x as warpBilinear does (warp = 1), or F = src (warp = 0: the reference, `none`). Then
// methods.ts's sigma update with sky offset `off`, noise floor `noise`, `kappa`, warm-up `warm`,
// the warm-up maxima plane H when `useH` (a warm-up longer than 3). Returns the rejected values.
export function warpSigma(
  src: usize, w: i32, h: i32, y0: i32, y1: i32, warp: bool,
  A: f64, B: f64, C: f64, E: f64, F: f64, G: f64,
  M: usize, M2: usize, N: usize, H: usize, useH: bool,
  kappa: f64, noise: f64, off: f64, warm: f64,
): i32 {
  let rejected = 0;
  for (let y = y0; y < y1; y++) {
    let fx = B * <f64>y + C, fy = F * <f64>y + G;
    for (let x = 0; x < w; x++, fx += A, fy += E) {
      const i = <usize>y * <usize>w + <usize>x;
      const o = i << 2;
      const v: f32 = warp ? sample(src, w, h, fx, fy) : load<f32>(src + o);
      if (v != v) continue;
      const f = <f64>v - off;
      const n = <f64>load<f32>(N + o);
      const m = <f64>load<f32>(M + o);
      if (n >= warm) {
        const sd = Math.max(Math.sqrt(<f64>load<f32>(M2 + o) / (n - 1)), noise);
        if (Math.abs(f - m) > kappa * sd) { rejected++; continue; }
      }
      if (n == 0 || m != m) {
        store<f32>(M + o, <f32>f);
        store<f32>(M2 + o, 0);
        store<f32>(N + o, 1);
        if (useH) store<f32>(H + o, <f32>f);
        continue;
      }
      const n1 = n + 1;
      const d = f - m;
      const nm = m + d / n1;
      const q0 = <f64>load<f32>(M2 + o);
      store<f32>(M + o, <f32>nm);
      store<f32>(M2 + o, <f32>(q0 + d * (f - nm)));
      store<f32>(N + o, <f32>n1);
      if (useH) {
        const h0 = <f64>load<f32>(H + o);
        if (n1 <= warm && (h0 != h0 || f > h0)) store<f32>(H + o, <f32>f);
      }
      if (n1 == warm && warm >= 3 && (useH || warm == 3)) {
        // The brightest of the first values: kept in H, or (warm-up 3) the first two's mean + √(M2/2).
        const hv = useH ? <f64>load<f32>(H + o) : <f64><f32>Math.max(f, m + Math.sqrt(q0 / 2));
        const m1 = (n1 * nm - hv) / (n1 - 1);
        const q1 = Math.max(0, <f64>load<f32>(M2 + o) - (hv - nm) * (hv - m1));
        const sd = Math.max(Math.sqrt(q1 / (n1 - 2)), noise);
        if (hv - m1 > kappa * sd) {
          store<f32>(M + o, <f32>m1);
          store<f32>(M2 + o, <f32>q1);
          store<f32>(N + o, <f32>(n1 - 1));
          rejected++;
        }
        if (useH) store<f32>(H + o, NaN);
      }
    }
  }
  return rejected;
}

// Per-sample median of n f32 strips (their addresses: `table`, n × u32) over [start, end) into `out`,
// as master.ts's medianInPlace: the middle value, or for even n 0.5·(lower + upper middle) in f64.
// The strips are sorted in place (4 samples at a time, an odd–even transposition network of
// f32x4 min/max): they are scratch once their median is taken. Integer-valued frames (no NaN).
export function medianN(table: usize, n: i32, out: usize, start: i32, end: i32): void {
  const half = f64x2.splat(0.5);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    for (let r = 0; r < n; r++) {
      for (let k = r & 1; k + 1 < n; k += 2) {
        const pa = load<usize>(table + (<usize>k << 2)) + o;
        const pb = load<usize>(table + (<usize>(k + 1) << 2)) + o;
        const a = v128.load(pa), b = v128.load(pb);
        v128.store(pa, f32x4.pmin(a, b));
        v128.store(pb, f32x4.pmax(a, b));
      }
    }
    const hi = v128.load(load<usize>(table + (<usize>(n >> 1) << 2)) + o);
    if (n & 1) {
      v128.store(out + o, hi);
    } else {
      const lo = v128.load(load<usize>(table + (<usize>((n >> 1) - 1) << 2)) + o);
      const a = f32x4.demote_f64x2_zero(f64x2.mul(half, f64x2.add(f64x2.promote_low_f32x4(lo), f64x2.promote_low_f32x4(hi))));
      const b = f32x4.demote_f64x2_zero(f64x2.mul(half, f64x2.add(f64x2.promote_low_f32x4(i32x4.shuffle(lo, lo, 2, 3, 0, 1)), f64x2.promote_low_f32x4(i32x4.shuffle(hi, hi, 2, 3, 0, 1)))));
      v128.store(out + o, i32x4.shuffle(a, b, 0, 1, 4, 5));
    }
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    // Insertion sort of this sample across the strips, as the reference.
    for (let a = 1; a < n; a++) {
      const pa = load<usize>(table + (<usize>a << 2)) + o;
      const x = load<f32>(pa);
      let j = a - 1;
      while (j >= 0 && load<f32>(load<usize>(table + (<usize>j << 2)) + o) > x) {
        store<f32>(load<usize>(table + (<usize>(j + 1) << 2)) + o, load<f32>(load<usize>(table + (<usize>j << 2)) + o));
        j--;
      }
      store<f32>(load<usize>(table + (<usize>(j + 1) << 2)) + o, x);
    }
    const hv = <f64>load<f32>(load<usize>(table + (<usize>(n >> 1) << 2)) + o);
    store<f32>(out + o, n & 1 ? <f32>hv : <f32>(0.5 * (<f64>load<f32>(load<usize>(table + (<usize>((n >> 1) - 1) << 2)) + o) + hv)));
  }
}

export { heapBase } from './lib/heap';
