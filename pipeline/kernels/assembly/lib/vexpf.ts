// exp on four f32 lanes (Cephes expf): x = k·ln 2 + r with k = nearest(x·log2 e), r reduced in two
// parts (ln 2 = C1 + C2, C1 with 9 significant bits so k·C1 is exact), e^r by Cephes' degree-7
// polynomial, then × 2^k through the exponent bits. All in f32: within one f32 ulp of exp(x)
// correctly rounded (≈ 90 % of samples equal to Math.fround(Math.exp(x)); tested in
// test/pipeline/kernels-hdr-out.test.ts). Lanes outside [EXPF_LO, EXPF_HI] (where 2^k or the result
// would leave the normal range) or NaN go through the f64 exp (lib/vexp.ts) and are rounded once, as
// before: 0 for very negative x, ∞ for very positive, NaN for NaN.
import { expF64x2 } from './vexp';

export const EXPF_LO: f32 = -87;
export const EXPF_HI: f32 = 88;

const LOG2EF: f32 = 1.44269504088896341;
const C1: f32 = 0.693359375;
const C2: f32 = -2.12194440e-4;

@inline
export function expF32x4(x: v128): v128 {
  const inRange = v128.and(f32x4.ge(x, f32x4.splat(EXPF_LO)), f32x4.le(x, f32x4.splat(EXPF_HI)));
  if (!i32x4.all_true(inRange)) return expF32x4Slow(x);
  const k = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2EF)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(k, f32x4.splat(C1))), f32x4.mul(k, f32x4.splat(C2)));
  const z = f32x4.mul(r, r);
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, z), r), f32x4.splat(1));
  // 2^k: k + 127 in the exponent field (k ∈ [−126, 127] over the fast range).
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return f32x4.mul(y, scale);
}

// Rare: some lane out of the fast range or NaN — the f64 exp on all four, rounded once to f32.
function expF32x4Slow(x: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(expF64x2(f64x2.promote_low_f32x4(x)));
  const hi = f32x4.demote_f64x2_zero(expF64x2(f64x2.promote_low_f32x4(i8x16.shuffle(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7))));
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}
