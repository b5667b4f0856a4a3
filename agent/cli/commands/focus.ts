// `skyrig focus map|score|stack|auto`: focus maps (RDF + KDE), focus scores with a 3×3 grid,
// focus stacking of a bracket, and autofocus on a camera + focuser. The work is in exported
// run* functions that tests call; the commander actions only parse options and print.
import { mkdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { cpus, homedir } from 'node:os';
import type { Command } from 'commander';
import { createDriverContext } from '../../../drivers/context.js';
import { createCamera, createFocuser } from '../../../drivers/registry.js';
import { createLogger } from '../../log.js';
import { autofocus, DEFAULT_AUTOFOCUS, type AutofocusMeasure, type AutofocusResult } from '../../../pipeline/focus/autofocus.js';
import { parseBorderMode } from '../../../pipeline/focus/border.js';
import type { FitKind } from '../../../pipeline/focus/fit.js';
import { listImages } from '../../../pipeline/focus/frames.js';
import { focusMapBatch } from '../../../pipeline/focus/map-batch.js';
import type { FocusMapOptions, FocusMapResult } from '../../../pipeline/focus/map.js';
import { ENERGY_MEASURES, parseEnergyMeasure, scorePlane, type EnergyMeasure, type GridScore } from '../../../pipeline/focus/measures.js';
import { DEFAULT_KDE } from '../../../pipeline/focus/kde.js';
import { loadGrayPlane } from '../../../pipeline/focus/plane.js';
import { parseRadii, type RdfNormalize } from '../../../pipeline/focus/rdf.js';
import { DEFAULT_BUNCH, DEFAULT_STACK, OURS_DEPTHMAP, stackFiles, type StackOptions, type StackResult } from '../../../pipeline/focus/stack.js';
import { imageStem } from '../../../pipeline/focus/map.js';
import { createProgress } from '../progress.js';
import type { RegisterCommands } from '../types.js';
import { ensureParentDir } from '../out-dir.js';

type Raw = Record<string, string | boolean | undefined>;

function num(raw: Raw, key: string, option: string, fallback: number, check: (v: number) => boolean = Number.isFinite, want = 'a number'): number {
  const r = raw[key];
  if (r === undefined || r === true || r === false) return fallback;
  const v = Number(r);
  if (String(r).trim() === '' || !Number.isFinite(v) || !check(v)) throw new Error(`${option}: expected ${want}, got "${r}"`);
  return v;
}

function oneOf<T extends string>(raw: Raw, key: string, option: string, values: readonly T[], fallback: T): T {
  const r = raw[key];
  if (r === undefined || typeof r === 'boolean') return fallback;
  if (!(values as readonly string[]).includes(r)) throw new Error(`${option}: expected one of ${values.join('|')}, got "${r}"`);
  return r as T;
}

// ---------------------------------------------------------------- map

export function parseMapOptions(raw: Raw): FocusMapOptions & { workers: number } {
  const clip = raw.clipPercentile === 'none' ? null : num(raw, 'clipPercentile', '--clip-percentile', 99.5, (v) => v > 0 && v <= 100, '0 < p <= 100 or none');
  return {
    radii: parseRadii(typeof raw.radii === 'string' ? raw.radii : '1:3,2:5,3:7'),
    power: num(raw, 'power', '--power', 2, (v) => v === 1 || v === 2, '1 or 2') as 1 | 2,
    normalize: oneOf<RdfNormalize>(raw, 'normalize', '--normalize', ['none', 'p99', 'mad'], 'p99'),
    border: parseBorderMode(typeof raw.border === 'string' ? raw.border : 'reflect'),
    downsample: num(raw, 'downsample', '--downsample', 1, (v) => Number.isInteger(v) && v >= 1 && v <= 16, 'an integer 1..16'),
    kde: {
      topPercent: num(raw, 'topPercent', '--top-percent', DEFAULT_KDE.topPercent, (v) => v > 0 && v <= 100, '0 < p <= 100'),
      bandwidthPx: num(raw, 'bandwidthPx', '--bandwidth-px', 10, (v) => v > 0 && v <= 500, '0 < px <= 500'),
      includeStrength: raw.includeStrength === true,
      clipPercentile: clip,
      clipOver: oneOf(raw, 'clipOver', '--clip-over', ['filter', 'density'] as const, 'filter'),
      normalize: true,
    },
    saveScales: raw.saveScales === true,
    saveArrays: raw.saveArrays !== false,
    saveVisualizations: raw.saveVisualizations !== false,
    // focus_response uses every CPU by default.
    workers: num(raw, 'workers', '--workers', cpus().length, (v) => Number.isInteger(v) && v >= 1 && v <= 64, 'an integer 1..64'),
    // Kernel threads per image; by default the cores the image workers leave (map-batch.ts).
    ...(raw.threads === undefined ? {} : { threads: num(raw, 'threads', '--threads', 1, (v) => Number.isInteger(v) && v >= 1 && v <= 64, 'an integer 1..64') }),
  };
}

export async function runFocusMap(inputs: string[], out: string, raw: Raw, err: NodeJS.WriteStream = process.stderr): Promise<FocusMapResult[]> {
  const o = parseMapOptions(raw);
  // Never the maps of an earlier run written inside the input folder.
  const files = (await listImages(inputs, { recursive: raw.recursive === true })).filter((f) => !resolve(f).startsWith(resolve(out) + sep));
  if (files.length === 0) throw new Error(`${inputs.join(' ')}: no images found`);
  await mkdir(out, { recursive: true });
  const progress = createProgress('focus map', files.length, err);
  try {
    return await focusMapBatch(files, out, o, o.workers, (r) => progress.tick(`${r.name} filter ${r.filterMs.toFixed(0)} ms kde ${r.kdeMs.toFixed(0)} ms`));
  } finally {
    progress.stop();
  }
}

// ---------------------------------------------------------------- score

export interface ScoreRow extends GridScore {
  file: string;
  measure: EnergyMeasure;
  /** Worst corner / best corner (1 = even); and centre / mean of corners (field curvature). */
  tilt: number;
  curvature: number;
}

export async function runFocusScore(inputs: string[], raw: Raw): Promise<ScoreRow[]> {
  const measure = parseEnergyMeasure(typeof raw.measure === 'string' ? raw.measure : 'tenengrad', '--measure');
  const border = parseBorderMode(typeof raw.border === 'string' ? raw.border : 'reflect');
  const files = await listImages(inputs);
  if (files.length === 0) throw new Error(`${inputs.join(' ')}: no images found`);
  const rows: ScoreRow[] = [];
  for (const file of files) {
    const plane = await loadGrayPlane(file);
    const s = scorePlane(plane, measure, border);
    const corners = [s.grid[0]!, s.grid[2]!, s.grid[6]!, s.grid[8]!];
    const mc = corners.reduce((a, b) => a + b, 0) / 4;
    rows.push({ file, measure, ...s, tilt: Math.max(...corners) > 0 ? Math.min(...corners) / Math.max(...corners) : 0, curvature: mc > 0 ? s.grid[4]! / mc : 0 });
  }
  return rows;
}

function formatScore(r: ScoreRow): string {
  const f = (v: number) => (v >= 100 ? v.toFixed(1) : v.toPrecision(4));
  const g = r.grid.map(f);
  return [
    `${r.file}  ${r.measure} ${f(r.score)}  tilt(min/max corner) ${r.tilt.toFixed(2)}  centre/corners ${r.curvature.toFixed(2)}`,
    `  ${g.slice(0, 3).join('  ')}`,
    `  ${g.slice(3, 6).join('  ')}`,
    `  ${g.slice(6, 9).join('  ')}`,
  ].join('\n');
}

// ---------------------------------------------------------------- stack

export function parseStackOptions(raw: Raw): StackOptions {
  const preset = oneOf(raw, 'depthmapPreset', '--depthmap-preset', ['shinestacker', 'ours'] as const, 'shinestacker');
  const d: StackOptions = preset === 'ours' ? { ...DEFAULT_STACK, ...OURS_DEPTHMAP } : DEFAULT_STACK;
  const o: StackOptions = {
    ...d,
    algorithm: oneOf(raw, 'algorithm', '--algorithm', ['pyramid', 'depthmap'] as const, 'pyramid'),
    pyramidMinSize: num(raw, 'pyramidMinSize', '--pyramid-min-size', d.pyramidMinSize),
    kernelSize: num(raw, 'kernelSize', '--kernel-size', d.kernelSize),
    genKernel: num(raw, 'genKernel', '--gen-kernel', d.genKernel),
    float: num(raw, 'float', '--float', 32, (v) => v === 32 || v === 64, '32 or 64') as 32 | 64,
    energy: parseEnergyMeasure(typeof raw.energy === 'string' ? raw.energy : d.energy),
    map: oneOf(raw, 'map', '--map', ['max', 'average'] as const, d.map),
    weightPower: num(raw, 'weightPower', '--weight-power', d.weightPower),
    temperature: num(raw, 'temperature', '--temperature', d.temperature),
    energySmooth: num(raw, 'energySmooth', '--energy-smooth', d.energySmooth),
    smoothing: oneOf(raw, 'smoothing', '--smoothing', ['bilateral', 'gaussian', 'none'] as const, d.smoothing),
    smoothSize: num(raw, 'smoothSize', '--smooth-size', d.smoothSize),
    sigmaColor: num(raw, 'sigmaColor', '--sigma-color', d.sigmaColor),
    sigmaSpace: num(raw, 'sigmaSpace', '--sigma-space', d.sigmaSpace),
    dmBlurSize: num(raw, 'blurSize', '--blur-size', d.dmBlurSize),
    dmKernelSize: num(raw, 'dmKernelSize', '--dm-kernel-size', d.dmKernelSize),
    pyramidSmoothSize: num(raw, 'pyramidSmoothSize', '--pyramid-smooth-size', d.pyramidSmoothSize),
    tiling: oneOf(raw, 'tiling', '--tiling', ['auto', 'memory', 'tiled'] as const, d.tiling),
    tileSize: num(raw, 'tileSize', '--tile-size', d.tileSize),
    nTiledLayers: num(raw, 'nTiledLayers', '--n-tiled-layers', d.nTiledLayers),
    ...(raw.exif === undefined ? {} : { exif: raw.exif === 'none' ? null : resolve(String(raw.exif)) }),
    pyramidLevels: num(raw, 'pyramidLevels', '--pyramid-levels', d.pyramidLevels),
    depthMapPath: typeof raw.depthMap === 'string' ? resolve(raw.depthMap) : undefined,
    bunch: raw.bunch === undefined ? undefined : raw.bunch === true ? DEFAULT_BUNCH : num(raw, 'bunch', '--bunch', 0),
    overlap: num(raw, 'overlap', '--overlap', 0),
    denoise: num(raw, 'denoise', '--denoise', 0),
    sharpen: num(raw, 'sharpen', '--sharpen', 0),
    sharpenRadius: num(raw, 'sharpenRadius', '--sharpen-radius', d.sharpenRadius),
    sharpenThreshold: num(raw, 'sharpenThreshold', '--sharpen-threshold', d.sharpenThreshold),
    prefix: typeof raw.prefix === 'string' ? raw.prefix : '',
    align: raw.align !== false,
    memoryLimitMB: num(raw, 'memoryLimit', '--memory-limit', d.memoryLimitMB),
    ...(raw.threads === undefined ? {} : { threads: num(raw, 'threads', '--threads', 1, (v) => Number.isInteger(v) && v >= 1 && v <= 64, 'an integer 1..64') }),
    quality: num(raw, 'quality', '--quality', d.quality, (v) => v >= 1 && v <= 100, '1..100'),
  };
  if (raw.overlap !== undefined && o.bunch === undefined) throw new Error('--overlap: only with --bunch');
  return o;
}

export async function runFocusStack(inputs: string[], out: string, raw: Raw, err: NodeJS.WriteStream = process.stderr): Promise<StackResult> {
  const o = parseStackOptions(raw);
  const files = await listImages(inputs);
  let progress: ReturnType<typeof createProgress> | null = null;
  o.onProgress = (label, done, total) => {
    if (total === 0) return;
    if (done === 1) {
      progress?.stop(); // a new bunch starts its own count
      progress = createProgress('focus stack', total, err);
    }
    progress?.tick(label);
  };
  try {
    return await stackFiles(files, resolve(out), o);
  } finally {
    (progress as ReturnType<typeof createProgress> | null)?.stop();
  }
}

// ---------------------------------------------------------------- auto

export async function runFocusAuto(raw: Raw, err: NodeJS.WriteStream = process.stderr): Promise<AutofocusResult> {
  if (typeof raw.camera !== 'string') throw new Error('--camera: a device URL is required (sim://, indi://host/Device, gphoto2://)');
  if (typeof raw.focuser !== 'string') throw new Error('--focuser: a device URL is required (sim://, indi://host/Focuser, gpio-rail://)');
  const d = DEFAULT_AUTOFOCUS;
  const measure = oneOf<AutofocusMeasure>(raw, 'measure', '--measure', ['hfr', 'fwhm', ...ENERGY_MEASURES], 'hfr');
  const fit = raw.fit === undefined ? undefined : oneOf<FitKind>(raw, 'fit', '--fit', ['hyperbola', 'parabola', 'gaussian'], 'hyperbola');
  const out = resolve(typeof raw.out === 'string' ? raw.out : join(process.cwd(), `autofocus-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const stateDir = resolve(typeof raw.stateDir === 'string' ? raw.stateDir : (process.env.SKYRIG_STATE_DIR ?? join(homedir(), '.local', 'state', 'skyrig')));
  const ctx = createDriverContext({ log: createLogger({ level: raw.verbose ? 'debug' : 'warn' }), stateDir });
  const camera = await createCamera(raw.camera, ctx);
  const focuser = await createFocuser(raw.focuser, ctx);
  await camera.connect();
  await focuser.connect();
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  try {
    return await autofocus(camera, focuser, {
      outDir: out,
      exposureS: num(raw, 'exposure', '--exposure', d.exposureS, (v) => v > 0, 'seconds > 0'),
      gain: raw.gain === undefined ? undefined : num(raw, 'gain', '--gain', 0),
      step: num(raw, 'step', '--step', d.step, (v) => v >= 1, 'steps >= 1'),
      points: num(raw, 'points', '--points', d.points, (v) => Number.isInteger(v) && v >= 5 && v <= 41, 'an integer 5..41'),
      measure,
      fit,
      r2Min: num(raw, 'r2Min', '--r2-min', d.r2Min, (v) => v >= 0 && v < 1, '0..1'),
      overshoot: num(raw, 'overshoot', '--overshoot', d.overshoot, (v) => v >= 0, 'steps >= 0'),
      approach: oneOf(raw, 'approach', '--approach', ['in', 'out'] as const, 'out'),
      refine: raw.refine === true,
      signal: ac.signal,
      onPoint: (p) => err.write(`autofocus: ${p.pass} ${p.position} → ${Number.isFinite(p.value) ? p.value.toFixed(3) : 'no stars'}${p.stars !== undefined ? ` (${p.stars} stars)` : ''}\n`),
    });
  } finally {
    process.off('SIGINT', onSignal);
    await camera.disconnect().catch(() => {});
    await focuser.disconnect().catch(() => {});
  }
}

// ---------------------------------------------------------------- registration

export const registerFocusCommands: RegisterCommands = (program: Command) => {
  const focus = program.command('focus').description('Focus maps and scores, autofocus, focus stacking');

  focus
    .command('map')
    .description('Ring Difference Filter focus maps with KDE focus regions (focus_response layout)')
    .argument('<inputs...>', 'image files or a directory')
    .requiredOption('--out <dir>', 'output directory (filter_arrays/, kde_arrays/, filter_vis/, kde_vis/)')
    .option('--radii <pairs>', 'inner:outer radii pairs', '1:3,2:5,3:7')
    .option('--power <n>', '1 (|d|) or 2 (d²)', '2')
    .option('--normalize <mode>', 'per-scale normalisation: none|p99|mad', 'p99')
    .option('--border <mode>', 'reflect|replicate|constant', 'reflect')
    .option('--downsample <n>', 'compute at 1/n size, upsample the result', '1')
    .option('--top-percent <p>', 'KDE: keep the strongest p % of pixels', '25')
    .option('--bandwidth-px <px>', 'KDE Gaussian sigma', '10')
    .option('--include-strength', 'KDE: weight pixels by their focus response')
    .option('--clip-percentile <p>', 'KDE: clip the density at this percentile (or none)', '99.5')
    .option('--clip-over <map>', 'KDE: percentile of the filter map (focus_response) or of the density itself', 'filter')
    .option('--save-scales', 'also write each scale\'s RDF map (filter_arrays/<name>_rdf_<in>-<out>.npy)')
    .option('--workers <n>', 'images processed in parallel (worker threads; default: the CPU count)')
    .option('--threads <n>', 'threads for one image\'s SIMD kernels (default: the cores left per image worker)')
    .option('--recursive', 'look for images in sub-folders of a folder input too')
    .option('--no-save-arrays', 'do not keep filter_arrays/ and kde_arrays/')
    .option('--no-save-visualizations', 'do not write filter_vis/ and kde_vis/')
    .option('--json', 'print results as JSON')
    .action(async (inputs: string[], opts: Raw & { out: string }) => {
      const t0 = performance.now();
      const results = await runFocusMap(inputs, resolve(opts.out), opts);
      const totalS = (performance.now() - t0) / 1000;
      if (opts.json) {
        process.stdout.write(JSON.stringify({ images: results.length, total_s: Number(totalS.toFixed(3)), results }, null, 2) + '\n');
        return;
      }
      for (const r of results) process.stdout.write(`${r.name}\tthreshold ${r.threshold.toPrecision(4)}\tfilter ${r.filterMs.toFixed(0)} ms\tkde ${r.kdeMs.toFixed(0)} ms\t${r.files.kdeVis ?? r.files.kde ?? ''}\n`);
      // focus_response's closing summary.
      const sum = (k: 'filterMs' | 'kdeMs') => results.reduce((a, r) => a + r[k], 0) / 1000;
      process.stdout.write(`${results.length} image${results.length === 1 ? '' : 's'} in ${totalS.toFixed(1)} s (filter ${sum('filterMs').toFixed(1)} s, kde ${sum('kdeMs').toFixed(1)} s); results in ${resolve(opts.out)}\n`);
    });

  focus
    .command('score')
    .description('Scalar focus score per image and per cell of a 3×3 grid (tilt, field curvature)')
    .argument('<inputs...>', 'image files or a directory')
    .option('--measure <m>', ENERGY_MEASURES.join('|'), 'tenengrad')
    .option('--border <mode>', 'reflect|replicate|constant', 'reflect')
    .option('--json', 'print JSON')
    .action(async (inputs: string[], opts: Raw) => {
      const rows = await runFocusScore(inputs, opts);
      if (opts.json) process.stdout.write(JSON.stringify(rows.map((r) => ({ ...r, name: imageStem(r.file) })), null, 2) + '\n');
      else {
        for (const r of rows) process.stdout.write(formatScore(r) + '\n');
        const best = rows.reduce((a, b) => (b.score > a.score ? b : a));
        process.stdout.write(`sharpest: ${best.file}\n`);
      }
    });

  focus
    .command('stack')
    .description('Merge a focus bracket into one sharp image')
    .argument('<inputs...>', 'a directory of frames (or the frame files), in focus order by name')
    .requiredOption('--out <file>', 'output image (.jpg, .png, .tif); with --bunch, stacks are <stem>_NNNN<ext> beside it')
    .option('--algorithm <a>', 'pyramid|depthmap', 'pyramid')
    .option('--pyramid-min-size <px>', 'pyramid: smallest level size', '32')
    .option('--kernel-size <n>', 'pyramid: region-energy window (odd)', '5')
    .option('--gen-kernel <a>', 'pyramid: generating kernel parameter', '0.4')
    .option('--float <bits>', '32|64 working precision', '32')
    .option('--depthmap-preset <p>', 'depthmap defaults: shinestacker (DepthMapStack) | ours (hard max, Laplacian, Gaussian σ 2, 5 levels)', 'shinestacker')
    .option('--energy <m>', `depthmap: ${ENERGY_MEASURES.join('|')} (default tenengrad)`)
    .option('--map <m>', 'depthmap: average (default) | max')
    .option('--weight-power <p>', 'depthmap average: weights = energy^p (default 1)')
    .option('--temperature <t>', 'depthmap max: soft max exp((E-Emax)/T), E in frame units; < 1e-4 = hard max, ties shared (default 0)')
    .option('--pyramid-smooth-size <n>', 'depthmap: Gaussian blur of the weight maps, taps (default 1 = none)')
    .option('--smoothing <s>', 'depthmap energy smoothing: bilateral (default) | gaussian | none')
    .option('--smooth-size <px>', 'bilateral diameter (default 1)')
    .option('--sigma-color <s>', 'bilateral range sigma, energy scaled to 0..1 (default 0.8)')
    .option('--sigma-space <px>', 'bilateral spatial sigma (default 2)')
    .option('--energy-smooth <sigma>', 'Gaussian sigma for --smoothing gaussian (default 2)')
    .option('--blur-size <n>', 'laplacian energies: Gaussian pre-blur taps (default 5, 0 = none)')
    .option('--dm-kernel-size <n>', 'laplacian energies: kernel size (default 5)')
    .option('--pyramid-levels <n>', 'depthmap: blending levels (0 = per pixel; default 4 = shinestacker pyramid_levels 5)')
    .option('--tiling <mode>', 'auto (bands from --memory-limit) | memory (one band) | tiled (bands of --tile-size rows)', 'auto')
    .option('--tile-size <px>', 'tiled: band height', '512')
    .option('--n-tiled-layers <n>', 'shinestacker parity (no effect: every band carries all levels)', '2')
    .option('--exif <file|none>', 'EXIF for a JPEG output: a file, or none (default: the first frame)')
    .option('--depth-map <file>', 'depthmap: write the depth map as a PNG')
    .option('--bunch [n]', 'stack every n frames separately (default 10)')
    .option('--overlap <m>', 'frames shared by consecutive bunches (default 0)')
    .option('--denoise <amount>', 'edge-preserving denoise (8-bit code values, ~1 mild)', '0')
    .option('--sharpen <percent>', 'unsharp mask amount', '0')
    .option('--sharpen-radius <px>', 'unsharp mask radius', '1')
    .option('--sharpen-threshold <codes>', 'unsharp mask threshold (8-bit codes)', '0')
    .option('--prefix <text>', 'prefix of output file names', '')
    .option('--no-align', 'frames are already aligned')
    .option('--memory-limit <MB>', 'working memory budget; bigger frames are processed in bands', '512')
    .option('--threads <n>', 'threads for the SIMD kernels (pyramid and depth map) and for decoding (default: the cores)')
    .option('--quality <q>', 'JPEG quality', '95')
    .action(async (inputs: string[], opts: Raw & { out: string }) => {
      await ensureParentDir(opts.out, '--out');
      if (typeof opts.depthMap === 'string') await ensureParentDir(opts.depthMap, '--depth-map');
      const r = await runFocusStack(inputs, opts.out, opts);
      for (const o of r.outputs) process.stdout.write(`${o}\n`);
      const spill = r.frameStore === 'file' ? `, frames spilled once (${(r.spillBytes / 1e6).toFixed(0)} MB written)` : r.frameStore === 'memory' ? ', frames decoded once into memory' : '';
      process.stderr.write(`focus stack: ${r.frames} frames ${r.width}×${r.height} in ${r.bands} band(s) of ${r.bandRows} rows${spill}, ${r.kernels === 'wasm' ? `SIMD kernels on ${r.threads} thread(s)` : 'plain-TS kernels'}, ${(r.ms / 1000).toFixed(1)} s\n`);
    });

  focus
    .command('auto')
    .description('Autofocus: V-curve sweep, curve fit, final approach from one side')
    .requiredOption('--camera <url>', 'camera device URL')
    .requiredOption('--focuser <url>', 'focuser device URL')
    .option('--exposure <s>', 'exposure per frame (s)', String(DEFAULT_AUTOFOCUS.exposureS))
    .option('--gain <g>', 'camera gain')
    .option('--step <steps>', 'focuser steps between sweep points', String(DEFAULT_AUTOFOCUS.step))
    .option('--points <n>', 'points per sweep', String(DEFAULT_AUTOFOCUS.points))
    .option('--measure <m>', `hfr|fwhm|${ENERGY_MEASURES.join('|')}`, 'hfr')
    .option('--fit <kind>', 'hyperbola|parabola|gaussian (default: hyperbola for stars, gaussian for contrast)')
    .option('--r2-min <r2>', 'reject fits below this R²', String(DEFAULT_AUTOFOCUS.r2Min))
    .option('--overshoot <steps>', 'backlash overshoot before approaching a position', '0')
    .option('--approach <dir>', 'in|out: direction every position is approached from', 'out')
    .option('--refine', 'second, half-step sweep around the first result')
    .option('--out <dir>', 'directory for the sweep frames and vcurve.png')
    .option('--state-dir <dir>', 'driver state directory')
    .option('--json', 'print the result as JSON')
    .action(async (opts: Raw) => {
      const r = await runFocusAuto(opts);
      if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else process.stdout.write(`best focus ${r.position} (${opts.measure ?? 'hfr'} ${r.value.toFixed(3)}, ${r.fit.kind} R² ${r.fit.r2.toFixed(3)}, ${r.points.length} frames)\nV-curve: ${r.plot}\n`);
    });
};
