// Star detection and per-star measures (centroid, flux, peak, HFR, FWHM) on a mono image.
// Pure kernel: ImageF32 in, Star[] out. Used by live stacking (alignment, quality) and by the
// focus code (HFR of sky frames), so the measures follow the common amateur definitions:
//   HFR  = Σ(I·r) / Σ I over the star's aperture (N.I.N.A./Ekos "half flux radius" estimator),
//   FWHM = 2.3548 · σ with σ² = Σ(I·r²) / (2 Σ I) (Gaussian-equivalent width from second moments).
import type { ImageF32 } from '../image/types.js';
import { backgroundRowLookup, estimateBackground, type BackgroundGrid } from './background.js';
import { smoothedCandidates, type Candidate } from './smoothed.js';

export interface Star {
  x: number; // centroid, pixel centres at integer coordinates
  y: number;
  flux: number; // background-subtracted sum (0..1 units)
  peak: number; // background-subtracted peak value
  hfr: number; // px
  fwhm: number; // px
  saturated: boolean;
  /** Flux in the frame's common aperture (photometry.ts), for star-signal ratios between frames. */
  apFlux?: number;
  /** apFlux over the sky noise in that aperture. */
  apSnr?: number;
}

export interface DetectOptions {
  /** Detection threshold in background sigmas (default 5). */
  sigma?: number;
  /** Keep at most this many stars, brightest first (default 500). */
  maxStars?: number;
  /** Measuring aperture radius in px (default 8). */
  radius?: number;
  /** Values at or above this count as saturated (default 0.98 of full scale). */
  saturation?: number;
  /** Background grid cell in px (default 64). */
  cell?: number;
  /** Precomputed background grid (reuse between detection and quality measures). */
  background?: BackgroundGrid;
  /**
   * Find peaks on the image smoothed by a σ = 1 px Gaussian (smoothed.ts): finds faint and
   * defocused stars the raw-pixel search misses. Default false (the raw search, which the focus
   * measures are tuned on).
   */
  smoothed?: boolean;
}

export interface Detection {
  stars: Star[];
  background: BackgroundGrid;
}

export function detectStars(img: ImageF32, opts: DetectOptions = {}): Star[] {
  return detectStarsWithBackground(img, opts).stars;
}

export function detectStarsWithBackground(img: ImageF32, opts: DetectOptions = {}): Detection {
  if (img.channels !== 1) throw new Error(`detectStars needs a mono image (got ${img.channels} channels)`);
  const { width: w, height: h, data } = img;
  const bgGrid = opts.background ?? estimateBackground(img, opts.cell ?? 64);
  const k = opts.sigma ?? 5;
  const radius = opts.radius ?? 8;
  const maxStars = opts.maxStars ?? 500;
  const saturation = opts.saturation ?? 0.98;
  const sigma = Math.max(bgGrid.sigma, 1e-6);
  const thr = k * sigma;
  const border = 2;
  const candidates: Candidate[] = opts.smoothed ? smoothedCandidates(img, bgGrid, k, saturation) : [];
  for (let y = border; y < h - border && !opts.smoothed; y++) {
    // The background only where a pixel clears the row's lowest sky by the threshold (rare: stars).
    const bgRow = backgroundRowLookup(bgGrid, y);
    const floor = bgRow.min + thr;
    const row = y * w;
    for (let x = border; x < w - border; x++) {
      const v = data[row + x]!;
      if (!(v > floor)) continue;
      const bg = bgRow.at(x);
      if (!(v - bg > thr)) continue;
      // Local maximum; strict against neighbours earlier in raster order so plateaus give one peak.
      const up = row - w;
      const dn = row + w;
      if (!(v > data[up + x - 1]! && v > data[up + x]! && v > data[up + x + 1]! && v > data[row + x - 1]!)) continue;
      if (!(v >= data[row + x + 1]! && v >= data[dn + x - 1]! && v >= data[dn + x]! && v >= data[dn + x + 1]!)) continue;
      // A real star spreads over neighbours; a hot pixel or cosmic-ray hit does not.
      let nbMax = -Infinity;
      let box = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const e = data[row + dy * w + x + dx]! - bg;
          box += e;
          if ((dx || dy) && e > nbMax) nbMax = e;
        }
      }
      const e0 = v - bg;
      if (nbMax < 0.15 * e0 && v < saturation) continue;
      if (box < k * sigma * 3) continue; // 3×3 sum noise is 3σ
      candidates.push({ x, y, e: e0, bg });
    }
  }
  candidates.sort((a, b) => b.e - a.e);
  const stars: Star[] = [];
  // Measure the brightest first; drop later peaks inside an already measured star.
  const cap = Math.min(candidates.length, maxStars * 4);
  for (let i = 0; i < cap && stars.length < maxStars * 2; i++) {
    const c = candidates[i]!;
    let dup = false;
    for (const s of stars) {
      const dx = s.x - c.x;
      const dy = s.y - c.y;
      if (dx * dx + dy * dy < Math.max(4, (s.fwhm * 1.2) ** 2)) { dup = true; break; }
    }
    if (dup) continue;
    const m = measureStarAt(img, c.x, c.y, radius, c.bg, saturation);
    if (m && m.flux > 0 && Number.isFinite(m.x) && Number.isFinite(m.y)) stars.push(m);
  }
  stars.sort((a, b) => b.flux - a.flux);
  return { stars: stars.slice(0, maxStars), background: bgGrid };
}

/**
 * Measure one star around (x0, y0): windowed centroid, flux, peak, HFR, FWHM.
 * `bg` is the local background (estimated from an annulus when omitted).
 */
export function measureStarAt(img: ImageF32, x0: number, y0: number, radius = 8, bg?: number, saturation = 0.98): Star | null {
  const { width: w, height: h, data } = img;
  if (bg === undefined) bg = annulusBackground(img, x0, y0, radius + 1, radius + 4);
  let cx = x0;
  let cy = y0;
  let peak = 0;
  // Pass 1: plain intensity-weighted centroid and moments inside the aperture.
  const mom = (px: number, py: number, r: number) => {
    let s = 0, sx = 0, sy = 0, sr = 0, sr2 = 0, pk = 0;
    const xa = Math.max(0, Math.floor(px - r)), xb = Math.min(w - 1, Math.ceil(px + r));
    const ya = Math.max(0, Math.floor(py - r)), yb = Math.min(h - 1, Math.ceil(py + r));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const dx = x - px, dy = y - py;
        const d2 = dx * dx + dy * dy;
        if (d2 > r * r) continue;
        const raw = data[y * w + x]!;
        if (raw !== raw) continue;
        const e = raw - bg!;
        if (e > pk) pk = e;
        if (e <= 0) continue;
        const d = Math.sqrt(d2);
        s += e; sx += e * x; sy += e * y; sr += e * d; sr2 += e * d2;
      }
    }
    return { s, sx, sy, sr, sr2, pk };
  };
  let m = mom(cx, cy, Math.min(radius, 4));
  if (m.s <= 0) return null;
  cx = m.sx / m.s;
  cy = m.sy / m.s;
  // A second small-aperture pass: a wide one would pull the centre toward a close neighbour.
  m = mom(cx, cy, Math.min(radius, 4));
  if (m.s <= 0) return null;
  cx = m.sx / m.s;
  cy = m.sy / m.s;
  peak = m.pk;
  // Pass 2: Gaussian-windowed centroid (SExtractor XWIN style): far less noise-sensitive
  // than the plain centroid, which is what sub-0.1 px alignment needs.
  const sg = Math.max(0.6, Math.min(radius / 2, Math.sqrt(m.sr2 / (2 * m.s))));
  for (let it = 0; it < 8; it++) {
    let sw = 0, swx = 0, swy = 0;
    const r = Math.min(radius, 4 * sg);
    const xa = Math.max(0, Math.floor(cx - r)), xb = Math.min(w - 1, Math.ceil(cx + r));
    const ya = Math.max(0, Math.floor(cy - r)), yb = Math.min(h - 1, Math.ceil(cy + r));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const dx = x - cx, dy = y - cy;
        const d2 = dx * dx + dy * dy;
        if (d2 > r * r) continue;
        const raw = data[y * w + x]!;
        if (raw !== raw) continue;
        const e = (raw - bg) * Math.exp(-d2 / (2 * sg * sg));
        sw += e; swx += e * dx; swy += e * dy;
      }
    }
    if (sw <= 0) break;
    const ddx = 2 * swx / sw, ddy = 2 * swy / sw;
    cx += Math.max(-1, Math.min(1, ddx));
    cy += Math.max(-1, Math.min(1, ddy));
    if (Math.abs(ddx) < 1e-4 && Math.abs(ddy) < 1e-4) break;
  }
  // Adaptive (Gaussian-weighted) second moments: a Gaussian weight of the star's own width
  // keeps background noise in a wide aperture from inflating the width (σ_star² = 2·σ_weighted²).
  let sw2 = sg;
  let axisRatio = 1;
  for (let it = 0; it < 6; it++) {
    let s0 = 0, s2 = 0, sxx = 0, syy = 0, sxy = 0;
    const r = Math.min(radius, 4 * sw2 + 1);
    const xa = Math.max(0, Math.floor(cx - r)), xb = Math.min(w - 1, Math.ceil(cx + r));
    const ya = Math.max(0, Math.floor(cy - r)), yb = Math.min(h - 1, Math.ceil(cy + r));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        if (d2 > r * r) continue;
        const raw = data[y * w + x]!;
        if (raw !== raw) continue;
        const e = (raw - bg) * Math.exp(-d2 / (2 * sw2 * sw2));
        s0 += e; s2 += e * d2;
        sxx += e * (x - cx) ** 2; syy += e * (y - cy) ** 2; sxy += e * (x - cx) * (y - cy);
      }
    }
    if (s0 <= 0 || s2 <= 0) break;
    {
      const a = sxx / s0, b = syy / s0, c = sxy / s0;
      const tr = (a + b) / 2, det = Math.sqrt(Math.max(0, ((a - b) / 2) ** 2 + c * c));
      axisRatio = Math.sqrt(Math.max(0, tr + det) / Math.max(1e-9, tr - det));
    }
    const sm2 = s2 / (2 * s0); // weighted per-axis variance
    const next = Math.sqrt(Math.max(0.09, (sm2 * sw2 * sw2) / Math.max(1e-6, sw2 * sw2 - sm2)));
    if (!Number.isFinite(next)) break;
    const done = Math.abs(next - sw2) < 1e-3;
    sw2 = Math.min(next, radius);
    if (done) break;
  }
  // Trails (satellites, planes, meteors) are strongly elongated: not stars.
  if (axisRatio > 2.5) return null;
  const fwhm = 2.3548 * sw2;
  // Flux and HFR in an aperture scaled to the star (2.5 FWHM, capped by `radius`), signed
  // excess so noise averages out instead of adding a positive bias.
  const ap = Math.max(3, Math.min(radius, 2.5 * fwhm));
  let s = 0, sr = 0;
  {
    const xa = Math.max(0, Math.floor(cx - ap)), xb = Math.min(w - 1, Math.ceil(cx + ap));
    const ya = Math.max(0, Math.floor(cy - ap)), yb = Math.min(h - 1, Math.ceil(cy + ap));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        if (d2 > ap * ap) continue;
        const raw = data[y * w + x]!;
        if (raw !== raw) continue;
        const e = raw - bg;
        s += e; sr += e * Math.sqrt(d2);
      }
    }
  }
  if (s <= 0) return null;
  const hfr = Math.max(0.1, sr / s);
  return { x: cx, y: cy, flux: s, peak, hfr, fwhm, saturated: peak + bg >= saturation };
}

/** Median of the pixels in the annulus r0 < r ≤ r1 around (x0, y0). */
export function annulusBackground(img: ImageF32, x0: number, y0: number, r0: number, r1: number): number {
  const vals: number[] = [];
  const { width: w, height: h, data } = img;
  for (let y = Math.max(0, Math.floor(y0 - r1)); y <= Math.min(h - 1, Math.ceil(y0 + r1)); y++) {
    for (let x = Math.max(0, Math.floor(x0 - r1)); x <= Math.min(w - 1, Math.ceil(x0 + r1)); x++) {
      const d2 = (x - x0) ** 2 + (y - y0) ** 2;
      if (d2 > r0 * r0 && d2 <= r1 * r1) {
        const v = data[y * w + x]!;
        if (v === v) vals.push(v);
      }
    }
  }
  if (!vals.length) return 0;
  vals.sort((a, b) => a - b);
  return vals[vals.length >> 1]!;
}

export interface HfrMeasure {
  x: number;
  y: number;
  hfr: number;
  fwhm: number;
  flux: number;
  peak: number;
}

/**
 * HFR of the star nearest (x, y) — the focus helper's entry point. With no position, the
 * median HFR over all detected unsaturated stars.
 */
export function measureHfr(img: ImageF32, at?: { x: number; y: number; radius?: number }): HfrMeasure | null {
  if (at) {
    const s = measureStarAt(img, Math.round(at.x), Math.round(at.y), at.radius ?? 8);
    return s ? { x: s.x, y: s.y, hfr: s.hfr, fwhm: s.fwhm, flux: s.flux, peak: s.peak } : null;
  }
  const stars = detectStars(img);
  const st = summarizeStars(stars);
  if (!st.count) return null;
  return { x: NaN, y: NaN, hfr: st.hfr, fwhm: st.fwhm, flux: st.flux, peak: NaN };
}

export interface StarSummary {
  count: number;
  /** Median over unsaturated stars (NaN when none). */
  hfr: number;
  fwhm: number;
  /** Median flux of the stars. */
  flux: number;
}

export function summarizeStars(stars: Star[]): StarSummary {
  const good = stars.filter((s) => !s.saturated);
  const pick = good.length ? good : stars;
  const med = (f: (s: Star) => number) => {
    if (!pick.length) return NaN;
    const v = pick.map(f).sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) >> 1]! : 0.5 * (v[v.length / 2 - 1]! + v[v.length / 2]!);
  };
  return { count: stars.length, hfr: med((s) => s.hfr), fwhm: med((s) => s.fwhm), flux: med((s) => s.flux) };
}
