// exp on four f32 lanes (Cephes expf): x = k·ln 2 + r with k = nearest(x·log2 e), r reduced in two
// parts (ln 2 = C1 + C2, C1 with 9 significant bits so k·C1 is exact), e^r by Cephes' degree-7
// polynomial, then × 2^k through the exponent bits. All in f32: within one f32 ulp of exp(x)
// correctly rounded (≈ 90 % of samples equal to Math.fround(Math.exp(x)); tested in
// test/pipeline/kernels-hdr-out.test.ts). Lanes outside [EXPF_LO, EXPF_HI] (where 2^k or the result
// would leave the normal range) or NaN go through the f64 exp (lib/vexp.ts) and are rounded once, as
// before: 0 for very negative x, ∞ for very positive, NaN for NaN.
import { expF64x2 } from './vexp';
import { expf4 } from './planes';

export const EXPF_LO: f32 = -87;
export const EXPF_HI: f32 = 88;

// In range, the same Cephes expf as lib/planes.ts's expf4 (whose clamp at −87 is then a no-op).
@inline
export function expF32x4(x: v128): v128 {
  const inRange = v128.and(f32x4.ge(x, f32x4.splat(EXPF_LO)), f32x4.le(x, f32x4.splat(EXPF_HI)));
  if (!i32x4.all_true(inRange)) return expF32x4Slow(x);
  return expf4(x);
}

// Rare: some lane out of the fast range or NaN — the f64 exp on all four, rounded once to f32.
function expF32x4Slow(x: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(expF64x2(f64x2.promote_low_f32x4(x)));
  const hi = f32x4.demote_f64x2_zero(expF64x2(f64x2.promote_low_f32x4(i8x16.shuffle(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7))));
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}
