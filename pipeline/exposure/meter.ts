// Sky-level metering for auto-exposure: the median luminance of a central region (a circle for an
// all-sky lens, whose corners see no sky; a rectangle; or a mask), from a decoded frame or streamed by
// rows, as a fraction of full scale. A histogram keeps it one pass and fixed memory at any frame size.
import type { ImageF32 } from '../image/types.js';
import type { RowSource } from '../image/rows.js';

/**
 * Where to meter. `circle`: centre and radius as fractions (centre of the frame, radius of half the
 * shorter side by default); `rect`: the central `fraction` of width and height; `full`: every pixel;
 * `mask`: a width×height byte mask, non-zero = metered.
 */
export type MeterRegion =
  | { shape: 'circle'; cx?: number; cy?: number; radius?: number }
  | { shape: 'rect'; fraction?: number }
  | { shape: 'full' }
  | { shape: 'mask'; mask: Uint8Array; width: number; height: number };

export interface MeterOptions {
  region?: MeterRegion;
  /** Meter every n-th row / column (default 1: all). */
  rowStep?: number;
  colStep?: number;
  /** Histogram bins over 0..1 (default 4096: 16 ADU steps of a 16-bit frame). */
  bins?: number;
  /** A sample with any channel at or above this counts as saturated (default 0.98). */
  saturation?: number;
}

export interface Metering {
  /** Median luminance of the metered pixels, 0..1 of full scale. */
  median: number;
  mean: number;
  saturatedFraction: number;
  /** Pixels metered. */
  samples: number;
  bitDepth: number;
}

const LUMA = [0.2126, 0.7152, 0.0722] as const;

/** The histogram accumulator both entry points feed; rows may arrive in any batch size, in order. */
export class SkyMeter {
  private readonly hist: Float64Array;
  private readonly rowStep: number;
  private readonly colStep: number;
  private readonly saturation: number;
  private n = 0;
  private sum = 0;
  private sat = 0;

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly opts: MeterOptions = {},
  ) {
    this.hist = new Float64Array(opts.bins ?? 4096);
    this.rowStep = Math.max(1, Math.floor(opts.rowStep ?? 1));
    this.colStep = Math.max(1, Math.floor(opts.colStep ?? 1));
    this.saturation = opts.saturation ?? 0.98;
    const r = opts.region;
    if (r?.shape === 'mask' && (r.width !== width || r.height !== height || r.mask.length < width * height)) {
      throw new Error(`meter mask is ${r.width}×${r.height}, the frame ${width}×${height}`);
    }
  }

  /** Column span [x0, x1) of the region on row y (empty when x1 <= x0); mask rows test per pixel. */
  private span(y: number): [number, number] {
    const { width: w, height: h } = this;
    const r = this.opts.region ?? { shape: 'full' };
    switch (r.shape) {
      case 'full':
      case 'mask':
        return [0, w];
      case 'rect': {
        const f = Math.min(1, Math.max(0.01, r.fraction ?? 0.5));
        const y0 = Math.floor((h * (1 - f)) / 2);
        if (y < y0 || y >= h - y0) return [0, 0];
        const x0 = Math.floor((w * (1 - f)) / 2);
        return [x0, w - x0];
      }
      case 'circle': {
        const cx = (r.cx ?? 0.5) * (w - 1);
        const cy = (r.cy ?? 0.5) * (h - 1);
        const rad = (r.radius ?? 1) * (Math.min(w, h) / 2);
        const dy = y - cy;
        if (Math.abs(dy) > rad) return [0, 0];
        const half = Math.sqrt(rad * rad - dy * dy);
        return [Math.max(0, Math.ceil(cx - half)), Math.min(w, Math.floor(cx + half) + 1)];
      }
    }
  }

  /** Interleaved rows starting at row y0 (`channels` per pixel, 0..1). */
  addRows(data: Float32Array, y0: number, rows: number, channels: number): void {
    const w = this.width;
    const bins = this.hist.length;
    const mask = this.opts.region?.shape === 'mask' ? this.opts.region.mask : null;
    for (let r = 0; r < rows; r++) {
      const y = y0 + r;
      if (y % this.rowStep !== 0) continue;
      const [x0, x1] = this.span(y);
      const base = r * w * channels;
      for (let x = Math.ceil(x0 / this.colStep) * this.colStep; x < x1; x += this.colStep) {
        if (mask && !mask[y * w + x]) continue;
        let v = 0;
        let s = 0;
        const p = base + x * channels;
        for (let c = 0; c < channels; c++) {
          const u = data[p + c]!;
          if (u >= this.saturation) s = 1;
          v += channels >= 3 ? (LUMA[c] ?? 0) * u : u / channels;
        }
        const vc = v < 0 ? 0 : v > 1 ? 1 : v;
        this.hist[Math.min(bins - 1, Math.floor(vc * bins))]!++;
        this.sum += vc;
        this.sat += s;
        this.n++;
      }
    }
  }

  result(bitDepth: number): Metering {
    const bins = this.hist.length;
    let acc = 0;
    let median = 0;
    for (let i = 0; i < bins; i++) {
      acc += this.hist[i]!;
      if (acc >= this.n / 2) {
        median = (i + 0.5) / bins;
        break;
      }
    }
    const n = Math.max(1, this.n);
    return { median, mean: this.sum / n, saturatedFraction: this.sat / n, samples: this.n, bitDepth };
  }
}

/** Meter a decoded frame. */
export function meterImage(img: ImageF32, opts: MeterOptions = {}): Metering {
  const m = new SkyMeter(img.width, img.height, opts);
  m.addRows(img.data, 0, img.height, img.channels);
  return m.result(img.bitDepth);
}

/** Meter a row source to its end (the caller opens and closes it). Fixed memory: one batch at a time. */
export async function meterRows(src: RowSource, opts: MeterOptions = {}): Promise<Metering> {
  const m = new SkyMeter(src.width, src.height, opts);
  const batch = Math.max(1, Math.min(64, Math.floor((1 << 20) / Math.max(1, src.width * src.channels))));
  for (;;) {
    const b = await src.readRows(batch);
    if (!b) break;
    m.addRows(b.data, b.y0, b.rows, src.channels);
  }
  return m.result(src.bitDepth);
}

export interface MeteredFrame {
  metering: Metering;
  /** The frame binned by `bin` (mean of bin×bin cells), same channels: stars and the preview use it. */
  binned: ImageF32;
  bin: number;
}

/**
 * One streamed pass over a frame: the sky metering plus a binned copy no larger than `maxSize` on its
 * long edge (bin 1 below that) — so a 24 MP frame costs a few MB here, never the decoded frame.
 */
export async function meterAndBin(src: RowSource, opts: MeterOptions & { maxSize?: number } = {}): Promise<MeteredFrame> {
  const { width: w, height: h, channels: C } = src;
  const bin = Math.max(1, Math.ceil(Math.max(w, h) / (opts.maxSize ?? 2048)));
  const bw = Math.ceil(w / bin);
  const bh = Math.ceil(h / bin);
  const sum = new Float32Array(bw * bh * C);
  const meter = new SkyMeter(w, h, opts);
  const batch = Math.max(1, Math.min(64, Math.floor((1 << 20) / Math.max(1, w * C))));
  for (;;) {
    const b = await src.readRows(batch);
    if (!b) break;
    meter.addRows(b.data, b.y0, b.rows, C);
    for (let r = 0; r < b.rows; r++) {
      const out = Math.floor((b.y0 + r) / bin) * bw * C;
      const row = r * w * C;
      for (let x = 0; x < w; x++) {
        const o = out + Math.floor(x / bin) * C;
        for (let c = 0; c < C; c++) sum[o + c] += b.data[row + x * C + c]!;
      }
    }
  }
  // Mean per cell (edge cells hold fewer pixels).
  for (let by = 0; by < bh; by++) {
    const ch = Math.min(bin, h - by * bin);
    for (let bx = 0; bx < bw; bx++) {
      const n = ch * Math.min(bin, w - bx * bin);
      for (let c = 0; c < C; c++) sum[(by * bw + bx) * C + c]! /= n;
    }
  }
  return { metering: meter.result(src.bitDepth), binned: { width: bw, height: bh, channels: C, bitDepth: src.bitDepth, data: sum }, bin };
}
