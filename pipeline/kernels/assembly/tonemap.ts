// AssemblyScript — the Debevec merge's second pass: Reinhard's global operator from the spooled
// 16-bit lnE codes straight to the JPEG encoder's 8-bit samples. The reference is
// pipeline/hdr/tonemap.ts's toneMapCodes followed by pipeline/image/pnm.ts's floatToPnm (1 byte a
// sample), and this equals it byte for byte: the same f64 arithmetic in the same order (WebAssembly
// has no fused multiply-add), the display value rounded to f32 as the Float32Array between the two
// steps does, and Math.round's ties toward +∞.
//
// Memory is imported and shared (see debevec.ts); every band reads and writes its own sample range.

// Samples [start, end) (pixel-aligned) of `codes` (u16) → bytes at `out`. expLut: 65536 f32 =
// exp(lnE) of each code; gamma: (top + 2) f32 of v^(1/γ) over u = √v; a = key / log-average
// luminance; w2 = (a·L_white)². Two pixels at a time on f64x2 lanes — each lane's arithmetic is the
// reference's, the table lookups are scalar (WebAssembly has no gather) — the last odd pixel on
// its own through the same code.
export function toneMapBytes(codes: usize, start: i32, end: i32, channels: i32, expLut: usize, gamma: usize, top: i32, a: f64, w2: f64, out: usize): void {
  const va = f64x2.splat(a);
  const vw2 = f64x2.splat(w2);
  const one = f64x2.splat(1);
  const zero = f64x2.splat(0);
  const vtop = f64x2.splat(<f64>top);
  for (let p = start; p < end; p += 2 * channels) {
    const two = p + channels < end;
    const c0 = codes + (<usize>p << 1);
    const c1 = two ? c0 + (<usize>channels << 1) : c0;
    let L: v128;
    if (channels >= 3) {
      const r = lut2(expLut, c0, c1, 0);
      const g = lut2(expLut, c0, c1, 2);
      const b = lut2(expLut, c0, c1, 4);
      L = f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(0.2126), r), f64x2.mul(f64x2.splat(0.7152), g)), f64x2.mul(f64x2.splat(0.0722), b));
    } else L = lut2(expLut, c0, c1, 0);
    const Ls = f64x2.mul(va, L);
    // ratio = L > 0 ? (a·(1 + Ls/w2)) / (1 + Ls) : 0
    const ratio = v128.and(f64x2.div(f64x2.mul(va, f64x2.add(one, f64x2.div(Ls, vw2))), f64x2.add(one, Ls)), f64x2.gt(L, zero));
    for (let c = 0; c < channels; c++) {
      const v = f64x2.mul(lut2(expLut, c0, c1, c << 1), ratio);
      // The interpolated gamma curve where 0 < v < 1 (the address clamped so other lanes stay in the table).
      const x = f64x2.mul(f64x2.sqrt(f64x2.min(f64x2.max(v, zero), one)), vtop);
      const k = i32x4.trunc_sat_f64x2_s_zero(x);
      const k0 = i32x4.extract_lane(k, 0);
      const k1 = i32x4.extract_lane(k, 1);
      const g0 = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(gamma + (<usize>k0 << 2))), 1, <f64>load<f32>(gamma + (<usize>k1 << 2)));
      const g1 = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(gamma + (<usize>k0 << 2), 4)), 1, <f64>load<f32>(gamma + (<usize>k1 << 2), 4));
      const kf = f64x2.convert_low_i32x4_s(k);
      let d = f64x2.add(g0, f64x2.mul(f64x2.sub(x, kf), f64x2.sub(g1, g0)));
      // The Float32Array between toneMapCodes and floatToPnm.
      d = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(d));
      d = v128.bitselect(one, d, f64x2.ge(v, one));
      d = v128.bitselect(zero, d, f64x2.le(v, zero));
      // floatToPnm: Math.round(d·255) (d is 0 or 1 exactly at the ends, which round to 0 and 255).
      const y = f64x2.mul(d, f64x2.splat(255));
      let q = f64x2.floor(y);
      q = f64x2.add(q, v128.and(f64x2.ge(f64x2.sub(y, q), f64x2.splat(0.5)), one));
      const qi = i32x4.trunc_sat_f64x2_s_zero(q);
      store<u8>(out + <usize>(p + c), <u8>i32x4.extract_lane(qi, 0));
      if (two) store<u8>(out + <usize>(p + channels + c), <u8>i32x4.extract_lane(qi, 1));
    }
  }
}

// The same bytes through a cell table instead of the gamma interpolation: for x = √v·top in cell
// k = ⌊x⌋ the reference's byte — round(255·f32(g[k] + (x − k)(g[k+1] − g[k]))) — is non-decreasing in
// x and (for the gammas the caller accepts, see tonemap-wasm.ts gammaCells) rises at most once
// inside a cell, so byte = cellByte[k] + (x ≥ rise[k]), with rise[k] the first f64 x of the cell
// whose byte is one higher (+∞ when none). Cell `top` holds v ≥ 1 (255); v ≤ 0 and NaN land in
// cell 0 at x = 0 or NaN, both byte 0. The luminance and ratio are the reference's f64 arithmetic as
// above, each channel's exp looked up once.
export function toneMapCells(codes: usize, start: i32, end: i32, channels: i32, expLut: usize, cellByte: usize, rise: usize, top: i32, a: f64, w2: f64, out: usize): void {
  const va = f64x2.splat(a);
  const vw2 = f64x2.splat(w2);
  const one = f64x2.splat(1);
  const zero = f64x2.splat(0);
  const vtop = f64x2.splat(<f64>top);
  if (channels == 3) {
    for (let p = start; p < end; p += 6) {
      const two = p + 3 < end;
      const c0 = codes + (<usize>p << 1);
      const c1 = two ? c0 + 6 : c0;
      const r = lut2(expLut, c0, c1, 0);
      const g = lut2(expLut, c0, c1, 2);
      const b = lut2(expLut, c0, c1, 4);
      const L = f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(0.2126), r), f64x2.mul(f64x2.splat(0.7152), g)), f64x2.mul(f64x2.splat(0.0722), b));
      const Ls = f64x2.mul(va, L);
      const ratio = v128.and(f64x2.div(f64x2.mul(va, f64x2.add(one, f64x2.div(Ls, vw2))), f64x2.add(one, Ls)), f64x2.gt(L, zero));
      const o = out + <usize>p;
      const qr = cellBytes(f64x2.mul(r, ratio), zero, one, vtop, cellByte, rise);
      const qg = cellBytes(f64x2.mul(g, ratio), zero, one, vtop, cellByte, rise);
      const qb = cellBytes(f64x2.mul(b, ratio), zero, one, vtop, cellByte, rise);
      store<u8>(o, <u8>i32x4.extract_lane(qr, 0));
      store<u8>(o, <u8>i32x4.extract_lane(qg, 0), 1);
      store<u8>(o, <u8>i32x4.extract_lane(qb, 0), 2);
      if (two) {
        store<u8>(o, <u8>i32x4.extract_lane(qr, 1), 3);
        store<u8>(o, <u8>i32x4.extract_lane(qg, 1), 4);
        store<u8>(o, <u8>i32x4.extract_lane(qb, 1), 5);
      }
    }
    return;
  }
  for (let p = start; p < end; p += 2 * channels) {
    const two = p + channels < end;
    const c0 = codes + (<usize>p << 1);
    const c1 = two ? c0 + (<usize>channels << 1) : c0;
    const L = channels >= 3 ? f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(0.2126), lut2(expLut, c0, c1, 0)), f64x2.mul(f64x2.splat(0.7152), lut2(expLut, c0, c1, 2))), f64x2.mul(f64x2.splat(0.0722), lut2(expLut, c0, c1, 4))) : lut2(expLut, c0, c1, 0);
    const Ls = f64x2.mul(va, L);
    const ratio = v128.and(f64x2.div(f64x2.mul(va, f64x2.add(one, f64x2.div(Ls, vw2))), f64x2.add(one, Ls)), f64x2.gt(L, zero));
    for (let c = 0; c < channels; c++) {
      const q = cellBytes(f64x2.mul(lut2(expLut, c0, c1, c << 1), ratio), zero, one, vtop, cellByte, rise);
      store<u8>(out + <usize>(p + c), <u8>i32x4.extract_lane(q, 0));
      if (two) store<u8>(out + <usize>(p + channels + c), <u8>i32x4.extract_lane(q, 1));
    }
  }
}

// Two lanes of v → the reference's byte through the cell table (lanes 0 and 1 of the i32x4 result).
@inline
function cellBytes(v: v128, zero: v128, one: v128, vtop: v128, cellByte: usize, rise: usize): v128 {
  const x = f64x2.mul(f64x2.sqrt(f64x2.min(f64x2.max(v, zero), one)), vtop);
  const k = i32x4.trunc_sat_f64x2_s_zero(x);
  const k0 = <usize>i32x4.extract_lane(k, 0);
  const k1 = <usize>i32x4.extract_lane(k, 1);
  const t = v128.load64_lane(rise + (k1 << 3), v128.load64_zero(rise + (k0 << 3)), 1);
  const b = i32x4.replace_lane(i32x4.splat(<i32>load<u8>(cellByte + k0)), 1, <i32>load<u8>(cellByte + k1));
  // x ≥ rise: all-ones f64 lanes (−1 as i64); narrowed to lanes 0, 1 of i32 (−1), subtracted: + 1.
  const up = i8x16.shuffle(f64x2.ge(x, t), zero, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 16, 17, 18, 19);
  return i32x4.sub(b, up);
}

// expLut[code] of channel offset `off` (bytes) of the pixels at c0 and c1, as f64 lanes.
@inline
function lut2(expLut: usize, c0: usize, c1: usize, off: usize): v128 {
  const e0 = <f64>load<f32>(expLut + (<usize>load<u16>(c0 + off) << 2));
  const e1 = <f64>load<f32>(expLut + (<usize>load<u16>(c1 + off) << 2));
  return f64x2.replace_lane(f64x2.splat(e0), 1, e1);
}

export { heapBase } from './lib/heap';
