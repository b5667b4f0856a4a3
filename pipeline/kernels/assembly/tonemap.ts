// AssemblyScript — the Debevec merge's second pass: Reinhard's global operator from the spooled
// 16-bit lnE codes straight to the JPEG encoder's 8-bit samples, four pixels a step on f32x4 lanes.
// The reference is pipeline/hdr/tonemap.ts's toneMapCodes followed by pipeline/image/pnm.ts's
// floatToPnm (f64 arithmetic, an interpolated gamma curve); this is within a stated tolerance of
// it: every sample within ±1 code, ≤ 0.5 % of them off by one (0.065 % of a real 24 MP scene at γ 2.2).
// The luminance, Reinhard's ratio (one f32 division a pixel) and √v are f32; the gamma and the
// rounding are one byte table indexed by √v·cells rounded to the nearest integer, each cell holding
// the reference's byte at its centre (tonemap-wasm.ts gammaBytes: cells fine enough that the
// reference moves at most 0.1 code across one).
//
// Memory is imported and shared (see debevec.ts); every band reads and writes its own sample range.

// Samples [start, end) (pixel-aligned) of `codes` (u16; 1 or 3 channels) → bytes at `out`. expLut: 65536 f32 =
// exp(lnE) of each code; bytes: cells + 1 u8, the display byte over u = √v (cell `cells` is v ≥ 1);
// a = key / log-average luminance; iw2 = 1 / (a·L_white)². The table lookups are scalar
// (WebAssembly has no gather); a last group of fewer than four pixels repeats the last pixel's loads
// and stores only its own.
export function toneMapF32(codes: usize, start: i32, end: i32, channels: i32, expLut: usize, bytes: usize, cells: i32, a: f32, iw2: f32, out: usize): void {
  const va = f32x4.splat(a);
  const viw2 = f32x4.splat(iw2);
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const vcells = f32x4.splat(<f32>cells);
  const pixels = (end - start) / channels;
  const first = start / channels;
  if (channels == 3) {
    // Whole groups of four, then the last one to three pixels.
    const whole = pixels & ~3;
    for (let i = 0; i < whole; i += 4) rgb4(codes + <usize>(first + i) * 6, out + <usize>(first + i) * 3, 4, expLut, bytes, va, viw2, one, zero, vcells);
    if (whole < pixels) rgb4(codes + <usize>(first + whole) * 6, out + <usize>(first + whole) * 3, pixels - whole, expLut, bytes, va, viw2, one, zero, vcells);
    return;
  }
  // Mono (the caller passes 1 or 3 channels).
  const whole = pixels & ~3;
  for (let i = 0; i < whole; i += 4) mono4(codes + <usize>(first + i) * 2, out + <usize>(first + i), 4, expLut, bytes, va, viw2, one, zero, vcells);
  if (whole < pixels) mono4(codes + <usize>(first + whole) * 2, out + <usize>(first + whole), pixels - whole, expLut, bytes, va, viw2, one, zero, vcells);
}

// n (1 … 4) mono pixels at p (codes) → their bytes at o (the value is its own luminance).
@inline
function mono4(p0: usize, o: usize, n: i32, expLut: usize, bytes: usize, va: v128, viw2: v128, one: v128, zero: v128, vcells: v128): void {
  const p1 = n > 1 ? p0 + 2 : p0;
  const p2 = n > 2 ? p0 + 4 : p1;
  const p3 = n > 3 ? p0 + 6 : p2;
  const L = lut4(expLut, p0, p1, p2, p3, 0);
  const k = cell(f32x4.mul(L, reinhard(L, va, viw2, one, zero)), zero, one, vcells);
  store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(k, 0)));
  if (n > 1) store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(k, 1)), 1);
  if (n > 2) store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(k, 2)), 2);
  if (n > 3) store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(k, 3)), 3);
}

// n (1 … 4) RGB pixels at p (codes) → their bytes at o.
@inline
function rgb4(p0: usize, o: usize, n: i32, expLut: usize, bytes: usize, va: v128, viw2: v128, one: v128, zero: v128, vcells: v128): void {
  const p1 = n > 1 ? p0 + 6 : p0;
  const p2 = n > 2 ? p0 + 12 : p1;
  const p3 = n > 3 ? p0 + 18 : p2;
  const r = lut4(expLut, p0, p1, p2, p3, 0);
  const g = lut4(expLut, p0, p1, p2, p3, 2);
  const b = lut4(expLut, p0, p1, p2, p3, 4);
  const L = f32x4.add(f32x4.add(f32x4.mul(f32x4.splat(0.2126), r), f32x4.mul(f32x4.splat(0.7152), g)), f32x4.mul(f32x4.splat(0.0722), b));
  const ratio = reinhard(L, va, viw2, one, zero);
  const kr = cell(f32x4.mul(r, ratio), zero, one, vcells);
  const kg = cell(f32x4.mul(g, ratio), zero, one, vcells);
  const kb = cell(f32x4.mul(b, ratio), zero, one, vcells);
  store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kr, 0)));
  store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kg, 0)), 1);
  store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kb, 0)), 2);
  if (n > 1) {
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kr, 1)), 3);
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kg, 1)), 4);
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kb, 1)), 5);
  }
  if (n > 2) {
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kr, 2)), 6);
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kg, 2)), 7);
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kb, 2)), 8);
  }
  if (n > 3) {
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kr, 3)), 9);
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kg, 3)), 10);
    store<u8>(o, load<u8>(bytes + <usize>i32x4.extract_lane(kb, 3)), 11);
  }
}

// Reinhard's colour ratio: L > 0 ? a·(1 + a·L/w²) / (1 + a·L) : 0 (0 also where L is NaN).
@inline
function reinhard(L: v128, va: v128, viw2: v128, one: v128, zero: v128): v128 {
  const Ls = f32x4.mul(va, L);
  return v128.and(f32x4.div(f32x4.mul(va, f32x4.add(one, f32x4.mul(Ls, viw2))), f32x4.add(one, Ls)), f32x4.gt(L, zero));
}

// The byte-table cell of four display values v: √clamp(v, 0, 1)·cells rounded to the nearest
// integer (NaN → 0: pmax keeps its first operand unless the second is larger). The rounding is the
// add of 2^23 (the f32 then holds the integer in its low mantissa bits), cheaper than a truncating
// conversion; pmin/pmax are single instructions where min/max are not.
@inline
function cell(v: v128, zero: v128, one: v128, vcells: v128): v128 {
  const x = f32x4.mul(f32x4.sqrt(f32x4.pmin(f32x4.pmax(zero, v), one)), vcells);
  return v128.and(f32x4.add(x, f32x4.splat(8388608)), i32x4.splat(0x7fffff));
}

// expLut[code] of channel offset `off` (bytes) of the pixels at p0..p3, as f32 lanes.
@inline
function lut4(expLut: usize, p0: usize, p1: usize, p2: usize, p3: usize, off: usize): v128 {
  let v = v128.load32_zero(expLut + (<usize>load<u16>(p0 + off) << 2));
  v = v128.load32_lane(expLut + (<usize>load<u16>(p1 + off) << 2), v, 1);
  v = v128.load32_lane(expLut + (<usize>load<u16>(p2 + off) << 2), v, 2);
  return v128.load32_lane(expLut + (<usize>load<u16>(p3 + off) << 2), v, 3);
}

// The tables, made here rather than in JavaScript: the pass runs them once, and cold JS loops over
// 65536 Math.exp and table cells cost tens of ms before they are optimised.

// expLut[q] = f32(exp(lo + q·step)) for the 65536 spool codes (tonemap.ts toneMapCodes' table).
export function fillExpLut(expLut: usize, lo: f64, step: f64): void {
  for (let q = 0; q < 65536; q++) store<f32>(expLut + (<usize>q << 2), <f32>Math.exp(lo + <f64>q * step));
}

// g[i] = f32(min(1, i/top)^(2/γ)) for i in 0 … top + 1 (tonemap.ts gammaLut, top = 4096).
export function fillGammaLut(g: usize, top: i32, gamma: f64): void {
  const e = 2 / gamma;
  for (let i = 0; i <= top + 1; i++) store<f32>(g + (<usize>i << 2), <f32>Math.pow(min(1, <f64>i / <f64>top), e));
}

// The fewest cells (a power of two from minCells) over which the reference's display value moves at
// most `span` codes a cell, or 0 above maxCells (tonemap-wasm.ts gammaBytes).
export function gammaCellCount(g: usize, top: i32, minCells: i32, maxCells: i32, span: f64): i32 {
  let steepest: f64 = 0;
  for (let k = 0; k < top; k++) steepest = max(steepest, (<f64>load<f32>(g + (<usize>(k + 1) << 2)) - <f64>load<f32>(g + (<usize>k << 2))) * 255);
  let cells = minCells;
  while (cells <= maxCells && (steepest * <f64>top) / <f64>cells > span) cells <<= 1;
  return cells <= maxCells ? cells : 0;
}

// bytes[j] = the reference's byte at x = j·top/cells (cell j's centre): floatToPnm(f32(g[k] + (x − k)(g[k+1] − g[k]))),
// k = ⌊x⌋, Math.round's ties toward +∞; bytes[0] = 0, bytes[cells] = 255 (tonemap-wasm.ts gammaBytes).
export function fillGammaBytes(g: usize, top: i32, cells: i32, bytes: usize): void {
  const scale = <f64>top / <f64>cells;
  store<u8>(bytes, 0);
  for (let j = 1; j < cells; j++) {
    const x = <f64>j * scale;
    const k = <i32>x;
    const g0 = <f64>load<f32>(g + (<usize>k << 2));
    const g1 = <f64>load<f32>(g + (<usize>(k + 1) << 2));
    const d = <f64><f32>(g0 + (x - <f64>k) * (g1 - g0));
    let b: i32;
    if (d <= 0) b = 0;
    else if (d >= 1) b = 255;
    else {
      const y = d * 255;
      const f = Math.floor(y);
      b = <i32>f + (y - f >= 0.5 ? 1 : 0);
    }
    store<u8>(bytes + <usize>j, <u8>b);
  }
  store<u8>(bytes + <usize>cells, 255);
}

export { heapBase } from './lib/heap';
