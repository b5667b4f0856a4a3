// `skyrig stack run DIR` / `skyrig stack watch DIR`: live stacking of a folder (the seed's
// -mode 1 and -mode LOOP), with calibration masters, alignment, rejection and a saved state.
import { setTimeout as sleep } from 'node:timers/promises';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import type { RegisterCommands } from '../types.js';
import { createProgress } from '../progress.js';
import { buildCalibration, listImages, type CombineMethod } from '../../../pipeline/calib/master.js';
import { LiveStacker, parseMethod, SEED_METHODS, SeedStacker, seedMasterDark, type AlignMode, type FrameResult, type LiveStackOptions, type SeedFrameResult, type SeedMethod } from '../../../pipeline/stack/index.js';
import { readFitsHeader, bytesPerSample } from '../../../pipeline/image/fits.js';
import { isFitsPath } from '../../../pipeline/image/read.js';

interface StackCliOptions {
  out: string;
  outputName: string;
  method: string;
  kappa: string;
  align: AlignMode;
  model: 'similarity' | 'affine';
  reference: string;
  restartOnDrift?: string;
  number?: string;
  reload?: boolean;
  darks?: string;
  flats?: string;
  bias?: string;
  darkMethod: CombineMethod;
  hotSigma: string;
  cosmetic?: string;
  exposure?: string;
  preview: 'jpg' | 'png';
  minStars: string;
  poll: string;
  stateEvery?: string;
  saveEveryFrames: string;
  saveEveryS: string;
  stateDir?: string;
  mastersEveryFrame?: boolean;
  warmup: string;
  relearn: string;
  darkScale?: boolean;
  mixedSettings?: boolean;
  seedCompat?: boolean;
  threads?: string;
}

function positive(name: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`${name}: expected a positive ${integer ? 'integer' : 'number'}, got "${v}"`);
  return n;
}

function nonNegative(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a number ≥ 0, got "${v}"`);
  return n;
}

function threadCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--threads: expected a whole number 1..64, got "${v}"`);
  return n;
}

/** `--number N`: the last N files; 0 (as the seed's -number 0) or absent = all. */
function parseNumber(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--number: expected an integer ≥ 0 (0 = all), got "${v}"`);
  return n || undefined;
}

export function parseReference(s: string): LiveStackOptions['reference'] {
  if (s === 'first') return 'first';
  const m = /^best:(\d+)$/.exec(s);
  if (!m || Number(m[1]) < 1) throw new Error(`--reference: expected first or best:K, got "${s}"`);
  return { best: Number(m[1]) };
}

async function stackerFrom(o: StackCliOptions, onResult?: (r: FrameResult) => void): Promise<LiveStacker> {
  const methods = parseMethod(o.method);
  const opts: LiveStackOptions = {
    outDir: o.out,
    outputName: o.outputName,
    methods,
    kappa: positive('--kappa', o.kappa),
    align: o.align,
    model: o.model,
    reference: parseReference(o.reference),
    restartOnDrift: positive('--restart-on-drift', o.restartOnDrift),
    previewFormat: o.preview,
    defaultExposureS: o.exposure === undefined ? undefined : positive('--exposure', o.exposure),
    rejection: { minStars: positive('--min-stars', o.minStars, true), mixedSettings: o.mixedSettings },
    saveEveryFrames: positive(o.stateEvery !== undefined ? '--state-every' : '--save-every-frames', o.stateEvery ?? o.saveEveryFrames, true),
    saveEveryS: positive('--save-every-s', o.saveEveryS),
    stateDir: o.stateDir,
    mastersEveryFrame: o.mastersEveryFrame,
    warmup: positive('--warmup', o.warmup, true),
    relearnAfter: nonNegative('--relearn', o.relearn),
    threads: o.threads === undefined ? undefined : threadCount(o.threads),
    previewInBackground: true,
    onResult,
  };
  if (o.darkScale && !(o.darks && o.bias)) throw new Error('--dark-scale: needs --darks and --bias');
  if (o.darks || o.flats || o.bias) {
    opts.calibration = await buildCalibration({
      darks: o.darks, flats: o.flats, bias: o.bias, method: o.darkMethod,
      hotSigma: nonNegative('--hot-sigma', o.hotSigma), cosmeticSigma: nonNegative('--cosmetic', o.cosmetic),
      darkScale: o.darkScale, threads: opts.threads,
    });
  } else {
    // No masters: isolated hot pixels would otherwise stack into fixed-pattern dots.
    const cosmeticSigma = nonNegative('--cosmetic', o.cosmetic) ?? 10;
    if (cosmeticSigma > 0) opts.calibration = { cosmeticSigma };
  }
  return o.reload ? LiveStacker.reload(opts) : new LiveStacker(opts);
}

/** " (2 clouds, 1 signal)": refusals counted by their code. */
function byReason(refused: FrameResult[]): string {
  if (!refused.length) return '';
  const n = new Map<string, number>();
  for (const r of refused) n.set(r.code ?? 'other', (n.get(r.code ?? 'other') ?? 0) + 1);
  return ` (${[...n].sort((a, b) => b[1] - a[1]).map(([c, k]) => `${k} ${c}`).join(', ')})`;
}

function describe(r: FrameResult): string {
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const name = basename(r.path);
  if (r.status === 'pending') return `${name}: ${r.reason}`;
  if (!r.accepted) return `${name}: refused: ${r.reason}`;
  return `${name}: #${r.frameCount} stars ${r.stars} hfr ${f(r.hfr)} shift ${f(r.shift, 1)} rot ${f(r.rotationDeg, 3)}° residual ${f(r.residual, 3)}${r.reason ? ` (${r.reason})` : ''}`;
}

function addStackOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--out <dir>', 'output folder (stack FITS, preview, metrics, state)')
    .option('--output-name <name>', 'base name of the outputs', 'stack')
    .addOption(new Option('--method <m>', 'ADD, ADD2, ADDMAX, ADDMAX2, ADDMEAN, ADDCOMP, ALL (the six), mean, sigma, max').default('sigma'))
    .option('--kappa <k>', 'kappa for sigma clipping', '3')
    .addOption(new Option('--align <mode>', 'alignment').choices(['star', 'ecc', 'phase', 'none']).default('star'))
    .addOption(new Option('--model <m>', 'star alignment model').choices(['similarity', 'affine']).default('similarity'))
    .option('--reference <ref>', 'reference frame: first or best:K (best of the first K)', 'first')
    .option('--restart-on-drift <px>', 'start a new stack when the field moved further than this')
    .option('--number <n>', 'only the last N frames (0 = all)')
    .option('--reload', 'continue the stack saved in the output folder')
    .option('--darks <dir>', 'dark frames')
    .option('--flats <dir>', 'flat frames')
    .option('--bias <dir>', 'bias frames')
    .addOption(new Option('--dark-method <m>', 'combining calibration frames').choices(['median', 'sigma', 'mean', 'seed']).default('median'))
    .option('--dark-scale', 'scale the darks\' thermal signal (dark − bias) to each light\'s exposure (needs --bias)')
    .option('--hot-sigma <k>', 'hot pixels in the master dark above median + k·σ (0 = off)', '8')
    .option('--cosmetic <k>', 'fix isolated defects k·σ above their neighbours (default 10 without darks, off with darks)')
    .option('--exposure <s>', 'exposure for frames whose header has none')
    .addOption(new Option('--preview <fmt>', 'preview format').choices(['jpg', 'png']).default('jpg'))
    .option('--min-stars <n>', 'fewer stars refuse a frame (star alignment)', '8')
    .option('--save-every-frames <n>', 'checkpoint (master FITS + --reload state) every N accepted frames (SD-card wear, docs/sd-wear.md)', '10')
    .option('--save-every-s <s>', '… or every S seconds, whichever comes first', '600')
    .option('--state-every <n>', 'old name of --save-every-frames')
    .option('--masters-every-frame', 'write the master FITS after every accepted frame, not only at checkpoints')
    .option('--state-dir <dir>', 'where the --reload state lives (default OUT/.livestack; a tmpfs dir saves the card, a power cut loses it)')
    .option('--mixed-settings', 'accept frames at another ISO/gain than the stack (auto-gain cameras)')
    .option('--warmup <n>', 'frames held and judged against each other before the stack starts (1 = off)', '3')
    .option('--seed-compat', 'the seed LiveStack program\'s algorithm: 8-bit, ECC onto the previous frame, OUT/<METHOD>.png (default with ADD…ADDCOMP/ALL)')
    .option('--no-seed-compat', 'seed methods through our pipeline (warm-up, rejection, star alignment, float FITS)')
    .option('--threads <n>', 'threads for the per-pixel kernels (WASM SIMD: decode, dark, warp + sigma; default: the cores)')
    .option('--relearn <n>', 'this many agreeing frames refused in a row for sky/signal/star size/ISO are the new normal: new stack (0 = never)', '5');
}

/** A file is complete when its size is unchanged across two polls and, for FITS, the data unit is all there. */
async function isComplete(path: string, seen: Map<string, string>): Promise<boolean> {
  const st = await stat(path).catch(() => null);
  if (!st || !st.isFile()) return false;
  const sig = `${st.size}:${st.mtimeMs}`;
  const prev = seen.get(path);
  seen.set(path, sig);
  if (prev !== sig) return false;
  if (isFitsPath(path)) {
    try {
      const h = await readFitsHeader(path);
      return st.size >= h.dataOffset + h.width * h.height * h.planes * bytesPerSample(h.bitpix);
    } catch {
      return false; // header not complete yet
    }
  }
  return st.size > 0;
}

/**
 * Seed-compatible mode: asked for with --seed-compat, implied by choosing ADD…ADDCOMP or ALL
 * (unless --no-seed-compat). --seed-compat without --method means the seed's default, all six.
 */
async function seedMode(o: StackCliOptions, cmd: Command): Promise<boolean> {
  const explicit = cmd.getOptionValueSource('method') !== 'default';
  if (o.seedCompat === false) return false;
  if (o.seedCompat && !explicit) { o.method = 'ALL'; return true; }
  const methods = parseMethod(o.method);
  const seed = methods.every((m) => (SEED_METHODS as readonly string[]).includes(m));
  if (o.seedCompat && !seed) throw new Error(`--seed-compat: --method must be one of ${SEED_METHODS.join(', ')} or ALL, got "${o.method}"`);
  return seed;
}

/** The seed exits with status 4 when one of its folders is missing. */
async function missingFolder(dir: string, what: string): Promise<boolean> {
  const st = await stat(dir).catch(() => null);
  if (st?.isDirectory()) return false;
  process.stderr.write(`skyrig: ${dir}: ${what} folder not found\n`);
  process.exitCode = 4;
  return true;
}

function describeSeed(r: SeedFrameResult): string {
  const name = basename(r.path);
  if (!r.accepted) return `${name}: skipped: ${r.reason}`;
  return `${name}: #${r.index}${Number.isFinite(r.rho) ? ` ecc ${r.rho.toFixed(4)}` : ' (first frame)'}`;
}

/** `stack run|watch` in seed mode (the seed's -mode 1 and, as it means it, -mode LOOP). */
async function seedRun(dir: string, o: StackCliOptions, cmd: Command, n: number | undefined, watch: boolean, poll = 1000): Promise<void> {
  for (const [flag, v] of [['--flats', o.flats], ['--bias', o.bias], ['--reload', o.reload]] as const) {
    if (v) throw new Error(`${flag}: not part of the seed mode (add --no-seed-compat to stack seed methods with our pipeline)`);
  }
  if (await missingFolder(dir, 'input')) return;
  if (await missingFolder(o.out, 'output')) return;
  if (o.darks && (await missingFolder(o.darks, 'dark'))) return;
  const methods = parseMethod(o.method) as SeedMethod[];
  const outputName = cmd.getOptionValueSource('outputName') === 'default' ? undefined : o.outputName;
  const dark = o.darks ? await seedMasterDark(await listImages(o.darks), o.darks) : undefined;
  const st = new SeedStacker({ outDir: o.out, outputName, methods, dark });
  const report = (r: SeedFrameResult) => { if (!r.accepted) process.stderr.write(`${describeSeed(r)}\n`); };
  if (!watch) {
    let files = await listImages(dir);
    if (n) files = files.slice(-n);
    if (!files.length) throw new Error(`${dir}: no image files to stack`);
    const progress = createProgress('stack', files.length);
    for (const f of files) {
      const r = await st.push(f);
      if (!process.stderr.isTTY) report(r);
      progress.tick(describeSeed(r));
    }
    progress.stop();
  } else {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const seen = new Map<string, string>();
    const done = new Set<string>();
    if (n) for (const f of (await listImages(dir)).slice(0, -n)) done.add(f);
    process.stderr.write(`watching ${dir} (Ctrl-C to stop)\n`);
    try {
      while (!stop.signal.aborted) {
        for (const f of await listImages(dir)) {
          if (stop.signal.aborted) break;
          if (done.has(f)) continue;
          if (!(await isComplete(f, seen))) break;
          done.add(f);
          const r = await st.push(f);
          process.stderr.write(`${describeSeed(r)}\n`);
          if (r.accepted) await st.write();
        }
        await pollPause(poll, stop.signal);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const written = await st.write();
  const skipped = st.results.filter((r) => !r.accepted).length;
  process.stdout.write(`stacked ${st.count} frame(s) (seed mode), ${skipped} skipped → ${written.join(', ') || 'nothing written'}\n`);
}

export const registerStackCommands: RegisterCommands = (program) => {
  const stack = program.command('stack').description('live stacking: calibrate, align, stack with rejection');

  addStackOptions(stack.command('run <dir>').description('stack the frames in DIR (name order) and exit')).action(async (dir: string, o: StackCliOptions, cmd: Command) => {
    const n = parseNumber(o.number);
    if (await seedMode(o, cmd)) return seedRun(dir, o, cmd, n, false);
    let files = await listImages(dir);
    if (n) files = files.slice(-n);
    // Frames held for the warm-up get their verdict later, with the frame that releases them.
    const st = await stackerFrom(o, (r) => {
      if (!process.stderr.isTTY && !r.accepted) process.stderr.write(`${describe(r)}\n`);
    });
    files = files.filter((f) => !st.hasProcessed(f));
    if (!files.length) throw new Error(`${dir}: no new image files to stack`);
    const progress = createProgress('stack', files.length);
    for (const f of files) {
      const r = await st.push(f);
      progress.tick(describe(r));
    }
    await st.finish();
    await st.close();
    progress.stop();
    const refused = st.results.filter((r) => !r.accepted);
    process.stdout.write(`stacked ${st.count} frame(s), ${refused.length} refused${byReason(refused)} → ${st.outputPath(st.opts.methods[0]!, 'fits')}\n`);
    if (st.count === 0) process.exitCode = 1; // nothing stacked (every input refused): a failed run for scripts
  });

  addStackOptions(stack.command('watch <dir>').description('stack frames as they arrive in DIR until SIGINT/SIGTERM'))
    .option('--poll <ms>', 'poll interval', '1000')
    .action(async (dir: string, o: StackCliOptions, cmd: Command) => {
      const poll = positive('--poll', o.poll)!;
      if (await seedMode(o, cmd)) return seedRun(dir, o, cmd, parseNumber(o.number), true, poll);
      const st = await stackerFrom(o, (r) => process.stderr.write(`${describe(r)}\n`));
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const seen = new Map<string, string>();
      const n = parseNumber(o.number);
      // --number N in watch mode: of the files already there, only the last N.
      const skip = new Set<string>();
      if (n) for (const f of (await listImages(dir)).slice(0, -n)) skip.add(f);
      process.stderr.write(`watching ${dir} (Ctrl-C to stop)\n`);
      try {
        while (!stop.signal.aborted) {
          for (const f of await listImages(dir)) {
            if (stop.signal.aborted) break;
            if (skip.has(f) || st.hasProcessed(f)) continue;
            // Name order: stop at the first incomplete file so a later one is never taken before it.
            if (!(await isComplete(f, seen))) break;
            const r = await st.push(f);
            if (r.status === 'pending') process.stderr.write(`${describe(r)}\n`);
          }
          await pollPause(poll, stop.signal);
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      await st.finish();
      await st.close();
      process.stdout.write(`stopped: stacked ${st.count} frame(s) → ${st.outputPath(st.opts.methods[0]!, 'fits')}\n`);
    });
};

/** The hot folder's wait between scans; a stop (SIGINT/SIGTERM) ends it at once. */
async function pollPause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch((err: Error) => {
    if (err.name !== 'AbortError') throw err;
  });
}
