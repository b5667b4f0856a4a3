// `skyrig night build DIR --out OUT`: the night products (keogram, star trails, timelapse) from a
// folder of frames already taken, in name order — to rebuild a night or make one from another
// camera's files. The same NightProducts the `allsky` job uses, with a progress bar.
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { silentLogger } from '../../../lib/log.js';
import { listImages } from '../../../pipeline/calib/master.js';
import { frameInputFromFile } from '../../../pipeline/night/frame-meta.js';
import { NightProducts } from '../../../pipeline/night/products.js';
import { DEFAULT_NIGHT_CONFIG, type LabelCorner, type NightFrameInput, type NightProductsConfig, type NightSummary } from '../../../pipeline/night/types.js';
import { createProgress } from '../progress.js';
import type { RegisterCommands } from '../types.js';

export interface NightBuildOptions {
  out: string;
  keogram?: boolean;
  startrails?: boolean;
  timelapse?: boolean;
  angle?: string;
  centre?: string;
  band?: string;
  maxSkyLevel?: string;
  minStars?: string;
  rewriteEvery?: string;
  fps?: string;
  width?: string;
  crf?: string;
  station?: string;
  labels: boolean;
  corner: LabelCorner;
  labelScale?: string;
  resume?: boolean;
  ffmpeg?: string;
}

function num(option: string, v: string | undefined, fallback: number, ok: (n: number) => boolean, want: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new Error(`${option}: expected ${want}, got "${v}"`);
  return n;
}

export function nightConfigFrom(o: NightBuildOptions): NightProductsConfig {
  const d = DEFAULT_NIGHT_CONFIG;
  // no product named: all three
  const all = !o.keogram && !o.startrails && !o.timelapse;
  let centre: [number, number] | null = null;
  if (o.centre !== undefined) {
    const m = /^\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*$/.exec(o.centre);
    if (!m || !Number.isFinite(Number(m[1])) || !Number.isFinite(Number(m[2]))) throw new Error(`--centre: expected X,Y in pixels, got "${o.centre}"`);
    centre = [Number(m[1]), Number(m[2])];
  }
  return {
    station: o.station ?? d.station,
    keogram: {
      enabled: all || !!o.keogram,
      angle_deg: num('--angle', o.angle, d.keogram.angle_deg, (n) => n >= -360 && n <= 360, 'degrees -360..360'),
      centre,
      band_px: num('--band', o.band, d.keogram.band_px ?? 3, (n) => Number.isInteger(n) && n >= 1 && n <= 64, 'an integer 1..64'),
    },
    startrails: {
      enabled: all || !!o.startrails,
      max_sky_level: num('--max-sky-level', o.maxSkyLevel, d.startrails.max_sky_level, (n) => n > 0 && n <= 1, 'a fraction of full scale 0 < x ≤ 1'),
      min_stars: o.minStars === undefined ? null : num('--min-stars', o.minStars, 0, (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0'),
      rewrite_every: num('--rewrite-every', o.rewriteEvery, d.startrails.rewrite_every ?? 1, (n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'an integer 1..1000'),
    },
    timelapse: {
      enabled: all || !!o.timelapse,
      fps: num('--fps', o.fps, d.timelapse.fps, (n) => n > 0 && n <= 120, 'frames per second 0 < n ≤ 120'),
      width: num('--width', o.width, d.timelapse.width, (n) => Number.isInteger(n) && n >= 16 && n <= 7680, 'an integer 16..7680'),
      crf: num('--crf', o.crf, d.timelapse.crf, (n) => Number.isInteger(n) && n >= 0 && n <= 51, 'an integer 0..51'),
    },
    labels: {
      enabled: o.labels,
      corner: o.corner,
      scale: num('--label-scale', o.labelScale, d.labels.scale, (n) => Number.isInteger(n) && n >= 1 && n <= 8, 'an integer 1..8'),
    },
  };
}

export function describeSummary(s: NightSummary): string {
  const parts = [`night: ${s.frames} frame(s)${s.skipped ? `, ${s.skipped} skipped` : ''}`];
  if (s.keogram) parts.push(`keogram ${s.keogram}`);
  if (s.startrails) parts.push(`star trails ${s.startrails} (${s.startrailsFrames} frame(s), ${s.excluded} excluded)`);
  else if (s.excluded) parts.push(`star trails: none (${s.excluded} frame(s) too bright)`);
  if (s.timelapse) parts.push(`timelapse ${s.timelapse} (${s.timelapseFrames} frame(s), ${s.timelapseSeconds?.toFixed(1)} s)`);
  return parts.join(' · ');
}

/** The whole build (tests call this); throws one line when a product failed. */
export async function runNightBuild(dir: string, o: NightBuildOptions, stderr: NodeJS.WriteStream = process.stderr): Promise<NightSummary> {
  const config = nightConfigFrom(o);
  const files = await listImages(dir);
  if (!files.length) throw new Error(`${dir}: no image files`);
  if (!o.resume) await NightProducts.reset(o.out);
  const log = silentLogger; // skipped frames and failed products are reported below, once each
  const np = await NightProducts.open(o.out, config, { log, ffmpegPath: o.ffmpeg });
  const frames: NightFrameInput[] = [];
  const progress = createProgress('night', files.length, stderr);
  let prev = -Infinity;
  for (const path of files) {
    const f = await frameInputFromFile(path);
    // name order rules: equal or earlier times (copied files share an mtime) are nudged 1 ms on
    if (!(f.timestamp.getTime() > prev)) f.timestamp = new Date(prev + 1);
    const r = await np.add(f);
    if (!r.skipped) prev = f.timestamp.getTime(); // a file that failed does not move the clock
    if (r.alreadyAdded && o.resume) frames.push(f); // in the night from the earlier run: still a timelapse frame
    else if (r.skipped) {
      if (!stderr.isTTY) stderr.write(`${basename(path)}: skipped: ${r.reason}\n`);
    } else frames.push({ ...f, skyLevel: r.skyLevel });
    progress.tick(basename(path));
  }
  progress.stop();
  let tl: ReturnType<typeof createProgress> | null = null;
  const summary = await np.finish(frames, {
    onProgress: (done, total) => {
      tl ??= createProgress('timelapse', total, stderr);
      tl.tick();
      if (done === total) tl.stop();
    },
  });
  return summary;
}

export const registerNightCommands: RegisterCommands = (program: Command) => {
  const night = program.command('night').description('night products of an all-sky station: keogram, star trails, timelapse');
  night
    .command('build <dir>')
    .description('build the night products from the frames in DIR (name order); no product named = all three')
    .requiredOption('--out <dir>', 'output folder (products and their resumable state)')
    .option('--keogram', 'build the keogram')
    .option('--startrails', 'build the star trails')
    .option('--timelapse', 'build the timelapse (needs ffmpeg)')
    .option('--angle <deg>', 'keogram line: clockwise from the image vertical (camera mounting)', '0')
    .option('--centre <x,y>', 'keogram line through this pixel (default the image centre)')
    .option('--band <px>', 'keogram: pixels averaged across the line', '3')
    .option('--max-sky-level <x>', 'star trails: frames whose sky median is above this fraction of full scale are left out', '0.25')
    .option('--min-stars <n>', 'star trails: frames with fewer stars are left out (when the count is known)')
    .option('--rewrite-every <n>', 'star trails: rewrite the accumulator plane every N included frames, journal in between (1 = every frame)', '50')
    .option('--fps <n>', 'timelapse frame rate', '25')
    .option('--width <px>', 'timelapse width (height follows the aspect)', '1280')
    .option('--crf <n>', 'timelapse H.264 quality (0 best … 51 worst)', '23')
    .option('--station <name>', 'station name on the labels', 'skyrig')
    .option('--no-labels', 'no text on the timelapse frames')
    .addOption(new Option('--corner <c>', 'label corner').choices(['top-left', 'top-right', 'bottom-left', 'bottom-right']).default('top-left'))
    .option('--label-scale <n>', 'label size (font pixels per glyph pixel)', '2')
    .option('--resume', 'continue the state saved in --out instead of starting afresh')
    .option('--ffmpeg <path>', 'ffmpeg binary', 'ffmpeg')
    .action(async (dir: string, o: NightBuildOptions) => {
      const s = await runNightBuild(dir, o);
      process.stdout.write(`${describeSummary(s)}\n`);
      if (s.errors.length) throw new Error(s.errors.join('; '));
    });
};
