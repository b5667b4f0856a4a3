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

export function accumulateStats(st: RadianceStats, lnE: Float32Array, count: number, channels: number): void {
  for (let i = 0; i < count; i++) {
    const v = lnE[i]!;
    if (v < st.minLnE) st.minLnE = v;
    if (v > st.maxLnE) st.maxLnE = v;
  }
  for (let p = 0; p < count; p += channels) {
    const L = luminanceAt(lnE, p, channels);
    st.sumLogLum += Math.log(DELTA + L);
    if (L > st.maxLum) st.maxLum = L;
    st.pixels++;
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
  const invGamma = 1 / o.gamma;
  for (let p = 0; p < count; p += channels) {
    const L = luminanceAt(lnE, p, channels);
    const Ls = a * L;
    const Ld = (Ls * (1 + Ls / w2)) / (1 + Ls);
    const ratio = L > 0 ? Ld / L : 0;
    for (let c = 0; c < channels; c++) {
      const v = Math.exp(lnE[p + c]!) * ratio;
      out[p + c] = v <= 0 ? 0 : v >= 1 ? 1 : Math.pow(v, invGamma);
    }
  }
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
