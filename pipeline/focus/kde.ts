// Focus regions (focus_response's detect_focus_regions): keep the strongest `topPercent` % of a
// fused focus map, place an impulse at each (weighted by strength if asked), smooth with a Gaussian
// of `bandwidthPx` (a KDE on the pixel grid), clip at a percentile and scale to 0..1.
// Unlike focus_response, the clip percentile is taken over the density itself, which is what a
// display clip should use.
import { gaussianBlurPlane } from './gaussian.js';
import { LogHistogram } from './quantiles.js';

export interface KdeOptions {
  topPercent: number; // 0 < p <= 100
  bandwidthPx: number;
  includeStrength: boolean;
  clipPercentile: number | null; // e.g. 99.5; null = no clip
  /**
   * Which map the clip percentile is taken over: `filter` (focus_response: the percentile of the fused
   * filter map caps the density) or `density` (ours: the density's own percentile, so the cap always
   * falls inside the density's range whatever the filter's scale).
   */
  clipOver?: 'filter' | 'density';
  normalize: boolean;
}

/** focus_response's defaults (top 25 %, bandwidth 10 px, clip at the filter map's 99.5th percentile). */
export const DEFAULT_KDE: KdeOptions = { topPercent: 25, bandwidthPx: 10, includeStrength: false, clipPercentile: 99.5, clipOver: 'filter', normalize: true };

export function validateKde(o: KdeOptions): void {
  if (!(o.topPercent > 0 && o.topPercent <= 100)) throw new Error(`--top-percent: expected 0 < p <= 100, got ${o.topPercent}`);
  if (!(o.bandwidthPx > 0)) throw new Error(`--bandwidth-px: expected > 0, got ${o.bandwidthPx}`);
  if (o.clipPercentile !== null && !(o.clipPercentile > 0 && o.clipPercentile <= 100)) throw new Error(`--clip-percentile: expected 0..100, got ${o.clipPercentile}`);
}

/** Threshold selecting the top `topPercent` % of the positive values in the histogram. */
export function kdeThreshold(hist: LogHistogram, topPercent: number): number {
  const positive = hist.total - hist.zeros;
  return positive > 0 ? hist.quantile(1 - topPercent / 100, true) : hist.quantile(1 - topPercent / 100);
}

/** Impulses for rows of the fused map (in place into `out`). */
export function impulses(fused: Float32Array, thr: number, includeStrength: boolean, out: Float32Array): Float32Array {
  for (let i = 0; i < fused.length; i++) {
    const v = fused[i]!;
    out[i] = v >= thr && v > 0 ? (includeStrength ? v : 1) : 0;
  }
  return out;
}

/** Whole-map KDE (small maps, tests). */
export function kdeOnFused(fused: Float32Array, w: number, h: number, o: KdeOptions = DEFAULT_KDE): { density: Float32Array; threshold: number } {
  validateKde(o);
  const hist = new LogHistogram();
  hist.add(fused);
  const threshold = kdeThreshold(hist, o.topPercent);
  const imp = impulses(fused, threshold, o.includeStrength, new Float32Array(fused.length));
  const density = gaussianBlurPlane(imp, w, h, o.bandwidthPx, 'constant');
  finishDensity(density, o);
  return { density, threshold };
}

export function finishDensity(density: Float32Array, o: KdeOptions): void {
  let hi = 0;
  if (o.clipPercentile !== null && o.clipPercentile < 100) {
    const dh = new LogHistogram();
    dh.add(density);
    hi = dh.quantile(o.clipPercentile / 100);
  }
  let max = 0;
  for (let i = 0; i < density.length; i++) {
    if (hi > 0 && density[i]! > hi) density[i] = hi;
    if (density[i]! > max) max = density[i]!;
  }
  if (o.normalize && max > 0) for (let i = 0; i < density.length; i++) density[i]! /= max;
}
