// `skyrig hdr calibrate | range | merge | stats` — HDR from exposure brackets on disk.
import type { Command } from 'commander';
import { randomInt } from 'node:crypto';
import { cpus } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { createProgress } from '../progress.js';
import { parseRoi, readSettingsDoc, readStatsSettings, seedOptionValues } from './hdr-stats-settings.js';
import { ensureParentDir } from '../out-dir.js';
import {
  calibrateResponse,
  bracketStats,
  findBrackets,
  globalRange,
  loadResponse,
  mergeAll,
  prestartMergeThreads,
  parseExpoUnit,
  parseExposureList,
  parseFormats,
  parseRound,
  saveResponse,
  writeResponsePlot,
  writeStatsReport,
  findWavelengthBrackets,
  writeFpnMaps,
  isSeedSettings,
  parseSeedSettings,
  seedBrackets,
  type SeedSettings,
  type Bracket,
  type FindBracketsOptions,
  type WeightOptions,
} from '../../../pipeline/hdr/index.js';

interface DiscoveryFlags {
  expoUnit: string;
  round: string;
  grouping: string;
  exposures?: string;
}

function addDiscovery(cmd: Command): Command {
  return cmd
    .option('--expo-unit <unit>', 'unit of the exposure in file names: us, ms, s', 'us')
    .option('--round <duration>', 'group frames whose timestamps round to the same window: 30s, 1min, 5min', '30s')
    .option('--grouping <how>', 'round (nearest window, ties to even, as asi_core) | floor (window start)', 'round')
    .option('--exposures <list>', 'explicit exposure list in name order, e.g. 1/1000,1/250,1/60 (overrides names/EXIF)');
}

function discoveryOptions(o: DiscoveryFlags): FindBracketsOptions {
  if (o.grouping !== 'round' && o.grouping !== 'floor') throw new Error(`--grouping: expected round or floor, got "${o.grouping}"`);
  return {
    expoUnit: parseExpoUnit(o.expoUnit),
    roundS: parseRound(o.round),
    grouping: o.grouping,
    ...(o.exposures ? { exposures: parseExposureList(o.exposures) } : {}),
  };
}

function num(value: string, flag: string, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const v = Number(value);
  if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max))
    throw new Error(`${flag}: expected ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}, got "${value}"`);
  return v;
}

async function discover(dir: string, o: DiscoveryFlags): Promise<Bracket[]> {
  const brackets = await findBrackets(dir, discoveryOptions(o));
  if (brackets.length === 0) throw new Error(`${dir}: no bracket frames found (YYYYmmddHHMMSS_<EXPO>.jpg|png|tif|fits)`);
  return brackets;
}

export function registerHdrCommands(program: Command): void {
  const hdr = program.command('hdr').description('HDR from exposure brackets: response calibration, merge, global range, bracket statistics');

  addDiscovery(
    hdr
      .command('calibrate <dir>')
      .description('Debevec & Malik response curve per channel; writes .json or .npz (asi_core layout) and a PNG plot')
      .requiredOption('--out <file>', 'response file (.json or .npz)')
      .option('--max-groups <n>', 'brackets used (spread over the set)', '10')
      .option('--samples <n>', 'sample pixels per bracket', '1000')
      .option('--technique <t>', 'sample choice: random | histogram', 'random')
      .option('--smoothness <lambda>', 'smoothness weight λ (second differences, per 1000 samples)', '50')
      .option('--ripple <mu>', 'third-difference weight μ against the exposure-ladder ripple (per 1000 samples; 0 = asi_core\'s objective)', '2000')
      .option('--weight <kind>', 'pixel weight: triangle | sine', 'triangle')
      .option('--low-clip <code>', 'codes at or below get weight 0', '5')
      .option('--high-clip <code>', 'codes at or above get weight 0', '250')
      .option('--seed <n>', 'random seed for the sample pixels (default: a fresh one each run, as asi_core; the one used is recorded in the metadata)')
      .option('--camera <name>', 'camera name recorded in the metadata')
      .option('--plot <image>', 'plot path, .jpg or .png (default: response_curve.jpg beside the response file, as asi_core)'),
  ).action(async (dir: string, o: DiscoveryFlags & Record<string, string>) => {
    await ensureParentDir(o.out!, '--out');
    if (o.plot) await ensureParentDir(o.plot, '--plot');
    const brackets = await discover(dir, o);
    const weights: WeightOptions = {
      kind: o.weight === 'sine' ? 'sine' : o.weight === 'triangle' ? 'triangle' : (o.weight as 'triangle'),
      lowClip: num(o.lowClip!, '--low-clip', { min: 0, max: 254 }),
      highClip: num(o.highClip!, '--high-clip', { min: 1, max: 255 }),
    };
    const maxGroups = num(o.maxGroups!, '--max-groups', { int: true, min: 1 });
    const progress = createProgress('calibrate', Math.min(maxGroups, brackets.filter((b) => !b.error).length));
    const res = await calibrateResponse(brackets, {
      maxGroups,
      samples: num(o.samples!, '--samples', { int: true, min: 10 }),
      technique: o.technique as 'random',
      smoothness: num(o.smoothness!, '--smoothness', { min: 0 }),
      ripple: num(o.ripple!, '--ripple', { min: 0 }),
      weights,
      seed: o.seed === undefined ? randomInt(2 ** 31) : num(o.seed, '--seed', { int: true, min: 0 }),
      ...(o.camera ? { camera: o.camera } : {}),
      onBracket: (id, err) => {
        if (err) process.stderr.write(`skipped ${err.includes(id) ? err : `${id}: ${err}`}\n`);
        else progress.tick(id);
      },
    });
    progress.stop();
    await saveResponse(o.out!, res.response);
    const plot = o.plot ?? join(dirname(o.out!), 'response_curve.jpg');
    await writeResponsePlot(plot, res.response);
    const [lo, hi] = res.response.metadata.lnERange as [number, number];
    const repairs = (res.response.metadata.monotonicRepairs as number[]).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `response: ${o.out} (${res.response.channels} channel${res.response.channels > 1 ? 's' : ''}, ${res.used.length} bracket${res.used.length === 1 ? '' : 's'}, ${res.skipped.length} skipped)\n` +
        `plot: ${plot}\nlnE range: ${lo.toFixed(4)} .. ${hi.toFixed(4)}\nmonotonic: ${repairs === 0 ? 'yes' : `repaired ${repairs} codes`}\n`,
    );
  });

  addDiscovery(
    hdr
      .command('range <dir>')
      .description('global (min lnE, max lnE) over all exposure times in DIR, for consistent normalisation')
      .requiredOption('--response <file>', 'response file (.json or .npz)')
      .option('--json', 'print JSON'),
  ).action(async (dir: string, o: DiscoveryFlags & { response: string; json?: boolean }) => {
    const response = await loadResponse(o.response);
    const brackets = await discover(dir, o);
    const [lo, hi] = globalRange(response, brackets);
    const exposures = [...new Set(brackets.flatMap((b) => b.frames.map((f) => f.exposureS)).filter((t) => t > 0))].sort((a, b) => a - b);
    if (o.json) process.stdout.write(JSON.stringify({ min: lo, max: hi, exposures }) + '\n');
    else process.stdout.write(`${lo} ${hi}\n`);
  });

  addDiscovery(
    hdr
      .command('merge <dir>')
      .description('merge brackets into radiance maps / tone-mapped pictures: OUT/<relative dir>/<YYYYmmddHHMMSS>_hdr.<ext>')
      .requiredOption('--out <dir>', 'output folder')
      .option('--response <file>', 'response file; without it the merge is Mertens exposure fusion')
      .option('--algorithm <a>', 'debevec | mertens (default: debevec with --response, else mertens)')
      .option('--format <list>', 'hdr,tiff,fits,png16,jpg (default hdr,jpg; jpg for mertens)')
      .option('--tonemap <op>', 'JPEG tone map: reinhard | log', 'reinhard')
      .option('--gamma <g>', 'display gamma for the reinhard JPEG', '2.2')
      .option('--quality <q>', 'JPEG quality', '90')
      .option('--range <min,max>', 'lnE range for png16 / log tone map (default: global range over DIR)')
      .option('--levels <n>', 'Mertens pyramid depth (halo grows as 4·2^n rows)', '5')
      .option('--merge-weights <w>', 'Debevec merge weighting: hat (the calibration\'s triangle/sine, as asi_core) | noise (inverse variance from the response slope)', 'hat')
      .option('--workers <n>', 'brackets merged in parallel', '1')
      .option('--threads <n>', 'threads per merge for its SIMD kernels, Debevec and Mertens (default: the cores)')
      .option('--force', 'overwrite existing outputs (default: skip them, so a rerun resumes)')
      .option('--json', 'print the summary and the files written as JSON'),
  ).action(async (dir: string, o: DiscoveryFlags & Record<string, string | boolean | undefined>) => {
    const algorithm = (o.algorithm as string | undefined) ?? (o.response ? 'debevec' : 'mertens');
    if (algorithm !== 'debevec' && algorithm !== 'mertens') throw new Error(`--algorithm: expected debevec or mertens, got "${algorithm}"`);
    if (algorithm === 'debevec' && !o.response) throw new Error('--algorithm debevec needs --response (or use --algorithm mertens)');
    const threads = o.threads === undefined ? undefined : num(o.threads as string, '--threads', { int: true, min: 1, max: 64 });
    // The merge's pipe thread starts while the response loads and the brackets are found.
    if (algorithm === 'debevec') prestartMergeThreads();
    const tonemap = o.tonemap as string;
    if (tonemap !== 'reinhard' && tonemap !== 'log') throw new Error(`--tonemap: expected reinhard or log, got "${tonemap}"`);
    const response = o.response ? await loadResponse(o.response as string) : undefined;
    const formats = parseFormats((o.format as string | undefined) ?? (algorithm === 'debevec' ? 'hdr,jpg' : 'jpg'));
    let range: [number, number] | undefined;
    if (o.range) {
      const parts = (o.range as string).split(',').map((s) => num(s, '--range'));
      if (parts.length !== 2 || !(parts[1]! > parts[0]!)) throw new Error(`--range: expected min,max with max > min, got "${String(o.range)}"`);
      range = [parts[0]!, parts[1]!];
    }
    const weighting = o.mergeWeights as string;
    if (weighting !== 'hat' && weighting !== 'noise') throw new Error(`--merge-weights: expected hat or noise, got "${weighting}"`);
    const brackets = await discover(dir, o);
    const workers = num(o.workers as string, '--workers', { int: true, min: 1, max: Math.max(1, cpus().length * 2) });
    const progress = createProgress('merge', brackets.length);
    const controller = new AbortController();
    const onSig = () => controller.abort();
    process.once('SIGINT', onSig);
    const summary = await mergeAll(brackets, o.out as string, {
      algorithm,
      ...(response ? { response } : {}),
      formats,
      tonemap,
      gamma: num(o.gamma as string, '--gamma', { min: 0.1, max: 10 }),
      quality: num(o.quality as string, '--quality', { int: true, min: 1, max: 100 }),
      ...(range ? { range } : {}),
      levels: num(o.levels as string, '--levels', { int: true, min: 0, max: 12 }),
      weighting,
      workers,
      ...(threads ? { threads } : {}),
      force: Boolean(o.force),
      signal: controller.signal,
      onBracket: (id, status, detail) => {
        if (status === 'failed') process.stderr.write(`failed ${detail ?? id}\n`);
        progress.tick(`${id} ${status}`);
      },
    });
    process.off('SIGINT', onSig);
    progress.stop();
    // The files written, bracket by bracket, as asi_core's merge returns its HDR paths.
    const written = summary.results.flatMap((r) => Object.values(r.result.outputs).filter((p): p is string => typeof p === 'string'));
    if (o.json) {
      process.stdout.write(JSON.stringify({ brackets: brackets.length, done: summary.done, skipped: summary.skipped, failed: summary.failed, written }, null, 2) + '\n');
    } else {
      for (const p of written) process.stdout.write(`${p}\n`);
      process.stdout.write(`merged ${brackets.length} bracket${brackets.length === 1 ? '' : 's'}: ${summary.done} done, ${summary.failed.length} failed, ${summary.skipped} skipped\n`);
    }
    if (summary.failed.length > 0) process.exitCode = 1;
  });

  addDiscovery(
    hdr
      .command('stats [dir]')
      .description('bracket analysis (image_stats): SNR from channel covariance, clipped-frame rejection, best-SNR per bracket, per-pixel FPN fit; CameraSamples record')
      .option('-i, --input-settings <yaml>', 'settings YAML: the seed image_stats\' own (camera, image_dir, image_name, images: {nm: [numbers]}) or ours (long options in snake_case); command-line options win')
      .option('-o, --out <file>', 'stats.h5 (h5py layout) or stats.json (with the seed\'s settings file: always .h5, as it writes)')
      .option('--group-by <key>', 'time (timestamp brackets) | wavelength (550nm tokens in names or folders)', 'time')
      .option('--wl-units <u>', 'wavelength units: nm | um', 'nm')
      .option('--roi <x,y,w,h>', 'analyse only this rectangle (pixels)')
      .option('--max <fraction>', 'reject frames with any pixel above this fraction of full scale', '0.995')
      .option('--normalise <mode>', 'peak (image_stats default) | total | none', 'peak')
      .option('--units <text>', 'units of mean/std once denormalised', 'DN/s')
      .option('--camera <name>', 'camera', '')
      .option('--lens <name>', 'lens', '')
      .option('--label <text>', 'label', '')
      .option('--nd <value>', 'neutral density (optical density) in front of the lens', '0')
      .option('--scale <value>', 'factor taking DN/s to --units before normalising', '1')
      .option('--settings <json>', 'camera settings recorded with the samples (JSON object)', '{}')
      .option('--maps <dir>', 'write per-bracket offset/gain/residual maps (FITS and .npy) here')
      .option('--quiet', 'no progress and no summary line (errors still go to stderr)'),
  ).action(async (dirArg: string | undefined, o: DiscoveryFlags & Record<string, string | boolean | undefined>, cmd: Command) => {
    // The seed's own settings file (camera, …, image_dir, image_name, images) or ours (option names).
    let seed: SeedSettings | null = null;
    if (typeof o.inputSettings === 'string') {
      const doc = await readSettingsDoc(o.inputSettings);
      if (isSeedSettings(doc)) {
        seed = parseSeedSettings(doc, o.inputSettings);
        for (const [k, v] of Object.entries(seedOptionValues(seed))) if (cmd.getOptionValueSource(k) !== 'cli') o[k] = v;
      } else {
        const file = await readStatsSettings(o.inputSettings, doc);
        for (const [k, v] of Object.entries(file)) if (k === 'input' || cmd.getOptionValueSource(k) !== 'cli') o[k] = v;
      }
    }
    const dir = dirArg ?? (typeof o.input === 'string' ? o.input : undefined);
    if (!dir && !seed) throw new Error('stats: no input folder (give DIR or `input:` in the -i settings YAML)');
    if (typeof o.out !== 'string') throw new Error('stats: --out is required (or `out:` in the -i settings YAML)');
    // The seed writes Path(output).with_suffix('.h5').
    if (seed) o.out = o.out.slice(0, o.out.length - extname(o.out).length) + '.h5';
    const normalise = String(o.normalise);
    if (!['none', 'peak', 'total'].includes(normalise)) throw new Error(`--normalise: expected none, peak or total, got "${normalise}"`);
    const groupBy = String(o.groupBy);
    if (groupBy !== 'time' && groupBy !== 'wavelength') throw new Error(`--group-by: expected time or wavelength, got "${groupBy}"`);
    const wlUnits = String(o.wlUnits);
    if (wlUnits !== 'nm' && wlUnits !== 'um') throw new Error(`--wl-units: expected nm or um, got "${wlUnits}"`);
    let settings: Record<string, unknown> | string;
    try {
      settings = JSON.parse(String(o.settings)) as Record<string, unknown> | string;
    } catch {
      throw new Error(`--settings: not valid JSON: ${String(o.settings)}`);
    }
    const quiet = o.quiet === true;
    const brackets = seed
      ? await seedBrackets(seed)
      : groupBy === 'wavelength'
        ? await findWavelengthBrackets(dir!, { expoUnit: parseExpoUnit(o.expoUnit), wlUnits })
        : await discover(dir!, o);
    if (brackets.length === 0) throw new Error(seed ? `${String(o.inputSettings)}: images lists no wavelength` : `${dir}: no frames with a wavelength token (e.g. 550nm) in their name or folder`);
    const progress = quiet ? null : createProgress('stats', brackets.length);
    const mapsDir = typeof o.maps === 'string' ? o.maps : undefined;
    const written: string[] = [];
    const report = await bracketStats(brackets, {
      max: num(String(o.max), '--max', { min: 0, max: 1 }),
      normalise: normalise as 'none',
      camera: String(o.camera),
      lens: String(o.lens),
      label: String(o.label),
      nd: num(String(o.nd), '--nd'),
      scale: num(String(o.scale), '--scale'),
      units: String(o.units),
      wlUnits,
      settings,
      ...(typeof o.roi === 'string' ? { roi: parseRoi(o.roi) } : {}),
      ...(mapsDir ? { maps: true, onMaps: async (b, maps) => void written.push(...(await writeFpnMaps(mapsDir, b.id, maps))) } : {}),
      onBracket: (id, err) => {
        if (err) process.stderr.write(`failed ${err.includes(id) ? err : `${id}: ${err}`}\n`);
        progress?.tick(id);
      },
    });
    progress?.stop();
    await writeStatsReport(o.out, report);
    if (quiet) return;
    for (const p of written) process.stdout.write(`${p}\n`);
    const rejected = report.images.filter((i) => i.rejected).length;
    process.stdout.write(`stats: ${o.out} (${report.images.length} images, ${rejected} rejected above --max, ${report.camera_samples.exp_time.length} best-SNR samples)\n`);
  });
}
