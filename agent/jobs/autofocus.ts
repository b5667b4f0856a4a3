// The `autofocus` job: a V-curve autofocus on the job's camera and focuser (on command, on schedule,
// or — with only_if_hfr_above — only when a check frame shows HFR has drifted). Every sweep frame is
// captured through ctx.capture, so it is on disk and in the run log; the V-curve plot is a product.
//
// params: exposure_s=2, gain, step=50, points=9, measure='hfr'|'fwhm'|<energy>, fit, r2_min=0.8,
//         overshoot=0, approach='out'|'in', refine=false, only_if_hfr_above (px)
import { join } from 'node:path';
import { autofocus, AutofocusError, DEFAULT_AUTOFOCUS, measureFrame, type AutofocusMeasure } from '../../pipeline/focus/autofocus.js';
import type { FitKind } from '../../pipeline/focus/fit.js';
import { ENERGY_MEASURES } from '../../pipeline/focus/measures.js';
import { numberParam, optionalNumberParam, ParamError } from './params.js';
import type { JobContext, JobResult, JobRunner } from './types.js';

function choice<T extends string>(params: Record<string, unknown>, name: string, values: readonly T[], fallback: T | undefined): T | undefined {
  const v = params[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new ParamError('autofocus', name, `must be one of ${values.join('|')}, got ${JSON.stringify(v)}`);
  return v as T;
}

export const autofocusJob: JobRunner = async (ctx: JobContext): Promise<JobResult> => {
  const p = ctx.params;
  if (!ctx.focuser) throw new ParamError('autofocus', 'focuser', 'is required: configure a focuser for this job');
  const focuser = ctx.focuser;
  const d = DEFAULT_AUTOFOCUS;
  const exposureS = numberParam('autofocus', p, 'exposure_s', d.exposureS, 1e-6, 3600);
  const gain = optionalNumberParam('autofocus', p, 'gain', 0);
  const measure = choice<AutofocusMeasure>(p, 'measure', ['hfr', 'fwhm', ...ENERGY_MEASURES], 'hfr')!;
  const fit = choice<FitKind>(p, 'fit', ['hyperbola', 'parabola', 'gaussian'], undefined);
  const threshold = optionalNumberParam('autofocus', p, 'only_if_hfr_above', 0);
  if (p.refine !== undefined && typeof p.refine !== 'boolean') throw new ParamError('autofocus', 'refine', `must be true or false, got ${JSON.stringify(p.refine)}`);

  const capture = async (stem: string, position: number) => {
    const { frame, frameId } = await ctx.capture({ exposureS, gain, stem, focusPosition: position });
    frameIds.set(frame.path, frameId);
    return frame;
  };
  const frameIds = new Map<string, number>();

  if (threshold !== undefined) {
    const pos = await focuser.position();
    ctx.progress('autofocus: checking HFR');
    const check = await capture(`af_check_${pos}`, pos);
    const m = await measureFrame(check.path, 'hfr');
    if (Number.isFinite(m.value) && m.value <= threshold) {
      const metrics = { skipped: true, hfr: m.value, focus_position: pos, threshold_hfr: threshold };
      ctx.publish.state({ hfr_px: Number(m.value.toFixed(2)), focus_position: pos });
      ctx.publish.result(metrics);
      return { metrics };
    }
  }

  const t0 = performance.now();
  let result;
  try {
    result = await autofocus(ctx.camera, focuser, {
      outDir: ctx.spoolDir,
      plotPath: join(ctx.productsDir, `vcurve_${ctx.runId}.png`),
      exposureS,
      gain,
      step: numberParam('autofocus', p, 'step', d.step, 1),
      points: numberParam('autofocus', p, 'points', d.points, 5, 41),
      measure,
      fit,
      r2Min: numberParam('autofocus', p, 'r2_min', d.r2Min, 0, 0.999),
      overshoot: numberParam('autofocus', p, 'overshoot', d.overshoot, 0),
      approach: choice(p, 'approach', ['in', 'out'] as const, 'out'),
      refine: p.refine === true,
      signal: ctx.signal,
      capture,
      onPoint: (pt) => {
        ctx.progress(`autofocus: ${pt.pass} at ${pt.position}: ${Number.isFinite(pt.value) ? pt.value.toFixed(2) : 'no stars'}`);
        const id = frameIds.get(pt.path);
        if (id !== undefined) ctx.runlog.updateFrame(id, { stats: { [measure]: Number.isFinite(pt.value) ? pt.value : null, stars: pt.stars ?? null }, accepted: Number.isFinite(pt.value), reason: Number.isFinite(pt.value) ? null : 'no stars' });
      },
    });
  } catch (err) {
    if (err instanceof AutofocusError && err.railPosition !== null) ctx.publish.state({ focus_position: err.railPosition });
    throw err;
  }
  if (result.plot) ctx.runlog.addProduct(ctx.runId, { kind: 'vcurve', path: result.plot, metrics: { best_position: result.position, r2: result.fit.r2 } });
  const star = measure === 'hfr' || measure === 'fwhm';
  const metrics = {
    best_position: result.position,
    start_position: result.startPosition,
    [measure]: result.value,
    fit: result.fit.kind,
    r2: result.fit.r2,
    fit_center: result.fit.center,
    frames: result.points.length + 1,
    rejected: result.fit.rejected.length,
    ms: Math.round(performance.now() - t0),
  };
  // HFR goes to the key the Home Assistant sensor reads; contrast measures have no sensor of their own.
  ctx.publish.state({ focus_position: result.position, ...(star ? { [`${measure}_px`]: Number(result.value.toFixed(2)) } : {}) });
  ctx.publish.result(metrics);
  return { metrics };
};
