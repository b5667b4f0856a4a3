// The sensor: fixed patterns (hot pixels, pixel response non-uniformity, vignetting), dark current,
// then the exposure itself — Poisson shot noise, full well, gain, Gaussian read noise, bias, 16-bit ADC.
// Pure kernels over typed arrays; the caller owns the random stream.
import { Rng, STREAM, mixSeed } from './random.js';
import type { BayerPattern } from './params.js';

export const ADC_MAX = 65535;

export interface SensorModel {
  width: number;
  height: number;
  fullWellE: number;
  readNoiseE: number;
  biasAdu: number;
  /** Dark current at 20 °C, e-/s/px; doubles every 6 °C. */
  darkRate20: number;
  /** 0..1 light lost in the corners. */
  vignette: number;
}

export interface HotPixels {
  index: Uint32Array;
  /** Extra dark current of each hot pixel (e-/s at 20 °C). */
  rate: Float32Array;
}

/** Hot pixels fixed by the seed: positions uniform, rates log-uniform 30–3000 e-/s. */
export function hotPixelMap(seed: number, width: number, height: number, count: number): HotPixels {
  const rng = new Rng(mixSeed(seed, STREAM.hotPixels, width, height));
  const seen = new Set<number>();
  const n = Math.min(count, Math.floor((width * height) / 4));
  const index = new Uint32Array(n);
  const rate = new Float32Array(n);
  for (let k = 0; k < n; ) {
    const i = Math.floor(rng.uniform() * width * height);
    if (seen.has(i)) continue;
    seen.add(i);
    index[k] = i;
    rate[k] = 30 * 100 ** rng.uniform();
    k++;
  }
  return { index, rate };
}

/** Pixel response non-uniformity: gain of each pixel around 1 (σ = 1 %), fixed by the seed. */
export function prnuMap(seed: number, width: number, height: number, sigma = 0.01): Float32Array {
  const rng = new Rng(mixSeed(seed, STREAM.prnu, width, height));
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = 1 + sigma * rng.normal();
  return out;
}

/** Relative illumination at (x, y): cos⁴-like fall-off reaching 1−vignette in the corners. */
export function vignetteAt(width: number, height: number, vignette: number, x: number, y: number): number {
  if (vignette <= 0) return 1;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const r2 = ((x - cx) ** 2 + (y - cy) ** 2) / (cx * cx + cy * cy);
  // (1 + k r²)^-2 with k set so the corner (r=1) is at 1 − vignette.
  const k = 1 / Math.sqrt(1 - vignette) - 1;
  return 1 / (1 + k * r2) ** 2;
}

export function darkRateAt(model: SensorModel, tempC: number): number {
  return model.darkRate20 * 2 ** ((tempC - 20) / 6);
}

/** Colour index (0 R, 1 G, 2 B) of the four pixels of a 2×2 Bayer cell as [x0y0, x1y0, x0y1, x1y1]. */
export function cfaIndices(pattern: BayerPattern): Uint8Array {
  const map: Record<string, number> = { R: 0, G: 1, B: 2 };
  return Uint8Array.from(pattern.split('').map((c) => map[c]!));
}

/** Dark current: the same everywhere plus a sparse list of hot pixels (a full plane would cost W·H floats). */
export interface DarkSignal {
  uniform: number;
  /** Output pixel indices (ascending) and their extra rate. */
  hotIndex: Uint32Array;
  hotRate: Float32Array;
}

export interface ExposeOptions {
  /** Photo-electron rate per pixel (e-/s), already with vignetting and PRNU; `channels` interleaved. */
  rate: Float32Array;
  channels: number;
  /** Dark current (e-/s per output pixel), or null for none (bias frames). */
  dark: DarkSignal | null;
  exposureS: number;
  gain: number;
  model: SensorModel;
  rng: Rng;
  /** Abort check called every few rows; throws to stop. */
  check?: () => void;
}

/** Expose and read out: returns ADU, same layout as `rate`. */
export function exposeToAdu(o: ExposeOptions): Uint16Array {
  const n = o.rate.length;
  const out = new Uint16Array(n);
  const { fullWellE, readNoiseE, biasAdu } = o.model;
  const readAdu = readNoiseE * o.gain;
  // Saturated pixels read exactly the white level (the well, or the ADC when gain pushes it past 16 bits),
  // as camera firmware clips them: a flat top that saturation checks can rely on.
  const white = Math.min(ADC_MAX, Math.round(biasAdu + fullWellE * o.gain));
  const ch = o.channels;
  const darkE = o.dark ? o.dark.uniform * o.exposureS : 0;
  let hot = 0; // next entry of the sorted hot-pixel list
  const hotCount = o.dark ? o.dark.hotIndex.length : 0;
  for (let i = 0; i < n; i++) {
    if (o.check && (i & 0xffff) === 0) o.check();
    let mean = o.rate[i]! * o.exposureS + darkE;
    if (hot < hotCount) {
      const px = (i / ch) | 0;
      while (hot < hotCount && o.dark!.hotIndex[hot]! < px) hot++;
      if (hot < hotCount && o.dark!.hotIndex[hot] === px) mean += o.dark!.hotRate[hot]! * o.exposureS;
    }
    let e = o.rng.poisson(mean);
    if (e > fullWellE) e = fullWellE;
    let adu = Math.round(biasAdu + e * o.gain + readAdu * o.rng.normal());
    if (adu < 0) adu = 0;
    else if (adu > white) adu = white;
    out[i] = adu;
  }
  return out;
}

/** The ADU level above bias at which the signal clips: full well or the ADC, whichever comes first. */
export function whitePointAdu(model: SensorModel, gain: number): number {
  return Math.min(model.fullWellE * gain, ADC_MAX - model.biasAdu);
}

/** Linear signal X in 0..1 (0 = bias, 1 = white point) of a pixel of radiance L (e-/s) — the truth behind JPEG/PNG values. */
export function normalisedSignal(model: SensorModel, radiance: number, exposureS: number, gain: number): number {
  return Math.min(1, (radiance * exposureS * gain) / whitePointAdu(model, gain));
}
