// AssemblyScript (compiled by `asc`, see package.json "build:wasm") — the Debevec merge's hot loops
// with 128-bit SIMD. The reference is pipeline/hdr/merge-kernel.ts (accumulateDebevecCodes,
// finishDebevec); lnE is bit-exact equal to it (test/pipeline/kernels-debevec.test.ts): f32 adds and
// f32 divides are correctly rounded in both, and the fallback subtracts ln t in f64 and rounds once,
// as JavaScript does. The spool codes are exact too; exp(lnE) is an f32x4 exp within one f32 ulp of
// Math.exp (lib/vexpf.ts), and the one-pass statistics take their luminance from it (within 1e-6).
//
// Memory is imported and shared: the caller lays out tables, codes and sums in it, and several
// workers run these functions on disjoint sample ranges of the same strip. Nothing here allocates.
// All pointers are byte addresses; `start`/`end` are sample indices at pixel boundaries.

import { encodeRgbeRow, rgbePlanes, rlePlanes } from './lib/rgbe';
import { expTabF64x2 } from './lib/vexp';
import { expF32x4 } from './lib/vexpf';
import { logF32x4, logF32x4Ok } from './lib/vlogf';

// Fold one frame's codes (u8 or u16) into num/den over samples [start, end). `pairs` holds the
// frame's table entries as (w·(g − ln t), w) f32 pairs, so one 64-bit load fetches both of a sample.
// `first` starts the sums from zero (0 + x, so a −0 table entry becomes +0 as in the reference);
// `keep` (0: none) receives the LUT level of every sample (the shortest and the longest exposure).
@inline
function accumulate<T>(codes: usize, start: i32, end: i32, channels: i32, pairs: usize, num: usize, den: usize, keep: usize, first: bool): void {
  const zero = f32x4.splat(0);
  let i = start;
  if (channels == 3) {
    // 4 pixels = 12 samples = 3 vectors per step; lane channels repeat every 12 samples.
    for (; i + 12 <= end; i += 12) {
      for (let k = 0; k < 3; k++) {
        const b = i + k * 4;
        const c0 = <i32>load<T>(codes + (<usize>b << alignof<T>()));
        const c1 = <i32>load<T>(codes + (<usize>(b + 1) << alignof<T>()));
        const c2 = <i32>load<T>(codes + (<usize>(b + 2) << alignof<T>()));
        const c3 = <i32>load<T>(codes + (<usize>(b + 3) << alignof<T>()));
        // Channel of lane 0 is (b − start) mod 3 = k (4k mod 3 = k).
        const x0 = <usize>(c0 * 3 + k) << 3;
        const x1 = <usize>(c1 * 3 + (k + 1) % 3) << 3;
        const x2 = <usize>(c2 * 3 + (k + 2) % 3) << 3;
        const x3 = <usize>(c3 * 3 + k) << 3;
        add4(pairs, x0, x1, x2, x3, num + (<usize>b << 2), den + (<usize>b << 2), first, zero);
        if (keep) {
          const kp = keep + (<usize>b << 1);
          store<u16>(kp, <u16>c0);
          store<u16>(kp, <u16>c1, 2);
          store<u16>(kp, <u16>c2, 4);
          store<u16>(kp, <u16>c3, 6);
        }
      }
    }
  } else if (channels == 1) {
    for (; i + 4 <= end; i += 4) {
      const c0 = <i32>load<T>(codes + (<usize>i << alignof<T>()));
      const c1 = <i32>load<T>(codes + (<usize>(i + 1) << alignof<T>()));
      const c2 = <i32>load<T>(codes + (<usize>(i + 2) << alignof<T>()));
      const c3 = <i32>load<T>(codes + (<usize>(i + 3) << alignof<T>()));
      add4(pairs, <usize>c0 << 3, <usize>c1 << 3, <usize>c2 << 3, <usize>c3 << 3, num + (<usize>i << 2), den + (<usize>i << 2), first, zero);
      if (keep) {
        const kp = keep + (<usize>i << 1);
        store<u16>(kp, <u16>c0);
        store<u16>(kp, <u16>c1, 2);
        store<u16>(kp, <u16>c2, 4);
        store<u16>(kp, <u16>c3, 6);
      }
    }
  }
  // Tail (and channel counts without a vector path), one sample at a time.
  for (; i < end; i++) {
    const c = (i - start) % channels;
    const code = <i32>load<T>(codes + (<usize>i << alignof<T>()));
    const x = pairs + (<usize>(code * channels + c) << 3);
    const p = num + (<usize>i << 2);
    const q = den + (<usize>i << 2);
    store<f32>(p, (first ? <f32>0 : load<f32>(p)) + load<f32>(x));
    store<f32>(q, (first ? <f32>0 : load<f32>(q)) + load<f32>(x, 4));
    if (keep) store<u16>(keep + (<usize>i << 1), <u16>code);
  }
}

// Four samples' table pairs (byte offsets x0…x3 into `pairs`) added to num[p…] and den[q…].
@inline
function add4(pairs: usize, x0: usize, x1: usize, x2: usize, x3: usize, p: usize, q: usize, first: bool, zero: v128): void {
  const v01 = v128.load64_lane(pairs + x1, v128.load64_zero(pairs + x0), 1);
  const v23 = v128.load64_lane(pairs + x3, v128.load64_zero(pairs + x2), 1);
  // (a0 d0 a1 d1) (a2 d2 a3 d3) → a0 a1 a2 a3 and d0 d1 d2 d3
  const a = i8x16.shuffle(v01, v23, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const d = i8x16.shuffle(v01, v23, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  v128.store(p, f32x4.add(first ? zero : v128.load(p), a));
  v128.store(q, f32x4.add(first ? zero : v128.load(q), d));
}

export function accumulateCodes8(codes: usize, start: i32, end: i32, channels: i32, pairs: usize, num: usize, den: usize, keep: usize, first: bool): void {
  accumulate<u8>(codes, start, end, channels, pairs, num, den, keep, first);
}

export function accumulateCodes16(codes: usize, start: i32, end: i32, channels: i32, pairs: usize, num: usize, den: usize, keep: usize, first: bool): void {
  accumulate<u16>(codes, start, end, channels, pairs, num, den, keep, first);
}

// accumulate over every frame and finish in one pass, for n ≥ 2 frames: the sums stay in registers
// (no num/den in memory, no level copies — the fallback and the saturated count read the shortest
// and longest frames' codes directly). Frame j's codes at load<u32>(codeTab + 4j), its pairs at
// load<u32>(pairTab + 4j). The same f32 adds in the same order (frame 0 first, from +0) and the same
// division as accumulate + finish: bit for bit their lnE and saturated count.
@inline
function mergeAll<T>(codeTab: usize, pairTab: usize, n: i32, start: i32, end: i32, channels: i32, g: usize, lnTShort: f64, lnTLong: f64, half: f64, satLevel: i32, out: usize): i32 {
  const zero = f32x4.splat(0);
  const short = <usize>load<u32>(codeTab);
  const long = <usize>load<u32>(codeTab + (<usize>(n - 1) << 2));
  let i = start;
  if (channels == 3) {
    // Four pixels (12 samples, 3 vectors) a step: lane channels 0 1 2 0 | 1 2 0 1 | 2 0 1 2, so each
    // lane's table entry is at code·24 + a constant (no per-lane channel arithmetic).
    for (; i + 12 <= end; i += 12) {
      let a0 = zero;
      let d0 = zero;
      let a1 = zero;
      let d1 = zero;
      let a2 = zero;
      let d2 = zero;
      for (let j = 0; j < n; j++) {
        const codes = <usize>load<u32>(codeTab + (<usize>j << 2)) + (<usize>i << alignof<T>());
        const pairs = <usize>load<u32>(pairTab + (<usize>j << 2));
        const s = sizeof<T>();
        let lo = v128.load64_lane(pairs + <usize>load<T>(codes, s) * 24 + 8, v128.load64_zero(pairs + <usize>load<T>(codes) * 24), 1);
        let hi = v128.load64_lane(pairs + <usize>load<T>(codes, 3 * s) * 24, v128.load64_zero(pairs + <usize>load<T>(codes, 2 * s) * 24 + 16), 1);
        a0 = f32x4.add(a0, i8x16.shuffle(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
        d0 = f32x4.add(d0, i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31));
        lo = v128.load64_lane(pairs + <usize>load<T>(codes, 5 * s) * 24 + 16, v128.load64_zero(pairs + <usize>load<T>(codes, 4 * s) * 24 + 8), 1);
        hi = v128.load64_lane(pairs + <usize>load<T>(codes, 7 * s) * 24 + 8, v128.load64_zero(pairs + <usize>load<T>(codes, 6 * s) * 24), 1);
        a1 = f32x4.add(a1, i8x16.shuffle(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
        d1 = f32x4.add(d1, i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31));
        lo = v128.load64_lane(pairs + <usize>load<T>(codes, 9 * s) * 24, v128.load64_zero(pairs + <usize>load<T>(codes, 8 * s) * 24 + 16), 1);
        hi = v128.load64_lane(pairs + <usize>load<T>(codes, 11 * s) * 24 + 16, v128.load64_zero(pairs + <usize>load<T>(codes, 10 * s) * 24 + 8), 1);
        a2 = f32x4.add(a2, i8x16.shuffle(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
        d2 = f32x4.add(d2, i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31));
      }
      finish4<T>(a0, d0, out, i, start, channels, g, short, long, lnTShort, lnTLong, half);
      finish4<T>(a1, d1, out, i + 4, start, channels, g, short, long, lnTShort, lnTLong, half);
      finish4<T>(a2, d2, out, i + 8, start, channels, g, short, long, lnTShort, lnTLong, half);
    }
  }
  if (channels == 3 || channels == 1) {
    for (; i + 4 <= end; i += 4) {
      // Lane channels: (i − start) mod 3 for RGB (bands start at pixel boundaries).
      const k = channels == 3 ? (i - start) % 3 : 0;
      const ch0 = k;
      const ch1 = channels == 3 ? (k + 1) % 3 : 0;
      const ch2 = channels == 3 ? (k + 2) % 3 : 0;
      let a = zero;
      let d = zero;
      for (let j = 0; j < n; j++) {
        const codes = <usize>load<u32>(codeTab + (<usize>j << 2));
        const pairs = <usize>load<u32>(pairTab + (<usize>j << 2));
        const c0 = <i32>load<T>(codes + (<usize>i << alignof<T>()));
        const c1 = <i32>load<T>(codes + (<usize>(i + 1) << alignof<T>()));
        const c2 = <i32>load<T>(codes + (<usize>(i + 2) << alignof<T>()));
        const c3 = <i32>load<T>(codes + (<usize>(i + 3) << alignof<T>()));
        const x0 = <usize>(c0 * channels + ch0) << 3;
        const x1 = <usize>(c1 * channels + ch1) << 3;
        const x2 = <usize>(c2 * channels + ch2) << 3;
        const x3 = <usize>(c3 * channels + ch0) << 3;
        const v01 = v128.load64_lane(pairs + x1, v128.load64_zero(pairs + x0), 1);
        const v23 = v128.load64_lane(pairs + x3, v128.load64_zero(pairs + x2), 1);
        a = f32x4.add(a, i8x16.shuffle(v01, v23, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
        d = f32x4.add(d, i8x16.shuffle(v01, v23, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31));
      }
      const o = out + (<usize>i << 2);
      v128.store(o, f32x4.div(a, d));
      // Rare: a lane with no usable exposure.
      if (v128.any_true(f32x4.le(d, zero))) {
        if (!(f32x4.extract_lane(d, 0) > 0)) store<f32>(o, fallbackCodes<T>(i - start, i, channels, g, short, long, lnTShort, lnTLong, half));
        if (!(f32x4.extract_lane(d, 1) > 0)) store<f32>(o, fallbackCodes<T>(i + 1 - start, i + 1, channels, g, short, long, lnTShort, lnTLong, half), 4);
        if (!(f32x4.extract_lane(d, 2) > 0)) store<f32>(o, fallbackCodes<T>(i + 2 - start, i + 2, channels, g, short, long, lnTShort, lnTLong, half), 8);
        if (!(f32x4.extract_lane(d, 3) > 0)) store<f32>(o, fallbackCodes<T>(i + 3 - start, i + 3, channels, g, short, long, lnTShort, lnTLong, half), 12);
      }
    }
  }
  // Tail (and other channel counts), one sample at a time.
  for (; i < end; i++) {
    const c = (i - start) % channels;
    let a: f32 = 0;
    let d: f32 = 0;
    for (let j = 0; j < n; j++) {
      const codes = <usize>load<u32>(codeTab + (<usize>j << 2));
      const x = <usize>load<u32>(pairTab + (<usize>j << 2)) + (<usize>(<i32>load<T>(codes + (<usize>i << alignof<T>())) * channels + c) << 3);
      a += load<f32>(x);
      d += load<f32>(x, 4);
    }
    store<f32>(out + (<usize>i << 2), d > 0 ? a / d : fallbackCodes<T>(i - start, i, channels, g, short, long, lnTShort, lnTLong, half));
  }
  return countSaturated<T>(short, start, end, channels, satLevel);
}

// Pixels of [start, end) with any channel ≥ satLevel in `short`. 8-bit RGB and mono: 16 pixels a
// step through byte-compare bitmasks (a pixel's three bits OR-ed onto its first, then counted).
@inline
function countSaturated<T>(short: usize, start: i32, end: i32, channels: i32, satLevel: i32): i32 {
  let saturated = 0;
  let p = start;
  if (sizeof<T>() == 1 && satLevel >= 1 && satLevel <= 255 && (channels == 3 || channels == 1)) {
    const s = i8x16.splat(<i8>satLevel);
    if (channels == 3) {
      for (; p + 48 <= end; p += 48) {
        const at = short + <usize>p;
        const m0 = <u64>i8x16.bitmask(i8x16.ge_u(v128.load(at), s));
        const m1 = <u64>i8x16.bitmask(i8x16.ge_u(v128.load(at, 16), s));
        const m2 = <u64>i8x16.bitmask(i8x16.ge_u(v128.load(at, 32), s));
        const m = m0 | (m1 << 16) | (m2 << 32);
        saturated += <i32>popcnt((m | (m >> 1) | (m >> 2)) & 0x249249249249);
      }
    } else {
      for (; p + 16 <= end; p += 16) saturated += <i32>popcnt(i8x16.bitmask(i8x16.ge_u(v128.load(short + <usize>p), s)));
    }
  }
  for (; p < end; p += channels) {
    let sat = 0;
    for (let c = 0; c < channels; c++) if (<i32>load<T>(short + (<usize>(p + c) << alignof<T>())) >= satLevel) sat = 1;
    saturated += sat;
  }
  return saturated;
}

// lnE = a / d on four lanes at sample i, the fallback where d ≤ 0.
@inline
function finish4<T>(a: v128, d: v128, out: usize, i: i32, start: i32, channels: i32, g: usize, short: usize, long: usize, lnTShort: f64, lnTLong: f64, half: f64): void {
  const o = out + (<usize>i << 2);
  v128.store(o, f32x4.div(a, d));
  // Rare: a lane with no usable exposure.
  if (v128.any_true(f32x4.le(d, f32x4.splat(0)))) {
    if (!(f32x4.extract_lane(d, 0) > 0)) store<f32>(o, fallbackCodes<T>(i - start, i, channels, g, short, long, lnTShort, lnTLong, half));
    if (!(f32x4.extract_lane(d, 1) > 0)) store<f32>(o, fallbackCodes<T>(i + 1 - start, i + 1, channels, g, short, long, lnTShort, lnTLong, half), 4);
    if (!(f32x4.extract_lane(d, 2) > 0)) store<f32>(o, fallbackCodes<T>(i + 2 - start, i + 2, channels, g, short, long, lnTShort, lnTLong, half), 8);
    if (!(f32x4.extract_lane(d, 3) > 0)) store<f32>(o, fallbackCodes<T>(i + 3 - start, i + 3, channels, g, short, long, lnTShort, lnTLong, half), 12);
  }
}

@inline
function fallbackCodes<T>(rel: i32, i: i32, channels: i32, g: usize, short: usize, long: usize, lnTShort: f64, lnTLong: f64, half: f64): f32 {
  const c = rel % channels;
  const ls = <i32>load<T>(short + (<usize>i << alignof<T>()));
  if (<f64>ls > half) return <f32>(<f64>load<f32>(g + (<usize>(ls * channels + c) << 2)) - lnTShort);
  const ll = <i32>load<T>(long + (<usize>i << alignof<T>()));
  return <f32>(<f64>load<f32>(g + (<usize>(ll * channels + c) << 2)) - lnTLong);
}

export function mergeCodes8(codeTab: usize, pairTab: usize, n: i32, start: i32, end: i32, channels: i32, g: usize, lnTShort: f64, lnTLong: f64, half: f64, satLevel: i32, out: usize): i32 {
  return mergeAll<u8>(codeTab, pairTab, n, start, end, channels, g, lnTShort, lnTLong, half, satLevel, out);
}

export function mergeCodes16(codeTab: usize, pairTab: usize, n: i32, start: i32, end: i32, channels: i32, g: usize, lnTShort: f64, lnTLong: f64, half: f64, satLevel: i32, out: usize): i32 {
  return mergeAll<u16>(codeTab, pairTab, n, start, end, channels, g, lnTShort, lnTLong, half, satLevel, out);
}

// The whole first pass of a band, row by row, for n ≥ 2 frames: merge (lnE, exp → linear, spool
// codes in one pass over the codes), then the row's tone-map statistics and .hdr scanlines while
// its lnE and linear values are still in cache. `cfg` holds f64 slots (CFG_* below, written once by
// debevec-wasm.ts); `set` picks the code set (double buffering); `row0` is the strip's first image
// row's parity (the statistics sample rows of parity 0). Returns the saturated pixels.
const CFG_CODE_TAB0 = 0;
const CFG_CODE_TAB1 = 1;
const CFG_PAIR_TAB = 2;
const CFG_FRAMES = 3;
const CFG_CHANNELS = 4;
const CFG_G = 5;
const CFG_LNT_SHORT = 6;
const CFG_LNT_LONG = 7;
const CFG_HALF = 8;
const CFG_SAT_LEVEL = 9;
const CFG_LNE = 10;
const CFG_LINEAR = 11;
const CFG_SPOOL = 12;
const CFG_SPOOL_LO = 13;
const CFG_SPOOL_SCALE = 14;
const CFG_ROW_LEN = 15;
const CFG_STATS = 16;
const CFG_RGBE = 17;
const CFG_RLE = 18;
const CFG_RLE_OUT = 19;
const CFG_SLOT = 20;
const CFG_LENS = 21;
const CFG_PLANES = 22;
const CFG_EXP_TAB = 23;
export const CFG_SLOTS: i32 = 24;

@inline function cf(cfg: usize, k: i32): f64 {
  return load<f64>(cfg + (<usize>k << 3));
}
@inline function ci(cfg: usize, k: i32): i32 {
  return <i32>load<f64>(cfg + (<usize>k << 3));
}

@inline
function firstPass<T>(cfg: usize, set: i32, start: i32, end: i32, row0: i32): i32 {
  const codeTab = <usize>ci(cfg, set ? CFG_CODE_TAB1 : CFG_CODE_TAB0);
  const pairTab = <usize>ci(cfg, CFG_PAIR_TAB);
  const n = ci(cfg, CFG_FRAMES);
  const channels = ci(cfg, CFG_CHANNELS);
  const g = <usize>ci(cfg, CFG_G);
  const lnTShort = cf(cfg, CFG_LNT_SHORT);
  const lnTLong = cf(cfg, CFG_LNT_LONG);
  const half = cf(cfg, CFG_HALF);
  const satLevel = ci(cfg, CFG_SAT_LEVEL);
  const lnE = <usize>ci(cfg, CFG_LNE);
  const linear = <usize>ci(cfg, CFG_LINEAR);
  const spool = <usize>ci(cfg, CFG_SPOOL);
  const lo = cf(cfg, CFG_SPOOL_LO);
  const scale = cf(cfg, CFG_SPOOL_SCALE);
  const rowLen = ci(cfg, CFG_ROW_LEN);
  const stats = <usize>ci(cfg, CFG_STATS);
  const rgbe = <usize>ci(cfg, CFG_RGBE);
  const expTab = <usize>ci(cfg, CFG_EXP_TAB);
  // Without rows (no statistics, no scanlines) the band is one block.
  const step = rowLen > 0 ? rowLen : end - start;
  let saturated = 0;
  for (let a = start; a < end; a += step) {
    const b = min(a + step, end);
    // exp and spool in their own loop over the row (in cache): fused into the merge's loop they
    // measured slower (the merge's registers spill).
    saturated += mergeAll<T>(codeTab, pairTab, n, a, b, channels, g, lnTShort, lnTLong, half, satLevel, lnE);
    if (linear | spool) linearAndSpool(a, b, lnE, linear, spool, lo, scale, 0);
    if (stats) {
      if (linear) rowStatsLinear(lnE, linear, a, b, rowLen, channels, row0, 0, stats);
      else rowStats(lnE, a, b, rowLen, channels, row0, 0, stats, expTab);
    }
    if (rgbe && linear) rgbeRows(linear, a, b, rowLen, channels, rgbe, ci(cfg, CFG_RLE) != 0, <usize>ci(cfg, CFG_RLE_OUT), ci(cfg, CFG_SLOT), <usize>ci(cfg, CFG_LENS), <usize>ci(cfg, CFG_PLANES));
  }
  return saturated;
}

export function firstPass8(cfg: usize, set: i32, start: i32, end: i32, row0: i32): i32 {
  return firstPass<u8>(cfg, set, start, end, row0);
}

export function firstPass16(cfg: usize, set: i32, start: i32, end: i32, row0: i32): i32 {
  return firstPass<u16>(cfg, set, start, end, row0);
}

// lnE = num/den over samples [start, end); where den is 0 (every code clipped) the shortest
// exposure's estimate when bright, else the longest's. Returns the pixels with any channel at or
// above `satLevel` in the shortest exposure.
export function finish(start: i32, end: i32, channels: i32, g: usize, num: usize, den: usize, shortLevel: usize, longLevel: usize, lnTShort: f64, lnTLong: f64, half: f64, satLevel: i32, out: usize): i32 {
  const zero = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const d = v128.load(den + o);
    const r = f32x4.div(v128.load(num + o), d);
    v128.store(out + o, r);
    // Rare: a lane with no usable exposure — redo those lanes one by one.
    if (v128.any_true(f32x4.le(d, zero))) {
      for (let k = i; k < i + 4; k++) {
        if (load<f32>(den + (<usize>k << 2)) > 0) continue;
        store<f32>(out + (<usize>k << 2), fallback(k - start, k, channels, g, shortLevel, longLevel, lnTShort, lnTLong, half));
      }
    }
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const d = load<f32>(den + o);
    store<f32>(out + o, d > 0 ? load<f32>(num + o) / d : fallback(i - start, i, channels, g, shortLevel, longLevel, lnTShort, lnTLong, half));
  }
  let saturated = 0;
  for (let p = start; p < end; p += channels) {
    let sat = 0;
    for (let c = 0; c < channels; c++) if (<i32>load<u16>(shortLevel + (<usize>(p + c) << 1)) >= satLevel) sat = 1;
    saturated += sat;
  }
  return saturated;
}

@inline
function fallback(rel: i32, i: i32, channels: i32, g: usize, shortLevel: usize, longLevel: usize, lnTShort: f64, lnTLong: f64, half: f64): f32 {
  const c = rel % channels;
  const ls = <i32>load<u16>(shortLevel + (<usize>i << 1));
  if (<f64>ls > half) return <f32>(<f64>load<f32>(g + (<usize>(ls * channels + c) << 2)) - lnTShort);
  const ll = <i32>load<u16>(longLevel + (<usize>i << 1));
  return <f32>(<f64>load<f32>(g + (<usize>(ll * channels + c) << 2)) - lnTLong);
}

// After finish, per sample of [start, end): the linear radiance exp(lnE) for the .hdr/.tif/.fits
// outputs (`linear`, 0: none) and lnE quantised to the tone-map spool's 16-bit codes (`spool`, 0:
// none) as merge.ts does: clamp(round((lnE − lo)·scale), 0, 65535) with JavaScript's Math.round
// (ties toward +∞), in f64 as there (exact). exp is lib/vexpf.ts's, four lanes in f32: within one f32
// ulp of Math.fround(Math.exp(lnE)) (not bit-exact: ≈ 10 % of samples differ by that ulp).
// `expTab` is no longer read (kept for the callers' signature).
export function linearAndSpool(start: i32, end: i32, lnE: usize, linear: usize, spool: usize, lo: f64, scale: f64, expTab: usize): void {
  const flo = f32x4.splat(<f32>lo);
  const fscale = f32x4.splat(<f32>scale);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(lnE + (<usize>i << 2));
    if (linear) v128.store(linear + (<usize>i << 2), expF32x4(v));
    if (spool) v128.store64_lane(spool + (<usize>i << 1), spoolCodes4(v, flo, fscale), 0);
  }
  for (; i < end; i++) {
    const v = f32x4.splat(load<f32>(lnE + (<usize>i << 2)));
    if (linear) store<f32>(linear + (<usize>i << 2), f32x4.extract_lane(expF32x4(v), 0));
    if (spool) store<u16>(spool + (<usize>i << 1), <u16>i16x8.extract_lane_u(spoolCodes4(v, flo, fscale), 0));
  }
}

// Four lnE lanes to four spool codes (the low 8 bytes): round((v − lo)·scale) clamped to 0..65535,
// in f32. The spool is the tone-map pass's own intermediate, not an output: against the reference's
// f64 Math.round (merge.ts) each code is within one, and differs only where the value is within
// ≈ 0.01 of a half (≈ 0.2 % of codes). Clamped first by pmin/pmax (NaN → 0: pmax(0, NaN) is 0), then
// rounded to nearest (ties to even) by adding 1.5·2^23, whose low mantissa bits are then the code:
// no float → int conversion (several instructions on x86).
@inline
function spoolCodes4(v4: v128, flo: v128, fscale: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(f32x4.splat(0), f32x4.mul(f32x4.sub(v4, flo), fscale)), f32x4.splat(65535));
  const q = i32x4.sub(f32x4.add(x, f32x4.splat(12582912.0)), i32x4.splat(0x4b400000));
  return i16x8.narrow_i32x4_u(q, q);
}

// Per-row statistics for the tone map over the rows of [start, end) (`rowLen` samples a row; `row0`
// is the strip row of `start`). Each row's record (ROW_STATS bytes at out + row·ROW_STATS): f64 Σ
// ln(1e-6 + L) and f64 max L over every other pixel (L = Rec.709 luminance of exp(lnE), f64 as
// tonemap.ts's luminanceAt), f32 min and max lnE over every sample, i32 1 when the row was sampled —
// rows whose image row has the parity `sampleParity`. Per row, so the caller's fold (rows in order)
// gives the same sums at every thread count.
export const ROW_STATS: i32 = 32;

@inline function lanes(a: f32, b: f32): v128 {
  return f64x2.replace_lane(f64x2.splat(<f64>a), 1, <f64>b);
}
@inline function pminf(m: f32, x: f32): f32 {
  return x < m ? x : m;
}
@inline function pmaxf(m: f32, x: f32): f32 {
  return x > m ? x : m;
}

export function rowStats(lnE: usize, start: i32, end: i32, rowLen: i32, channels: i32, row0: i32, sampleParity: i32, out: usize, expTab: usize): void {
  for (let a = start; a < end; a += rowLen) {
    const row = a / rowLen;
    const rec = out + <usize>(row * ROW_STATS);
    const b = a + rowLen;
    // min/max: `v < min ? v : min` (pmin) as the reference's `if (v < min)`, so NaN is skipped.
    lnMinMax(lnE, a, b, rec);
    if (((row0 + row) & 1) != sampleParity) {
      store<i32>(rec, 0, 24);
      continue;
    }
    let sum: f64 = 0;
    let maxL: f64 = 0;
    const step = channels * 2;
    // Two sampled pixels at a time through the vector exp; the sum still runs pixel by pixel.
    for (let p = a; p < b; p += 2 * step) {
      const q0 = lnE + (<usize>p << 2);
      const two = p + step < b;
      const q1 = two ? q0 + (<usize>step << 2) : q0;
      let L: v128;
      if (channels < 3) L = expTabF64x2(lanes(load<f32>(q0), load<f32>(q1)), expTab);
      else {
        const er = expTabF64x2(lanes(load<f32>(q0), load<f32>(q1)), expTab);
        const eg = expTabF64x2(lanes(load<f32>(q0, 4), load<f32>(q1, 4)), expTab);
        const eb = expTabF64x2(lanes(load<f32>(q0, 8), load<f32>(q1, 8)), expTab);
        L = f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(0.2126), er), f64x2.mul(f64x2.splat(0.7152), eg)), f64x2.mul(f64x2.splat(0.0722), eb));
      }
      const L0 = f64x2.extract_lane(L, 0);
      sum += Math.log(1e-6 + L0);
      if (L0 > maxL) maxL = L0;
      if (two) {
        const L1 = f64x2.extract_lane(L, 1);
        sum += Math.log(1e-6 + L1);
        if (L1 > maxL) maxL = L1;
      }
    }
    store<f64>(rec, sum);
    store<f64>(rec, maxL, 8);
    store<i32>(rec, 1, 24);
  }
}

// rowStats with the luminance from the linear values the first pass has just computed (f32, within one
// ulp of exp(lnE)) instead of an f64 exp of lnE. RGB and mono rows run four sampled pixels a step in
// f32 lanes: L in f32, ln(1e-6 + L) by the f32x4 logf (lib/vlogf.ts, ≈ 1 ulp), summed in f64 lanes
// (the scalar tail, and lanes out of logf's range, in f64 as before). Not bit-exact with the
// reference: Σ ln(δ + L) and max L within 1e-6 relative of it (each L within ≈ 2^-22, each log within
// ≈ 1e-6 absolute of a sum of millions; lnE beyond the f32 exp's range, |lnE| > 87, never met with a
// real response, would give L = 0 or ∞ where the f64 one is merely tiny or huge).
function rowStatsLinear(lnE: usize, linear: usize, start: i32, end: i32, rowLen: i32, channels: i32, row0: i32, sampleParity: i32, out: usize): void {
  for (let a = start; a < end; a += rowLen) {
    const row = a / rowLen;
    const rec = out + <usize>(row * ROW_STATS);
    const b = a + rowLen;
    lnMinMax(lnE, a, b, rec);
    if (((row0 + row) & 1) != sampleParity) {
      store<i32>(rec, 0, 24);
      continue;
    }
    let sum: f64 = 0;
    let maxL: f64 = 0;
    const step = channels * 2;
    let p = a;
    let sumV = f64x2.splat(0);
    let maxV = f32x4.splat(0);
    const delta = f32x4.splat(1e-6);
    if (channels == 3 || channels == 1) {
      const span = channels == 3 ? 24 : 8;
      for (; p + span <= b; p += span) {
        const q = linear + (<usize>p << 2);
        let L: v128;
        if (channels == 3) {
          // Pixels at q, q + 24 B, q + 48 B, q + 72 B (every other one): their R, G, B lanes.
          const v0 = v128.load(q);
          const v1 = v128.load(q, 24);
          const v2 = v128.load(q, 48);
          const v3 = v128.load(q, 72);
          const ab = i8x16.shuffle(v0, v1, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
          const cd = i8x16.shuffle(v2, v3, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
          const R = i8x16.shuffle(ab, cd, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
          const G = i8x16.shuffle(ab, cd, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
          const ef = i8x16.shuffle(v0, v1, 8, 9, 10, 11, 24, 25, 26, 27, 8, 9, 10, 11, 24, 25, 26, 27);
          const gh = i8x16.shuffle(v2, v3, 8, 9, 10, 11, 24, 25, 26, 27, 8, 9, 10, 11, 24, 25, 26, 27);
          const B = i8x16.shuffle(ef, gh, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
          L = f32x4.add(f32x4.add(f32x4.mul(f32x4.splat(0.2126), R), f32x4.mul(f32x4.splat(0.7152), G)), f32x4.mul(f32x4.splat(0.0722), B));
        } else {
          L = i8x16.shuffle(v128.load(q), v128.load(q, 16), 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
        }
        maxV = f32x4.pmax(maxV, L);
        const x = f32x4.add(L, delta);
        if (logF32x4Ok(x)) {
          const lg = logF32x4(x);
          sumV = f64x2.add(sumV, f64x2.add(f64x2.promote_low_f32x4(lg), f64x2.promote_low_f32x4(i8x16.shuffle(lg, lg, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7))));
        } else {
          // Rare (L = 0 gives 1e-6, still in range; this is NaN, ∞ or a negative): the f64 way per pixel.
          for (let k = 0; k < 4; k++) {
            const pk = linear + (<usize>(p + k * step) << 2);
            const Lk = channels == 3 ? 0.2126 * <f64>load<f32>(pk) + 0.7152 * <f64>load<f32>(pk, 4) + 0.0722 * <f64>load<f32>(pk, 8) : <f64>load<f32>(pk);
            sum += Math.log(1e-6 + Lk);
          }
        }
      }
      sum += f64x2.extract_lane(sumV, 0) + f64x2.extract_lane(sumV, 1);
      for (let k = 0; k < 4; k++) {
        const m = <f64>f32x4.extract_lane(maxV, 0);
        if (m > maxL) maxL = m;
        maxV = i8x16.shuffle(maxV, maxV, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
      }
    }
    for (; p < b; p += step) {
      const q = linear + (<usize>p << 2);
      const L = channels < 3 ? <f64>load<f32>(q) : 0.2126 * <f64>load<f32>(q) + 0.7152 * <f64>load<f32>(q, 4) + 0.0722 * <f64>load<f32>(q, 8);
      sum += Math.log(1e-6 + L);
      if (L > maxL) maxL = L;
    }
    store<f64>(rec, sum);
    store<f64>(rec, maxL, 8);
    store<i32>(rec, 1, 24);
  }
}

// min and max lnE of samples [a, b) into the row record (f32 at +16, +20); NaN skipped as the
// reference's `if (v < min)` does.
@inline
function lnMinMax(lnE: usize, a: i32, b: i32, rec: usize): void {
  let vmin = f32x4.splat(Infinity);
  let vmax = f32x4.splat(-Infinity);
  let i = a;
  for (; i + 4 <= b; i += 4) {
    const v = v128.load(lnE + (<usize>i << 2));
    vmin = f32x4.pmin(vmin, v);
    vmax = f32x4.pmax(vmax, v);
  }
  let mn = f32x4.extract_lane(vmin, 0);
  let mx = f32x4.extract_lane(vmax, 0);
  mn = pminf(pminf(pminf(mn, f32x4.extract_lane(vmin, 1)), f32x4.extract_lane(vmin, 2)), f32x4.extract_lane(vmin, 3));
  mx = pmaxf(pmaxf(pmaxf(mx, f32x4.extract_lane(vmax, 1)), f32x4.extract_lane(vmax, 2)), f32x4.extract_lane(vmax, 3));
  for (; i < b; i++) {
    const v = load<f32>(lnE + (<usize>i << 2));
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  store<f32>(rec, mn, 16);
  store<f32>(rec, mx, 20);
}

// The .hdr scanlines of the rows of [start, end) from the linear floats: RGBE into `rgbe` (4 bytes a
// pixel, strip-sized), then, when `rle`, new-style RLE into row slots of `slot` bytes at `out`, the
// length of each in lens (i32 per row), through the byte planes at `planes` (strip-sized as `rgbe`); flat RGBE otherwise (the caller reads `rgbe`).
export function rgbeRows(linear: usize, start: i32, end: i32, rowLen: i32, channels: i32, rgbe: usize, rle: bool, out: usize, slot: i32, lens: usize, planes: usize): void {
  const width = rowLen / channels;
  for (let a = start; a < end; a += rowLen) {
    const row = a / rowLen;
    const q = rgbe + (<usize>(row * width) << 2);
    // The row's planes go where its quadruples are (each row owns 4·width bytes of `planes`).
    const pl = planes + (<usize>(row * width) << 2);
    if (channels == 3 || channels == 1) {
      // Four pixels a step in lanes, quadruples and planes at once; the last 0–3 pixels as below.
      const done = rgbeLanes(linear + (<usize>a << 2), channels, width, q, rle ? pl : 0);
      if (done < width) {
        encodeRgbeRow(linear + (<usize>(a + done * channels) << 2), channels, width - done, q + (<usize>done << 2));
        if (rle) for (let x = done; x < width; x++) for (let c = 0; c < 4; c++) store<u8>(pl + <usize>(c * width + x), load<u8>(q + (<usize>x << 2) + <usize>c));
      }
      if (!rle) continue;
    } else {
      encodeRgbeRow(linear + (<usize>a << 2), channels, width, q);
      if (!rle) continue;
      rgbePlanes(q, width, pl);
    }
    store<i32>(lens + (<usize>row << 2), rlePlanes(pl, width, out + <usize>(row * slot)));
  }
}

// encodeRgbeRow (lib/rgbe.ts) on four pixels a step: RGB (channels 3) or mono (1) floats at `src`,
// quadruples to `out` and, when `planes` is not 0, the R, G, B, E bytes to the four planes of a
// `width`-byte stride. The same cases in the same order as there — NaN anywhere → 0; else negatives
// as 0, v = max; exponent field 0 or 255, or v ≤ 1e-32 (compared in f64: v ≥ the least f32 above
// it) → 0; e > 127 → all ones — as lane masks. Returns the pixels done (a multiple of 4).
function rgbeLanes(src: usize, channels: i32, width: i32, out: usize, planes: usize): i32 {
  let tiny = <f32>1e-32;
  if (!(<f64>tiny > 1e-32)) tiny = reinterpret<f32>(reinterpret<u32>(tiny) + 1);
  const vtiny = f32x4.splat(tiny);
  const z = f32x4.splat(0);
  const w = <usize>width;
  let x = 0;
  for (; x + 4 <= width; x += 4) {
    let r: v128;
    let g: v128;
    let b: v128;
    if (channels == 3) {
      const s = src + (<usize>(x * 3) << 2);
      const v0 = v128.load(s); // r0 g0 b0 r1
      const v1 = v128.load(s, 16); // g1 b1 r2 g2
      const v2 = v128.load(s, 32); // b2 r3 g3 b3
      r = i8x16.shuffle(i8x16.shuffle(v0, v1, 0, 1, 2, 3, 12, 13, 14, 15, 24, 25, 26, 27, 24, 25, 26, 27), v2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20, 21, 22, 23);
      g = i8x16.shuffle(i8x16.shuffle(v0, v1, 4, 5, 6, 7, 16, 17, 18, 19, 28, 29, 30, 31, 28, 29, 30, 31), v2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 24, 25, 26, 27);
      b = i8x16.shuffle(i8x16.shuffle(v0, v1, 8, 9, 10, 11, 20, 21, 22, 23, 20, 21, 22, 23, 20, 21, 22, 23), v2, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 28, 29, 30, 31);
    } else {
      r = v128.load(src + (<usize>x << 2));
      g = r;
      b = r;
    }
    const nan = v128.or(v128.or(f32x4.ne(r, r), f32x4.ne(g, g)), f32x4.ne(b, b));
    r = v128.and(r, f32x4.gt(r, z));
    g = v128.and(g, f32x4.gt(g, z));
    b = v128.and(b, f32x4.gt(b, z));
    // r, g, b are +0 or positive here (NaN and negatives masked to +0): pmax, one instruction, is max.
    const v = f32x4.pmax(f32x4.pmax(r, g), b);
    const E = v128.and(i32x4.shr_u(v, 23), i32x4.splat(255));
    const zero = v128.or(v128.or(nan, f32x4.lt(v, vtiny)), v128.or(i32x4.eq(E, i32x4.splat(0)), i32x4.eq(E, i32x4.splat(255))));
    const e = i32x4.sub(E, i32x4.splat(126));
    // 2^(8 − e) as f32 bits; lanes masked below may hold anything.
    const scale = i32x4.shl(i32x4.sub(i32x4.splat(135), e), 23);
    // In the lanes kept, c·2^(8 − e) ∈ [0, 256) (exact: a power-of-two scale): floor, then + 2^23
    // leaves the integer in the low byte (bits 8–22 zero, the exponent bits above); the shifts below
    // push those exponent bits out, and R is masked.
    const two23 = f32x4.splat(8388608);
    const R = v128.and(f32x4.add(f32x4.floor(f32x4.mul(r, scale)), two23), i32x4.splat(255));
    const G = f32x4.add(f32x4.floor(f32x4.mul(g, scale)), two23);
    const B = f32x4.add(f32x4.floor(f32x4.mul(b, scale)), two23);
    let q = v128.or(v128.or(R, i32x4.shl(G, 8)), v128.or(i32x4.shl(B, 16), i32x4.shl(i32x4.add(e, i32x4.splat(128)), 24)));
    q = v128.or(q, i32x4.gt_s(e, i32x4.splat(127)));
    q = v128.andnot(q, zero);
    v128.store(out + (<usize>x << 2), q);
    if (planes) {
      const p = i8x16.shuffle(q, q, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      const o = planes + <usize>x;
      v128.store32_lane(o, p, 0);
      v128.store32_lane(o + w, p, 1);
      v128.store32_lane(o + 2 * w, p, 2);
      v128.store32_lane(o + 3 * w, p, 3);
    }
  }
  return x;
}

export { heapBase } from './lib/heap';
