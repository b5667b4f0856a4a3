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
  /** Brightest pixel. */
  max: number;
  /** ISO / gain from the file header (null when the file has none). */
  iso?: number | null;
  gain?: number | null;
  /**
   * Photometric scale against the reference frame from the same stars' aperture fluxes (matched after
   * alignment; livestack.ts matchReference). 1 for the reference; ½ for a frame shot at half the ISO
   * or through haze. NaN when fewer than 5 stars match.
   */
  relFlux?: number;
}

export function frameQuality(summary: StarSummary, bg: BackgroundGrid, max: number, stars: Star[] = [], settings: { iso?: number | null; gain?: number | null } = {}): FrameQuality {
  // Star size from the well-measured stars only (aperture SNR ≥ 20, not clipped): the HFR of faint
  // stars is biased low (to 0.1 px on 8-bit frames), and a dim frame has mostly faint stars.
  // "Clipped" also relative to the frame: a debayered RAW clips its green sites first, so a clipped
  // star's luminance peaks well below full scale yet near the frame's brightest pixel.
  const clip = 0.9 * max;
  const sharp = stars.filter((s) => (s.apSnr ?? 0) >= 20 && !s.saturated && s.peak + bg.median < clip);
  const hfr = sharp.length >= 5 ? medMad(sharp.map((s) => s.hfr)).med : summary.hfr;
  const fwhm = sharp.length >= 5 ? medMad(sharp.map((s) => s.fwhm)).med : summary.fwhm;
  return { stars: summary.count, hfr, fwhm, background: bg.median, noise: bg.sigma, starFlux: summary.flux, max, iso: settings.iso ?? null, gain: settings.gain ?? null };
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
  /** Accept frames whose ISO/gain header differs from the stack's (auto-gain cameras); default false. */
  mixedSettings?: boolean;
}

export type RejectionCode = 'black' | 'clouds' | 'few-stars' | 'hfr' | 'fwhm' | 'background' | 'signal' | 'settings';

/**
 * Codes that compare a frame with the usual: a run of them that agree with each other means the
 * conditions changed for good. Not clouds: they pass, and a stack restarted on cloudy frames would
 * only be worse than the one it closed.
 */
export const CONDITION_CODES: ReadonlySet<string> = new Set(['hfr', 'fwhm', 'background', 'signal', 'settings']);

export interface Verdict {
  ok: boolean;
  reason?: string;
  /** Short code for logs and counters. */
  code?: RejectionCode;
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
  const settings = history.length && !o.mixedSettings ? settingsVerdict(q, history) : null;
  if (settings) return settings;
  if (hist) {
    const starsH = medMad(history.map((h) => h.stars));
    if (q.stars < (o.cloudFraction ?? 0.5) * starsH.med) {
      return { ok: false, code: 'clouds', reason: `clouds: ${q.stars} stars vs usual ${fmt(starsH.med)}, sky ${fmt(q.background)} vs ${fmt(bgH!.med)}` };
    }
  }
  if (needStars && q.stars < (o.minStars ?? 8)) return { ok: false, code: 'few-stars', reason: `too few stars: ${q.stars} < ${o.minStars ?? 8}` };
  if (hist) {
    return (
      outlier('background', q, history, k, 0.05, 'both') ??
      outlier('hfr', q, history, k, 0.05, 'higher') ??
      outlier('fwhm', q, history, k, 0.05, 'higher') ?? { ok: true }
    );
  }
  return { ok: true };
}

/** Header settings: a frame shot at another ISO or gain than most of the stack is refused (the seed's ISO 3200 among 6400). */
function settingsVerdict(q: FrameQuality, history: FrameQuality[]): Verdict | null {
  for (const key of ['iso', 'gain'] as const) {
    const x = q[key];
    if (x == null) continue;
    const h = history.map((f) => f[key]).filter((v): v is number => v != null).sort((a, b) => a - b);
    if (!h.length) continue;
    const usual = h[h.length >> 1]!;
    if (Math.abs(x - usual) > 1e-6 * Math.max(1, Math.abs(usual))) {
      const v = (n: number) => (Number.isInteger(n) ? String(n) : fmt(n));
      return { ok: false, code: 'settings', reason: `${key === 'iso' ? 'ISO' : 'gain'} ${v(x)} differs from the stack's ${v(usual)}` };
    }
  }
  return null;
}

function outlier(name: 'background' | 'hfr' | 'fwhm' | 'relFlux', q: FrameQuality, history: FrameQuality[], k: number, floorRel: number, side: 'both' | 'higher' | 'lower'): Verdict | null {
  const x = q[name] ?? NaN;
  const { med, sd } = medMad(history.map((h) => h[name] ?? NaN));
  if (!Number.isFinite(x) || !Number.isFinite(med)) return null;
  // A floor on σ: with a steady history MAD can be ~0 and every frame would be an outlier.
  const s = Math.max(sd, floorRel * Math.abs(med), 1e-6);
  const z = (x - med) / s;
  if ((side === 'higher' ? z : side === 'lower' ? -z : Math.abs(z)) <= k) return null;
  const label = name === 'relFlux' ? 'star signal' : name;
  return { ok: false, code: name === 'relFlux' ? 'signal' : name, reason: `${label} outlier: ${fmt(x)} vs median ${fmt(med)} (${z > 0 ? '+' : ''}${z.toFixed(1)}σ)` };
}

/**
 * After alignment: the same stars' flux against the reference (relFlux) compared with the frames so
 * far. A lower ISO/gain, haze or dew dims them even when a large bias offset hides it in the sky
 * level; both sides count, a frame twice as bright is as foreign to the stack.
 */
export function judgeSignal(q: FrameQuality, history: FrameQuality[], o: RejectionOptions = {}): Verdict {
  if (history.length < (o.minHistory ?? 3)) return { ok: true };
  return outlier('relFlux', q, history, o.outlierSigma ?? 5, 0.05, 'both') ?? { ok: true };
}

/**
 * Judge frames against each other, for the first frames of a stack where there is no history yet,
 * and for a run of refused frames that may be the new normal. Each frame is compared with the median
 * of all of them, itself included: with 3 frames and one outlier, the median is a good frame and the
 * MAD the spread of the good ones (leaving the frame out would leave two values whose MAD is their
 * whole difference). Needs at least 3 frames; returns one verdict per frame.
 */
export function judgeMutually(qs: FrameQuality[], needStars: boolean, o: RejectionOptions = {}): Verdict[] {
  if (qs.length < 3) return qs.map(() => ({ ok: true }));
  const opts = { ...o, minHistory: qs.length };
  return qs.map((q) => {
    const v = judgeFrame(q, qs, needStars, opts);
    return v.ok ? judgeSignal(q, qs, opts) : v;
  });
}

/** Score for choosing the best reference among the first K frames: many sharp stars. */
export function referenceScore(q: FrameQuality): number {
  return q.stars / Math.max(0.5, q.hfr || 1) ** 2;
}

export type { Star };
