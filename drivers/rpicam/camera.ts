// Raspberry Pi camera through rpicam-still (libcamera-still on older Bullseye images): one
// process per frame, so the camera is free between frames and a hung capture is killed, not
// inherited. The DNG is the frame; rpicam-still's JPEG is kept beside it as a preview.
import { constants } from 'node:fs';
import { access, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { DeviceError, type Camera, type CameraCapabilities, type CaptureRequest, type CapturedFrame } from '../types.js';
import { readDngInfo, type DngInfo } from './dng.js';
import {
  KNOWN_SENSORS,
  exposureLimits,
  gainLimits,
  parseListCameras,
  saysNoCameras,
  sensorFamily,
  type ExposureLimits,
  type ListedCamera,
  type SensorMode,
} from './listing.js';
import { buildStillArgs, parseHelpOptions, type RpicamOptions } from './options.js';
import { classifyFailure, parseStillMetadata, type StillMetadata } from './output.js';
import { runProcess, type RunResult } from './run.js';

export const BINARIES = ['rpicam-still', 'libcamera-still'] as const;

export interface RpicamDeps {
  log: Logger;
  /** PATH to search for rpicam-still / libcamera-still (default process.env.PATH). */
  searchPath?: string;
  /** Extra environment for the child (tests pass the fake's switches here). */
  env?: NodeJS.ProcessEnv;
  /** Between SIGTERM and SIGKILL when stopping a capture. */
  killGraceMs?: number;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** First of rpicam-still, libcamera-still found on the search path. */
export async function findStillBinary(searchPath: string): Promise<string | null> {
  const dirs = searchPath.split(delimiter).filter(Boolean);
  for (const name of BINARIES) {
    for (const dir of dirs) {
      const p = join(dir, name);
      if (await isExecutable(p)) return p;
    }
  }
  return null;
}

export class RpicamCamera implements Camera {
  readonly url: string;
  private readonly device: string;
  private bin: string | null = null;
  private supported: Set<string> | null = null;
  private listed: ListedCamera | null = null;
  private connecting: Promise<void> | null = null;
  private current: AbortController | null = null;
  private lastTemperature: number | null = null;

  constructor(
    url: string,
    private readonly options: RpicamOptions,
    private readonly deps: RpicamDeps,
  ) {
    this.url = url;
    this.device = `rpicam://${options.cameraIndex}`;
  }

  private env(): NodeJS.ProcessEnv {
    // libcamera's INFO chatter is noise here; WARN keeps "Device or resource busy" and friends.
    return { ...process.env, LANG: 'C', LC_ALL: 'C', LIBCAMERA_LOG_LEVELS: process.env.LIBCAMERA_LOG_LEVELS ?? '*:WARN', ...this.deps.env };
  }

  private binName(): string {
    return this.bin ? this.bin.split('/').pop()! : 'rpicam-still';
  }

  async connect(): Promise<void> {
    if (this.listed) return;
    this.connecting ??= this.doConnect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    this.bin = await this.resolveBinary();
    // --help never opens the camera, so it can run beside the listing.
    const [supported, res] = await Promise.all([this.probeHelp(this.bin), this.run(['--list-cameras', '-v'], 30_000)]);
    this.supported = supported;
    if (res.stopped === 'timeout') throw new DeviceError('timeout', this.device, `${this.binName()} --list-cameras did not answer within 30 s; the camera stack may be hung (reboot)`);
    if (saysNoCameras(res.stdout) || (res.code === 0 && !parseListCameras(res.stdout).length)) {
      throw new DeviceError(
        'not-found',
        this.device,
        `${this.binName()} --list-cameras: no cameras available; check the ribbon cable, camera_auto_detect=1 (or the sensor dtoverlay) in /boot/firmware/config.txt, and that this user is in the video group`,
      );
    }
    if (res.code !== 0) throw classifyFailure(this.device, this.binName(), res.code, res.stderr, res.stdout);
    const cameras = parseListCameras(res.stdout);
    const cam = cameras.find((c) => c.index === this.options.cameraIndex);
    if (!cam) {
      const seen = cameras.map((c) => `${c.index}: ${c.model}`).join(', ');
      throw new DeviceError('not-found', this.device, `no camera with index ${this.options.cameraIndex}; ${this.binName()} lists ${seen}`);
    }
    this.listed = cam;
    const lim = exposureLimits(cam);
    this.deps.log.info('rpicam: connected', {
      bin: this.bin,
      sensor: cam.model,
      size: `${cam.width}x${cam.height}`,
      modes: cam.modes.length,
      maxExposureS: lim?.maxS,
      limitsFrom: lim?.source,
    });
  }

  private async resolveBinary(): Promise<string> {
    if (this.options.bin) {
      const p = isAbsolute(this.options.bin) ? this.options.bin : resolve(this.options.bin);
      if (!(await isExecutable(p))) throw new DeviceError('not-found', this.device, `bin=${this.options.bin} is not an executable file`);
      return p;
    }
    const found = await findStillBinary(this.deps.searchPath ?? process.env.PATH ?? '');
    if (!found) {
      throw new DeviceError(
        'not-found',
        this.device,
        'neither rpicam-still nor libcamera-still is installed: apt install rpicam-apps (Bookworm; libcamera-apps on Bullseye) or pass bin=/path/to/rpicam-still',
      );
    }
    return found;
  }

  /** Options this build understands; old Bullseye builds lack --metadata, --denoise… */
  private async probeHelp(bin: string): Promise<Set<string> | null> {
    try {
      const res = await runProcess(bin, ['--help'], { env: this.env(), timeoutMs: 15_000 });
      const opts = parseHelpOptions(`${res.stdout}\n${res.stderr}`);
      return opts.has('shutter') ? opts : null;
    } catch {
      return null;
    }
  }

  private run(args: string[], timeoutMs: number, extra: { cwd?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
    return runProcess(this.bin!, args, { env: this.env(), timeoutMs, killGraceMs: this.deps.killGraceMs, ...extra }).catch((err: Error) => {
      throw new DeviceError('not-found', this.device, `cannot run ${this.bin}: ${err.message}`, { cause: err });
    });
  }

  async disconnect(): Promise<void> {
    await this.abort();
    this.listed = null;
  }

  private sensorName(cam: ListedCamera): string {
    const known = KNOWN_SENSORS[sensorFamily(cam.model)];
    return known ? `${known.name} (${cam.model})` : cam.model;
  }

  async capabilities(): Promise<CameraCapabilities> {
    await this.connect();
    const cam = this.listed!;
    const lim = exposureLimits(cam);
    const gain = gainLimits(cam);
    return {
      model: this.sensorName(cam),
      width: cam.width,
      height: cam.height,
      bitDepth: this.options.raw ? 16 : 8,
      color: cam.bayer !== 'MONO',
      bayer: cam.bayer && cam.bayer !== 'MONO' ? cam.bayer : undefined,
      minExposureS: lim?.minS ?? 1e-4,
      maxExposureS: lim?.maxS ?? 1,
      gain: gain ?? undefined,
      // No mechanical shutter: a dark is a light frame with the lens capped; kept as metadata.
      frameTypes: ['light', 'dark', 'flat', 'bias'],
      canAbort: true,
      hasCooler: false,
    };
  }

  /** Exposure limits with their source, for messages. */
  private limits(): ExposureLimits | null {
    return this.listed ? exposureLimits(this.listed) : null;
  }

  private validate(request: CaptureRequest): { gain: number; mode?: string } {
    const cam = this.listed!;
    const e = request.exposureS;
    if (!Number.isFinite(e) || e <= 0) throw new DeviceError('invalid', this.device, `exposure must be a positive number of seconds, got ${e}`);
    const lim = this.limits();
    if (lim && e > lim.maxS * (1 + 1e-9)) {
      throw new DeviceError('invalid', this.device, `exposure ${e} s is longer than the ${this.sensorName(cam)} allows: max ${round(lim.maxS)} s`);
    }
    if (lim && e < lim.minS * (1 - 1e-9)) {
      throw new DeviceError('invalid', this.device, `exposure ${e} s is shorter than the ${this.sensorName(cam)} allows: min ${round(lim.minS * 1e6)} µs`);
    }
    const range = gainLimits(cam);
    // No gain, or 0 (the lowest gain on INDI/ZWO cameras; "auto" to rpicam-still, which
    // --immediate cannot use): the sensor's base analogue gain.
    const gain = request.gain === undefined || request.gain === 0 ? (range?.min ?? 1) : request.gain;
    if (!Number.isFinite(gain) || gain <= 0) throw new DeviceError('invalid', this.device, `gain must be a positive analogue gain, got ${gain}`);
    if (range && (gain < range.min - 1e-6 || gain > range.max + 1e-6)) {
      throw new DeviceError('invalid', this.device, `gain ${gain} is outside the ${cam.model} analogue gain range ${round(range.min)}..${round(range.max)}`);
    }
    if (request.roi) throw new DeviceError('invalid', this.device, 'ROI is not offered by rpicam-still raw capture (the DNG is always the whole sensor mode); crop afterwards');
    let mode: string | undefined;
    const bin = request.binning ?? 1;
    if (bin !== 1) {
      const m = this.binnedMode(cam, bin);
      if (!m) {
        const sizes = [...new Set(cam.modes.map((x) => `${x.width}x${x.height}`))].join(', ');
        throw new DeviceError('invalid', this.device, `binning ${bin}: the ${cam.model} has no ${bin}×${bin} binned mode (modes: ${sizes})`);
      }
      mode = `${m.width}:${m.height}:${m.bits}:P`;
    }
    return { gain, mode };
  }

  private binnedMode(cam: ListedCamera, bin: number): SensorMode | null {
    if (!Number.isInteger(bin) || bin < 1) return null;
    const w = cam.width / bin;
    const h = cam.height / bin;
    const fits = cam.modes.filter((m) => Math.abs(m.width - w) <= 2 && Math.abs(m.height - h) <= 2);
    return fits.sort((a, b) => b.bits - a.bits)[0] ?? null;
  }

  async capture(request: CaptureRequest): Promise<CapturedFrame> {
    await this.connect();
    if (this.current) throw new DeviceError('busy', this.device, 'a capture is already running on this camera');
    const { gain, mode } = this.validate(request);
    if (request.signal?.aborted) throw new DeviceError('aborted', this.device, 'capture aborted before it started');
    // Claimed before the first await, so two overlapping calls cannot both start a process.
    const ac = new AbortController();
    this.current = ac;
    try {
      await mkdir(request.outDir, { recursive: true });
    } catch (err) {
      this.current = null;
      throw new DeviceError('io', this.device, `cannot create the spool directory ${request.outDir}: ${(err as Error).message}`);
    }
    const onAbort = () => ac.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    // Short relative temp name, run in outDir: rpicam-still builds the output name in a 128-byte
    // buffer, so a long spool path would be cut short.
    const stem = `.rpicam-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const tmpJpg = join(request.outDir, `${stem}.jpg`);
    const tmpDng = join(request.outDir, `${stem}.dng`);
    const cleanup = () => Promise.all([unlink(tmpJpg).catch(() => {}), unlink(tmpDng).catch(() => {})]);
    const exposureUs = request.exposureS * 1e6;
    const args = buildStillArgs({ options: this.options, exposureUs, gain, outputName: `${stem}.jpg`, mode, supported: this.supported });
    // Some sensors drop the first frame after a mode switch, so a capture can take two exposures.
    const timeoutMs = Math.ceil(2 * request.exposureS * 1000 + this.options.marginS * 1000);
    const timestamp = new Date();
    this.deps.log.debug('rpicam: capture', { bin: this.bin, args: args.join(' ') });
    try {
      const res = await this.run(args, timeoutMs, { cwd: request.outDir, signal: ac.signal });
      if (res.stopped === 'aborted') {
        await cleanup();
        throw new DeviceError('aborted', this.device, `capture of ${request.exposureS} s aborted; ${this.binName()} stopped`);
      }
      if (res.stopped === 'timeout') {
        await cleanup();
        throw new DeviceError(
          'timeout',
          this.device,
          `${this.binName()} delivered no frame within ${Math.round(timeoutMs / 1000)} s for a ${request.exposureS} s exposure and was killed; if this repeats the camera stack is hung (reboot)`,
        );
      }
      if (res.code !== 0) {
        await cleanup();
        throw classifyFailure(this.device, this.binName(), res.code, res.stderr, res.stdout);
      }
      return await this.collect(request, { tmpJpg, tmpDng, res, gain, timestamp, args });
    } catch (err) {
      await cleanup();
      if (err instanceof DeviceError) throw err;
      throw new DeviceError('io', this.device, `storing the frame in ${request.outDir} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      this.current = null;
    }
  }

  private async collect(
    request: CaptureRequest,
    run: { tmpJpg: string; tmpDng: string; res: RunResult; gain: number; timestamp: Date; args: string[] },
  ): Promise<CapturedFrame> {
    const { tmpJpg, tmpDng, res } = run;
    const meta: StillMetadata = parseStillMetadata(res.stdout);
    const hasJpg = await exists(tmpJpg);
    if (!hasJpg) throw new DeviceError('io', this.device, `${this.binName()} exited 0 but wrote no image into ${request.outDir}`);
    const finalJpg = join(request.outDir, `${request.fileStem}.jpg`);
    const cam = this.listed!;
    const temperature = typeof meta.SensorTemperature === 'number' ? meta.SensorTemperature : null;
    if (temperature !== null) this.lastTemperature = temperature;
    const actualExposureS = typeof meta.ExposureTime === 'number' ? meta.ExposureTime / 1e6 : undefined;
    const actualGain = typeof meta.AnalogueGain === 'number' ? meta.AnalogueGain : undefined;
    const common = {
      exposureS: actualExposureS ?? request.exposureS,
      gain: actualGain ?? run.gain,
      frameType: request.frameType ?? 'light',
      timestamp: run.timestamp,
    } as const;
    const baseMeta: Record<string, unknown> = {
      sensor: cam.model,
      camera: this.sensorName(cam),
      requestedExposureS: request.exposureS,
      requestedGain: run.gain,
      digitalGain: meta.DigitalGain,
      colourGains: meta.ColourGains,
      sensorTemperature: temperature ?? undefined,
      lux: meta.Lux,
      sensorTimestampNs: meta.SensorTimestamp,
      captureMs: res.durationMs,
      command: `${this.binName()} ${run.args.join(' ')}`,
    };
    if (!this.options.raw) {
      await rename(tmpJpg, finalJpg);
      const { default: sharp } = await import('sharp');
      const info = await sharp(finalJpg).metadata();
      return {
        path: finalJpg,
        format: 'jpeg',
        width: info.width ?? 0,
        height: info.height ?? 0,
        channels: (info.channels ?? 3) >= 3 ? 3 : 1,
        bitDepth: 8,
        ...common,
        meta: baseMeta,
      };
    }
    if (!(await exists(tmpDng))) {
      throw new DeviceError('io', this.device, `${this.binName()} --raw exited 0 but wrote no DNG (this sensor or build may not offer raw capture); use raw=0 for JPEG frames`);
    }
    let dng: DngInfo;
    try {
      dng = await readDngInfo(tmpDng);
    } catch (err) {
      throw new DeviceError('io', this.device, `${this.binName()} wrote an unreadable DNG: ${(err as Error).message.replace(tmpDng, 'the DNG')}`);
    }
    const finalDng = join(request.outDir, `${request.fileStem}.dng`);
    // Preview first, frame last: whoever watches the spool sees the DNG only when both are there.
    await rename(tmpJpg, finalJpg);
    await rename(tmpDng, finalDng);
    const sensorMode = this.sensorModeFor(cam, dng);
    return {
      path: finalDng,
      format: 'raw',
      width: dng.width,
      height: dng.height,
      channels: 1,
      bitDepth: 16,
      bayer: dng.bayer ?? (cam.bayer !== 'MONO' ? cam.bayer : undefined),
      ...common,
      meta: {
        ...baseMeta,
        preview: finalJpg,
        sensorMode,
        whiteLevel: dng.whiteLevel,
        blackLevel: dng.blackLevel,
        significantBits: dng.significantBits,
        dngModel: dng.uniqueCameraModel ?? dng.model,
      },
    };
  }

  /** The sensor mode the DNG came from: its size is the raw stream's, which is the mode's. */
  private sensorModeFor(cam: ListedCamera, dng: DngInfo): { format?: string; width: number; height: number; bits: number; crop?: string } {
    const same = cam.modes.filter((m) => m.width === dng.width && m.height === dng.height).sort((a, b) => b.bits - a.bits);
    const bits = dng.significantBits < 16 ? dng.significantBits : undefined;
    const m = same.find((x) => bits === undefined || x.bits === bits) ?? same[0];
    if (m) return { format: m.format, width: m.width, height: m.height, bits: m.bits, crop: m.crop };
    return { width: dng.width, height: dng.height, bits: dng.significantBits };
  }

  async abort(): Promise<void> {
    this.current?.abort();
  }

  async temperature(): Promise<number | null> {
    return this.lastTemperature;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
