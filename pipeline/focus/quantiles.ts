// Streaming quantiles over a log-spaced histogram: percentiles (p99, medians, thresholds) of maps
// that are never held whole. Relative error of a returned value is below half a bin (~0.5 %).
const LOG_MIN = -14; // 1e-14
const LOG_MAX = 6; // 1e6
export const BINS = 8192;
const PER_DECADE = BINS / (LOG_MAX - LOG_MIN);

export class LogHistogram {
  readonly counts = new Float64Array(BINS);
  zeros = 0; // values <= 0 (and below 1e-14)
  total = 0;
  max = 0;

  add(values: Float32Array | Float64Array, start = 0, end = values.length): void {
    const c = this.counts;
    let mx = this.max;
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      if (!(v > 1e-14)) {
        this.zeros++;
        continue;
      }
      if (v > mx) mx = v;
      let b = Math.floor((Math.log10(v) - LOG_MIN) * PER_DECADE);
      if (b >= BINS) b = BINS - 1;
      c[b]!++;
    }
    this.max = mx;
    this.total += end - start;
  }

  /**
   * Fold in a histogram kept elsewhere in the same layout (the WASM kernels' per-thread copies):
   * BINS counts, then zeros, total and max.
   */
  addRaw(raw: Float64Array): void {
    for (let b = 0; b < BINS; b++) this.counts[b]! += raw[b]!;
    this.zeros += raw[BINS]!;
    this.total += raw[BINS + 1]!;
    if (raw[BINS + 2]! > this.max) this.max = raw[BINS + 2]!;
  }

  /** Value below which fraction q (0..1) of all samples lie. `positiveOnly` ignores zeros. */
  quantile(q: number, positiveOnly = false): number {
    const n = positiveOnly ? this.total - this.zeros : this.total;
    if (n <= 0) return 0;
    let target = q * n;
    if (!positiveOnly) {
      if (target <= this.zeros) return 0;
      target -= this.zeros;
    }
    let acc = 0;
    for (let b = 0; b < BINS; b++) {
      const cnt = this.counts[b]!;
      if (acc + cnt >= target && cnt > 0) {
        const frac = (target - acc) / cnt;
        const v = Math.pow(10, LOG_MIN + (b + frac) / PER_DECADE);
        return Math.min(v, this.max);
      }
      acc += cnt;
    }
    return this.max;
  }

  /** Median and median absolute deviation (from bin centres). */
  medianMad(): { median: number; mad: number } {
    const median = this.quantile(0.5);
    const items: { d: number; n: number }[] = [];
    if (this.zeros > 0) items.push({ d: median, n: this.zeros });
    for (let b = 0; b < BINS; b++) {
      const cnt = this.counts[b]!;
      if (cnt > 0) items.push({ d: Math.abs(binCentre(b) - median), n: cnt });
    }
    items.sort((a, b) => a.d - b.d);
    let acc = 0;
    const half = this.total / 2;
    for (const it of items) {
      acc += it.n;
      if (acc >= half) return { median, mad: it.d };
    }
    return { median, mad: 0 };
  }
}

function binCentre(b: number): number {
  return Math.pow(10, LOG_MIN + (b + 0.5) / PER_DECADE);
}
