// Agent job `livestack`: shoot lights continuously with the configured camera, stack each on the
// device, log per-frame figures in the run log, publish the stretched stack and sensor values
// over MQTT. The stack state lives in the job's state dir (`<data>/state/jobs/<job>/livestack`),
// so a restarted agent continues the same stack: `resume: "auto"` (default) reopens a stack
// saved within `resume_within_s` (1 h), `true` always, `false` never. Params are snake_case.
// SD-card wear: the master FITS and the state are checkpointed every `save_every_frames` (10) or
// `save_every_s` (600 s); frames taken after the last checkpoint are re-read from the spool on
// resume. `disk_writes_mb` (this process's writes to storage during the run) goes to the run log
// and MQTT state.
import { rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext, JobResult, JobRunner } from './types.js';
import { buildCalibration, type CombineMethod } from '../../pipeline/calib/master.js';
import { numberParam, optionalNumberParam, ParamError } from './params.js';
import { LiveStacker, parseMethod, StateError, type AlignMode, type FrameResult, type LiveStackOptions } from '../../pipeline/stack/index.js';
import { readProcessWrites } from '../../pipeline/stack/disk-io.js';

export interface LivestackParams {
  exposureS: number;
  gain?: number;
  iso?: number;
  binning?: number;
  method: string;
  kappa?: number;
  align?: AlignMode;
  model?: 'similarity' | 'affine';
  reference?: string;
  restartOnDrift?: number;
  darks?: string;
  flats?: string;
  bias?: string;
  darkMethod?: CombineMethod;
  outputName?: string;
  /** true: always continue the saved stack; false: always start anew; 'auto': continue a stack saved less than resumeWithinS ago. */
  resume: boolean | 'auto';
  resumeWithinS: number;
  /** Stop after this many stacked frames (default: until stopped). */
  maxFrames?: number;
  minStars?: number;
  /** Isolated-defect correction in σ (0 = off; default 10 without darks). */
  cosmetic?: number;
  /** Frames judged together before the stack starts (default 3). */
  warmup?: number;
  /** Agreeing refused frames in a row that start a new stack (default 5, 0 = never). */
  relearn?: number;
  /** Scale the darks' thermal signal to the lights' exposure (needs darks and bias). */
  darkScale?: boolean;
  /** Accept frames at another ISO/gain than the stack (auto-gain cameras). */
  mixedSettings?: boolean;
  /** Checkpoint (master FITS + state) every N stacked frames or every S seconds (defaults 10, 600). */
  saveEveryFrames?: number;
  saveEveryS?: number;
  /** Where the state lives instead of the job's state dir (e.g. a tmpfs: no card wear, lost on power cut). */
  stateDir?: string;
  /** Threads for the per-pixel kernels (default the cores). */
  threads?: number;
}

const KIND = 'livestack';

function stringParam(p: Record<string, unknown>, name: string, choices?: readonly string[]): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ParamError(KIND, name, `must be a non-empty string, got ${JSON.stringify(v)}`);
  if (choices && !choices.includes(v)) throw new ParamError(KIND, name, `must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  return v;
}

function booleanParam(p: Record<string, unknown>, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ParamError(KIND, name, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Job params, snake_case like the rest of the config (errors name the param). */
export function parseLivestackParams(p: Record<string, unknown>): LivestackParams {
  const resumeRaw = p.resume;
  if (resumeRaw !== undefined && resumeRaw !== null && typeof resumeRaw !== 'boolean' && resumeRaw !== 'auto') {
    throw new ParamError(KIND, 'resume', `must be true, false or "auto", got ${JSON.stringify(resumeRaw)}`);
  }
  const method = stringParam(p, 'method') ?? 'sigma';
  try { parseMethod(method); } catch (err) { throw new ParamError(KIND, 'method', (err as Error).message.replace(/^--method: /, '')); }
  const reference = stringParam(p, 'reference');
  if (reference && !/^(first|best:[1-9]\d*)$/.test(reference)) throw new ParamError(KIND, 'reference', `must be first or best:K, got ${JSON.stringify(reference)}`);
  return {
    exposureS: numberParam(KIND, p, 'exposure_s', 10, 1e-6),
    gain: optionalNumberParam(KIND, p, 'gain', 0),
    iso: optionalNumberParam(KIND, p, 'iso', 1),
    binning: optionalNumberParam(KIND, p, 'binning', 1, 16),
    method,
    kappa: optionalNumberParam(KIND, p, 'kappa', 0.1, 20),
    align: stringParam(p, 'align', ['star', 'ecc', 'phase', 'none']) as AlignMode | undefined,
    model: stringParam(p, 'model', ['similarity', 'affine']) as 'similarity' | 'affine' | undefined,
    reference,
    restartOnDrift: optionalNumberParam(KIND, p, 'restart_on_drift', 0.1),
    darks: stringParam(p, 'darks'),
    flats: stringParam(p, 'flats'),
    bias: stringParam(p, 'bias'),
    darkMethod: stringParam(p, 'dark_method', ['median', 'sigma', 'mean', 'seed']) as CombineMethod | undefined,
    outputName: stringParam(p, 'output_name'),
    warmup: optionalNumberParam(KIND, p, 'warmup', 1, 50),
    relearn: optionalNumberParam(KIND, p, 'relearn', 0, 1000),
    darkScale: booleanParam(p, 'dark_scale'),
    mixedSettings: booleanParam(p, 'mixed_settings'),
    resume: (resumeRaw ?? 'auto') as boolean | 'auto',
    resumeWithinS: numberParam(KIND, p, 'resume_within_s', 3600, 0),
    maxFrames: optionalNumberParam(KIND, p, 'max_frames', 1),
    minStars: optionalNumberParam(KIND, p, 'min_stars', 3),
    cosmetic: optionalNumberParam(KIND, p, 'cosmetic', 0),
    saveEveryFrames: optionalNumberParam(KIND, p, 'save_every_frames', 1),
    saveEveryS: optionalNumberParam(KIND, p, 'save_every_s', 1),
    stateDir: stringParam(p, 'state_dir'),
    threads: wholeNumber(optionalNumberParam(KIND, p, 'threads', 1, 64), 'threads'),
  };
}

function wholeNumber(v: number | undefined, name: string): number | undefined {
  if (v !== undefined && !Number.isInteger(v)) throw new ParamError(KIND, name, `must be a whole number, got ${v}`);
  return v;
}

/** The stack state lives in the job's state dir, stable across runs, days and restarts. */
export function livestackStateDir(jobStateDir: string): string {
  return join(jobStateDir, 'livestack');
}

async function openStacker(ctx: JobContext, p: LivestackParams, opts: LiveStackOptions): Promise<LiveStacker> {
  if (!p.resume) return new LiveStacker(opts);
  if (p.resume === 'auto') {
    // A restart mid-session continues; a stack left from an earlier session is not reopened.
    const st = await stat(join(opts.stateDir!, 'livestack.state')).catch(() => null);
    if (!st || Date.now() - st.mtimeMs > p.resumeWithinS * 1000) return new LiveStacker(opts);
  }
  try {
    const s = await LiveStacker.reload(opts);
    ctx.log.info(`livestack: resumed stack with ${s.count} frame(s) from ${opts.stateDir}`);
    // Frames taken after the last checkpoint (the agent was killed): stack them again from the spool.
    if (s.unsaved.length) {
      const n = s.unsaved.length;
      const again = await s.catchUp();
      ctx.log.info(`livestack: re-stacked ${again.length} of ${n} frame(s) taken after the last saved state (${s.count} in the stack)`);
    }
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
  const reference = p.reference === undefined || p.reference === 'first' ? 'first' : { best: Number(p.reference.slice(5)) };
  const opts: LiveStackOptions = {
    outDir: ctx.productsDir,
    stateDir: p.stateDir ?? livestackStateDir(ctx.stateDir),
    outputName: p.outputName ?? 'livestack',
    methods: parseMethod(p.method ?? 'sigma'),
    kappa: p.kappa,
    align: p.align,
    model: p.model,
    reference,
    rejection: { minStars: p.minStars, mixedSettings: p.mixedSettings },
    restartOnDrift: p.restartOnDrift,
    defaultExposureS: p.exposureS,
    warmup: p.warmup,
    relearnAfter: p.relearn,
    saveEveryFrames: p.saveEveryFrames,
    saveEveryS: p.saveEveryS,
    threads: p.threads,
  };
  // Storage writes of this process during the run (it counts everything the agent writes meanwhile).
  const io0 = readProcessWrites();
  const diskMb = () => { const io = readProcessWrites(); return io && io0 ? Number(((io.net - io0.net) / 1e6).toFixed(2)) : null; };
  if (p.darks || p.flats || p.bias) {
    ctx.progress('livestack: building calibration masters');
    opts.calibration = await buildCalibration({ darks: p.darks, flats: p.flats, bias: p.bias, method: p.darkMethod, cosmeticSigma: p.cosmetic, darkScale: p.darkScale, threads: p.threads });
  } else if ((p.cosmetic ?? 10) > 0) {
    // No masters: fix isolated hot pixels so they do not stack into fixed-pattern dots.
    opts.calibration = { cosmeticSigma: p.cosmetic ?? 10 };
  }
  // Every final frame verdict (including frames held while the reference is chosen) goes to the run log.
  const frameIds = new Map<string, number>();
  const num = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(4)) : null);
  let accepted = 0, refused = 0;
  opts.onResult = (r) => {
    if (r.accepted) accepted++;
    else refused++;
    const id = frameIds.get(r.path);
    if (id === undefined) return;
    ctx.runlog.updateFrame(id, {
      stats: { stars: r.stars, hfr: num(r.hfr), fwhm: num(r.fwhm), background: num(r.background), noise: num(r.noise), signal: num(r.signal), shift: num(r.shift), rotation_deg: num(r.rotationDeg), residual: num(r.residual), stack_index: r.stackIndex },
      accepted: r.accepted,
      reason: r.reason,
    });
  };
  const stacker = await openStacker(ctx, p, opts);
  let shot = 0;
  let last: FrameResult | null = null;
  // The kernels' worker threads hold the stack's shared memory: end them however the job ends.
  try {
    const known = new Set<string>();
    const addProducts = (r: FrameResult) => {
      for (const m of stacker.opts.methods) {
        for (const [kind, ext] of [['stack-fits', 'fits'], ['stack-preview', stacker.opts.previewFormat]] as const) {
          const path = stacker.outputPath(m, ext);
          if (known.has(path)) continue;
          known.add(path);
          ctx.runlog.addProduct(ctx.runId, { kind, path, metrics: { method: m, stack_index: r.stackIndex } });
        }
      }
      // The per-frame plot (<name>-frames.png) is written beside the CSV by every save.
      const plot = stacker.metricsPaths.csv.replace(/\.csv$/, '.png');
      for (const [kind, path] of [['stack-metrics-csv', stacker.metricsPaths.csv], ['stack-metrics-json', stacker.metricsPaths.json], ['stack-metrics-plot', plot]] as const) {
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
      const before = stacker.count;
      const r = await stacker.push(logged.frame.path);
      last = r;
      // The first frames are held and judged together: the stack (and its preview) appears with the third.
      if (stacker.count !== before || r.accepted) {
        addProducts(r);
        const jpeg = await stacker.previewJpeg();
        if (jpeg) ctx.publish.image(jpeg);
      }
      if (!r.accepted && r.status !== 'pending') ctx.log.warn(`livestack: ${r.reason}`);
      ctx.publish.state({
        star_count: r.stars, hfr_px: num(r.hfr), fwhm_px: num(r.fwhm), sky_background: r.background == null ? null : Number((r.background * 100).toFixed(3)),
        stack_frames: stacker.count, stack_refused: refused, last_frame_accepted: r.accepted, last_frame_reason: r.reason,
        star_signal_pct: Number.isFinite(r.signal) ? Number((r.signal * 100).toFixed(1)) : null,
        disk_writes_mb: diskMb(),
      });
      if (p.maxFrames && stacker.count + stacker.heldCount >= p.maxFrames) break;
    }
    await stacker.finish();
  } finally {
    await stacker.close();
  }
  const metrics = {
    frames_shot: shot, frames_accepted: accepted, frames_refused: refused, stack_frames: stacker.count,
    stack_index: last?.stackIndex ?? 1, stack_fits: stacker.outputPath(stacker.opts.methods[0]!, 'fits'),
    disk_writes_mb: diskMb(), stack_writes_mb: Number((stacker.bytesWritten / 1e6).toFixed(2)), state_on_tmpfs: stacker.stateOnTmpfs,
  };
  ctx.publish.result({ ...metrics, aborted: ctx.signal.aborted });
  return { metrics };
};
