// `skyrig capture`: frames from a camera into a directory. runCapture takes its own DriverContext so
// tests can call it directly; the commander action only parses options and prints.
import { mkdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { DriverContext } from '../../../drivers/context.js';
import { createCamera } from '../../../drivers/registry.js';
import type { CapturedFrame, FrameType } from '../../../drivers/types.js';
import { createProgress } from '../progress.js';
import { CONFIG_HELP, contextFor, fraction, optionalConfig, parseNumberOption, resolveDevice, stdio, withInterrupt, type CommandIO } from './device-common.js';

export interface CaptureOptions {
  camera: string;
  exposure: number;
  gain?: number;
  iso?: number;
  count: number;
  frameType: FrameType;
  out: string;
  prefix?: string;
}

const FRAME_TYPES: FrameType[] = ['light', 'dark', 'flat', 'bias'];

export function parseCaptureOptions(raw: Record<string, string | undefined>): CaptureOptions {
  if (!raw.camera) throw new Error('--camera: a device URL is required (sim://, indi://host/Device, gphoto2://)');
  if (!raw.out) throw new Error('--out: an output directory is required');
  const frameType = (raw.frameType ?? 'light') as FrameType;
  if (!FRAME_TYPES.includes(frameType)) throw new Error(`--frame-type: expected one of ${FRAME_TYPES.join(', ')}, got "${raw.frameType}"`);
  return {
    camera: raw.camera,
    exposure: parseNumberOption('--exposure', fraction(raw.exposure ?? ''), (v) => v > 0, 'seconds > 0 (like 30, 0.004 or 1/250)', raw.exposure)!,
    gain: parseNumberOption('--gain', raw.gain, (v) => v >= 0, 'a gain ≥ 0'),
    iso: parseNumberOption('--iso', raw.iso, (v) => v > 0, 'an ISO > 0'),
    count: parseNumberOption('--count', raw.count ?? '1', (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1')!,
    frameType,
    out: raw.out,
    prefix: raw.prefix,
  };
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export async function runCapture(opts: CaptureOptions, ctx: DriverContext, io: CommandIO = stdio(), signal?: AbortSignal): Promise<CapturedFrame[]> {
  const outDir = resolve(opts.out);
  await mkdir(outDir, { recursive: true }).catch((err: Error) => {
    throw new Error(`--out ${outDir}: ${err.message}`);
  });
  const camera = await createCamera(opts.camera, ctx);
  const frames: CapturedFrame[] = [];
  const progress = createProgress(`capture ${opts.frameType} ${opts.exposure}s`, opts.count, io.err);
  const runStamp = stamp(new Date());
  try {
    await camera.connect();
    for (let i = 1; i <= opts.count; i++) {
      if (signal?.aborted) throw new Error(`capture interrupted after ${frames.length} of ${opts.count} frames`);
      const fileStem = `${opts.prefix ?? opts.frameType}_${runStamp}_${String(i).padStart(4, '0')}`;
      const frame = await camera.capture({
        exposureS: opts.exposure,
        gain: opts.gain,
        iso: opts.iso,
        frameType: opts.frameType,
        outDir,
        fileStem,
        signal,
      });
      frames.push(frame);
      io.out(frame.path);
      progress.tick(basename(frame.path));
    }
  } finally {
    progress.stop();
    await camera.disconnect().catch(() => {});
  }
  return frames;
}

export function registerCaptureCommand(program: Command): void {
  program
    .command('capture')
    .description('Capture frames from a camera into a directory; prints each file written')
    .requiredOption('--camera <url|name>', 'camera URL (sim://, indi://host:7624/Device, gphoto2://, gphoto2://usb:001,004) or a camera name from the config')
    .requiredOption('--exposure <seconds>', 'exposure time in seconds (DSLRs: nearest shutter speed offered, bulb when longer)')
    .option('--gain <gain>', 'sensor gain (INDI/sim cameras)')
    .option('--iso <iso>', 'ISO (DSLRs: nearest offered)')
    .option('--count <n>', 'number of frames', '1')
    .addOption(new Option('--frame-type <type>', 'frame type').choices(FRAME_TYPES).default('light'))
    .requiredOption('--out <dir>', 'directory the frames are written into')
    .option('--prefix <name>', 'file name prefix (default: the frame type)')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state-dir <dir>', 'driver state directory (default: the config\'s, else ~/.local/state/skyrig)')
    .option('--verbose', 'driver debug logging')
    .action(async (raw: Record<string, string | undefined>) => {
      const loaded = await optionalConfig(raw.config);
      const opts = parseCaptureOptions({ ...raw, camera: raw.camera && resolveDevice(raw.camera, 'camera', loaded).url });
      const ctx = contextFor({ stateDir: raw.stateDir, verbose: Boolean(raw.verbose) }, loaded);
      await withInterrupt(
        () => process.stderr.write('skyrig: stopping after the current frame (Ctrl-C again to quit now)\n'),
        (signal) => runCapture(opts, ctx, stdio(), signal),
      );
    });
}
