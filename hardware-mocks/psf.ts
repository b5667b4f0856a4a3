// Star profiles and the defocus model. Pixel (i, j) covers [i-0.5, i+0.5] × [j-0.5, j+0.5], i.e.
// integer coordinates are pixel centres (the numpy/OpenCV convention centroiders use).
import type { PsfName } from './params.js';

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): plenty for pixel-integrated profiles. */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

export const FWHM_PER_SIGMA = 2 * Math.sqrt(2 * Math.log(2));

/**
 * Defocus: the blur disc grows linearly with the distance from best focus and adds in quadrature to
 * seeing, so FWHM (and HFR) trace a hyperbola — the V-curve autofocus fits.
 */
export interface DefocusModel {
  fwhmInFocusPx: number;
  blurPxPerStep: number;
}

export function fwhmAt(model: DefocusModel, defocusSteps: number): number {
  const b = model.blurPxPerStep * defocusSteps;
  return Math.sqrt(model.fwhmInFocusPx * model.fwhmInFocusPx + b * b);
}

/** Half-flux radius of the profile: exactly FWHM/2 for a Gaussian; Moffat β=3 holds half its flux inside 0.631·FWHM. */
export function hfrAt(model: DefocusModel, defocusSteps: number, psf: PsfName = 'gaussian'): number {
  const f = fwhmAt(model, defocusSteps);
  return psf === 'gaussian' ? f / 2 : moffatHalfFluxRadius(f);
}

/**
 * Depth of focus: the defocus at which FWHM has grown by √2 (the defocus blur equals the seeing). Inside
 * ±depth a star is within 41 % of its best width — the zone an autofocus result must land in.
 */
export function depthOfFocusSteps(model: DefocusModel): number {
  return model.blurPxPerStep > 0 ? model.fwhmInFocusPx / model.blurPxPerStep : Infinity;
}

export const MOFFAT_BETA = 3;

function moffatAlpha(fwhm: number): number {
  return fwhm / (2 * Math.sqrt(2 ** (1 / MOFFAT_BETA) - 1));
}

function moffatHalfFluxRadius(fwhm: number): number {
  // Enclosed flux 1 - (1 + r²/α²)^(1-β) = 1/2.
  const a = moffatAlpha(fwhm);
  return a * Math.sqrt(2 ** (1 / (MOFFAT_BETA - 1)) - 1);
}

/** Where a stamp lands: a single-channel plane, or a colour layout the caller resolves per pixel. */
export interface StampTarget {
  width: number;
  height: number;
  channels: number; // 1 or 3 (interleaved)
  data: Float32Array;
  /** For a Bayer mosaic: colour index (0 R, 1 G, 2 B) of pixel (x&1, y&1), as [00, 10, 01, 11]. */
  cfa?: Uint8Array;
}

/** Weight of colour `c` of the star in a mono pixel: mean of R, G, B. */
function pixelWeight(t: StampTarget, colour: readonly number[], x: number, y: number): number {
  if (t.cfa) return colour[t.cfa[(x & 1) | ((y & 1) << 1)]!]!;
  return (colour[0]! + colour[1]! + colour[2]!) / 3;
}

const gx = new Float64Array(4096);
const gy = new Float64Array(4096);

/** Add a star of total `flux` (units of the target, e.g. e-/s) centred at (x, y). */
export function stampStar(t: StampTarget, x: number, y: number, flux: number, colour: readonly number[], fwhm: number, psf: PsfName): void {
  if (psf === 'moffat') {
    stampMoffat(t, x, y, flux, colour, fwhm);
    return;
  }
  const sigma = fwhm / FWHM_PER_SIGMA;
  const r = Math.min(2047, Math.ceil(4 * sigma + 1));
  const x0 = Math.max(0, Math.floor(x) - r);
  const x1 = Math.min(t.width - 1, Math.floor(x) + r + 1);
  const y0 = Math.max(0, Math.floor(y) - r);
  const y1 = Math.min(t.height - 1, Math.floor(y) + r + 1);
  if (x0 > x1 || y0 > y1) return;
  // Separable Gaussian integrated over each pixel exactly: erf differences per axis.
  const k = 1 / (sigma * Math.SQRT2);
  for (let i = x0; i <= x1; i++) gx[i - x0] = 0.5 * (erf((i + 0.5 - x) * k) - erf((i - 0.5 - x) * k));
  for (let j = y0; j <= y1; j++) gy[j - y0] = 0.5 * (erf((j + 0.5 - y) * k) - erf((j - 0.5 - y) * k));
  const ch = t.channels;
  const mono = (colour[0]! + colour[1]! + colour[2]!) / 3;
  for (let j = y0; j <= y1; j++) {
    const fy = flux * gy[j - y0]!;
    if (fy === 0) continue;
    const row = j * t.width;
    for (let i = x0; i <= x1; i++) {
      const v = fy * gx[i - x0]!;
      if (ch === 3) {
        const o = (row + i) * 3;
        t.data[o] += v * colour[0]!;
        t.data[o + 1] += v * colour[1]!;
        t.data[o + 2] += v * colour[2]!;
      } else {
        t.data[row + i] += v * (t.cfa ? pixelWeight(t, colour, i, j) : mono);
      }
    }
  }
}

function stampMoffat(t: StampTarget, x: number, y: number, flux: number, colour: readonly number[], fwhm: number): void {
  const alpha = moffatAlpha(fwhm);
  const b = MOFFAT_BETA;
  // Window out to where the profile holds all but 0.1 % of the flux.
  const r = Math.min(2047, Math.ceil(alpha * Math.sqrt(0.001 ** (1 / (1 - b)) - 1)) + 1);
  const x0 = Math.max(0, Math.floor(x) - r);
  const x1 = Math.min(t.width - 1, Math.floor(x) + r + 1);
  const y0 = Math.max(0, Math.floor(y) - r);
  const y1 = Math.min(t.height - 1, Math.floor(y) + r + 1);
  const norm = (b - 1) / (Math.PI * alpha * alpha);
  const inv = 1 / (alpha * alpha);
  const sub = [-1 / 3, 0, 1 / 3]; // 3×3 samples per pixel: the core is sharp at small FWHM
  for (let j = y0; j <= y1; j++) {
    for (let i = x0; i <= x1; i++) {
      let s = 0;
      for (const sy of sub) {
        const dy = j + sy - y;
        for (const sx of sub) {
          const dx = i + sx - x;
          s += (1 + (dx * dx + dy * dy) * inv) ** -b;
        }
      }
      const v = (flux * norm * s) / 9;
      if (t.channels === 3) {
        const o = (j * t.width + i) * 3;
        t.data[o] += v * colour[0]!;
        t.data[o + 1] += v * colour[1]!;
        t.data[o + 2] += v * colour[2]!;
      } else {
        t.data[j * t.width + i] += v * pixelWeight(t, colour, i, j);
      }
    }
  }
}

/** In-place separable Gaussian blur of an interleaved image (edges clamped). Used for the defocused day scene. */
export function gaussianBlur(data: Float32Array, width: number, height: number, channels: number, sigma: number): void {
  if (!(sigma > 0.3)) return;
  const r = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += kernel[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const line = new Float32Array(Math.max(width, height) * channels);
  // Rows
  for (let y = 0; y < height; y++) {
    const base = y * width * channels;
    line.set(data.subarray(base, base + width * channels));
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = -r; k <= r; k++) {
          const xx = x + k < 0 ? 0 : x + k >= width ? width - 1 : x + k;
          acc += kernel[k + r]! * line[xx * channels + c]!;
        }
        data[base + x * channels + c] = acc;
      }
    }
  }
  // Columns
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) for (let c = 0; c < channels; c++) line[y * channels + c] = data[(y * width + x) * channels + c]!;
    for (let y = 0; y < height; y++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = -r; k <= r; k++) {
          const yy = y + k < 0 ? 0 : y + k >= height ? height - 1 : y + k;
          acc += kernel[k + r]! * line[yy * channels + c]!;
        }
        data[(y * width + x) * channels + c] = acc;
      }
    }
  }
}

/**
 * Separable blur whose σ varies per pixel (gather: each output pixel uses its own σ in both passes).
 * Exact for a constant σ; for the smooth σ maps of the day scene's depth it reads as a depth of field.
 */
export function variableBlur(data: Float32Array, width: number, height: number, channels: number, sigma: Float32Array): void {
  // Kernels for σ quantised to 0.1 px, built once per call.
  const kernels: (Float32Array | null)[] = [];
  const kernelFor = (s: number): Float32Array | null => {
    const q = Math.round(s * 10);
    if (q < 3) return null;
    let k = kernels[q];
    if (!k) {
      const sg = q / 10;
      const r = Math.ceil(3 * sg);
      k = new Float32Array(2 * r + 1);
      let sum = 0;
      for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-i * i) / (2 * sg * sg));
      for (let i = 0; i < k.length; i++) k[i] /= sum;
      kernels[q] = k;
    }
    return k;
  };
  const ch = channels;
  // One line of source at a time (a row, then a column), not a copy of the image.
  const line = new Float32Array(Math.max(width, height) * ch);
  for (let pass = 0; pass < 2; pass++) {
    const n = pass === 0 ? width : height;
    const lines = pass === 0 ? height : width;
    for (let l = 0; l < lines; l++) {
      const at = (pos: number) => (pass === 0 ? l * width + pos : pos * width + l);
      for (let pos = 0; pos < n; pos++) for (let c = 0; c < ch; c++) line[pos * ch + c] = data[at(pos) * ch + c]!;
      for (let pos = 0; pos < n; pos++) {
        const p = at(pos);
        const k = kernelFor(sigma[p]!);
        if (!k) continue; // σ below 0.3 px: leave the pixel as it is
        const r = (k.length - 1) / 2;
        for (let c = 0; c < ch; c++) {
          let acc = 0;
          for (let t = -r; t <= r; t++) {
            const j = pos + t < 0 ? 0 : pos + t >= n ? n - 1 : pos + t;
            acc += k[t + r]! * line[j * ch + c]!;
          }
          data[p * ch + c] = acc;
        }
      }
    }
  }
}
