// Aperture photometry for comparing the same stars between frames: one radius for every star of a
// frame (2.5 × the frame's median FWHM holds > 99 % of a Gaussian star, and few neighbours), sky
// from an annulus.
// Detection fluxes use a per-star aperture from each star's own noisy FWHM; ratios of those swing
// by 10–20 % between frames, these by about 1 %.
import type { ImageF32 } from '../image/types.js';
import { annulusBackground, type Star } from './detect.js';

/** Total flux of each star (sky-subtracted) in a circle of `radius` px; NaN when the circle leaves the frame. */
export function apertureFluxes(img: ImageF32, stars: readonly Star[], radius: number): number[] {
  const { width: w, height: h, data } = img;
  const r = Math.max(2, radius);
  return stars.map((s) => {
    if (s.x - r < 0 || s.y - r < 0 || s.x + r > w - 1 || s.y + r > h - 1) return NaN;
    const sky = annulusBackground(img, s.x, s.y, r + 2, r + 6);
    let sum = 0;
    for (let y = Math.floor(s.y - r); y <= Math.ceil(s.y + r); y++) {
      for (let x = Math.floor(s.x - r); x <= Math.ceil(s.x + r); x++) {
        if ((x - s.x) ** 2 + (y - s.y) ** 2 > r * r) continue;
        const v = data[y * w + x]!;
        if (v === v) sum += v - sky;
      }
    }
    return sum;
  });
}

/**
 * The brightest `count` stars with their aperture flux (`apFlux`) and its signal-to-noise ratio
 * against the sky noise in the aperture (`apSnr`); the rest are returned as they are.
 */
export function withApertureFlux(img: ImageF32, stars: Star[], fwhm: number, skyNoise: number, count = 40): Star[] {
  const radius = 2.5 * (Number.isFinite(fwhm) && fwhm > 0 ? fwhm : 2.5);
  const head = stars.slice(0, count);
  const flux = apertureFluxes(img, head, radius);
  const sigma = Math.max(1e-9, skyNoise) * Math.sqrt(Math.PI * Math.max(2, radius) ** 2);
  return stars.map((s, i) => (i < count ? { ...s, apFlux: flux[i]!, apSnr: flux[i]! / sigma } : s));
}
