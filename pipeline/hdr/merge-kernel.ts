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
  w: Float32Array;
  /** Level at or above which a sample counts as saturated. */
  satLevel: number;
}

export function buildMergeLut(r: CameraResponse, channels: number, weights: WeightOptions, bitDepth: number): MergeLut {
  if (r.channels !== 1 && r.channels !== channels) throw new Error(`response has ${r.channels} channels, images have ${channels}`);
  const levels = bitDepth === 16 ? 65536 : 256;
  const g = new Float32Array(levels * channels);
  const w = new Float32Array(levels);
  const scale = 255 / (levels - 1);
  for (let i = 0; i < levels; i++) {
    const z = i * scale;
    const z0 = Math.min(254, Math.floor(z));
    const f = z - z0;
    w[i] = weightAt(z, weights);
    for (let c = 0; c < channels; c++) {
      const rc = r.channels === 1 ? 0 : c;
      g[i * channels + c] = (1 - f) * r.g[z0 * r.channels + rc]! + f * r.g[(z0 + 1) * r.channels + rc]!;
    }
  }
  return { levels, channels, g, w, satLevel: Math.ceil(weights.highClip / scale) };
}

export interface DebevecStrip {
  num: Float32Array;
  den: Float32Array;
  shortest: Float32Array;
  longest: Float32Array;
  /** 1 where the shortest exposure is at/above the saturation level (per sample). */
  satShort: Uint8Array;
  brightShort: Uint8Array;
}

export function createDebevecStrip(samples: number): DebevecStrip {
  return {
    num: new Float32Array(samples),
    den: new Float32Array(samples),
    shortest: new Float32Array(samples),
    longest: new Float32Array(samples),
    satShort: new Uint8Array(samples),
    brightShort: new Uint8Array(samples),
  };
}

/** Fold frame `j` of `n` (sorted by exposure, shortest first) into the strip sums. */
export function accumulateDebevec(s: DebevecStrip, data: Float32Array, count: number, lut: MergeLut, lnT: number, j: number, n: number): void {
  const { g, w, channels, levels } = lut;
  const top = levels - 1;
  const first = j === 0;
  const last = j === n - 1;
  if (first) {
    s.num.fill(0, 0, count);
    s.den.fill(0, 0, count);
  }
  for (let i = 0; i < count; i++) {
    let v = data[i]!;
    v = v <= 0 ? 0 : v >= 1 ? 1 : v;
    const lv = Math.round(v * top);
    const c = i % channels;
    const est = g[lv * channels + c]! - lnT;
    const wt = w[lv]!;
    s.num[i] += wt * est;
    s.den[i] += wt;
    if (first) {
      s.shortest[i] = est;
      s.satShort[i] = lv >= lut.satLevel ? 1 : 0;
      s.brightShort[i] = lv * 2 > top ? 1 : 0;
    }
    if (last) s.longest[i] = est;
  }
}

/** lnE for the strip; returns the count of pixels (any channel) saturated even in the shortest exposure. */
export function finishDebevec(s: DebevecStrip, count: number, channels: number, out: Float32Array): number {
  let saturated = 0;
  for (let i = 0; i < count; i++) {
    const d = s.den[i]!;
    out[i] = d > 0 ? s.num[i]! / d : s.brightShort[i] ? s.shortest[i]! : s.longest[i]!;
  }
  for (let p = 0; p < count; p += channels) {
    let sat = 0;
    for (let c = 0; c < channels; c++) sat |= s.satShort[p + c]!;
    saturated += sat;
  }
  return saturated;
}
