// Planar f32 pyramid primitives shared by the Mertens and focus-stacking kernels (AssemblyScript,
// 128-bit SIMD). A plane is w×h f32 at a byte address, rows contiguous (stride w). Borders reflect
// without repeating the edge (OpenCV's BORDER_REFLECT_101), as the plain-TS references do. The
// 5-tap generating kernel is symmetric, [k0, k1, k2, k1, k0].
//
// Every function works on a range of output rows [y0, y1), so row bands of one plane can run on
// several threads; `rb` is the calling thread's row buffer (≥ (w + 64) f32). SIMD and scalar tails
// evaluate the same expression in the same order, so a pixel's value does not depend on where a
// band or tile starts (tiles with enough halo stitch bit-identically).

/** Reflect-101 index into 0..n−1. */
@inline
export function refl(i: i32, n: i32): i32 {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

@inline
function row(p: usize, y: i32, w: i32): usize {
  return p + ((<usize>y * <usize>w) << 2);
}

// Row buffer with 8 f32 of margin in front (for r[-2], r[-1]).
const RB_MARGIN: usize = 32;

/** Gaussian reduce: rows [y0, y1) of dst ((w+1)>>1 × (h+1)>>1) from src (w×h): blur, keep even samples. */
export function reduceRows(src: usize, w: i32, h: i32, dst: usize, y0: i32, y1: i32, k0: f32, k1: f32, k2: f32, rb: usize): void {
  const w2 = (w + 1) >> 1;
  const r = rb + RB_MARGIN;
  const a0 = f32x4.splat(k0);
  const a1 = f32x4.splat(k1);
  const a2 = f32x4.splat(k2);
  for (let y = y0; y < y1; y++) {
    const cy = 2 * y;
    const s0 = row(src, refl(cy - 2, h), w);
    const s1 = row(src, refl(cy - 1, h), w);
    const s2 = row(src, cy, w);
    const s3 = row(src, refl(cy + 1, h), w);
    const s4 = row(src, refl(cy + 2, h), w);
    // Vertical: whole row, 4 lanes.
    let x = 0;
    for (; x + 4 <= w; x += 4) {
      const o = <usize>x << 2;
      const v = f32x4.add(
        f32x4.add(f32x4.mul(a0, f32x4.add(v128.load(s0 + o), v128.load(s4 + o))), f32x4.mul(a1, f32x4.add(v128.load(s1 + o), v128.load(s3 + o)))),
        f32x4.mul(a2, v128.load(s2 + o)),
      );
      v128.store(r + o, v);
    }
    for (; x < w; x++) {
      const o = <usize>x << 2;
      store<f32>(r + o, (k0 * (load<f32>(s0 + o) + load<f32>(s4 + o)) + k1 * (load<f32>(s1 + o) + load<f32>(s3 + o))) + k2 * load<f32>(s2 + o));
    }
    padRow(r, w);
    // Horizontal, decimated: out[x] = k0(r[2x−2] + r[2x+2]) + k1(r[2x−1] + r[2x+1]) + k2·r[2x].
    const d = row(dst, y, w2);
    x = 0;
    for (; x + 4 <= w2; x += 4) {
      const p = r + (<usize>(2 * x) << 2);
      const A = v128.load(p - 8);
      const B = v128.load(p + 8);
      const C = v128.load(p + 24);
      const A1 = v128.load(p);
      const B1 = v128.load(p + 16);
      const e0 = f32x4.shuffle(A, B, 0, 2, 4, 6);
      const o0 = f32x4.shuffle(A, B, 1, 3, 5, 7);
      const e1 = f32x4.shuffle(A1, B1, 0, 2, 4, 6);
      const o1 = f32x4.shuffle(A1, B1, 1, 3, 5, 7);
      const e2 = f32x4.shuffle(B, C, 0, 2, 4, 6);
      const v = f32x4.add(f32x4.add(f32x4.mul(a0, f32x4.add(e0, e2)), f32x4.mul(a1, f32x4.add(o0, o1))), f32x4.mul(a2, e1));
      v128.store(d + (<usize>x << 2), v);
    }
    for (; x < w2; x++) {
      const p = r + (<usize>(2 * x) << 2);
      store<f32>(d + (<usize>x << 2), (k0 * (load<f32>(p - 8) + load<f32>(p + 8)) + k1 * (load<f32>(p - 4) + load<f32>(p + 4))) + k2 * load<f32>(p));
    }
  }
}

/** r[−2], r[−1], r[n], r[n+1] by reflection (n ≥ 1). */
@inline
function padRow(r: usize, n: i32): void {
  store<f32>(r - 4, load<f32>(r + (<usize>refl(-1, n) << 2)));
  store<f32>(r - 8, load<f32>(r + (<usize>refl(-2, n) << 2)));
  store<f32>(r + (<usize>n << 2), load<f32>(r + (<usize>refl(n, n) << 2)));
  store<f32>(r + (<usize>(n + 1) << 2), load<f32>(r + (<usize>refl(n + 1, n) << 2)));
}

/**
 * Expand (zero insertion + 2× kernel) src (sw×sh) to w×h and add `sign` × it to rows [y0, y1) of out:
 * even samples take 2k2·centre + 2k0·(both neighbours), odd ones 2k1·(both neighbours).
 */
export function expandAddRows(src: usize, sw: i32, sh: i32, out: usize, w: i32, y0: i32, y1: i32, k0: f32, k1: f32, k2: f32, sign: f32, rb: usize): void {
  const c0 = k0 * 2;
  const c1 = k1 * 2;
  const c2 = k2 * 2;
  const v0 = f32x4.splat(c0);
  const v1 = f32x4.splat(c1);
  const v2 = f32x4.splat(c2);
  const vs = f32x4.splat(sign);
  const r = rb + RB_MARGIN;
  for (let y = y0; y < y1; y++) {
    const m = y >> 1;
    let x = 0;
    if (y & 1) {
      const s0 = row(src, refl(m, sh), sw);
      const s1 = row(src, refl(m + 1, sh), sw);
      for (; x + 4 <= sw; x += 4) {
        const o = <usize>x << 2;
        v128.store(r + o, f32x4.mul(v1, f32x4.add(v128.load(s0 + o), v128.load(s1 + o))));
      }
      for (; x < sw; x++) {
        const o = <usize>x << 2;
        store<f32>(r + o, c1 * (load<f32>(s0 + o) + load<f32>(s1 + o)));
      }
    } else {
      const sl = row(src, refl(m - 1, sh), sw);
      const sm = row(src, refl(m, sh), sw);
      const sr = row(src, refl(m + 1, sh), sw);
      for (; x + 4 <= sw; x += 4) {
        const o = <usize>x << 2;
        v128.store(r + o, f32x4.add(f32x4.mul(v2, v128.load(sm + o)), f32x4.mul(v0, f32x4.add(v128.load(sl + o), v128.load(sr + o)))));
      }
      for (; x < sw; x++) {
        const o = <usize>x << 2;
        store<f32>(r + o, c2 * load<f32>(sm + o) + c0 * (load<f32>(sl + o) + load<f32>(sr + o)));
      }
    }
    padRow(r, sw);
    const d = row(out, y, w);
    // Horizontal: out[2m] = c2·r[m] + c0(r[m−1] + r[m+1]); out[2m+1] = c1(r[m] + r[m+1]).
    let mm = 0;
    for (; 2 * (mm + 4) <= w; mm += 4) {
      const p = r + (<usize>mm << 2);
      const Rm = v128.load(p);
      const Rl = v128.load(p - 4);
      const Rr = v128.load(p + 4);
      const ev = f32x4.add(f32x4.mul(v2, Rm), f32x4.mul(v0, f32x4.add(Rl, Rr)));
      const od = f32x4.mul(v1, f32x4.add(Rm, Rr));
      const q = d + (<usize>(2 * mm) << 2);
      v128.store(q, f32x4.add(v128.load(q), f32x4.mul(vs, f32x4.shuffle(ev, od, 0, 4, 1, 5))));
      v128.store(q + 16, f32x4.add(v128.load(q + 16), f32x4.mul(vs, f32x4.shuffle(ev, od, 2, 6, 3, 7))));
    }
    for (let xx = 2 * mm; xx < w; xx++) {
      const h = xx >> 1;
      const p = r + (<usize>h << 2);
      const v = xx & 1 ? c1 * (load<f32>(p) + load<f32>(p + 4)) : c2 * load<f32>(p) + c0 * (load<f32>(p - 4) + load<f32>(p + 4));
      const q = d + (<usize>xx << 2);
      store<f32>(q, load<f32>(q) + sign * v);
    }
  }
}

/** acc[i] += g[i] · b[i] over [start, end) (f32 indices). */
export function mulAdd(acc: usize, g: usize, b: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(v128.load(g + o), v128.load(b + o))));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(acc + o, load<f32>(acc + o) + load<f32>(g + o) * load<f32>(b + o));
  }
}

/** n f32 zeros at p. */
export function zero(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n << 2);
}

/** n f32 from src to dst. */
export function copy(dst: usize, src: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

// exp for x in [−87, 0] on 4 lanes: Cephes' expf (range reduction by ln 2 in two parts, degree-6
// polynomial, 2^n through the exponent bits); within 2 f32 ulps of the correctly rounded value.
@inline
export function expf4(x: v128): v128 {
  // pmax (one maxps; max is several instructions for its NaN and ±0 rules) gives the same lanes:
  // the bound is neither NaN nor zero.
  x = f32x4.pmax(x, f32x4.splat(-87.0));
  // n = x·log2 e rounded to the nearest integer (ties to even, as f32x4.nearest) by adding 1.5·2^23:
  // the sum's low mantissa bits are n itself (|n| < 2^22), so 2^n needs no float → int conversion
  // (trunc_sat is several instructions on x86). The same n, bit for bit.
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const n = f32x4.sub(t, f32x4.splat(12582912.0));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1.0));
  const e = i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4b400000)), 23);
  return f32x4.mul(p, e);
}
