// Natural log on four f32 lanes (Cephes logf): x = m·2^e with m in [√½, √2), ln m by Cephes' degree-8
// polynomial in m − 1, plus e·ln 2 in two parts: within about one f32 ulp of Math.log for positive
// normal finite lanes (the Debevec statistics use it: test/pipeline/kernels-hdr-out.test.ts holds
// them within 1e-6 of the f64 reference). Other lanes (0, negative, subnormal, ∞, NaN) are the
// caller's to avoid: logF32x4Ok says whether all four are in range.

// Lanes all positive, normal and finite.
@inline
export function logF32x4Ok(x: v128): bool {
  const E = v128.and(i32x4.shr_u(x, 23), i32x4.splat(0x1ff)); // sign and exponent
  return i32x4.all_true(v128.and(i32x4.gt_s(E, i32x4.splat(0)), i32x4.lt_s(E, i32x4.splat(255))));
}

@inline
export function logF32x4(x: v128): v128 {
  // frexp: m in [0.5, 1), e the exponent.
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(126)));
  let m = v128.or(v128.and(x, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  // m < √½: e − 1, m = 2m − 1; else m − 1.
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = f32x4.sub(e, v128.and(small, f32x4.splat(1)));
  m = f32x4.sub(f32x4.add(m, v128.and(small, m)), f32x4.splat(1));
  const z = f32x4.mul(m, m);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = f32x4.add(y, f32x4.mul(e, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  return f32x4.add(f32x4.add(m, y), f32x4.mul(e, f32x4.splat(0.693359375)));
}
