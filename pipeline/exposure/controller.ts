// The auto-exposure controller of the all-sky loop: from the last frames' settings and measured sky
// level, the exposure and gain of the next frame. Pure: no clock, no camera, no I/O.
//
// Control works on the product P = exposure × gain-factor in stops (log2), where the sky level is
// proportional to P (a linear sensor, after the black level; an encoded JPEG through gamma ≈ 2.2):
//   error  = log2(target / level)          (linear signal domain)
//   step   = damping · error  (0 inside the deadband)  +  trend
//   trend  = the sky's own rate of change (from the brightness level/P of the last frames), carried
//            forward one interval, so twilight is tracked without the lag of a pure P-step
//   |step| ≤ maxStepEv per frame.
// damping < 1 on a plant that is linear in P makes each step undershoot: the level approaches the
// target from one side and never oscillates; the deadband keeps the exposure still once there (no
// flicker from noise); the trend term only acts when the frame is within 1.5 stops of the target
// (tracking, not converging from black or clipped), so a response that is not exactly the assumed
// gamma cannot feed a runaway.
// P is split into exposure and gain by mode: exposure first from the mode's lowest gain up to its
// longest exposure, then gain (night); by day the gain range is the fixed day gain (gain 0 / ISO 100).

export type ExposureMode = 'day' | 'night';

export interface ModeLimits {
  minExposureS: number;
  maxExposureS: number;
  /** Camera gain units (INDI gain, simulated gain, or ISO for a DSLR). */
  minGain: number;
  maxGain: number;
}

/** How camera gain units turn into a signal factor: linear (×g; ISO/100 works the same) or dB per unit. */
export type GainModel = { kind: 'linear' } | { kind: 'db'; dbPerUnit: number };

export interface ControllerSettings {
  day: ModeLimits;
  night: ModeLimits;
  /** Discrete shutter speeds (s, DSLR ladder); absent = any value within the limits. */
  exposureSteps?: number[];
  /** Discrete gains or ISO values; absent = any value within the limits. */
  gainSteps?: number[];
  gainModel: GainModel;
  /** Hold while |error| is below this many stops (default 0.25). */
  deadbandEv: number;
  /** Fraction of the error corrected per frame, 0 < k ≤ 1 (default 0.6). */
  damping: number;
  /** Largest change of P per frame, in stops (default 2). */
  maxStepEv: number;
  /** 1 for linear frames (FITS, RAW), ≈ 2.2 for encoded 8-bit JPEG/PNG. */
  gamma: number;
  /** Black level (bias) as a fraction of full scale, subtracted before the ratio (linear frames). */
  blackLevel: number;
}

export const CONTROLLER_DEFAULTS = { deadbandEv: 0.25, damping: 0.6, maxStepEv: 2, gamma: 1, blackLevel: 0 } as const;

export interface FrameMeasurement {
  /** Capture time (ms since epoch): the trend needs the interval between frames. */
  at: number;
  exposureS: number;
  gain: number;
  /** Measured sky level, 0..1 of full scale (meter median). */
  level: number;
  saturatedFraction?: number;
}

export interface ExposureRequest {
  mode: ExposureMode;
  /** Target sky level, 0..1 of full scale. */
  target: number;
  /** First frame (no history): start here (default: 1 ms by day, 5 s at night). */
  initialExposureS?: number;
}

export interface ExposureDecision {
  exposureS: number;
  gain: number;
  mode: ExposureMode;
  target: number;
  /** log2(target / level) of the last frame, in stops (null on the first frame). */
  errorEv: number | null;
  /** Change of P applied, in stops. */
  stepEv: number;
  /** Part of the step that follows the sky's trend. */
  trendEv: number;
  /** P wanted beyond what the limits allow. */
  clamped: 'none' | 'max' | 'min';
  reason: 'initial' | 'hold' | 'adjust' | 'clipped' | 'black';
}

/** Signal factor of a gain setting (only ratios matter). */
export function gainFactor(gain: number, model: GainModel): number {
  return model.kind === 'db' ? Math.pow(10, (gain * model.dbPerUnit) / 20) : Math.max(gain, 1e-3);
}

export function gainForFactor(factor: number, model: GainModel): number {
  return model.kind === 'db' ? (20 * Math.log10(factor)) / model.dbPerUnit : factor;
}

const LEVEL_CLIPPED = 0.97;
/** The trend term acts while the frame is within this many stops of the target (tracking, not converging). */
const TREND_WINDOW_EV = 1.5;
const LEVEL_FLOOR = 1e-5;

/** Linear signal above black of a level in the frame's encoding. */
function linearSignal(level: number, gamma: number, black: number): number {
  const above = Math.max(0, level - black) / Math.max(1e-6, 1 - black);
  return Math.max(LEVEL_FLOOR, Math.pow(above, gamma));
}

/**
 * The undamped exposure ratio that brings a metered level to the target (also the HDR job's metering
 * step): a clipped frame steps down `jump`×, a black one up `jump`×, otherwise (target/level)^gamma.
 */
export function exposureRatio(m: { median: number; saturatedFraction?: number }, target: number, gamma: number, blackLevel = 0, jump = 16): number {
  if (m.median >= LEVEL_CLIPPED || (m.saturatedFraction ?? 0) > 0.5) return 1 / jump;
  if (m.median - blackLevel <= 0.003) return jump;
  return linearSignal(target, gamma, blackLevel) / linearSignal(m.median, gamma, blackLevel);
}

/** The nearest value of a ladder in log terms, within [lo, hi] when the ladder allows. */
export function nearestStep(value: number, steps: readonly number[], lo = -Infinity, hi = Infinity): number {
  const within = steps.filter((s) => s >= lo * (1 - 1e-9) && s <= hi * (1 + 1e-9));
  const pool = within.length ? within : steps;
  let best = pool[0]!;
  for (const s of pool) if (Math.abs(Math.log(s / value)) < Math.abs(Math.log(best / value))) best = s;
  return best;
}

/** Split P (exposure × gain factor) into a setting within the limits: exposure first, then gain. */
export function splitProduct(p: number, lim: ModeLimits, s: Pick<ControllerSettings, 'gainModel' | 'exposureSteps' | 'gainSteps'>): { exposureS: number; gain: number } {
  const f0 = gainFactor(lim.minGain, s.gainModel);
  let exposureS = p / f0;
  let gain = lim.minGain;
  if (exposureS > lim.maxExposureS) {
    exposureS = lim.maxExposureS;
    gain = Math.min(lim.maxGain, Math.max(lim.minGain, gainForFactor(p / exposureS, s.gainModel)));
  }
  if (s.gainSteps?.length) {
    gain = nearestStep(gain, s.gainSteps, lim.minGain, lim.maxGain);
    // Ladder rounding of the gain is made up by the exposure where it can be.
    exposureS = p / gainFactor(gain, s.gainModel);
  }
  exposureS = Math.min(lim.maxExposureS, Math.max(lim.minExposureS, exposureS));
  if (s.exposureSteps?.length) exposureS = nearestStep(exposureS, s.exposureSteps, lim.minExposureS, lim.maxExposureS);
  return { exposureS, gain };
}

/**
 * Sky brightness trend, in stops per millisecond, from the last frames: the slowest rate of
 * log2(signal / P) over up to 3 intervals, only when every interval agrees in sign and none is a gap.
 */
function skyTrend(history: readonly FrameMeasurement[], s: ControllerSettings): number {
  const usable = history.slice(-4).filter((h) => h.level < LEVEL_CLIPPED && h.level - s.blackLevel > 0.01);
  if (usable.length < 3) return 0;
  const b = usable.map((h) => Math.log2(linearSignal(h.level, s.gamma, s.blackLevel) / (h.exposureS * gainFactor(h.gain, s.gainModel))));
  const rates: number[] = [];
  const gaps: number[] = [];
  for (let i = 1; i < usable.length; i++) {
    const dt = usable[i]!.at - usable[i - 1]!.at;
    if (!(dt > 0)) return 0;
    gaps.push(dt);
    rates.push((b[i]! - b[i - 1]!) / dt);
  }
  if (Math.max(...gaps) > 3 * Math.min(...gaps)) return 0;
  if (!(rates.every((r) => r > 0) || rates.every((r) => r < 0))) return 0;
  // The slowest of the agreeing rates: a one-off jump in the scene (a light switched on, a cloud
  // edge) is not extrapolated as a trend.
  return rates.reduce((a, r) => (Math.abs(r) < Math.abs(a) ? r : a));
}

export function decideExposure(history: readonly FrameMeasurement[], req: ExposureRequest, s: ControllerSettings): ExposureDecision {
  const lim = req.mode === 'night' ? s.night : s.day;
  const last = history.at(-1);
  const pMin = lim.minExposureS * gainFactor(lim.minGain, s.gainModel);
  const pMax = lim.maxExposureS * gainFactor(lim.maxGain, s.gainModel);
  const base = { mode: req.mode, target: req.target };
  if (!last) {
    const t0 = req.initialExposureS ?? (req.mode === 'night' ? 5 : 0.001);
    const setting = splitProduct(Math.min(pMax, Math.max(pMin, t0 * gainFactor(lim.minGain, s.gainModel))), lim, s);
    return { ...base, ...setting, errorEv: null, stepEv: 0, trendEv: 0, clamped: 'none', reason: 'initial' };
  }
  const pLast = last.exposureS * gainFactor(last.gain, s.gainModel);
  const ratio = exposureRatio({ median: last.level, saturatedFraction: last.saturatedFraction }, req.target, s.gamma, s.blackLevel, Math.pow(2, s.maxStepEv));
  const errorEv = Math.log2(ratio);
  const clipped = last.level >= LEVEL_CLIPPED || (last.saturatedFraction ?? 0) > 0.5;
  const black = !clipped && last.level - s.blackLevel <= 0.003;
  let trendEv = 0;
  let step: number;
  if (clipped || black) {
    // Nothing to measure: a full step toward the light (or dark), no damping.
    step = clipped ? -s.maxStepEv : s.maxStepEv;
  } else {
    const inBand = Math.abs(errorEv) <= s.deadbandEv;
    if (Math.abs(errorEv) <= Math.max(2 * s.deadbandEv, TREND_WINDOW_EV)) {
      const prev = history.at(-2);
      const interval = prev ? last.at - prev.at : 0;
      trendEv = Math.max(-s.maxStepEv / 2, Math.min(s.maxStepEv / 2, -skyTrend(history, s) * interval));
    }
    step = (inBand ? 0 : s.damping * errorEv) + trendEv;
  }
  step = Math.max(-s.maxStepEv, Math.min(s.maxStepEv, step));
  // Steps too small to see are not taken (no creeping changes on noise).
  if (Math.abs(step) < 0.05) step = 0;
  const wanted = pLast * Math.pow(2, step);
  const p = Math.min(pMax, Math.max(pMin, wanted));
  const clamped = wanted > pMax * (1 + 1e-9) ? 'max' : wanted < pMin * (1 - 1e-9) ? 'min' : 'none';
  // Holding keeps the last setting exactly (no re-rounding); a mode switch changes the split (the gain
  // switch) even when the step is 0.
  const within = last.exposureS >= lim.minExposureS && last.exposureS <= lim.maxExposureS && last.gain >= lim.minGain && last.gain <= lim.maxGain;
  const setting = step === 0 && within ? { exposureS: last.exposureS, gain: last.gain } : splitProduct(p, lim, s);
  const reason = clipped ? 'clipped' : black ? 'black' : step === 0 ? 'hold' : 'adjust';
  return { ...base, ...setting, errorEv, stepEv: Math.log2(p / pLast), trendEv, clamped, reason };
}
