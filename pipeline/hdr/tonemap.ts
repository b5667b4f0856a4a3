// Global tone mapping of ln-radiance strips. Both operators need only a few global numbers
// (log-average luminance, lnE range), gathered in one pass before the picture is streamed out.

export type ToneMap = 'reinhard' | 'log';

export interface RadianceStats {
  pixels: number;
  /** Σ ln(δ + L) over pixels, L = Rec.709 luminance of exp(lnE). */
  sumLogLum: number;
  maxLum: number;
  minLnE: number;
  maxLnE: number;
}

export function emptyStats(): RadianceStats {
  return { pixels: 0, sumLogLum: 0, maxLum: 0, minLnE: Infinity, maxLnE: -Infinity };
}

const DELTA = 1e-6;

function luminanceAt(lnE: Float32Array, p: number, channels: number): number {
  if (channels < 3) return Math.exp(lnE[p]!);
  return 0.2126 * Math.exp(lnE[p]!) + 0.7152 * Math.exp(lnE[p + 1]!) + 0.0722 * Math.exp(lnE[p + 2]!);
}

/**
 * Fold a strip into the global stats. min/max lnE use every sample; the luminance statistics
 * (three exp per pixel) use every other pixel of every other row (`evenStart` says whether this
 * strip starts on an even row) — a quarter of the cost, and the log-average barely moves. Each row
 * is summed on its own and the row sums are added in order: the WebAssembly kernel
 * (assembly/debevec.ts rowStats) sums the rows of its bands the same way, so the totals do not
 * depend on how a strip is split between threads.
 */
export function accumulateStats(st: RadianceStats, lnE: Float32Array, count: number, channels: number, width = count / channels, evenStart = true): void {
  const rowLen = width * channels;
  const rows = count / rowLen;
  for (let r = 0; r < rows; r++) {
    const from = r * rowLen;
    const to = from + rowLen;
    let mn = Infinity;
    let mx = -Infinity;
    for (let i = from; i < to; i++) {
      const v = lnE[i]!;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    const sampled = (r & 1) === (evenStart ? 0 : 1);
    let sum = 0;
    let maxL = 0;
    if (sampled) {
      for (let p = from; p < to; p += channels * 2) {
        const L = luminanceAt(lnE, p, channels);
        sum += Math.log(DELTA + L);
        if (L > maxL) maxL = L;
      }
    }
    foldRow(st, mn, mx, sampled, sum, maxL, width);
  }
}

function foldRow(st: RadianceStats, mn: number, mx: number, sampled: boolean, sum: number, maxL: number, width: number): void {
  if (mn < st.minLnE) st.minLnE = mn;
  if (mx > st.maxLnE) st.maxLnE = mx;
  if (!sampled) return;
  st.sumLogLum += sum;
  if (maxL > st.maxLum) st.maxLum = maxL;
  st.pixels += Math.ceil(width / 2);
}

/**
 * Fold `rows` per-row records as the WebAssembly kernel writes them (32 bytes a row: f64 Σ ln(δ + L),
 * f64 max L, f32 min lnE, f32 max lnE, i32 sampled), in row order: the same totals as accumulateStats.
 */
export function foldRowStats(st: RadianceStats, rec: DataView, rows: number, width: number): void {
  for (let r = 0, o = 0; r < rows; r++, o += 32) {
    foldRow(st, rec.getFloat32(o + 16, true), rec.getFloat32(o + 20, true), rec.getInt32(o + 24, true) !== 0, rec.getFloat64(o, true), rec.getFloat64(o + 8, true), width);
  }
}

export interface ToneMapOptions {
  op: ToneMap;
  gamma: number;
  /** Reinhard key (middle grey), default 0.18. */
  key?: number;
  /** lnE range for the log operator; default the image's own min/max. */
  range?: [number, number];
}

/**
 * Display values 0..1 from lnE. Reinhard (2002) global operator with L_white = brightest pixel,
 * colour ratios kept, then 1/gamma; `log` maps lnE linearly over the range (already perceptual, no gamma).
 */
export function toneMapStrip(lnE: Float32Array, count: number, channels: number, st: RadianceStats, o: ToneMapOptions, out: Float32Array): void {
  if (o.op === 'log') {
    const [lo, hi] = o.range ?? [st.minLnE, st.maxLnE];
    const span = hi > lo ? hi - lo : 1;
    for (let i = 0; i < count; i++) {
      const v = (lnE[i]! - lo) / span;
      out[i] = v <= 0 ? 0 : v >= 1 ? 1 : v;
    }
    return;
  }
  const key = o.key ?? 0.18;
  const avg = Math.exp(st.sumLogLum / Math.max(1, st.pixels));
  const a = key / avg;
  const white = Math.max(1e-12, a * st.maxLum);
  const w2 = white * white;
  const lut = gammaLut(o.gamma);
  const top = lut.length - 2;
  const e = [0, 0, 0];
  for (let p = 0; p < count; p += channels) {
    let L: number;
    if (channels >= 3) {
      e[0] = Math.exp(lnE[p]!);
      e[1] = Math.exp(lnE[p + 1]!);
      e[2] = Math.exp(lnE[p + 2]!);
      L = 0.2126 * e[0] + 0.7152 * e[1] + 0.0722 * e[2];
    } else L = e[0] = Math.exp(lnE[p]!);
    const Ls = a * L;
    const Ld = (Ls * (1 + Ls / w2)) / (1 + Ls);
    const ratio = L > 0 ? Ld / L : 0;
    for (let c = 0; c < channels; c++) {
      const v = e[c < 3 ? c : 0]! * ratio;
      if (v <= 0) out[p + c] = 0;
      else if (v >= 1) out[p + c] = 1;
      else {
        const x = Math.sqrt(v) * top;
        const k = x | 0;
        out[p + c] = lut[k]! + (x - k) * (lut[k + 1]! - lut[k]!);
      }
    }
  }
}

/** Reinhard's scale a = key / log-average luminance and (a·L_white)², from the global stats. */
export function reinhardConstants(st: RadianceStats, key = 0.18): { a: number; w2: number } {
  const avg = Math.exp(st.sumLogLum / Math.max(1, st.pixels));
  const a = key / avg;
  const white = Math.max(1e-12, a * st.maxLum);
  return { a, w2: white * white };
}

/** Reinhard from spooled 16-bit lnE codes: linear values come from `expLut[code]` (no exp calls). */
export function toneMapCodes(codes: Uint16Array, count: number, channels: number, expLut: Float32Array, st: RadianceStats, gamma: number, out: Float32Array, key = 0.18): void {
  const { a, w2 } = reinhardConstants(st, key);
  const lut = gammaLut(gamma);
  const top = lut.length - 2;
  for (let p = 0; p < count; p += channels) {
    const L = channels >= 3 ? 0.2126 * expLut[codes[p]!]! + 0.7152 * expLut[codes[p + 1]!]! + 0.0722 * expLut[codes[p + 2]!]! : expLut[codes[p]!]!;
    const Ls = a * L;
    const ratio = L > 0 ? (a * (1 + Ls / w2)) / (1 + Ls) : 0;
    for (let c = 0; c < channels; c++) {
      const v = expLut[codes[p + c]!]! * ratio;
      if (v <= 0) out[p + c] = 0;
      else if (v >= 1) out[p + c] = 1;
      else {
        const x = Math.sqrt(v) * top;
        const k = x | 0;
        out[p + c] = lut[k]! + (x - k) * (lut[k + 1]! - lut[k]!);
      }
    }
  }
}

const gammaLuts = new Map<number, Float32Array>();

/** v^(1/gamma) tabulated over u = √v (4096 steps + guard) and interpolated: in u the curve is
 *  u^(2/gamma), nearly straight even at the darkest values, so the error stays far below one 8-bit code. */
export function gammaLut(gamma: number): Float32Array {
  let t = gammaLuts.get(gamma);
  if (!t) {
    t = new Float32Array(4097 + 1);
    for (let i = 0; i <= 4097; i++) t[i] = Math.pow(Math.min(1, i / 4096), 2 / gamma);
    gammaLuts.set(gamma, t);
  }
  return t;
}

/** ln radiance → 0..1 over a global range (the asi_core 16-bit PNG encoding). */
export function normaliseLog(lnE: Float32Array, count: number, range: [number, number], out: Float32Array): void {
  const [lo, hi] = range;
  const span = hi - lo;
  for (let i = 0; i < count; i++) {
    const v = (lnE[i]! - lo) / span;
    out[i] = v <= 0 ? 0 : v >= 1 ? 1 : v;
  }
}
