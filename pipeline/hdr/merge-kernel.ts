// Pure Debevec merge over one strip: frames arrive one at a time (shortest exposure first) and are
// folded into running sums, so a strip costs four float planes however many exposures there are.
//   lnE = Σ w(z)(g(z) − ln t) / Σ w(z)
// Pixels with no usable exposure (every code clipped) take the shortest exposure's estimate when
// bright (saturated everywhere) and the longest's when dark — never 0/0.
import type { CameraResponse } from './response.js';
import { weightAt, type WeightOptions } from './weights.js';

export interface MergeLut {
  /** Table size: 256 for 8-bit sources, 65536 for 16-bit (g interpolated between codes). */
  levels: number;
  channels: number;
  /** g at [level·channels + c]. */
  g: Float32Array;
  /** Weight at [level·channels + c] (per channel: the noise weights follow each channel's curve). */
  w: Float32Array;
  /** Level at or above which a sample counts as saturated. */
  satLevel: number;
}

/**
 * How exposures are weighed in the merge. `hat`: the calibration's triangle/sine over codes (Debevec &
 * Malik, asi_core, OpenCV). `noise`: inverse variance of each estimate g(z) − ln t. A code step is the
 * unit of noise an 8-bit frame carries (quantisation plus the read and shot noise it hides), and it
 * spans g′(z) in ln exposure, so var(ln E) ∝ g′(z)² and the weight is 1/g′(z)² — per channel, zero
 * outside the clips. Bright unsaturated codes, which hold the most photons, count most.
 */
export type MergeWeighting = 'hat' | 'noise';

/** Noise weights per 8-bit code for channel `c` of a response, peak scaled to 127.5 like the hat. */
export function noiseWeights(r: CameraResponse, c: number, clips: WeightOptions): Float64Array {
  const C = r.channels;
  const rc = C === 1 ? 0 : c;
  const out = new Float64Array(256);
  let peak = 0;
  for (let z = 0; z < 256; z++) {
    if (z <= clips.lowClip || z >= clips.highClip) continue;
    // Slope over ±2 codes: a one-code difference of a solved curve is too noisy to invert.
    const a = Math.max(0, z - 2);
    const b = Math.min(255, z + 2);
    const slope = (r.g[b * C + rc]! - r.g[a * C + rc]!) / (b - a);
    out[z] = slope > 0 ? 1 / (slope * slope) : 0;
    peak = Math.max(peak, out[z]!);
  }
  if (peak > 0) for (let z = 0; z < 256; z++) out[z] = (127.5 * out[z]!) / peak;
  return out;
}

export function buildMergeLut(r: CameraResponse, channels: number, weights: WeightOptions, bitDepth: number, weighting: MergeWeighting = 'hat'): MergeLut {
  if (r.channels !== 1 && r.channels !== channels) throw new Error(`response has ${r.channels} channels, images have ${channels}`);
  const levels = bitDepth === 16 ? 65536 : 256;
  const g = new Float32Array(levels * channels);
  const w = new Float32Array(levels * channels);
  const scale = 255 / (levels - 1);
  const noise = weighting === 'noise' ? Array.from({ length: channels }, (_, c) => noiseWeights(r, c, weights)) : null;
  for (let i = 0; i < levels; i++) {
    const z = i * scale;
    const z0 = Math.min(254, Math.floor(z));
    const f = z - z0;
    const hat = noise ? 0 : weightAt(z, weights);
    for (let c = 0; c < channels; c++) {
      const rc = r.channels === 1 ? 0 : c;
      g[i * channels + c] = (1 - f) * r.g[z0 * r.channels + rc]! + f * r.g[(z0 + 1) * r.channels + rc]!;
      w[i * channels + c] = noise ? (z <= weights.lowClip || z >= weights.highClip ? 0 : (1 - f) * noise[c]![z0]! + f * noise[c]![z0 + 1]!) : hat;
    }
  }
  return { levels, channels, g, w, satLevel: Math.ceil(weights.highClip / scale) };
}

export interface DebevecStrip {
  num: Float32Array;
  den: Float32Array;
  /** LUT level of the shortest and the longest exposure per sample (fallback for clipped pixels). */
  shortLevel: Uint16Array;
  longLevel: Uint16Array;
  lnTShort: number;
  lnTLong: number;
}

export function createDebevecStrip(samples: number): DebevecStrip {
  return {
    num: new Float32Array(samples),
    den: new Float32Array(samples),
    shortLevel: new Uint16Array(samples),
    longLevel: new Uint16Array(samples),
    lnTShort: 0,
    lnTLong: 0,
  };
}

/** Per-frame table w(z)·(g(z) − ln t) at [level·channels + c]: one lookup per sample in the hot loop. */
export function frameTable(lut: MergeLut, lnT: number, out?: Float32Array): Float32Array {
  const { g, w, channels, levels } = lut;
  const t = out ?? new Float32Array(levels * channels);
  for (let lv = 0; lv < levels; lv++) for (let c = 0; c < channels; c++) t[lv * channels + c] = w[lv * channels + c]! * (g[lv * channels + c]! - lnT);
  return t;
}

/** Fold frame `j` of `n` (sorted by exposure, shortest first) into the strip sums. */
export function accumulateDebevec(s: DebevecStrip, data: Float32Array, count: number, lut: MergeLut, lnT: number, j: number, n: number, table?: Float32Array): void {
  const { w, channels, levels } = lut;
  const wg = table ?? frameTable(lut, lnT);
  const top = levels - 1;
  const { num, den } = s;
  if (j === 0) {
    num.fill(0, 0, count);
    den.fill(0, 0, count);
    s.lnTShort = lnT;
  }
  if (j === n - 1) s.lnTLong = lnT;
  const keep = j === 0 ? s.shortLevel : j === n - 1 ? s.longLevel : null;
  if (keep) {
    for (let c = 0; c < channels; c++) {
      for (let i = c; i < count; i += channels) {
        const v = data[i]!;
        const lv = v <= 0 ? 0 : v >= 1 ? top : (v * top + 0.5) | 0;
        num[i] += wg[lv * channels + c]!;
        den[i] += w[lv * channels + c]!;
        keep[i] = lv;
      }
    }
    return;
  }
  for (let c = 0; c < channels; c++) {
    for (let i = c; i < count; i += channels) {
      const v = data[i]!;
      const lv = v <= 0 ? 0 : v >= 1 ? top : (v * top + 0.5) | 0;
      num[i] += wg[lv * channels + c]!;
      den[i] += w[lv * channels + c]!;
    }
  }
}

/** Same as accumulateDebevec for raw integer codes that index the LUT directly (8-bit: 0..255 with a
 *  256-level LUT; 16-bit: 0..65535 with a 65536-level LUT) — no float conversion on the hot path. */
export function accumulateDebevecCodes(s: DebevecStrip, codes: Uint8Array | Uint16Array, count: number, lut: MergeLut, lnT: number, j: number, n: number, table: Float32Array): void {
  const { w, channels } = lut;
  const wg = table;
  const { num, den } = s;
  if (j === 0) {
    num.fill(0, 0, count);
    den.fill(0, 0, count);
    s.lnTShort = lnT;
  }
  if (j === n - 1) s.lnTLong = lnT;
  const keep = j === 0 ? s.shortLevel : j === n - 1 ? s.longLevel : null;
  for (let c = 0; c < channels; c++) {
    if (keep) {
      for (let i = c; i < count; i += channels) {
        const lv = codes[i]!;
        num[i] += wg[lv * channels + c]!;
        den[i] += w[lv * channels + c]!;
        keep[i] = lv;
      }
    } else {
      for (let i = c; i < count; i += channels) {
        const lv = codes[i]!;
        num[i] += wg[lv * channels + c]!;
        den[i] += w[lv * channels + c]!;
      }
    }
  }
}

/** lnE for the strip; returns the count of pixels (any channel) saturated even in the shortest exposure. */
export function finishDebevec(s: DebevecStrip, count: number, lut: MergeLut, out: Float32Array): number {
  const { g, channels, levels, satLevel } = lut;
  const half = (levels - 1) / 2;
  let saturated = 0;
  for (let p = 0; p < count; p += channels) {
    let sat = 0;
    for (let c = 0; c < channels; c++) {
      const i = p + c;
      const d = s.den[i]!;
      const ls = s.shortLevel[i]!;
      if (ls >= satLevel) sat = 1;
      if (d > 0) out[i] = s.num[i]! / d;
      else if (ls > half) out[i] = g[ls * channels + c]! - s.lnTShort;
      else out[i] = g[s.longLevel[i]! * channels + c]! - s.lnTLong;
    }
    saturated += sat;
  }
  return saturated;
}
