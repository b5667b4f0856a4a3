// AssemblyScript (built to pipeline/kernels/pyramid.wasm) — the Laplacian-pyramid hot loops of both
// pyramid users, with 128-bit SIMD on planar f32 planes:
// - Mertens exposure fusion (reference: pipeline/hdr/mertens.ts fuseTileSources/fusionWeights and
//   pipeline/hdr/pyramid.ts): `mertensTile` fuses one tile of every frame's 8/16-bit code window,
//   start to finish (weights, weight and Laplacian pyramids, blend, collapse), into the output strip.
//   One call per tile, each thread with its own scratch, so threads split a strip by tiles.
// - Focus stacking (reference: pipeline/focus/pyramid.ts PyramidFuser): reduce / expand / region
//   energy / max-energy select on row ranges of full-width band planes, so threads split each
//   step by rows.
// Results equal the references within f32 rounding (the references round to f32 at other points
// and evaluate some sums in f64); test/pipeline/kernels-pyramid.test.ts states the tolerances.
// Nothing here allocates: every address comes from the caller's layout.
import { expandAddRows, mulAdd, reduceRows, refl, zero } from './lib/planes';

export { copy, expandAddRows, mulAdd, reduceRows, zero } from './lib/planes';
export { heapBase } from './lib/heap';

// ---------------------------------------------------------------------------------------------
// Mertens

/**
 * exp on 4 lanes for the well-exposedness (x in [−87, 0]), cheaper than lib/planes' expf4 (Cephes:
 * two-part ln 2 reduction, degree 7): exp(x) = 2^n · 2^f with y = x·log₂e, n = y rounded by the
 * 1.5·2²³ shift (its bits give n, no saturating convert) and f = y − n in [−½, ½] exactly, 2^f by a
 * degree-5 fit (relative error ≤ 2.3e-7) in Estrin's scheme (3 dependent steps, not 6). With y's
 * rounding the result is within 8e-7 relative of exp on the weights' inputs, −Σ(v − ½)²/0.08 in
 * [−9.375, 0] for values in [0, 1] (≤ 4e-6 further down, not reached) — the weights keep their 1e-5
 * tolerance (tested).
 */
@inline
function expWell4(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-87.0));
  const shift = f32x4.splat(12582912.0);
  const y = f32x4.mul(x, f32x4.splat(1.44269504088896341));
  const t = f32x4.add(y, shift);
  const f = f32x4.sub(y, f32x4.sub(t, shift));
  const f2 = f32x4.mul(f, f);
  const p01 = f32x4.add(f32x4.splat(1.0000001192092896), f32x4.mul(f, f32x4.splat(0.6931469440460205)));
  const p23 = f32x4.add(f32x4.splat(0.24022121727466583), f32x4.mul(f, f32x4.splat(0.05550742521882057)));
  const p45 = f32x4.add(f32x4.splat(0.009675459936261177), f32x4.mul(f, f32x4.splat(0.0013266970636323094)));
  const p = f32x4.add(f32x4.add(p01, f32x4.mul(f2, p23)), f32x4.mul(f32x4.mul(f2, f2), p45));
  // bits(t) = bits(1.5·2²³) + n: 2^n = (n + 127) << 23.
  return f32x4.mul(p, i32x4.shl(i32x4.sub(t, i32x4.splat(0x4b400000 - 127)), 23));
}

/** expWell4 over n f32 values at src into dst (for the test of its tolerance). */
export function mertensExpWell(src: usize, n: i32, dst: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), expWell4(v128.load(src + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), f32x4.extract_lane(expWell4(f32x4.splat(load<f32>(src + (<usize>i << 2)))), 0));
}

@inline
function levelW(w: i32, l: i32): i32 {
  for (let j = 0; j < l; j++) w = (w + 1) >> 1;
  return w;
}

/** f32 offset of level l in a pyramid whose level 0 is w×h, per channel plane (Σ_{j<l} n_j). */
@inline
function levelOffset(w: i32, h: i32, l: i32): i32 {
  let off = 0;
  for (let j = 0; j < l; j++) {
    off += w * h;
    w = (w + 1) >> 1;
    h = (h + 1) >> 1;
  }
  return off;
}

@inline
function pyramidSize(w: i32, h: i32, levels: i32): i32 {
  return levelOffset(w, h, levels + 1);
}

/** Plane (level l, channel c) of a C-channel pyramid at base: levels outermost, channels within. */
@inline
function planeAt(base: usize, w: i32, h: i32, C: i32, l: i32, c: i32): usize {
  const n = levelW(w, l) * levelW(h, l);
  return base + (<usize>(levelOffset(w, h, l) * C + c * n) << 2);
}

/** Bytes of scratch one thread needs for tiles up to tw×th with C channels and `levels` levels. */
export function mertensScratchBytes(tw: i32, th: i32, C: i32, levels: i32): i32 {
  const n0 = tw * th;
  const pyr = pyramidSize(tw, th, levels);
  // row buffer, grey ring (3 f64 rows), weight pyramid, the frame's level 0 (C planes) + one channel's
  // coarser levels (the channels are reduced one after the other), result pyramid (C)
  return ((tw + 80) << 2) + ((6 * tw + pyr + C * n0 + (pyr - n0) + C * pyr) << 2) + 64;
}

/** Level l of channel c of the tile's frame pyramid: level 0 per channel at gp, coarser levels (one channel at a time) at gc. */
@inline
function frameLevel(gp: usize, gc: usize, tw: i32, th: i32, l: i32, c: i32): usize {
  return l == 0 ? gp + (<usize>(c * tw * th) << 2) : gc + (<usize>(levelOffset(tw, th, l) - tw * th) << 2);
}

// code · (1/255) in f64 rounded to f32 (the table's value) equals the f32 division code / 255 for
// every 8-bit code (checked for all 256; both are the correctly rounded quotient): 4 lanes at once.
@inline
function codesToF32(z: v128, k255: v128): v128 {
  return f32x4.div(f32x4.convert_i32x4_u(z), k255);
}

/** Interleaved codes of window k → planar f32 planes (C × tw·th at dst) through the code → value table. */
function loadTile(codes: usize, wide: i32, W: i32, C: i32, lut: usize, tx0: i32, ty0: i32, tw: i32, th: i32, dst: usize): void {
  const n = <usize>(tw * th);
  for (let y = 0; y < th; y++) {
    const rowStart = <usize>((ty0 + y) * W + tx0) * <usize>C;
    const o = <usize>(y * tw);
    if (C == 3) {
      const d0 = dst + (o << 2);
      const d1 = d0 + (n << 2);
      const d2 = d1 + (n << 2);
      if (wide) {
        for (let x = 0; x < tw; x++) {
          const s = codes + ((rowStart + <usize>(x * 3)) << 1);
          const xo = <usize>x << 2;
          store<f32>(d0 + xo, load<f32>(lut + (<usize>load<u16>(s) << 2)));
          store<f32>(d1 + xo, load<f32>(lut + (<usize>load<u16>(s, 2) << 2)));
          store<f32>(d2 + xo, load<f32>(lut + (<usize>load<u16>(s, 4) << 2)));
        }
      } else {
        // 4 pixels a step: the 12 bytes of each channel's 4 codes spread to 32-bit lanes, then
        // code / 255 in f32 — the table's value exactly.
        const inv = f32x4.splat(255);
        let x = 0;
        for (; x + 4 <= tw; x += 4) {
          const v = v128.load(codes + rowStart + <usize>(x * 3));
          const xo = <usize>x << 2;
          v128.store(d0 + xo, codesToF32(i8x16.swizzle(v, i8x16(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1)), inv));
          v128.store(d1 + xo, codesToF32(i8x16.swizzle(v, i8x16(1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1)), inv));
          v128.store(d2 + xo, codesToF32(i8x16.swizzle(v, i8x16(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1)), inv));
        }
        for (; x < tw; x++) {
          const s = codes + rowStart + <usize>(x * 3);
          const xo = <usize>x << 2;
          store<f32>(d0 + xo, load<f32>(lut + (<usize>load<u8>(s) << 2)));
          store<f32>(d1 + xo, load<f32>(lut + (<usize>load<u8>(s, 1) << 2)));
          store<f32>(d2 + xo, load<f32>(lut + (<usize>load<u8>(s, 2) << 2)));
        }
      }
      continue;
    }
    for (let c = 0; c < C; c++) {
      const d = dst + ((<usize>c * n + o) << 2);
      for (let x = 0; x < tw; x++) {
        const i = rowStart + <usize>(x * C + c);
        const code = wide ? <usize>load<u16>(codes + (i << 1)) : <usize>load<u8>(codes + i);
        store<f32>(d + (<usize>x << 2), load<f32>(lut + (code << 2)));
      }
    }
  }
}

/**
 * The Mertens measures on 4 pixels (channel c's 4 values at p + c·n floats + o bytes): contrast
 * (already computed) × saturation (std of the channels) × well-exposedness (Π exp(−(v − ½)²/2σ²)
 * = exp(−Σ(v − ½)²/2σ²)), + 1e-12. Edge pixels go through the same code on splat lanes.
 */
@inline
function measure4(p: usize, n: usize, C: i32, o: usize, contrast: v128, unit: i32, pc: f64, ps: f64, pe: f64): v128 {
  if (C == 3) {
    const stride = n << 2;
    return measure3(v128.load(p + o), v128.load(p + stride + o), v128.load(p + (stride << 1) + o), contrast, unit, pc, ps, pe);
  }
  return measureC(p, n, C, o, contrast, unit, pc, ps, pe, false);
}

@inline
function measure3(v0: v128, v1: v128, v2: v128, contrast: v128, unit: i32, pc: f64, ps: f64, pe: f64): v128 {
  const half = f32x4.splat(0.5);
  // Σ(v − mean)² = ⅓ Σ_{i<j}(v_i − v_j)²: no rounded mean, so grey pixels (v0 = v1 = v2) get exactly 0
  // as in the reference (a rounded mean would leave ~1e-16 and a weight ~10× the reference's 1e-12).
  const a = f32x4.sub(v0, v1);
  const b = f32x4.sub(v1, v2);
  const c = f32x4.sub(v0, v2);
  const pairs = f32x4.add(f32x4.add(f32x4.mul(a, a), f32x4.mul(b, b)), f32x4.mul(c, c));
  const h0 = f32x4.sub(v0, half);
  const h1 = f32x4.sub(v1, half);
  const h2 = f32x4.sub(v2, half);
  const dist2 = f32x4.add(f32x4.add(f32x4.mul(h0, h0), f32x4.mul(h1, h1)), f32x4.mul(h2, h2));
  const wellExp = expWell4(f32x4.mul(dist2, f32x4.splat(<f32>(-1.0 / (2 * 0.2 * 0.2)))));
  const sat = f32x4.sqrt(f32x4.mul(pairs, f32x4.splat(<f32>(1.0 / 9.0))));
  return combine(contrast, sat, wellExp, unit, pc, ps, pe);
}

// Any channel count; `splatPixel`: one pixel (lane 0 of splat values at element o/4 of each plane).
@inline
function measureC(p: usize, n: usize, C: i32, o: usize, contrast: v128, unit: i32, pc: f64, ps: f64, pe: f64, splatPixel: bool): v128 {
  const inv = f32x4.splat(<f32>(1.0 / <f64>C));
  const half = f32x4.splat(0.5);
  let mean = f32x4.splat(0);
  for (let c = 0; c < C; c++) mean = f32x4.add(mean, splatPixel ? v128.load32_splat(p + ((<usize>c * n) << 2) + o) : v128.load(p + ((<usize>c * n) << 2) + o));
  mean = f32x4.mul(mean, inv);
  let variance = f32x4.splat(0);
  let dist2 = f32x4.splat(0);
  for (let c = 0; c < C; c++) {
    const v = splatPixel ? v128.load32_splat(p + ((<usize>c * n) << 2) + o) : v128.load(p + ((<usize>c * n) << 2) + o);
    const dv = f32x4.sub(v, mean);
    const dh = f32x4.sub(v, half);
    variance = f32x4.add(variance, f32x4.mul(dv, dv));
    dist2 = f32x4.add(dist2, f32x4.mul(dh, dh));
  }
  const wellExp = expWell4(f32x4.mul(dist2, f32x4.splat(<f32>(-1.0 / (2 * 0.2 * 0.2)))));
  const sat = C >= 3 ? f32x4.sqrt(f32x4.mul(variance, inv)) : f32x4.splat(1);
  return combine(contrast, sat, wellExp, unit, pc, ps, pe);
}

@inline
function combine(contrast: v128, sat: v128, wellExp: v128, unit: i32, pc: f64, ps: f64, pe: f64): v128 {
  if (unit) return f32x4.add(f32x4.mul(f32x4.mul(contrast, sat), wellExp), f32x4.splat(1e-12));
  // Other powers: per lane in f64, as the reference.
  let r = f32x4.splat(0);
  r = f32x4.replace_lane(r, 0, <f32>(Math.pow(<f64>f32x4.extract_lane(contrast, 0), pc) * Math.pow(<f64>f32x4.extract_lane(sat, 0), ps) * Math.pow(<f64>f32x4.extract_lane(wellExp, 0), pe) + 1e-12));
  r = f32x4.replace_lane(r, 1, <f32>(Math.pow(<f64>f32x4.extract_lane(contrast, 1), pc) * Math.pow(<f64>f32x4.extract_lane(sat, 1), ps) * Math.pow(<f64>f32x4.extract_lane(wellExp, 1), pe) + 1e-12));
  r = f32x4.replace_lane(r, 2, <f32>(Math.pow(<f64>f32x4.extract_lane(contrast, 2), pc) * Math.pow(<f64>f32x4.extract_lane(sat, 2), ps) * Math.pow(<f64>f32x4.extract_lane(wellExp, 2), pe) + 1e-12));
  r = f32x4.replace_lane(r, 3, <f32>(Math.pow(<f64>f32x4.extract_lane(contrast, 3), pc) * Math.pow(<f64>f32x4.extract_lane(sat, 3), ps) * Math.pow(<f64>f32x4.extract_lane(wellExp, 3), pe) + 1e-12));
  return r;
}

@inline
function highHalf(v: v128): v128 {
  return f32x4.shuffle(v, v, 2, 3, 0, 1);
}

/** Grey row r of the 3-row f64 ring at `ring` (row r in slot r % 3, w values a slot). */
@inline
function ringRow(ring: usize, w: i32, r: i32): usize {
  return ring + (<usize>((r % 3) * w) << 3);
}

/**
 * Grey of row y of the planar tile at p (C planes of n values, rows of w) into its ring slot: the
 * reference's f64 grey rounded to f32 (as it stores it), kept promoted to f64 so the contrast loop
 * reads f64 lanes straight (no promotes or half shuffles there; the values are the same).
 */
function greyRow(p: usize, n: usize, w: i32, C: i32, y: i32, ring: usize): void {
  const src = p + (<usize>(y * w) << 2);
  const dst = ringRow(ring, w, y);
  let x = 0;
  if (C >= 3) {
    const k0 = f64x2.splat(0.299);
    const k1 = f64x2.splat(0.587);
    const k2 = f64x2.splat(0.114);
    for (; x + 4 <= w; x += 4) {
      const o = <usize>x << 2;
      const a = v128.load(src + o);
      const b = v128.load(src + (n << 2) + o);
      const c = v128.load(src + (n << 3) + o);
      const lo = f64x2.add(f64x2.add(f64x2.mul(k0, f64x2.promote_low_f32x4(a)), f64x2.mul(k1, f64x2.promote_low_f32x4(b))), f64x2.mul(k2, f64x2.promote_low_f32x4(c)));
      const hi = f64x2.add(f64x2.add(f64x2.mul(k0, f64x2.promote_low_f32x4(highHalf(a))), f64x2.mul(k1, f64x2.promote_low_f32x4(highHalf(b)))), f64x2.mul(k2, f64x2.promote_low_f32x4(highHalf(c))));
      v128.store(dst + (o << 1), f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(lo)));
      v128.store(dst + (o << 1) + 16, f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(hi)));
    }
    // The row's last pixels through the same lane code (splat), so they equal the lanes bit for bit.
    for (; x < w; x++) {
      const o = <usize>x << 2;
      const a = f64x2.promote_low_f32x4(v128.load32_splat(src + o));
      const b = f64x2.promote_low_f32x4(v128.load32_splat(src + (n << 2) + o));
      const c = f64x2.promote_low_f32x4(v128.load32_splat(src + (n << 3) + o));
      const g = f64x2.add(f64x2.add(f64x2.mul(k0, a), f64x2.mul(k1, b)), f64x2.mul(k2, c));
      store<f64>(dst + (o << 1), f64x2.extract_lane(f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(g)), 0));
    }
    return;
  }
  for (; x < w; x++) store<f64>(dst + (<usize>x << 3), <f64>load<f32>(src + (<usize>x << 2)));
}

/** Contrast |Σ4 neighbours − 4·centre| of the grey ring at pixel (x, y), in f64 as the reference. */
@inline
function contrastAt(ring: usize, w: i32, h: i32, x: i32, y: i32): f64 {
  const up = ringRow(ring, w, refl(y - 1, h));
  const dn = ringRow(ring, w, refl(y + 1, h));
  const mid = ringRow(ring, w, y);
  const xl = <usize>refl(x - 1, w) << 3;
  const xr = <usize>refl(x + 1, w) << 3;
  const xo = <usize>x << 3;
  return Math.abs(load<f64>(up + xo) + load<f64>(dn + xo) + load<f64>(mid + xl) + load<f64>(mid + xr) - 4 * load<f64>(mid + xo));
}

/**
 * Fusion weights of the planar tile at p (C planes of w×h) into out (w×h), each × norm's value at
 * the same pixel when norm ≠ 0 (rows normStride floats apart: the window's 1/Σ); `gray` is scratch of
 * ≥ 6·w floats (a ring of 3 grey rows in f64, computed one row ahead of the weights, so the
 * grey stays in cache and no whole grey plane is stored). Grey and contrast in f64 exactly as the
 * reference (contrast is a difference of near-equal values); saturation and well-exposedness in f32
 * lanes.
 */
function weights(p: usize, w: i32, h: i32, C: i32, gray: usize, out: usize, unit: i32, pc: f64, ps: f64, pe: f64, norm: usize = 0, normStride: i32 = 0): void {
  const n = <usize>(w * h);
  const four = f64x2.splat(4);
  greyRow(p, n, w, C, 0, gray);
  if (h > 1) greyRow(p, n, w, C, 1, gray);
  for (let y = 0; y < h; y++) {
    // Row y + 1 takes the slot of row y − 2, no longer needed (rows 0 and 1 are there already).
    if (y >= 1 && y + 1 < h) greyRow(p, n, w, C, y + 1, gray);
    const ro = <usize>(y * w);
    const up = ringRow(gray, w, refl(y - 1, h));
    const dn = ringRow(gray, w, refl(y + 1, h));
    const mid = ringRow(gray, w, y);
    const nr = norm ? norm + (<usize>(y * normStride) << 2) : 0;
    // Edge pixels (first and last, and what is left of a row) one at a time, through the same lane code.
    oneWeight(p, n, C, ro, 0, gray, w, h, y, out, unit, pc, ps, pe, nr);
    let x = 1;
    for (; x + 5 <= w; x += 4) {
      // x ≥ 1 and x + 4 ≤ w − 1: neighbours x−1 and x+4 exist without reflection.
      const o = <usize>x << 3;
      const lo = f64x2.abs(f64x2.sub(f64x2.add(f64x2.add(f64x2.add(v128.load(up + o), v128.load(dn + o)), v128.load(mid + o - 8)), v128.load(mid + o + 8)), f64x2.mul(four, v128.load(mid + o))));
      const hi = f64x2.abs(f64x2.sub(f64x2.add(f64x2.add(f64x2.add(v128.load(up + o + 16), v128.load(dn + o + 16)), v128.load(mid + o + 8)), v128.load(mid + o + 24)), f64x2.mul(four, v128.load(mid + o + 16))));
      const contrast = f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
      const m = measure4(p, n, C, (ro + <usize>x) << 2, contrast, unit, pc, ps, pe);
      v128.store(out + ((ro + <usize>x) << 2), nr ? f32x4.mul(m, v128.load(nr + (<usize>x << 2))) : m);
    }
    for (; x < w; x++) oneWeight(p, n, C, ro, x, gray, w, h, y, out, unit, pc, ps, pe, nr);
  }
}

// One pixel through the 4-lane code (lane 0 of a splat), so edge and interior pixels agree bit for bit.
@inline
function oneWeight(p: usize, n: usize, C: i32, ro: usize, x: i32, gray: usize, w: i32, h: i32, y: i32, out: usize, unit: i32, pc: f64, ps: f64, pe: f64, nr: usize): void {
  const i = ro + <usize>x;
  const contrast = f32x4.splat(<f32>contrastAt(gray, w, h, x, y));
  const v = measure4Scalar(p, n, C, i, contrast, unit, pc, ps, pe);
  store<f32>(out + (i << 2), nr ? v * load<f32>(nr + (<usize>x << 2)) : v);
}

@inline
function measure4Scalar(p: usize, n: usize, C: i32, i: usize, contrast: v128, unit: i32, pc: f64, ps: f64, pe: f64): f32 {
  const o = i << 2;
  if (C == 3) {
    const stride = n << 2;
    return f32x4.extract_lane(measure3(v128.load32_splat(p + o), v128.load32_splat(p + stride + o), v128.load32_splat(p + (stride << 1) + o), contrast, unit, pc, ps, pe), 0);
  }
  return f32x4.extract_lane(measureC(p, n, C, o, contrast, unit, pc, ps, pe, true), 0);
}

/** The fusion weights of one planar tile (for the test against the reference). */
export function mertensWeights(p: usize, w: i32, h: i32, C: i32, gray: usize, out: usize, unit: i32, pc: f64, ps: f64, pe: f64): void {
  weights(p, w, h, C, gray, out, unit, pc, ps, pe);
}

/**
 * 1/Σ_k weights of window rows [y0, y1) (full width W; windows th rows) into sum (W × th, row r at
 * sum + 4·r·W), frames added in order as the reference does. Rows are done `chunk` at a time with
 * one row of context above and below (reflected at the window's edges, as a tile's would be).
 */
export function mertensWeightSum(
  windows: usize, n: i32, wide: i32, W: i32, C: i32, lut: usize, th: i32, y0: i32, y1: i32, sum: usize, chunk: i32,
  unit: i32, pc: f64, ps: f64, pe: f64, scratch: usize,
): void {
  const base = (scratch + 15) & ~15;
  const cap = <usize>(W * (chunk + 2));
  const gray = base;
  const gw = gray + (max(cap, <usize>(6 * W)) << 2);
  const gp = gw + (cap << 2);
  for (let a = y0; a < y1; a += chunk) {
    const b = min(y1, a + chunk);
    const la = max(0, a - 1);
    const lb = min(th, b + 1);
    const rowsOut = <usize>((b - a) * W);
    const dst = sum + (<usize>(a * W) << 2);
    memory.fill(dst, 0, rowsOut << 2);
    const src = gw + (<usize>((a - la) * W) << 2);
    for (let k = 0; k < n; k++) {
      loadTile(load<u32>(windows + (<usize>k << 2)), wide, W, C, lut, 0, la, W, lb - la, gp);
      weights(gp, W, lb - la, C, gray, gw, unit, pc, ps, pe);
      let i: usize = 0;
      for (; i + 4 <= rowsOut; i += 4) {
        const o = i << 2;
        v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
      }
      for (; i < rowsOut; i++) {
        const o = i << 2;
        store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
      }
    }
    // Kept as 1/Σ: one division per pixel here instead of one per frame and tile.
    const one = f32x4.splat(1);
    let i: usize = 0;
    for (; i + 4 <= rowsOut; i += 4) v128.store(dst + (i << 2), f32x4.div(one, v128.load(dst + (i << 2))));
    for (; i < rowsOut; i++) store<f32>(dst + (i << 2), <f32>1 / load<f32>(dst + (i << 2)));
  }
}

// Row buffer margin of lib/planes.ts (8 f32 in front, for r[-2], r[-1]).
const LAP_RB_MARGIN: usize = 32;

@inline
function lapPadRow(r: usize, n: i32): void {
  store<f32>(r - 4, load<f32>(r + (<usize>refl(-1, n) << 2)));
  store<f32>(r - 8, load<f32>(r + (<usize>refl(-2, n) << 2)));
  store<f32>(r + (<usize>n << 2), load<f32>(r + (<usize>refl(n, n) << 2)));
  store<f32>(r + (<usize>(n + 1) << 2), load<f32>(r + (<usize>refl(n + 1, n) << 2)));
}

/**
 * acc += wt · (g − expand(src)) over rows [0, h) of a w×h level: expandAddRows(src, …, g, …, −1)
 * followed by mulAdd(acc, wt, g), in one pass and with the same operations in the same order (the
 * result is bit-identical), so the Laplacian level is never stored and read back. g is left as is.
 */
function laplacianMulAdd(src: usize, sw: i32, sh: i32, g: usize, w: i32, h: i32, k0: f32, k1: f32, k2: f32, rb: usize, acc: usize, wt: usize): void {
  const c0 = k0 * 2;
  const c1 = k1 * 2;
  const c2 = k2 * 2;
  const v0 = f32x4.splat(c0);
  const v1 = f32x4.splat(c1);
  const v2 = f32x4.splat(c2);
  const sign: f32 = -1;
  const vs = f32x4.splat(sign);
  const r = rb + LAP_RB_MARGIN;
  for (let y = 0; y < h; y++) {
    const m = y >> 1;
    let x = 0;
    if (y & 1) {
      const s0 = src + ((<usize>refl(m, sh) * <usize>sw) << 2);
      const s1 = src + ((<usize>refl(m + 1, sh) * <usize>sw) << 2);
      for (; x + 4 <= sw; x += 4) {
        const o = <usize>x << 2;
        v128.store(r + o, f32x4.mul(v1, f32x4.add(v128.load(s0 + o), v128.load(s1 + o))));
      }
      for (; x < sw; x++) {
        const o = <usize>x << 2;
        store<f32>(r + o, c1 * (load<f32>(s0 + o) + load<f32>(s1 + o)));
      }
    } else {
      const sl = src + ((<usize>refl(m - 1, sh) * <usize>sw) << 2);
      const sm = src + ((<usize>refl(m, sh) * <usize>sw) << 2);
      const sr = src + ((<usize>refl(m + 1, sh) * <usize>sw) << 2);
      for (; x + 4 <= sw; x += 4) {
        const o = <usize>x << 2;
        v128.store(r + o, f32x4.add(f32x4.mul(v2, v128.load(sm + o)), f32x4.mul(v0, f32x4.add(v128.load(sl + o), v128.load(sr + o)))));
      }
      for (; x < sw; x++) {
        const o = <usize>x << 2;
        store<f32>(r + o, c2 * load<f32>(sm + o) + c0 * (load<f32>(sl + o) + load<f32>(sr + o)));
      }
    }
    lapPadRow(r, sw);
    const ro = (<usize>y * <usize>w) << 2;
    const d = g + ro;
    const a = acc + ro;
    const ww = wt + ro;
    let mm = 0;
    for (; 2 * (mm + 4) <= w; mm += 4) {
      const p = r + (<usize>mm << 2);
      const Rm = v128.load(p);
      const Rl = v128.load(p - 4);
      const Rr = v128.load(p + 4);
      const ev = f32x4.add(f32x4.mul(v2, Rm), f32x4.mul(v0, f32x4.add(Rl, Rr)));
      const od = f32x4.mul(v1, f32x4.add(Rm, Rr));
      const o = <usize>(2 * mm) << 2;
      const lap0 = f32x4.add(v128.load(d + o), f32x4.mul(vs, f32x4.shuffle(ev, od, 0, 4, 1, 5)));
      const lap1 = f32x4.add(v128.load(d + o + 16), f32x4.mul(vs, f32x4.shuffle(ev, od, 2, 6, 3, 7)));
      v128.store(a + o, f32x4.add(v128.load(a + o), f32x4.mul(v128.load(ww + o), lap0)));
      v128.store(a + o + 16, f32x4.add(v128.load(a + o + 16), f32x4.mul(v128.load(ww + o + 16), lap1)));
    }
    for (let xx = 2 * mm; xx < w; xx++) {
      const hh = xx >> 1;
      const p = r + (<usize>hh << 2);
      const v = xx & 1 ? c1 * (load<f32>(p) + load<f32>(p + 4)) : c2 * load<f32>(p) + c0 * (load<f32>(p - 4) + load<f32>(p + 4));
      const o = <usize>xx << 2;
      const lap = load<f32>(d + o) + sign * v;
      store<f32>(a + o, load<f32>(a + o) + load<f32>(ww + o) * lap);
    }
  }
}

/**
 * Fuse one tile (after mertensWeightSum over its rows): window k's codes at load<u32>(windows + 4k) (rows of W·C codes, u8 or u16 when
 * `wide`), tile [tx0, tx0+tw) × [ty0, ty0+th) in window rows; its core [cx0, cx0+cw) × [cy0, cy0+ch)
 * (tile coordinates) is written interleaved to out (f32, outStride floats per row).
 */
export function mertensTile(
  windows: usize, n: i32, wide: i32, W: i32, C: i32, lut: usize,
  tx0: i32, ty0: i32, tw: i32, th: i32, levels: i32, k0: f32, k1: f32, k2: f32,
  unit: i32, pc: f64, ps: f64, pe: f64,
  out: usize, outStride: i32, cx0: i32, cy0: i32, cw: i32, ch: i32, sum: usize, scratch: usize, outBytes: usize,
): void {
  const n0 = tw * th;
  const pyr = pyramidSize(tw, th, levels);
  const rb = (scratch + 15) & ~15;
  const gray = rb + (<usize>(tw + 80) << 2);
  const gw = gray + (<usize>(6 * tw) << 2);
  const gp = gw + (<usize>pyr << 2);
  const gc = gp + (<usize>(C * n0) << 2);
  const rp = gc + (<usize>(pyr - n0) << 2);
  // Pass 2: each frame's normalised weight pyramid × its Laplacian pyramid into the result pyramid.
  zero(rp, pyr * C);
  for (let k = 0; k < n; k++) {
    loadTile(load<u32>(windows + (<usize>k << 2)), wide, W, C, lut, tx0, ty0, tw, th, gp);
    // Normalised as they are made: × 1/Σ_k w_k (mertensWeightSum over the window, W floats per row).
    weights(gp, tw, th, C, gray, gw, unit, pc, ps, pe, sum + (<usize>(ty0 * W + tx0) << 2), W);
    for (let l = 0; l < levels; l++) {
      const lw = levelW(tw, l);
      const lh = levelW(th, l);
      reduceRows(planeAt(gw, tw, th, 1, l, 0), lw, lh, planeAt(gw, tw, th, 1, l + 1, 0), 0, (lh + 1) >> 1, k0, k1, k2, rb);
    }
    for (let c = 0; c < C; c++) {
      for (let l = 0; l < levels; l++) {
        const lw = levelW(tw, l);
        const lh = levelW(th, l);
        const g = frameLevel(gp, gc, tw, th, l, c);
        const next = frameLevel(gp, gc, tw, th, l + 1, c);
        reduceRows(g, lw, lh, next, 0, (lh + 1) >> 1, k0, k1, k2, rb);
        // The Laplacian level (g − expand(next)) × the weight level, added to the result: one pass.
        laplacianMulAdd(next, (lw + 1) >> 1, (lh + 1) >> 1, g, lw, lh, k0, k1, k2, rb, planeAt(rp, tw, th, C, l, c), planeAt(gw, tw, th, 1, l, 0));
      }
      const lw = levelW(tw, levels);
      const lh = levelW(th, levels);
      mulAdd(planeAt(rp, tw, th, C, levels, c), planeAt(gw, tw, th, 1, levels, 0), frameLevel(gp, gc, tw, th, levels, c), 0, lw * lh);
    }
  }
  // Collapse the result, then write the core interleaved.
  for (let c = 0; c < C; c++) {
    for (let l = levels - 1; l >= 0; l--) {
      const lw = levelW(tw, l);
      const lh = levelW(th, l);
      expandAddRows(planeAt(rp, tw, th, C, l + 1, c), (lw + 1) >> 1, (lh + 1) >> 1, planeAt(rp, tw, th, C, l, c), lw, 0, lh, k0, k1, k2, 1, rb);
    }
  }
  const nn = <usize>n0;
  if (outBytes) {
    // Only the JPEG's 8-bit samples (as mertensBytes makes from the floats), outStride bytes a row.
    for (let y = 0; y < ch; y++) {
      const src = <usize>((cy0 + y) * tw + cx0);
      const dst = outBytes + <usize>y * <usize>outStride;
      for (let c = 0; c < C; c++) planeBytes(rp + ((<usize>c * nn + src) << 2), cw, C, dst + <usize>c);
    }
    return;
  }
  for (let y = 0; y < ch; y++) {
    const src = <usize>((cy0 + y) * tw + cx0);
    const dst = out + ((<usize>y * <usize>outStride) << 2);
    if (C == 3) {
      for (let x = 0; x < cw; x++) {
        const s = rp + ((src + <usize>x) << 2);
        const d = dst + (<usize>(x * 3) << 2);
        store<f32>(d, load<f32>(s));
        store<f32>(d, load<f32>(s + (nn << 2)), 4);
        store<f32>(d, load<f32>(s + (nn << 3)), 8);
      }
    } else {
      for (let x = 0; x < cw; x++) for (let c = 0; c < C; c++) store<f32>(dst + (<usize>(x * C + c) << 2), load<f32>(rp + ((<usize>c * nn + src + <usize>x) << 2)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Focus stacking: steps of PyramidFuser on row ranges of full-width planar bands.

/**
 * Region energy of rows [y0, y1): Σ over the C planes (w×h, plane stride n floats) of v², box-averaged
 * over size×size (reflect-101), then the max-energy select row by row: where it beats `best` (w×h),
 * best takes it and the C `fused` planes take p's coefficients (`first`: take them all). size ≤ 17.
 * `rb` holds the row buffer, a ring of the last `size` rows of Σ_c v² (each source row squared once
 * per band, not `size` times) and the energy row.
 */
export function energySelectRows(p: usize, w: i32, h: i32, C: i32, size: i32, best: usize, fused: usize, first: i32, y0: i32, y1: i32, rb: usize): void {
  const n = <usize>(w * h);
  const r = size >> 1;
  const rowBuf = rb + 32;
  const rowBytes = ((<usize>(w + 40) << 2) + 15) & ~15;
  const ring = rowBuf + rowBytes;
  const tags = ring + <usize>size * rowBytes;
  const e = (tags + (<usize>size << 2) + 15) & ~15;
  // The ring rows one output row sums, in order j = −r..r (after the energy row).
  const rows = e + rowBytes;
  for (let k = 0; k < size; k++) store<i32>(tags + (<usize>k << 2), -1);
  const inv = <f32>(1.0 / (<f64>size * <f64>size));
  const vinv = f32x4.splat(inv);
  const stride = n << 2;
  for (let y = y0; y < y1; y++) {
    // Σ_c v² of each source row once per band, cached by source row (slot = row mod size; the rows
    // one output row needs are at most `size` consecutive ones). One pass, the channels summed in
    // order from the first (as 0 + v₀² + v₁² + … is).
    for (let j = -r; j <= r; j++) {
      const src = refl(y + j, h);
      const slot = src % size;
      const sq = ring + <usize>slot * rowBytes;
      store<usize>(rows + (<usize>(j + r) << 2), sq);
      if (load<i32>(tags + (<usize>slot << 2)) == src) continue;
      store<i32>(tags + (<usize>slot << 2), src);
      const s0 = p + ((<usize>src * <usize>w) << 2);
      let x = 0;
      if (C == 3) {
        const s1 = s0 + stride;
        const s2 = s1 + stride;
        for (; x + 4 <= w; x += 4) {
          const o = <usize>x << 2;
          const a = v128.load(s0 + o);
          const b = v128.load(s1 + o);
          const c = v128.load(s2 + o);
          v128.store(sq + o, f32x4.add(f32x4.add(f32x4.mul(a, a), f32x4.mul(b, b)), f32x4.mul(c, c)));
        }
      } else if (C == 1) {
        for (; x + 4 <= w; x += 4) {
          const o = <usize>x << 2;
          const a = v128.load(s0 + o);
          v128.store(sq + o, f32x4.mul(a, a));
        }
      }
      for (; x < w; x++) {
        const o = <usize>x << 2;
        const v = load<f32>(s0 + o);
        let acc = v * v;
        for (let c = 1; c < C; c++) {
          const u = load<f32>(s0 + <usize>c * stride + o);
          acc += u * u;
        }
        store<f32>(sq + o, acc);
      }
    }
    // Vertical: Σ_j ring rows, summed in order from the first, in one pass.
    let x = 0;
    if (size == 5) {
      const q0 = load<usize>(rows);
      const q1 = load<usize>(rows, 4);
      const q2 = load<usize>(rows, 8);
      const q3 = load<usize>(rows, 12);
      const q4 = load<usize>(rows, 16);
      for (; x + 4 <= w; x += 4) {
        const o = <usize>x << 2;
        v128.store(rowBuf + o, f32x4.add(f32x4.add(f32x4.add(f32x4.add(v128.load(q0 + o), v128.load(q1 + o)), v128.load(q2 + o)), v128.load(q3 + o)), v128.load(q4 + o)));
      }
    } else {
      for (; x + 4 <= w; x += 4) {
        const o = <usize>x << 2;
        let acc = v128.load(load<usize>(rows) + o);
        for (let j = 1; j < size; j++) acc = f32x4.add(acc, v128.load(load<usize>(rows + (<usize>j << 2)) + o));
        v128.store(rowBuf + o, acc);
      }
    }
    for (; x < w; x++) {
      const o = <usize>x << 2;
      let acc = load<f32>(load<usize>(rows) + o);
      for (let j = 1; j < size; j++) acc += load<f32>(load<usize>(rows + (<usize>j << 2)) + o);
      store<f32>(rowBuf + o, acc);
    }
    for (let j = 1; j <= r; j++) {
      store<f32>(rowBuf - (<usize>j << 2), load<f32>(rowBuf + (<usize>refl(-j, w) << 2)));
      store<f32>(rowBuf + (<usize>(w - 1 + j) << 2), load<f32>(rowBuf + (<usize>refl(w - 1 + j, w) << 2)));
    }
    // Horizontal box over the padded row, summed in order from the first tap.
    const d = e;
    x = 0;
    if (size == 5) {
      for (; x + 4 <= w; x += 4) {
        const q = rowBuf + (<usize>x << 2);
        const s = f32x4.add(f32x4.add(f32x4.add(f32x4.add(v128.load(q - 8), v128.load(q - 4)), v128.load(q)), v128.load(q + 4)), v128.load(q + 8));
        v128.store(d + (<usize>x << 2), f32x4.mul(s, vinv));
      }
    } else {
      for (; x + 4 <= w; x += 4) {
        let s = v128.load(rowBuf + (<usize>(x - r) << 2));
        for (let j = -r + 1; j <= r; j++) s = f32x4.add(s, v128.load(rowBuf + (<usize>(x + j) << 2)));
        v128.store(d + (<usize>x << 2), f32x4.mul(s, vinv));
      }
    }
    for (; x < w; x++) {
      let s = load<f32>(rowBuf + (<usize>(x - r) << 2));
      for (let j = -r + 1; j <= r; j++) s += load<f32>(rowBuf + (<usize>(x + j) << 2));
      store<f32>(d + (<usize>x << 2), s * inv);
    }
    const row = <usize>(y * w);
    if (first) {
      memory.copy(best + (row << 2), e, <usize>w << 2);
      for (let c = 0; c < C; c++) memory.copy(fused + ((<usize>c * n + row) << 2), p + ((<usize>c * n + row) << 2), <usize>w << 2);
    } else selectMax(e - (row << 2), best, p, fused, C, <i32>n, <i32>row, <i32>row + w);
  }
}
/**
 * Max-energy select over samples [start, end) of one level: where e > best, best = e and each of the
 * C fused planes takes the candidate's coefficient (planes n floats apart).
 */
export function selectMax(e: usize, best: usize, cand: usize, fused: usize, C: i32, n: i32, start: i32, end: i32): void {
  const stride = <usize>n << 2;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const ev = v128.load(e + o);
    const bv = v128.load(best + o);
    const m = f32x4.gt(ev, bv);
    if (!v128.any_true(m)) continue;
    v128.store(best + o, v128.bitselect(ev, bv, m));
    for (let c = 0; c < C; c++) {
      const co = <usize>c * stride + o;
      v128.store(fused + co, v128.bitselect(v128.load(cand + co), v128.load(fused + co), m));
    }
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const ev = load<f32>(e + o);
    if (ev > load<f32>(best + o)) {
      store<f32>(best + o, ev);
      for (let c = 0; c < C; c++) store<f32>(fused + <usize>c * stride + o, load<f32>(cand + <usize>c * stride + o));
    }
  }
}

/** Interleaved rows (n pixels × C at src) → C planes (plane stride `stride` floats, from dst). */
export function deinterleave(src: usize, n: i32, C: i32, dst: usize, stride: i32): void {
  const ps = <usize>stride << 2;
  if (C == 3) {
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const s = src + (<usize>(i * 3) << 2);
      const a = v128.load(s);
      const b = v128.load(s, 16);
      const c = v128.load(s, 32);
      // a = r0 g0 b0 r1, b = g1 b1 r2 g2, c = b2 r3 g3 b3
      const o = dst + (<usize>i << 2);
      v128.store(o, f32x4.shuffle(f32x4.shuffle(a, b, 0, 3, 6, 6), c, 0, 1, 2, 5));
      v128.store(o + ps, f32x4.shuffle(f32x4.shuffle(a, b, 1, 4, 7, 7), c, 0, 1, 2, 6));
      v128.store(o + (ps << 1), f32x4.shuffle(f32x4.shuffle(a, b, 2, 5, 5, 5), c, 0, 1, 4, 7));
    }
    for (; i < n; i++) for (let ch = 0; ch < 3; ch++) store<f32>(dst + <usize>ch * ps + (<usize>i << 2), load<f32>(src + (<usize>(i * 3 + ch) << 2)));
    return;
  }
  for (let i = 0; i < n; i++) for (let ch = 0; ch < C; ch++) store<f32>(dst + <usize>ch * ps + (<usize>i << 2), load<f32>(src + (<usize>(i * C + ch) << 2)));
}

/** C planes (stride `stride` floats, from src) → interleaved n pixels at dst. */
export function interleave(src: usize, stride: i32, n: i32, C: i32, dst: usize): void {
  const ps = <usize>stride << 2;
  if (C == 3) {
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = src + (<usize>i << 2);
      const r = v128.load(o);
      const g = v128.load(o + ps);
      const b = v128.load(o + (ps << 1));
      // out: r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3
      const d = dst + (<usize>(i * 3) << 2);
      v128.store(d, f32x4.shuffle(f32x4.shuffle(r, g, 0, 4, 1, 5), b, 0, 1, 4, 2));
      v128.store(d, f32x4.shuffle(f32x4.shuffle(g, b, 1, 5, 2, 6), r, 0, 1, 6, 2), 16);
      v128.store(d, f32x4.shuffle(f32x4.shuffle(b, r, 2, 7, 3, 3), g, 0, 1, 7, 2), 32);
    }
    for (; i < n; i++) for (let ch = 0; ch < 3; ch++) store<f32>(dst + (<usize>(i * 3 + ch) << 2), load<f32>(src + <usize>ch * ps + (<usize>i << 2)));
    return;
  }
  for (let i = 0; i < n; i++) for (let ch = 0; ch < C; ch++) store<f32>(dst + (<usize>(i * C + ch) << 2), load<f32>(src + <usize>ch * ps + (<usize>i << 2)));
}

/** Pixels [start, end) of interleaved codes (u8, or u16 when `wide`) with any channel ≥ level. */
export function countSaturated(codes: usize, wide: i32, start: i32, end: i32, C: i32, level: i32): i32 {
  let count = 0;
  for (let p = start; p < end; p++) {
    let sat = 0;
    const i = <usize>(p * C);
    for (let c = 0; c < C; c++) {
      const v = wide ? <i32>load<u16>(codes + ((i + <usize>c) << 1)) : <i32>load<u8>(codes + i + <usize>c);
      sat |= <i32>(v >= level);
    }
    count += sat;
  }
  return count;
}

/**
 * The fused strip's f32 samples [0, n) → 8-bit encoder samples at dst, as pipeline/image/pnm.ts
 * floatToPnm (1 byte a sample) does: v ≤ 0 → 0, v ≥ 1 → 255, else Math.round(v·255) in f64 (ties
 * toward +∞; NaN → 0 as a Uint8Array store makes it). Byte for byte the reference's.
 */
export function mertensBytes(src: usize, n: i32, dst: usize): void {
  const k = f64x2.splat(255);
  const half = f64x2.splat(0.5);
  const one = f64x2.splat(1);
  const hi = f64x2.splat(255);
  const lo = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(src + (<usize>i << 2));
    const a = roundByte(f64x2.promote_low_f32x4(v), k, half, one, lo, hi);
    const b = roundByte(f64x2.promote_low_f32x4(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)), k, half, one, lo, hi);
    const q = i32x4.trunc_sat_f64x2_s_zero(a);
    const r = i32x4.trunc_sat_f64x2_s_zero(b);
    // lanes q0 q1 r0 r1 → four bytes
    const w = i16x8.narrow_i32x4_u(i8x16.shuffle(q, r, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23), q);
    v128.store32_lane(dst + <usize>i, i8x16.narrow_i16x8_u(w, w), 0);
  }
  for (; i < n; i++) {
    const v = f64x2.splat(<f64>load<f32>(src + (<usize>i << 2)));
    store<u8>(dst + <usize>i, <u8>i32x4.extract_lane(i32x4.trunc_sat_f64x2_s_zero(roundByte(v, k, half, one, lo, hi)), 0));
  }
}

// n floats at src → floatToPnm's bytes at dst, dst + stride, … (one channel into interleaved samples).
function planeBytes(src: usize, n: i32, stride: i32, dst: usize): void {
  const k = f64x2.splat(255);
  const half = f64x2.splat(0.5);
  const one = f64x2.splat(1);
  const hi = f64x2.splat(255);
  const lo = f64x2.splat(0);
  const st = <usize>stride;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(src + (<usize>i << 2));
    const q = i32x4.trunc_sat_f64x2_s_zero(roundByte(f64x2.promote_low_f32x4(v), k, half, one, lo, hi));
    const r = i32x4.trunc_sat_f64x2_s_zero(roundByte(f64x2.promote_low_f32x4(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)), k, half, one, lo, hi));
    const d = dst + <usize>i * st;
    store<u8>(d, <u8>i32x4.extract_lane(q, 0));
    store<u8>(d + st, <u8>i32x4.extract_lane(q, 1));
    store<u8>(d + 2 * st, <u8>i32x4.extract_lane(r, 0));
    store<u8>(d + 3 * st, <u8>i32x4.extract_lane(r, 1));
  }
  for (; i < n; i++) {
    const v = f64x2.splat(<f64>load<f32>(src + (<usize>i << 2)));
    store<u8>(dst + <usize>i * st, <u8>i32x4.extract_lane(i32x4.trunc_sat_f64x2_s_zero(roundByte(v, k, half, one, lo, hi)), 0));
  }
}

// Two lanes of floatToPnm's byte: 0 where v ≤ 0 (and NaN), 255 where v ≥ 1, else floor(y) + (y − floor(y) ≥ ½), y = v·255.
@inline
function roundByte(v: v128, k: v128, half: v128, one: v128, lo: v128, hi: v128): v128 {
  const y = f64x2.mul(v, k);
  const f = f64x2.floor(y);
  let r = f64x2.add(f, v128.and(f64x2.ge(f64x2.sub(y, f), half), one));
  r = v128.bitselect(hi, r, f64x2.ge(v, one));
  return v128.bitselect(lo, r, f64x2.le(v, lo));
}

// ---------------------------------------------------------------------------------------------
// Focus stacking: frames come in as their 8/16-bit codes and the fused band leaves as encoder
// samples, so no per-band float copy of a frame exists outside this memory.

// code / max in f32 lanes: the correctly rounded f32 quotient, which is what the reference's f64
// quotient rounded to f32 gives too (double rounding through ≥ 2·24 + 2 bits is exact for division).
@inline
function codesDiv(z: v128, div: v128): v128 {
  return f32x4.div(f32x4.convert_i32x4_u(z), div);
}

/**
 * Rows [y0, y1) of interleaved codes (W·C a row from `codes`; u8, or u16 when `wide`) → C planar f32
 * planes (plane stride n floats from dst, row y at y·W): code / 255 (65535) rounded to f32, bit for
 * bit frame-store.ts codesToPlane (tested on every code). 8-bit RGB reads 16 bytes for 12: the caller leaves 16
 * bytes of slack after the codes.
 */
export function focusCodesToPlanes(codes: usize, wide: i32, W: i32, C: i32, y0: i32, y1: i32, dst: usize, n: i32): void {
  const ps = <usize>n << 2;
  const max: f64 = wide ? 65535.0 : 255.0;
  const div = f32x4.splat(<f32>max);
  for (let y = y0; y < y1; y++) {
    const rowStart = <usize>y * <usize>W * <usize>C;
    const d0 = dst + ((<usize>y * <usize>W) << 2);
    if (!wide && C == 3) {
      const d1 = d0 + ps;
      const d2 = d1 + ps;
      let x = 0;
      for (; x + 4 <= W; x += 4) {
        const v = v128.load(codes + rowStart + <usize>(x * 3));
        const xo = <usize>x << 2;
        v128.store(d0 + xo, codesDiv(i8x16.swizzle(v, i8x16(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1)), div));
        v128.store(d1 + xo, codesDiv(i8x16.swizzle(v, i8x16(1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1)), div));
        v128.store(d2 + xo, codesDiv(i8x16.swizzle(v, i8x16(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1)), div));
      }
      for (; x < W; x++) {
        const s = codes + rowStart + <usize>(x * 3);
        const xo = <usize>x << 2;
        store<f32>(d0 + xo, <f32>(<f64>load<u8>(s) / max));
        store<f32>(d1 + xo, <f32>(<f64>load<u8>(s, 1) / max));
        store<f32>(d2 + xo, <f32>(<f64>load<u8>(s, 2) / max));
      }
      continue;
    }
    if (!wide && C == 1) {
      let x = 0;
      for (; x + 4 <= W; x += 4) {
        const z = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(codes + rowStart + <usize>x)));
        v128.store(d0 + (<usize>x << 2), codesDiv(z, div));
      }
      for (; x < W; x++) store<f32>(d0 + (<usize>x << 2), <f32>(<f64>load<u8>(codes + rowStart + <usize>x) / max));
      continue;
    }
    for (let c = 0; c < C; c++) {
      const d = d0 + <usize>c * ps;
      for (let x = 0; x < W; x++) {
        const i = rowStart + <usize>(x * C + c);
        const code = wide ? <f64>load<u16>(codes + (i << 1)) : <f64>load<u8>(codes + i);
        store<f32>(d + (<usize>x << 2), <f32>(code / max));
      }
    }
  }
}

@inline
function quantize4(v: v128, max: v128, half: v128, top: v128): v128 {
  // floor(v·max + ½) (Math.round for these values), then clamped: ≤ 0 → 0, ≥ 1 → max, NaN → 0.
  const lo = f64x2.floor(f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(v), max), half));
  const hi = f64x2.floor(f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1)), max), half));
  const q = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(lo), i32x4.trunc_sat_f64x2_s_zero(hi), 0, 1, 4, 5);
  return i32x4.min_s(i32x4.max_s(q, i32x4.splat(0)), top);
}

@inline
function quantize1(v: f32, max: f64): i32 {
  const f = Math.floor(<f64>v * max + 0.5);
  // !(f > 0) also takes NaN to 0, as the vector path's saturating conversion does.
  return !(f > 0) ? 0 : f >= max ? <i32>max : <i32>f;
}

/**
 * Rows [y0, y1) of the C planar f32 planes at src (stride n floats, rows of W) → interleaved encoder
 * samples, row y at out + (y − origin)·W·C·bytes: v clamped to [0, 1] and rounded half up to
 * 8 bits (`mode` 1), 16 bits big-endian (2, PNM) or 16 bits little-endian (3) — as image/pnm.ts
 * floatToPnm and stack.ts's TIFF path round.
 */
export function focusPlanesToSamples(src: usize, n: i32, W: i32, C: i32, origin: i32, y0: i32, y1: i32, mode: i32, out: usize): void {
  const ps = <usize>n << 2;
  const maxI: i32 = mode == 1 ? 255 : 65535;
  const max = <f64>maxI;
  const vmax = f64x2.splat(max);
  const half = f64x2.splat(0.5);
  const top = i32x4.splat(maxI);
  const bytes: usize = mode == 1 ? 1 : 2;
  for (let y = y0; y < y1; y++) {
    const s0 = src + ((<usize>y * <usize>W) << 2);
    const o = out + <usize>(y - origin) * <usize>W * <usize>C * bytes;
    let x = 0;
    if (mode == 1 && C == 3) {
      const s1 = s0 + ps;
      const s2 = s1 + ps;
      for (; x + 4 <= W; x += 4) {
        const xo = <usize>x << 2;
        const r = quantize4(v128.load(s0 + xo), vmax, half, top);
        const g = quantize4(v128.load(s1 + xo), vmax, half, top);
        const b = quantize4(v128.load(s2 + xo), vmax, half, top);
        const bytes16 = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(r, g), i16x8.narrow_i32x4_u(b, b));
        // r0 r1 r2 r3 g0 g1 g2 g3 b0 b1 b2 b3 → r0 g0 b0 r1 g1 b1 …
        const px = i8x16.swizzle(bytes16, i8x16(0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, -1, -1, -1, -1));
        const d = o + <usize>(x * 3);
        v128.store64_lane(d, px, 0);
        v128.store32_lane(d, px, 2, 8);
      }
    } else if (mode == 1 && C == 1) {
      for (; x + 4 <= W; x += 4) {
        const q = quantize4(v128.load(s0 + (<usize>x << 2)), vmax, half, top);
        const q16 = i16x8.narrow_i32x4_u(q, q);
        v128.store32_lane(o + <usize>x, i8x16.narrow_i16x8_u(q16, q16), 0);
      }
    }
    for (; x < W; x++) {
      for (let c = 0; c < C; c++) {
        const q = quantize1(load<f32>(s0 + <usize>c * ps + (<usize>x << 2)), max);
        const i = <usize>(x * C + c);
        if (mode == 1) store<u8>(o + i, <u8>q);
        else if (mode == 2) {
          store<u8>(o + (i << 1), <u8>(q >> 8));
          store<u8>(o + (i << 1) + 1, <u8>(q & 255));
        } else store<u16>(o + (i << 1), <u16>q);
      }
    }
  }
}

@inline
function codeValue(codes: usize, wide: i32, i: usize, lut: usize): f64 {
  // The frame store's float for code i (code / max rounded to f32), as the resampler reads it:
  // 8-bit codes from the caller's table of the 256 values, 16-bit ones divided (f32 division is the
  // correctly rounded quotient, as the f64 one rounded to f32).
  if (wide) return <f64>(<f32>load<u16>(codes + (i << 1)) / <f32>65535.0);
  return <f64>load<f32>(lut + (<usize>load<u8>(codes + i) << 2));
}

@inline
function cubicW(t: f64, k: i32): f64 {
  const t2 = t * t;
  const t3 = t2 * t;
  if (k == 0) return -0.5 * t3 + t2 - 0.5 * t;
  if (k == 1) return 1.5 * t3 - 2.5 * t2 + 1;
  if (k == 2) return -1.5 * t3 + 2 * t2 + 0.5 * t;
  return 0.5 * t3 - 0.5 * t2;
}

/**
 * Catmull-Rom resampling of a frame through an affine transform, from its codes, bit for bit
 * frames.ts readAlignedTile: source window columns [x0, x0 + sw) of the full-width code rows at
 * `codes` (rows y0.. of the frame, W·C codes each, sh rows), tile rows [ty0 + r0, ty0 + r1) of width
 * W from column 0 → C planar f32 planes at dst (stride n floats, tile row r at r·W). Every step in
 * f64 in the reference's order (the coordinates stepped along the row from the same start).
 */
export function focusWarpCodes(
  codes: usize, wide: i32, W: i32, C: i32, x0: i32, y0: i32, sw: i32, sh: i32,
  a: f64, b: f64, e: f64, d: f64, f: f64, g: f64, ty0: i32, r0: i32, r1: i32, dst: usize, n: i32, lut: usize,
): void {
  const rowCodes = <usize>W * <usize>C;
  const ps = <usize>n << 2;
  for (let y = r0; y < r1; y++) {
    const Y = <f64>(ty0 + y);
    let uRaw = a * 0.0 + b * Y + e - <f64>x0;
    let vRaw = d * 0.0 + f * Y + g - <f64>y0;
    for (let x = 0; x < W; x++) {
      const u = uRaw < 0 ? 0 : uRaw > <f64>(sw - 1) ? <f64>(sw - 1) : uRaw;
      const v = vRaw < 0 ? 0 : vRaw > <f64>(sh - 1) ? <f64>(sh - 1) : vRaw;
      const fx = Math.floor(u);
      const fy = Math.floor(v);
      const ix = <i32>fx;
      const iy = <i32>fy;
      const tx = u - fx;
      const ty = v - fy;
      const wx0 = cubicW(tx, 0), wx1 = cubicW(tx, 1), wx2 = cubicW(tx, 2), wx3 = cubicW(tx, 3);
      const wy0 = cubicW(ty, 0), wy1 = cubicW(ty, 1), wy2 = cubicW(ty, 2), wy3 = cubicW(ty, 3);
      const o = dst + ((<usize>y * <usize>W + <usize>x) << 2);
      for (let c = 0; c < C; c++) {
        let acc: f64 = 0;
        for (let j = 0; j < 4; j++) {
          let yi = iy - 1 + j;
          yi = yi < 0 ? 0 : yi >= sh ? sh - 1 : yi;
          const row = <usize>yi * rowCodes + <usize>(x0 * C + c);
          let q0 = ix - 1, q1 = ix, q2 = ix + 1, q3 = ix + 2;
          q0 = q0 < 0 ? 0 : q0 >= sw ? sw - 1 : q0;
          q1 = q1 < 0 ? 0 : q1 >= sw ? sw - 1 : q1;
          q2 = q2 < 0 ? 0 : q2 >= sw ? sw - 1 : q2;
          q3 = q3 < 0 ? 0 : q3 >= sw ? sw - 1 : q3;
          const s = wx0 * codeValue(codes, wide, row + <usize>(q0 * C), lut) + wx1 * codeValue(codes, wide, row + <usize>(q1 * C), lut)
            + wx2 * codeValue(codes, wide, row + <usize>(q2 * C), lut) + wx3 * codeValue(codes, wide, row + <usize>(q3 * C), lut);
          acc += (j == 0 ? wy0 : j == 1 ? wy1 : j == 2 ? wy2 : wy3) * s;
        }
        store<f32>(o + <usize>c * ps, <f32>acc);
      }
      uRaw += a;
      vRaw += d;
    }
  }
}
