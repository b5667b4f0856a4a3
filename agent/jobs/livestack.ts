// Agent job `livestack`: shoot lights continuously with the configured camera, stack each on the
// device, log per-frame figures in the run log, publish the stretched stack and sensor values
// over MQTT. The stack state lives beside the runs' products (`<products>/../livestack/state`),
// so a restarted agent continues the same stack when started with `resume: true`.
import { rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext, JobResult, JobRunner } from './types.js';
import { buildCalibration, type CombineMethod } from '../../pipeline/calib/master.js';
import { LiveStacker, parseMethod, StateError, type AlignMode, type FrameResult, type LiveStackOptions } from '../../pipeline/stack/index.js';

export interface LivestackParams {
  exposureS: number;
  gain?: number;
  iso?: number;
  binning?: number;
  method?: string;
  kappa?: number;
  align?: AlignMode;
  reference?: string;
  restartOnDrift?: number;
  darks?: string;
  flats?: string;
  bias?: string;
  darkMethod?: CombineMethod;
  outputName?: string;
  resume?: boolean;
  /** Stop after this many accepted frames (default: until stopped). */
  maxFrames?: number;
}

/** Params are snake_case in YAML and MQTT payloads like every other job's (`exposure_s`); camelCase is accepted too. */
function param<T>(p: Record<string, unknown>, key: string, type: 'number' | 'string' | 'boolean'): T | undefined {
  const snake = key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
  const v = p[snake] ?? p[key];
  key = snake;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== type) throw new Error(`livestack: param ${key} must be a ${type}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function parseLivestackParams(p: Record<string, unknown>): LivestackParams {
  const exposureS = param<number>(p, 'exposureS', 'number') ?? 10;
  if (!(exposureS > 0)) throw new Error('livestack: param exposure_s must be > 0');
  const align = param<string>(p, 'align', 'string');
  if (align && !['star', 'ecc', 'phase', 'none'].includes(align)) throw new Error(`livestack: param align must be star, ecc, phase or none, got "${align}"`);
  return {
    exposureS,
    gain: param(p, 'gain', 'number'),
    iso: param(p, 'iso', 'number'),
    binning: param(p, 'binning', 'number'),
    method: param(p, 'method', 'string'),
    kappa: param(p, 'kappa', 'number'),
    align: align as AlignMode | undefined,
    reference: param(p, 'reference', 'string'),
    restartOnDrift: param(p, 'restartOnDrift', 'number'),
    darks: param(p, 'darks', 'string'),
    flats: param(p, 'flats', 'string'),
    bias: param(p, 'bias', 'string'),
    darkMethod: param(p, 'darkMethod', 'string'),
    outputName: param(p, 'outputName', 'string'),
    resume: param(p, 'resume', 'boolean'),
    maxFrames: param(p, 'maxFrames', 'number'),
  };
}

/** The stack state lives in the job's state dir, stable across runs, days and restarts. */
export function livestackStateDir(jobStateDir: string): string {
  return join(jobStateDir, 'livestack');
}

async function openStacker(ctx: JobContext, p: LivestackParams, opts: LiveStackOptions): Promise<LiveStacker> {
  if (!p.resume) return new LiveStacker(opts);
  try {
    const s = await LiveStacker.reload(opts);
    ctx.log.info(`livestack: resumed stack with ${s.count} frame(s) from ${opts.stateDir}`);
    return s;
  } catch (err) {
    if (!(err instanceof StateError)) throw err;
    const exists = await stat(join(opts.stateDir!, 'livestack.state')).then(() => true, () => false);
    if (exists) {
      // Keep the unreadable state for inspection and start afresh rather than refusing to run.
      const aside = join(opts.stateDir!, `livestack.state.corrupt-${Date.now()}`);
      await rename(join(opts.stateDir!, 'livestack.state'), aside);
      ctx.runlog.addEvent('error', `livestack: ${err.message}; moved to ${aside}, starting a new stack`, {}, ctx.runId);
    } else {
      ctx.log.info('livestack: no saved stack to resume, starting a new one');
    }
    return new LiveStacker(opts);
  }
}

export const livestackJob: JobRunner = async (ctx: JobContext): Promise<JobResult> => {
  const p = parseLivestackParams(ctx.params);
  const reference = p.reference === undefined || p.reference === 'first' ? 'first' : /^best:(\d+)$/.test(p.reference) ? { best: Number(p.reference.slice(5)) } : null;
  if (!reference) throw new Error(`livestack: param reference must be first or best:K, got "${p.reference}"`);
  const opts: LiveStackOptions = {
    outDir: ctx.productsDir,
    stateDir: livestackStateDir(ctx.stateDir),
    outputName: p.outputName ?? 'livestack',
    methods: parseMethod(p.method ?? 'sigma'),
    kappa: p.kappa,
    align: p.align,
    reference,
    restartOnDrift: p.restartOnDrift,
    defaultExposureS: p.exposureS,
  };
  if (p.darks || p.flats || p.bias) {
    ctx.progress('livestack: building calibration masters');
    opts.calibration = await buildCalibration({ darks: p.darks, flats: p.flats, bias: p.bias, method: p.darkMethod });
  }
  // Every final frame verdict (including frames held while the reference is chosen) goes to the run log.
  const frameIds = new Map<string, number>();
  const num = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(4)) : null);
  opts.onResult = (r) => {
    const id = frameIds.get(r.path);
    if (id === undefined) return;
    ctx.runlog.updateFrame(id, {
      stats: { stars: r.stars, hfr: num(r.hfr), fwhm: num(r.fwhm), background: num(r.background), noise: num(r.noise), shift: num(r.shift), rotation_deg: num(r.rotationDeg), residual: num(r.residual), stack_index: r.stackIndex },
      accepted: r.accepted,
      reason: r.reason,
    });
  };
  const stacker = await openStacker(ctx, p, opts);
  const known = new Set<string>();
  let shot = 0, accepted = 0, refused = 0;
  let last: FrameResult | null = null;
  const addProducts = (r: FrameResult) => {
    for (const m of stacker.opts.methods) {
      for (const [kind, ext] of [['stack-fits', 'fits'], ['stack-preview', stacker.opts.previewFormat]] as const) {
        const path = stacker.outputPath(m, ext);
        if (known.has(path)) continue;
        known.add(path);
        ctx.runlog.addProduct(ctx.runId, { kind, path, metrics: { method: m, stack_index: r.stackIndex } });
      }
    }
    for (const [kind, path] of [['stack-metrics-csv', stacker.metricsPaths.csv], ['stack-metrics-json', stacker.metricsPaths.json]] as const) {
      if (!known.has(path)) { known.add(path); ctx.runlog.addProduct(ctx.runId, { kind, path }); }
    }
  };
  while (!ctx.signal.aborted) {
    ctx.progress(`livestack: frame ${shot + 1}, ${stacker.count} stacked`);
    let logged;
    try {
      logged = await ctx.capture({ exposureS: p.exposureS, gain: p.gain, iso: p.iso, binning: p.binning, frameType: 'light' });
    } catch (err) {
      if (ctx.signal.aborted) break;
      throw err;
    }
    shot++;
    frameIds.set(logged.frame.path, logged.frameId);
    const r = await stacker.push(logged.frame.path);
    last = r;
    if (r.accepted) {
      accepted++;
      addProducts(r);
      const jpeg = await stacker.previewJpeg();
      if (jpeg) ctx.publish.image(jpeg);
    } else if (r.status !== 'pending') {
      refused++;
      ctx.log.warn(`livestack: ${r.reason}`);
    }
    ctx.publish.state({
      star_count: r.stars, hfr_px: num(r.hfr), fwhm_px: num(r.fwhm), sky_background: r.background == null ? null : Number((r.background * 100).toFixed(3)),
      stack_frames: stacker.count, stack_refused: refused, last_frame_accepted: r.accepted, last_frame_reason: r.reason,
    });
    if (p.maxFrames && stacker.count >= p.maxFrames) break;
  }
  await stacker.finish();
  const metrics = {
    frames_shot: shot, frames_accepted: accepted, frames_refused: refused, stack_frames: stacker.count,
    stack_index: last?.stackIndex ?? 1, stack_fits: stacker.outputPath(stacker.opts.methods[0]!, 'fits'),
  };
  ctx.publish.result({ ...metrics, aborted: ctx.signal.aborted });
  return { metrics };
};
