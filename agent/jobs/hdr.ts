// The `hdr` job: capture an exposure bracket (a fixed list, or spread around an auto-exposure value
// found by quick metering frames), merge it on the device right after capture in fixed memory,
// log the products and publish the tone-mapped preview and figures.
//
// params: exposures: number[] (s) | { steps=5, ev_step=2, meter_exposure_s=0.01, target=0.3 }
//         response: path to a .json/.npz response (Debevec; without it Mertens fusion)
//         formats: ['hdr','jpg',...], tonemap: 'reinhard'|'log', gamma: 2.2, gain, quality
import { join } from 'node:path';
import { loadSharp } from '../../lib/sharp.js';
import { loadResponse } from '../../pipeline/hdr/response.js';
import { mergeBracket, parseFormats, prestartMergeThreads, type OutputFormat } from '../../pipeline/hdr/merge.js';
import { meterFrame, nextExposure } from '../../pipeline/hdr/meter.js';
import { formatStamp } from '../../pipeline/hdr/names.js';
import type { BracketFrame } from '../../pipeline/hdr/discover.js';
import { bracketProblem } from '../../pipeline/hdr/discover.js';
import type { Metrics } from '../runlog/types.js';
import { numberListParam, numberParam, optionalNumberParam, ParamError } from './params.js';
import type { JobContext, JobResult, JobRunner } from './types.js';

const PRODUCT_KIND: Record<OutputFormat, string> = { hdr: 'hdr-radiance', tiff: 'hdr-tiff', fits: 'hdr-fits', png16: 'hdr-png16', jpg: 'hdr-jpeg' };

function stringParam(params: Record<string, unknown>, name: string): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ParamError('hdr', name, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

/** Find the auto-exposure by metering frames (logged like any frame), then spread the bracket around it. */
async function planBracket(ctx: JobContext, minS: number, maxS: number, gain: number | undefined): Promise<{ exposures: number[]; autoS: number | null }> {
  const p = ctx.params;
  const clamp = (t: number) => Math.min(maxS, Math.max(minS, t));
  if (p.exposures !== undefined) {
    const list = numberListParam('hdr', p, 'exposures', []).map(clamp);
    return { exposures: [...new Set(list)].sort((a, b) => a - b), autoS: null };
  }
  const steps = numberParam('hdr', p, 'steps', 5, 2, 15);
  const evStep = numberParam('hdr', p, 'ev_step', 2, 0.3, 4);
  const target = numberParam('hdr', p, 'target', 0.3, 0.05, 0.9);
  let t = clamp(numberParam('hdr', p, 'meter_exposure_s', 0.01, 0));
  for (let i = 0; i < 4; i++) {
    ctx.progress(`hdr: metering at ${t} s`);
    const { frame, frameId } = await ctx.capture({ exposureS: t, gain, stem: `meter_${i}_${Math.round(t * 1e6)}us` });
    const m = await meterFrame(frame.path);
    ctx.runlog.updateFrame(frameId, { stats: { median: m.median, saturated_fraction: m.saturatedFraction }, accepted: false, reason: 'metering' });
    const next = clamp(nextExposure(t, m, target));
    const converged = Math.abs(Math.log(next / t)) < Math.log(1.5);
    t = next;
    if (converged) break;
  }
  const exposures = Array.from({ length: steps }, (_, k) => clamp(t * Math.pow(2, evStep * (k - (steps - 1) / 2))));
  return { exposures: [...new Set(exposures)].sort((a, b) => a - b), autoS: t };
}

export const hdrJob: JobRunner = async (ctx: JobContext): Promise<JobResult> => {
  const p = ctx.params;
  const gain = optionalNumberParam('hdr', p, 'gain', 0);
  const responsePath = stringParam(p, 'response');
  const response = responsePath ? await loadResponse(responsePath) : undefined;
  const algorithm = response ? 'debevec' : 'mertens';
  const formatList = p.formats === undefined ? (response ? 'hdr,jpg' : 'jpg') : Array.isArray(p.formats) ? p.formats.join(',') : String(p.formats);
  let formats: OutputFormat[];
  try {
    formats = parseFormats(formatList);
  } catch (err) {
    throw new ParamError('hdr', 'formats', (err as Error).message.replace(/^--format: /, ''));
  }
  if (!formats.includes('jpg')) formats.push('jpg'); // the preview comes from it
  const tonemapRaw = stringParam(p, 'tonemap') ?? 'reinhard';
  if (tonemapRaw !== 'reinhard' && tonemapRaw !== 'log') throw new ParamError('hdr', 'tonemap', `must be reinhard or log, got "${tonemapRaw}"`);
  const gamma = numberParam('hdr', p, 'gamma', 2.2, 0.1, 10);
  const quality = numberParam('hdr', p, 'quality', 90, 1, 100);
  const weighting = stringParam(p, 'merge_weights') ?? 'hat';
  if (weighting !== 'hat' && weighting !== 'noise') throw new ParamError('hdr', 'merge_weights', `must be hat or noise, got "${weighting}"`);
  // Threads for the merge's SIMD kernels; default the cores.
  const threads = optionalNumberParam('hdr', p, 'threads', 1, 64);
  if (threads !== undefined && !Number.isInteger(threads)) throw new ParamError('hdr', 'threads', `must be a whole number, got ${threads}`);
  // The merge's pipe thread starts while the bracket is captured (and stays for the next run).
  if (algorithm === 'debevec') prestartMergeThreads();

  const caps = await ctx.camera.capabilities();
  const { exposures, autoS } = await planBracket(ctx, caps.minExposureS, caps.maxExposureS, gain);
  if (exposures.length < 2) throw new ParamError('hdr', 'exposures', `need at least 2 distinct exposures within the camera's ${caps.minExposureS}..${caps.maxExposureS} s`);

  const frames: BracketFrame[] = [];
  for (let i = 0; i < exposures.length; i++) {
    ctx.signal.throwIfAborted();
    ctx.progress(`hdr: frame ${i + 1}/${exposures.length} at ${exposures[i]} s`);
    const { frame } = await ctx.capture({ exposureS: exposures[i]!, gain });
    frames.push({ path: frame.path, exposureS: frame.exposureS, timestamp: frame.timestamp });
  }
  frames.sort((a, b) => a.exposureS - b.exposureS);
  const problem = bracketProblem(`run ${ctx.runId}`, frames);
  if (problem) throw new Error(problem);

  ctx.progress(`hdr: merging ${frames.length} frames (${algorithm})`);
  const stamp = formatStamp(frames[0]!.timestamp ?? new Date());
  const result = await mergeBracket(frames, join(ctx.productsDir, `${stamp}_hdr`), {
    algorithm,
    ...(response ? { response } : {}),
    formats,
    tonemap: tonemapRaw,
    gamma,
    quality,
    weighting,
    ...(threads ? { threads } : {}),
    signal: ctx.signal,
    id: `run ${ctx.runId}`,
  });
  const peakRssMb = Number((process.resourceUsage().maxRSS / 1024).toFixed(1));
  const metrics: Metrics = {
    algorithm,
    frames: frames.length,
    exposure_min_s: frames[0]!.exposureS,
    exposure_max_s: frames[frames.length - 1]!.exposureS,
    auto_exposure_s: autoS,
    lne_min: result.lnE ? Number(result.lnE[0].toFixed(4)) : null,
    lne_max: result.lnE ? Number(result.lnE[1].toFixed(4)) : null,
    saturated_fraction: Number(result.saturatedFraction.toFixed(6)),
    merge_ms: Math.round(result.ms),
    merge_kernels: result.kernels ?? 'js',
    merge_threads: result.threads ?? 1,
    peak_rss_mb: peakRssMb,
    width: result.width,
    height: result.height,
  };
  for (const [fmt, path] of Object.entries(result.outputs) as [OutputFormat, string][]) {
    ctx.runlog.addProduct(ctx.runId, { kind: PRODUCT_KIND[fmt], path, metrics });
  }
  // Shrink-on-load keeps the preview cheap even for a 24 MP JPEG.
  const sharp = await loadSharp();
  const preview = await sharp(result.outputs.jpg!, { limitInputPixels: false })
    .resize({ width: 1024, height: 1024, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
  ctx.publish.image(preview);
  ctx.publish.state({
    hdr_lne_min: metrics.lne_min,
    hdr_lne_max: metrics.lne_max,
    // Stops between the darkest and brightest radiance the bracket recovered (Debevec only).
    hdr_dynamic_range_ev: result.lnE ? Number(((result.lnE[1] - result.lnE[0]) / Math.LN2).toFixed(2)) : null,
    hdr_saturated_pct: Number((result.saturatedFraction * 100).toFixed(4)),
    hdr_merge_ms: metrics.merge_ms,
  });
  ctx.publish.result({ ...metrics, outputs: result.outputs, exposures: frames.map((f) => f.exposureS) });
  return { metrics };
};
