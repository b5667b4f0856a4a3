// Hardware-agnostic autofocus on any Focuser + Camera (N.I.N.A./Ekos-style V-curve):
//   1. sweep `points` positions `step` apart around the current position, always moving in the
//      approach direction (an overshoot first, so backlash is taken up the same way at every point);
//   2. measure each frame (median star HFR/FWHM, or a contrast measure for daytime scenes);
//   3. if the minimum sits at an end of the sweep, slide the sweep that way and go on (from any
//      start, the sweep walks down the V);
//   4. fit (hyperbola for star size, parabola/Gaussian for contrast), reject outliers, gate on R²;
//   5. optionally refine with a half-step sweep around the fitted centre;
//   6. final move to the centre from the same direction. On failure the rail goes back to where
//      it started and the error names the step.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { plotChart, type Series } from '../image/plot.js';
import { readImage } from '../image/read.js';
import { writeImage } from '../image/write.js';
import { detectStars, summarizeStars } from '../stars/index.js';
import { fitCurve, type CurveFit, type FitKind } from './fit.js';
import { scorePlane, type EnergyMeasure } from './measures.js';
import { planeFromFloat } from './plane.js';

export type AutofocusMeasure = 'hfr' | 'fwhm' | EnergyMeasure;

// The pipeline's own view of the hardware: autofocus needs a rail it can move and a way to take one
// frame. Any driver's Focuser/Camera fits these shapes, so the V-curve code never imports drivers.
export interface AutofocusRail {
  position(): Promise<number>;
  limits(): Promise<{ min: number; max: number }>;
  moveTo(position: number, options?: { signal?: AbortSignal }): Promise<number>;
}

/** A frame on disk, as autofocus needs it. */
export interface AutofocusFrame {
  path: string;
}

export interface AutofocusCamera {
  capture(request: { exposureS: number; gain?: number; outDir: string; fileStem: string; signal?: AbortSignal }): Promise<AutofocusFrame>;
}

export interface AutofocusOptions {
  exposureS: number;
  gain?: number;
  step: number;
  points: number;
  measure: AutofocusMeasure;
  /** Default: hyperbola for hfr/fwhm, gaussian for contrast. */
  fit?: FitKind;
  r2Min: number;
  /** Extra steps moved past a position before approaching it (0 = rely on the driver). */
  overshoot: number;
  /** 'out': positions are reached moving outwards (increasing); 'in': decreasing. */
  approach: 'in' | 'out';
  refine: boolean;
  /** Sweeps allowed to walk down the V before giving up. */
  maxSweeps: number;
  outDir: string;
  plotPath?: string;
  signal?: AbortSignal;
  onPoint?: (p: FocusPoint) => void;
  /** Capture through the caller (an agent job logs every frame); default camera.capture into outDir. */
  capture?: (stem: string, position: number) => Promise<AutofocusFrame>;
  /** Accepted distance between requested and reached position (steps). */
  tolerance: number;
}

export const DEFAULT_AUTOFOCUS: Omit<AutofocusOptions, 'outDir'> = {
  exposureS: 2, step: 50, points: 9, measure: 'hfr', r2Min: 0.8, overshoot: 0, approach: 'out', refine: false, maxSweeps: 8, tolerance: 1,
};

export interface FocusPoint {
  position: number;
  /** HFR/FWHM in px, or contrast score; NaN when the frame had no stars. */
  value: number;
  stars?: number;
  path: string;
  pass: 'sweep' | 'coarse' | 'refine';
}

export interface AutofocusResult {
  position: number;
  /** Measured value at the final position (HFR px for star measures). */
  value: number;
  startPosition: number;
  fit: Pick<CurveFit, 'kind' | 'center' | 'best' | 'r2' | 'params' | 'rejected'>;
  points: FocusPoint[];
  plot?: string;
}

export class AutofocusError extends Error {
  constructor(readonly step: string, message: string, readonly railPosition: number | null) {
    super(`autofocus ${step}: ${message}${railPosition !== null ? ` (rail left at ${railPosition})` : ''}`);
    this.name = 'AutofocusError';
  }
}

function starMeasure(m: AutofocusMeasure): m is 'hfr' | 'fwhm' {
  return m === 'hfr' || m === 'fwhm';
}

export async function measureFrame(path: string, measure: AutofocusMeasure): Promise<{ value: number; stars: number }> {
  const img = await readImage(path, { grayscale: true });
  if (starMeasure(measure)) {
    const s = summarizeStars(detectStars(img));
    const v = measure === 'hfr' ? s.hfr : s.fwhm;
    return { value: s.count > 0 && Number.isFinite(v) ? v : NaN, stars: s.count };
  }
  return { value: scorePlane(planeFromFloat(img.width, img.height, img.data), measure).score, stars: 0 };
}

export async function autofocus(camera: AutofocusCamera, focuser: AutofocusRail, opts: Partial<AutofocusOptions> & { outDir: string }): Promise<AutofocusResult> {
  const o: AutofocusOptions = { ...DEFAULT_AUTOFOCUS, ...opts };
  if (!(o.step >= 1)) throw new Error(`--step: expected >= 1, got ${o.step}`);
  if (!(Number.isInteger(o.points) && o.points >= 5)) throw new Error(`--points: expected an integer >= 5, got ${o.points}`);
  if (!(o.r2Min >= 0 && o.r2Min < 1)) throw new Error(`--r2-min: expected 0..1, got ${o.r2Min}`);
  await mkdir(o.outDir, { recursive: true });
  const fitKind: FitKind = o.fit ?? (starMeasure(o.measure) ? 'hyperbola' : 'gaussian');
  const lower = starMeasure(o.measure); // smaller is better
  const limits = await focuser.limits();
  const start = await focuser.position();
  const dir = o.approach === 'out' ? 1 : -1;
  const points: FocusPoint[] = [];
  let frameNo = 0;

  const fail = async (step: string, message: string): Promise<never> => {
    let at: number | null = null;
    try {
      at = await moveApproach(start, 'return to start');
    } catch {
      at = await focuser.position().catch(() => null);
    }
    throw new AutofocusError(step, message, at);
  };

  const shoot = (stem: string, pos: number): Promise<AutofocusFrame> =>
    o.capture ? o.capture(stem, pos) : camera.capture({ exposureS: o.exposureS, gain: o.gain, outDir: o.outDir, fileStem: stem, signal: o.signal });

  const clamp = (p: number) => Math.min(limits.max, Math.max(limits.min, Math.round(p)));

  async function moveExact(target: number, step: string): Promise<number> {
    o.signal?.throwIfAborted();
    let reached: number;
    try {
      reached = await focuser.moveTo(target, { signal: o.signal });
    } catch (err) {
      if (o.signal?.aborted) throw err;
      throw new AutofocusError(step, `focuser move to ${target} failed: ${(err as Error).message}`, await focuser.position().catch(() => null));
    }
    if (Math.abs(reached - target) > o.tolerance) {
      throw new AutofocusError(step, `focuser reached ${reached} instead of ${target}`, reached);
    }
    return reached;
  }

  /** Reach `target` moving in the approach direction (overshoot first when it would not). */
  async function moveApproach(target: number, step: string): Promise<number> {
    const cur = await focuser.position();
    if (o.overshoot > 0 && Math.sign(target - cur) !== dir) {
      await moveExact(clamp(target - dir * o.overshoot), step);
    }
    return moveExact(target, step);
  }

  async function sweep(positions: number[], pass: FocusPoint['pass']): Promise<FocusPoint[]> {
    const got: FocusPoint[] = [];
    const ordered = [...positions].sort((a, b) => dir * (a - b));
    for (let i = 0; i < ordered.length; i++) {
      const pos = ordered[i]!;
      const step = `${pass} point ${i + 1}/${ordered.length} at ${pos}`;
      try {
        await moveApproach(pos, step);
      } catch (err) {
        if (err instanceof AutofocusError) return fail(err.step, err.message.replace(/^autofocus [^:]+: /, '').replace(/ \(rail left at .*\)$/, ''));
        throw err;
      }
      let frame;
      try {
        frame = await shoot(`af_${String(frameNo++).padStart(3, '0')}_${pos}`, pos);
      } catch (err) {
        if (o.signal?.aborted) throw err;
        return fail(step, `capture failed: ${(err as Error).message}`);
      }
      const m = await measureFrame(frame.path, o.measure);
      const p: FocusPoint = { position: pos, value: m.value, stars: starMeasure(o.measure) ? m.stars : undefined, path: frame.path, pass };
      got.push(p);
      points.push(p);
      o.onPoint?.(p);
    }
    return got;
  }

  const half = Math.floor(o.points / 2);
  const around = (c: number, step: number, n = o.points) => {
    const lo = clamp(Math.min(Math.max(c - half * step, limits.min), limits.max - (n - 1) * step));
    return Array.from({ length: n }, (_, i) => clamp(lo + i * step)).filter((p, i, a) => a.indexOf(p) === i);
  };

  // Sweeps walking down the V until its bottom is inside.
  let centre = start;
  let coarseDone = false;
  let usable: FocusPoint[] = [];
  for (let s = 0; ; s++) {
    const pts = await sweep(around(centre, o.step).filter((p) => !points.some((q) => q.position === p && q.pass === 'sweep')), 'sweep');
    usable = points.filter((p) => p.pass === 'sweep' && Number.isFinite(p.value));
    if (usable.length === 0) {
      const span = pts.length ? `${Math.min(...pts.map((p) => p.position))}..${Math.max(...pts.map((p) => p.position))}` : String(centre);
      return fail('sweep', starMeasure(o.measure) ? `no stars detected in any frame (positions ${span})` : `no usable frame (positions ${span})`);
    }
    const sorted = [...usable].sort((a, b) => a.position - b.position);
    let bi = 0;
    for (let i = 1; i < sorted.length; i++) if (lower ? sorted[i]!.value < sorted[bi]!.value : sorted[i]!.value > sorted[bi]!.value) bi = i;
    const atLowEnd = bi === 0 && sorted[0]!.position > limits.min;
    const atHighEnd = bi === sorted.length - 1 && sorted[bi]!.position < limits.max;
    // Enough points on both sides of the best one?
    const left = bi, right = sorted.length - 1 - bi;
    if (!atLowEnd && !atHighEnd && left >= 2 && right >= 2) break;
    if (s + 1 >= o.maxSweeps) return fail('sweep', `best focus not bracketed after ${o.maxSweeps} sweeps (best so far ${sorted[bi]!.position})`);
    // A flat sweep (far from focus, stars smeared to the detection limit) gives no direction:
    // scan the whole range coarsely once and restart at its best point.
    const vals = sorted.map((p) => p.value);
    const flat = lower ? Math.max(...vals) < 1.3 * Math.min(...vals) : Math.max(...vals) < 1.3 * Math.min(...vals);
    if (flat && !coarseDone) {
      coarseDone = true;
      const n = 11;
      const coarseStep = Math.max(o.step, Math.floor((limits.max - limits.min) / (n - 1)));
      const coarse = await sweep(Array.from({ length: n }, (_, i) => clamp(limits.min + i * coarseStep)).filter((p, i, a) => a.indexOf(p) === i), 'coarse');
      const maxStars = Math.max(0, ...coarse.map((p) => p.stars ?? 0));
      const cands = coarse.filter((p) => Number.isFinite(p.value) && (!starMeasure(o.measure) || (p.stars ?? 0) >= Math.max(1, 0.3 * maxStars)));
      if (cands.length === 0) return fail('coarse scan', starMeasure(o.measure) ? `no stars detected in any frame (positions ${limits.min}..${limits.max})` : 'no usable frame');
      cands.sort((a, b) => (lower ? a.value - b.value : b.value - a.value));
      centre = cands[0]!.position;
      continue;
    }
    const shift = half * o.step;
    if (atLowEnd || left < 2) centre = sorted[bi]!.position - shift;
    else centre = sorted[bi]!.position + shift;
    centre = clamp(centre);
  }

  const doFit = (pts: FocusPoint[], what: string): CurveFit | Promise<never> => {
    // Fit the points around the bottom of the V (within the sweep width either side).
    const sorted = [...pts].sort((a, b) => a.position - b.position);
    let bi = 0;
    for (let i = 1; i < sorted.length; i++) if (lower ? sorted[i]!.value < sorted[bi]!.value : sorted[i]!.value > sorted[bi]!.value) bi = i;
    // Star sizes far from focus flatten at the detector's limit: keep the V's arms below 3× the best.
    const near = sorted.filter((p) => Math.abs(p.position - sorted[bi]!.position) <= (half + 1) * o.step && (!lower || p.value <= 3 * sorted[bi]!.value));
    const f = fitCurve(fitKind, near.map((p) => p.position), near.map((p) => p.value));
    if (!f) return fail(what, `${fitKind} fit failed on ${near.length} points`);
    if (f.r2 < o.r2Min) return fail(what, `${fitKind} fit R² ${f.r2.toFixed(3)} below ${o.r2Min}`);
    const lo = near[0]!.position, hi = near[near.length - 1]!.position;
    if (!(f.center >= lo && f.center <= hi)) return fail(what, `fitted best focus ${f.center.toFixed(0)} outside the sweep ${lo}..${hi}`);
    return f;
  };

  let fit = await doFit(usable, 'fit');
  if (o.refine) {
    const rstep = Math.max(1, Math.round(o.step / 2));
    await sweep(around(Math.round(fit.center), rstep), 'refine');
    // Refit on sweep and refine points together: the dense points pin the bottom, the sweep's the arms.
    const all = points.filter((p) => p.pass !== 'coarse' && Number.isFinite(p.value));
    fit = await doFit(all, 'refine fit');
  }
  const best = clamp(fit.center);
  let finalPos: number;
  try {
    // Overshoot by at least one step so the final approach is from the same side as the sweep.
    const cur = await focuser.position();
    if (Math.sign(best - cur) !== dir) await moveExact(clamp(best - dir * Math.max(o.overshoot, o.step)), 'final approach');
    finalPos = await moveExact(best, 'final approach');
  } catch (err) {
    if (err instanceof AutofocusError) return fail(err.step, err.message.replace(/^autofocus [^:]+: /, '').replace(/ \(rail left at .*\)$/, ''));
    throw err;
  }
  // One frame at the result, so callers get the value actually reached.
  const check = await shoot(`af_final_${finalPos}`, finalPos);
  const value = (await measureFrame(check.path, o.measure)).value;
  const result: AutofocusResult = {
    position: finalPos,
    value,
    startPosition: start,
    fit: { kind: fit.kind, center: fit.center, best: fit.best, r2: fit.r2, params: fit.params, rejected: fit.rejected },
    points,
  };
  const plot = o.plotPath ?? join(o.outDir, 'vcurve.png');
  await writeImage(plot, renderVCurve(points, fit, finalPos, o.measure));
  result.plot = plot;
  return result;
}

export function renderVCurve(points: FocusPoint[], fit: CurveFit, best: number, measure: AutofocusMeasure) {
  const ok = points.filter((p) => Number.isFinite(p.value));
  const xs = ok.map((p) => p.position);
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const n = 200;
  const cx = Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
  const series = ([
    { name: 'sweep', x: ok.filter((p) => p.pass === 'sweep').map((p) => p.position), y: ok.filter((p) => p.pass === 'sweep').map((p) => p.value), kind: 'scatter', pointRadius: 4 },
    { name: 'refine', x: ok.filter((p) => p.pass === 'refine').map((p) => p.position), y: ok.filter((p) => p.pass === 'refine').map((p) => p.value), kind: 'scatter', pointRadius: 4 },
    { name: `${fit.kind} R2=${fit.r2.toFixed(3)}`, x: cx, y: cx.map(fit.evaluate), kind: 'line', lineWidth: 2 },
  ] as Series[]).filter((s) => s.x.length > 0);
  return plotChart(series, {
    title: `Autofocus V-curve: best ${best}`,
    xLabel: 'focuser position (steps)',
    yLabel: measure === 'hfr' ? 'HFR (px)' : measure === 'fwhm' ? 'FWHM (px)' : `${measure} score`,
    markers: [{ x: best, label: `best ${best}` }],
    legend: true,
  });
}
