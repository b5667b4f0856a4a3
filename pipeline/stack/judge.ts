// Frame judging after alignment: the same stars of a frame and of the reference, paired, give the
// residual of the fit and the star signal (relFlux) the rejection rules compare; and the star
// detector a stack keeps for all its frames. Pure functions over star lists and images.
import type { ImageF32 } from '../image/types.js';
import { detectStarsWithBackground, type Star } from '../stars/detect.js';
import { matchStars } from './align/triangles.js';
import { apply, type Mat3 } from './align/transform.js';
import type { FrameQuality } from './quality.js';
import type { PendingFrame } from './types.js';

/** Fewer stars than this on the first frame with the raw-pixel search: try the smoothed search. */
const FAINT_FIELD = 16;

/**
 * Star detection, the same for every frame of a stack (so star counts compare): the raw-pixel
 * search, or — when the first frame shows fewer than FAINT_FIELD stars with it and more with the
 * smoothed search — the smoothed (matched-filter) search for faint fields. `smoothed` is the
 * stack's choice so far (null before its first frame); the choice made is returned with the stars.
 */
export function detectForStack(gray: ImageF32, smoothed: boolean | null): { found: ReturnType<typeof detectStarsWithBackground>; smoothed: boolean } {
  if (smoothed === true) return { found: detectStarsWithBackground(gray, { maxStars: 300, smoothed: true }), smoothed };
  const raw = detectStarsWithBackground(gray, { maxStars: 300 });
  if (smoothed === false) return { found: raw, smoothed };
  if (raw.stars.length >= FAINT_FIELD) return { found: raw, smoothed: false };
  const faint = detectStarsWithBackground(gray, { maxStars: 300, smoothed: true, background: raw.background });
  const useFaint = faint.stars.length > raw.stars.length;
  return { found: useFaint ? faint : raw, smoothed: useFaint };
}

/**
 * Frame stars mapped onto their nearest reference star (within 3 px): the RMS distance (residual)
 * and the star signal (relFlux, see fluxScale) from the pairs' aperture fluxes where neither star
 * is clipped (saturated, or its peak within 10 % of its frame's brightest pixel — `clip`).
 */
export function matchReference(m: Mat3, stars: Star[], ref: Star[], clip: { frame?: number; ref?: number } = {}): { residual: number; inliers: number; relFlux: number } {
  let s = 0, n = 0;
  const pairs: FluxPair[] = [];
  const refs = ref.slice(0, 300);
  const clipF = clip.frame ?? Infinity, clipR = clip.ref ?? Infinity;
  for (const st of stars.slice(0, 100)) {
    const [x, y] = apply(m, st.x, st.y);
    let bd = 9, best: Star | null = null;
    for (const r of refs) { const d = (r.x - x) ** 2 + (r.y - y) ** 2; if (d < bd) { bd = d; best = r; } }
    if (!best) continue;
    s += bd; n++;
    const f = st.apFlux ?? NaN, fr = best.apFlux ?? NaN;
    if (!st.saturated && !best.saturated && st.peak < clipF && best.peak < clipR && f > 0 && fr > 0) {
      pairs.push({ f, fr, snr: Math.min(st.apSnr ?? 0, best.apSnr ?? 0) });
    }
  }
  return { residual: n ? Math.sqrt(s / n) : NaN, inliers: n, relFlux: fluxScale(pairs) };
}

interface FluxPair { f: number; fr: number; snr: number }

/**
 * Scale between two frames from matched star fluxes: a least-squares line through the origin over
 * the pairs with SNR ≥ 10 (bright stars weigh most, so the noise of faint ones and their selection
 * bias hardly matter), refitted once without the pairs whose ratio is > 3 MAD off (variables,
 * blends, a star under a trail). NaN with fewer than 5 pairs.
 */
function fluxScale(pairs: FluxPair[]): number {
  let use = pairs.filter((p) => p.snr >= 10);
  if (use.length < 5) return NaN;
  const fit = (ps: FluxPair[]) => { let a = 0, b = 0; for (const p of ps) { a += p.f * p.fr; b += p.fr * p.fr; } return a / b; };
  const k = fit(use);
  const dev = use.map((p) => Math.abs(p.f / p.fr - k)).sort((a, b) => a - b);
  const mad = 1.4826 * dev[dev.length >> 1]!;
  const kept = use.filter((p) => Math.abs(p.f / p.fr - k) <= Math.max(3 * mad, 0.02 * k));
  use = kept.length >= 5 ? kept : use;
  return fit(use);
}

/** Peak (above the sky) from which a star of this frame counts as clipped. */
export function clipPeak(q: FrameQuality): number {
  return 0.9 * (q.max - q.background);
}

export function residualOf(r: { residual: number; inliers: number }): { residual: number; inliers: number } {
  return { residual: r.residual, inliers: r.inliers };
}

/** Star signal of a held frame against a provisional reference, from their star lists alone. */
export function heldRelFlux(p: PendingFrame, ref: PendingFrame, model: 'similarity' | 'affine'): number {
  const m = matchStars(p.stars, ref.stars, { model });
  return m ? matchReference(m.transform, p.stars, ref.stars, { frame: clipPeak(p.q), ref: clipPeak(ref.q) }).relFlux : NaN;
}
