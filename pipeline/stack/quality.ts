// Frame quality figures and the rejection rules that compare a frame with the frames already
// accepted into the stack (robust statistics: median and MAD, so one bad frame in the history
// does not move the bar).
import type { Star, StarSummary } from '../stars/detect.js';
import type { BackgroundGrid } from '../stars/background.js';

export interface FrameQuality {
  stars: number;
  hfr: number;
  fwhm: number;
  /** Median sky level (0..1). */
  background: number;
  /** Background noise σ. */
  noise: number;
  /** Median flux of detected stars. */
  starFlux: number;
  /** Median flux of the 20 brightest unsaturated stars: tracks gain/ISO and transparency (same stars every frame). */
  brightFlux: number;
  /** Brightest pixel. */
  max: number;
}

export function frameQuality(summary: StarSummary, bg: BackgroundGrid, max: number, stars: Star[] = []): FrameQuality {
  // "Unsaturated" also relative to the frame: a debayered RAW clips its green sites first, so a clipped
  // star's luminance peaks well below full scale yet near the frame's brightest pixel. Clipped fluxes
  // swing with the sub-pixel phase and would fake a signal drop.
  const clip = 0.9 * max;
  const bright = stars.filter((s) => !s.saturated && s.peak + bg.median < clip).slice(0, 20).map((s) => s.flux).sort((a, b) => a - b);
  const brightFlux = bright.length >= 5 ? bright[bright.length >> 1]! : NaN;
  return { stars: summary.count, hfr: summary.hfr, fwhm: summary.fwhm, background: bg.median, noise: bg.sigma, starFlux: summary.flux, brightFlux, max };
}

export interface RejectionOptions {
  /** Fewer stars than this fails star alignment (default 8). */
  minStars?: number;
  /** Robust z-score beyond which HFR/FWHM/background count as outliers (default 5). */
  outlierSigma?: number;
  /** Accepted frames needed before outlier tests start (default 3). */
  minHistory?: number;
  /** A frame with fewer stars than this fraction of the usual count is clouded (default 0.5). */
  cloudFraction?: number;
  /** Brightest pixel below this means closed shutter / lens cap (default 0.01 of full scale). */
  blackLevel?: number;
}

export interface Verdict {
  ok: boolean;
  reason?: string;
  /** Short code for logs and counters. */
  code?: 'black' | 'clouds' | 'few-stars' | 'hfr' | 'fwhm' | 'background' | 'signal';
}

function medMad(v: number[]): { med: number; sd: number } {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return { med: NaN, sd: NaN };
  const med = s[s.length >> 1]!;
  const dev = s.map((x) => Math.abs(x - med)).sort((a, b) => a - b);
  return { med, sd: 1.4826 * dev[dev.length >> 1]! };
}

const fmt = (x: number) => (Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(3));

export function judgeFrame(q: FrameQuality, history: FrameQuality[], needStars: boolean, o: RejectionOptions = {}): Verdict {
  const minHist = o.minHistory ?? 3;
  const k = o.outlierSigma ?? 5;
  const hist = history.length >= minHist;
  const bgH = hist ? medMad(history.map((h) => h.background)) : null;
  // Closed shutter / cap: nothing above a tiny level, or no stars and a sky far darker than usual.
  if (q.max < (o.blackLevel ?? 0.01) || (q.stars === 0 && bgH && q.background < 0.25 * bgH.med && q.noise < 0.5 * medMad(history.map((h) => h.noise)).med)) {
    return { ok: false, code: 'black', reason: `all black (closed shutter or cap): max ${fmt(q.max)}, sky ${fmt(q.background)}` };
  }
  if (hist) {
    const starsH = medMad(history.map((h) => h.stars));
    if (q.stars < (o.cloudFraction ?? 0.5) * starsH.med) {
      return { ok: false, code: 'clouds', reason: `clouds: ${q.stars} stars vs usual ${fmt(starsH.med)}, sky ${fmt(q.background)} vs ${fmt(bgH!.med)}` };
    }
  }
  if (needStars && q.stars < (o.minStars ?? 8)) return { ok: false, code: 'few-stars', reason: `too few stars: ${q.stars} < ${o.minStars ?? 8}` };
  if (hist) {
    const test = (name: 'background' | 'hfr' | 'fwhm' | 'brightFlux', x: number, floorRel: number, side: 'both' | 'higher' | 'lower'): Verdict | null => {
      const { med, sd } = medMad(history.map((h) => h[name]));
      if (!Number.isFinite(x) || !Number.isFinite(med)) return null;
      // A floor on σ: with a steady history MAD can be ~0 and every frame would be an outlier.
      const s = Math.max(sd, floorRel * Math.abs(med), 1e-6);
      const z = (x - med) / s;
      if ((side === 'higher' ? z : side === 'lower' ? -z : Math.abs(z)) > k) {
        const label = name === 'brightFlux' ? 'star signal' : name;
        return { ok: false, code: name === 'brightFlux' ? 'signal' : name, reason: `${label} outlier: ${fmt(x)} vs median ${fmt(med)} (${z > 0 ? '+' : ''}${z.toFixed(1)}σ)` };
      }
      return null;
    };
    // Star signal: a lower ISO/gain, haze or dew dims the same bright stars even when a large bias
    // offset hides it in the sky level. Only the dim side: satellite and plane trails break into bright
    // blobs that raise this figure, and those frames are worth keeping — sigma clipping removes the trail.
    return (
      test('background', q.background, 0.05, 'both') ??
      test('brightFlux', q.brightFlux, 0.08, 'lower') ??
      test('hfr', q.hfr, 0.05, 'higher') ??
      test('fwhm', q.fwhm, 0.05, 'higher') ?? { ok: true }
    );
  }
  return { ok: true };
}

/** Score for choosing the best reference among the first K frames: many sharp stars. */
export function referenceScore(q: FrameQuality): number {
  return q.stars / Math.max(0.5, q.hfr || 1) ** 2;
}

export type { Star };
