// exp on two f64 lanes: x = k·ln 2 + r with k = round(x / ln 2) (the 1.5·2^52 rounding trick, which
// also leaves k in the low bits for the exponent field), r reduced in two parts (Cody–Waite, fdlibm's
// split of ln 2) so |r| ≤ ln 2 / 2, e^r by its Taylor series to r^13 (truncation < 5e-18 relative),
// then × 2^k through the exponent bits. Within a few f64 ulps of a correctly rounded exp over the
// range the merge meets (|x| ≤ 700; beyond, x is clamped: 0 and ∞ once rounded to f32); NaN passes.

const LOG2E: f64 = 1.4426950408889634;
const LN2HI: f64 = 6.93147180369123816490e-1;
const LN2LO: f64 = 1.90821492927058770002e-10;
const MAGIC: f64 = 6755399441055744.0; // 1.5 · 2^52

@inline
export function expF64x2(x0: v128): v128 {
  const x = f64x2.min(f64x2.max(x0, f64x2.splat(-700)), f64x2.splat(700));
  const t = f64x2.add(f64x2.mul(x, f64x2.splat(LOG2E)), f64x2.splat(MAGIC));
  const k = f64x2.sub(t, f64x2.splat(MAGIC));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(k, f64x2.splat(LN2HI))), f64x2.mul(k, f64x2.splat(LN2LO)));
  let p = f64x2.splat(1.0 / 6227020800.0); // 1/13!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 479001600.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 39916800.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 3628800.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 362880.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 40320.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 5040.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 720.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 120.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 24.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  // 2^k: (k + 1023) in the exponent field; k sits in t's low mantissa bits (two's complement).
  const scale = i64x2.shl(i64x2.add(t, i64x2.splat(1023)), 52);
  const y = f64x2.mul(p, scale);
  // NaN in, NaN out (the clamp above would have turned it into a number).
  return v128.bitselect(x0, y, f64x2.ne(x0, x0));
}

// Faster, for the hot loops: exp(x) = T[k] · e^r with k = round((x − EXP_TAB_LO)·256), T[k] =
// exp(EXP_TAB_LO + k/256) (f64, from Math.exp, laid out by the caller: EXP_TAB_SIZE entries) and
// r = x − EXP_TAB_LO − k/256 exact, |r| ≤ 1/512, so e^r to r^4 is good to 2e-16 relative. Lanes
// outside [EXP_TAB_LO, EXP_TAB_HI] (or NaN) take expF64x2.
export const EXP_TAB_LO: f64 = -88;
export const EXP_TAB_HI: f64 = 88;
export const EXP_TAB_SIZE: i32 = 176 * 256 + 1;

@inline
export function expTabF64x2(x: v128, tab: usize): v128 {
  const inRange = v128.and(f64x2.ge(x, f64x2.splat(EXP_TAB_LO)), f64x2.le(x, f64x2.splat(EXP_TAB_HI)));
  if (!i64x2.all_true(inRange)) return expF64x2(x);
  const u = f64x2.sub(x, f64x2.splat(EXP_TAB_LO));
  const k = f64x2.sub(f64x2.add(f64x2.mul(u, f64x2.splat(256)), f64x2.splat(MAGIC)), f64x2.splat(MAGIC));
  const r = f64x2.sub(u, f64x2.mul(k, f64x2.splat(1.0 / 256)));
  let p = f64x2.splat(1.0 / 24);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1));
  const ki = i32x4.trunc_sat_f64x2_s_zero(k);
  const t0 = load<f64>(tab + (<usize>i32x4.extract_lane(ki, 0) << 3));
  const t1 = load<f64>(tab + (<usize>i32x4.extract_lane(ki, 1) << 3));
  return f64x2.mul(f64x2.replace_lane(f64x2.splat(t0), 1, t1), p);
}
