// The `focusbracket` job: N positions on the rail, a frame at each (logged with its position), the
// bracket stacked on the device right after, the stack logged as a product and its preview
// published. The rail goes back to where it started (a known position) whatever happens.
//
// params: positions: number[] | { count=5, step=50, start (default: centred on the current position) }
//         exposure_s=0.01, gain, iso, algorithm='pyramid'|'depthmap', align=true, quality=95,
//         energy, map, pyramid_levels, memory_limit_mb=512, depth_map=false, return_to_start=true,
//         depthmap_preset='shinestacker'|'ours', weight_power, temperature, smoothing, smooth_size,
//         sigma_color, sigma_space, blur_size, dm_kernel_size, pyramid_smooth_size, tiling, tile_size, n_tiled_layers,
//         threads (pyramid and depth-map kernels, decoding; default: the cores)
//         (defaults: shinestacker's DepthMapStack, as `skyrig focus stack`)
import { join } from 'node:path';
import { loadSharp } from '../../lib/sharp.js';
import { DEFAULT_STACK, OURS_DEPTHMAP, stackFiles, type StackOptions } from '../../pipeline/focus/stack.js';
import { ENERGY_MEASURES, type EnergyMeasure } from '../../pipeline/focus/measures.js';
import { numberListParam, numberParam, optionalNumberParam, ParamError } from './params.js';
import type { JobContext, JobResult, JobRunner } from './types.js';

function choice<T extends string>(params: Record<string, unknown>, name: string, values: readonly T[], fallback: T): T {
  const v = params[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new ParamError('focusbracket', name, `must be one of ${values.join('|')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function bool(params: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = params[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ParamError('focusbracket', name, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export async function planPositions(ctx: JobContext): Promise<number[]> {
  const p = ctx.params;
  const limits = await ctx.focuser!.limits();
  let list: number[];
  if (p.positions !== undefined) list = numberListParam('focusbracket', p, 'positions', []);
  else {
    const step = numberParam('focusbracket', p, 'step', 50, 1);
    // start..end by step (the MQTT command's form) or count positions centred on the current one.
    const end = p.end === undefined ? undefined : numberParam('focusbracket', p, 'end', 0);
    const count = end !== undefined && p.start !== undefined
      ? Math.floor(Math.abs(end - numberParam('focusbracket', p, 'start', 0)) / step) + 1
      : numberParam('focusbracket', p, 'count', 5, 2, 200);
    const cur = await ctx.focuser!.position();
    const start = numberParam('focusbracket', p, 'start', Math.round(cur - ((count - 1) * step) / 2));
    list = Array.from({ length: count }, (_, i) => Math.round(start + i * step));
  }
  for (const pos of list) {
    if (pos < limits.min || pos > limits.max) throw new ParamError('focusbracket', 'positions', `position ${pos} is outside the focuser range ${limits.min}..${limits.max}`);
  }
  if (list.length < 2) throw new ParamError('focusbracket', 'positions', 'needs at least 2 positions');
  return list;
}

export const focusbracketJob: JobRunner = async (ctx: JobContext): Promise<JobResult> => {
  const p = ctx.params;
  if (!ctx.focuser) throw new ParamError('focusbracket', 'focuser', 'is required: configure a focuser (rail) for this job');
  const focuser = ctx.focuser;
  const exposureS = numberParam('focusbracket', p, 'exposure_s', 0.01, 1e-6, 3600);
  const gain = optionalNumberParam('focusbracket', p, 'gain', 0);
  const iso = optionalNumberParam('focusbracket', p, 'iso', 1);
  const depthMap = bool(p, 'depth_map', false);
  const d: StackOptions = choice(p, 'depthmap_preset', ['shinestacker', 'ours'] as const, 'shinestacker') === 'ours' ? { ...DEFAULT_STACK, ...OURS_DEPTHMAP } : DEFAULT_STACK;
  const stackOpts: StackOptions = {
    ...d,
    algorithm: choice(p, 'algorithm', ['pyramid', 'depthmap'] as const, 'pyramid'),
    align: bool(p, 'align', true),
    quality: numberParam('focusbracket', p, 'quality', 95, 1, 100),
    energy: choice<EnergyMeasure>(p, 'energy', ENERGY_MEASURES, d.energy),
    map: choice(p, 'map', ['max', 'average'] as const, d.map),
    pyramidLevels: numberParam('focusbracket', p, 'pyramid_levels', d.pyramidLevels, 0, 10),
    weightPower: numberParam('focusbracket', p, 'weight_power', d.weightPower, 1e-6),
    temperature: numberParam('focusbracket', p, 'temperature', d.temperature, 0),
    smoothing: choice(p, 'smoothing', ['bilateral', 'gaussian', 'none'] as const, d.smoothing),
    smoothSize: numberParam('focusbracket', p, 'smooth_size', d.smoothSize, 0, 255),
    sigmaColor: numberParam('focusbracket', p, 'sigma_color', d.sigmaColor, 1e-6),
    sigmaSpace: numberParam('focusbracket', p, 'sigma_space', d.sigmaSpace, 1e-6),
    energySmooth: numberParam('focusbracket', p, 'energy_smooth', d.energySmooth, 0),
    dmBlurSize: numberParam('focusbracket', p, 'blur_size', d.dmBlurSize, 0, 31),
    dmKernelSize: numberParam('focusbracket', p, 'dm_kernel_size', d.dmKernelSize, 3, 31),
    pyramidSmoothSize: numberParam('focusbracket', p, 'pyramid_smooth_size', d.pyramidSmoothSize, 0, 255),
    tiling: choice(p, 'tiling', ['auto', 'memory', 'tiled'] as const, d.tiling),
    tileSize: numberParam('focusbracket', p, 'tile_size', d.tileSize, 32),
    nTiledLayers: numberParam('focusbracket', p, 'n_tiled_layers', d.nTiledLayers, 0, 10),
    memoryLimitMB: numberParam('focusbracket', p, 'memory_limit_mb', DEFAULT_STACK.memoryLimitMB, 64),
    // Threads for the SIMD kernels and decoding; default the cores.
    ...(p.threads === undefined ? {} : { threads: numberParam('focusbracket', p, 'threads', 1, 1, 64) }),
    depthMapPath: depthMap ? join(ctx.productsDir, `focusstack_${ctx.runId}_depth.png`) : undefined,
  };
  if (stackOpts.threads !== undefined && !Number.isInteger(stackOpts.threads)) throw new ParamError('focusbracket', 'threads', `must be a whole number, got ${stackOpts.threads}`);
  const positions = await planPositions(ctx);
  const returnTo = bool(p, 'return_to_start', true) ? await focuser.position() : null;

  const frames: string[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < positions.length; i++) {
      if (ctx.signal.aborted) break;
      const target = positions[i]!;
      ctx.progress(`focusbracket: frame ${i + 1}/${positions.length} at ${target}`);
      const reached = await focuser.moveTo(target, { signal: ctx.signal });
      if (Math.abs(reached - target) > 1) throw new Error(`focusbracket: focuser reached ${reached} instead of ${target} (frame ${i + 1})`);
      const { frame } = await ctx.capture({ exposureS, gain, iso, focusPosition: reached, stem: `focus_${String(i).padStart(3, '0')}_${reached}` });
      frames.push(frame.path);
    }
  } finally {
    if (returnTo !== null) {
      const back = await focuser.moveTo(returnTo).catch(() => null);
      ctx.publish.state({ focus_position: back ?? (await focuser.position().catch(() => null)) });
    }
  }
  const captureMs = performance.now() - t0;
  if (frames.length < 2) {
    const metrics = { frames: frames.length, aborted: ctx.signal.aborted, stacked: false };
    ctx.publish.result(metrics);
    return { metrics };
  }
  ctx.progress(`focusbracket: stacking ${frames.length} frames`);
  const out = join(ctx.productsDir, `focusstack_${ctx.runId}.jpg`);
  const r = await stackFiles(frames, out, { ...stackOpts, onProgress: (label) => ctx.progress(`focusbracket: ${label}`) });
  const metrics = {
    frames: frames.length,
    algorithm: stackOpts.algorithm,
    width: r.width,
    height: r.height,
    bands: r.bands,
    // Kernel threads, where decoded frames waited between bands, and the spill's bytes (SD-card wear).
    threads: r.threads,
    frame_store: r.frameStore,
    spill_mb: Math.round(r.spillBytes / 1e5) / 10,
    capture_ms: Math.round(captureMs),
    stack_ms: Math.round(r.ms),
    kernels: r.kernels,
    first_position: positions[0]!,
    last_position: positions[frames.length - 1]!,
    aborted: ctx.signal.aborted,
  };
  ctx.runlog.addProduct(ctx.runId, { kind: 'focus-stack', path: r.outputs[0]!, metrics: { frames: frames.length, algorithm: stackOpts.algorithm } });
  if (stackOpts.depthMapPath) ctx.runlog.addProduct(ctx.runId, { kind: 'focus-depthmap', path: stackOpts.depthMapPath });
  const sharp = await loadSharp();
  const preview = await sharp(r.outputs[0]!).resize({ width: 1024, height: 1024, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
  ctx.publish.image(preview);
  ctx.publish.result({ ...metrics, product: r.outputs[0]! });
  return { metrics };
};
