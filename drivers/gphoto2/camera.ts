// A DSLR/mirrorless camera over libgphoto2 behind the Camera interface. The control logic lives
// here (detection, re-detection after an unplug, retries with backoff, shutter mapping, bulb via
// the command line); how libgphoto2 is reached is the injected backend.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { DeviceError } from '../types.js';
import type { Camera, CameraCapabilities, CaptureRequest, CapturedFrame, FrameType } from '../types.js';
import type { ConfigWidget, DetectedCamera, Gphoto2Backend, Gphoto2Session } from './backend.js';
import { classifyFailure, GVFS_HINT } from './errors.js';
import type { FrameProbe } from './probe.js';
import { planShutter, shutterChoices } from './shutter.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface Gphoto2CameraOptions {
  /** libgphoto2 port (usb:001,004); null = the first camera found. */
  port: string | null;
  /** Capture target: 'ram' (download and delete, the default) or 'card' (keep a copy on the card). */
  captureTarget?: 'ram' | 'card' | null;
  /** imageformat to set on connect, as the camera spells it ("RAW", "Large Fine JPEG"). */
  imageFormat?: string | null;
}

export interface Gphoto2CameraDeps {
  backend: Gphoto2Backend;
  /** Backend for what the main one cannot do (bulb when on the binding): the command line. */
  fallback?: Gphoto2Backend | null;
  log: Logger;
  probe: (path: string) => Promise<FrameProbe>;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
}

const CONFIG_KEYS = ['shutterspeed', 'iso', 'aperture', 'f-number', 'imageformat', 'capturetarget', 'cameramodel', 'batterylevel'] as const;
const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8000 };

export class Gphoto2Camera implements Camera {
  private session: Gphoto2Session | null = null;
  private config = new Map<string, ConfigWidget>();
  /** Model of the camera we were using: after a replug its USB port number changes, the model does not. */
  private model: string | null = null;
  private lastProbe: FrameProbe | null = null;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly url: string,
    private readonly options: Gphoto2CameraOptions,
    private readonly deps: Gphoto2CameraDeps,
  ) {
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async connect(): Promise<void> {
    if (this.session) return;
    await this.withRetry('connect', () => this.open());
  }

  async disconnect(): Promise<void> {
    const s = this.session;
    this.session = null;
    await s?.close();
  }

  /** Cameras libgphoto2 sees right now. */
  async list(): Promise<DetectedCamera[]> {
    return this.withRetry('list cameras', () => this.deps.backend.list());
  }

  /** Read named config widgets (shutterspeed, iso, aperture, imageformat, capturetarget, …). */
  async readConfig(names: readonly string[]): Promise<Map<string, ConfigWidget>> {
    return this.withSession(`read ${names.join(',')}`, (s) => s.getConfig(names));
  }

  async setConfigValue(name: string, value: string): Promise<void> {
    await this.withSession(`set ${name}`, async (s) => {
      await s.setConfig(name, value);
      const cur = this.config.get(name);
      if (cur) this.config.set(name, { ...cur, value });
    });
  }

  async capabilities(): Promise<CameraCapabilities> {
    await this.connect();
    const { timed, bulb } = shutterChoices(this.config.get('shutterspeed')?.choices ?? []);
    const isoValues = (this.config.get('iso')?.choices ?? []).map(Number).filter((n) => Number.isFinite(n) && n > 0);
    const p = this.lastProbe;
    return {
      model: this.session?.camera.model ?? this.model ?? 'unknown',
      // The sensor size is known once a frame has been downloaded (libgphoto2 does not report it).
      width: p?.width ?? 0,
      height: p?.height ?? 0,
      bitDepth: p?.bitDepth ?? 8,
      color: true,
      bayer: p?.bayer,
      minExposureS: timed[0]?.seconds ?? 1 / 4000,
      maxExposureS: bulb ? 3600 : (timed[timed.length - 1]?.seconds ?? 30),
      isoValues: isoValues.length ? isoValues : undefined,
      frameTypes: ['light', 'dark', 'flat', 'bias'],
      canAbort: false,
      hasCooler: false,
    };
  }

  async capture(req: CaptureRequest): Promise<CapturedFrame> {
    const frameType: FrameType = req.frameType ?? 'light';
    if (req.gain !== undefined && req.iso === undefined) {
      throw new DeviceError('invalid', this.url, 'a gphoto2 camera takes an ISO (--iso), not a gain');
    }
    if (req.signal?.aborted) throw new DeviceError('aborted', this.url, 'capture aborted before it started');
    await mkdir(req.outDir, { recursive: true }).catch((err: Error) => {
      throw new DeviceError('io', this.url, `cannot create ${req.outDir}: ${err.message}`);
    });
    const stem = join(req.outDir, req.fileStem);
    const timestamp = new Date();
    let shutterText = '';
    let exposureS = req.exposureS;
    let isoSet: number | undefined;
    const path = await this.withSession('capture', async (s) => {
      const plan = planShutter(this.config.get('shutterspeed')?.choices ?? [], req.exposureS, this.url);
      shutterText = plan.text;
      exposureS = plan.seconds;
      if (req.iso !== undefined) isoSet = await this.applyIso(s, req.iso);
      await this.applySetting(s, 'shutterspeed', plan.text);
      if (!plan.bulb) return s.capture(stem);
      exposureS = Math.max(1, Math.round(plan.seconds));
      if (s.captureBulb) return s.captureBulb(plan.seconds, stem);
      return this.bulbViaFallback(s, plan.seconds, stem);
    });
    let probe: FrameProbe;
    try {
      probe = await this.deps.probe(path);
      this.lastProbe = probe;
    } catch (err) {
      // The frame is on disk; say what is unknown rather than invent a size.
      this.deps.log.warn('gphoto2: cannot read frame size', { path, error: (err as Error).message });
      probe = { format: 'raw', width: 0, height: 0, channels: 1, bitDepth: 16 };
    }
    return {
      path,
      format: probe.format,
      width: probe.width,
      height: probe.height,
      channels: probe.channels,
      bitDepth: probe.bitDepth,
      bayer: probe.bayer,
      exposureS,
      iso: isoSet,
      frameType,
      timestamp,
      meta: {
        model: this.model,
        port: this.session?.camera.port ?? null,
        shutterspeed: shutterText,
        requestedExposureS: req.exposureS,
        aperture: this.config.get('aperture')?.value ?? this.config.get('f-number')?.value ?? null,
        imageformat: this.config.get('imageformat')?.value ?? null,
        backend: this.deps.backend.kind,
      },
    };
  }

  async abort(): Promise<void> {
    // libgphoto2 offers no way to cut a running exposure short; the capture in flight completes.
  }

  async temperature(): Promise<number | null> {
    return null;
  }

  private async open(): Promise<void> {
    const cams = await this.deps.backend.list();
    const cam = this.pick(cams);
    const session = await this.deps.backend.open(cam);
    try {
      this.config = await session.getConfig(CONFIG_KEYS);
      this.session = session;
      this.model = cam.model;
      await this.applySessionSettings(session);
    } catch (err) {
      this.session = null;
      await session.close().catch(() => {});
      throw err;
    }
    this.deps.log.info('gphoto2: camera connected', { model: cam.model, port: cam.port, backend: this.deps.backend.kind });
  }

  private pick(cams: DetectedCamera[]): DetectedCamera {
    if (!cams.length) {
      throw new DeviceError('not-found', this.url,
        'no camera found by libgphoto2 (gphoto2 --auto-detect lists none): check the USB cable, that the camera is on and in PTP/PC mode, not mass storage');
    }
    const port = this.options.port;
    if (!port) {
      if (this.model) return cams.find((c) => c.model === this.model) ?? cams[0];
      return cams[0];
    }
    const exact = cams.find((c) => c.port === port);
    if (exact) return exact;
    // Replugging renumbers the USB device: follow the same model if it is the only one.
    const same = this.model ? cams.filter((c) => c.model === this.model) : [];
    if (same.length === 1) {
      this.deps.log.warn('gphoto2: camera came back on another port', { model: this.model, was: port, now: same[0].port });
      return same[0];
    }
    throw new DeviceError('not-found', this.url,
      `no camera on ${port}; libgphoto2 sees ${cams.map((c) => `${c.model} at ${c.port}`).join(', ')} (USB ports change on replug: use gphoto2:// for the first camera)`);
  }

  private async applySessionSettings(s: Gphoto2Session): Promise<void> {
    const target = this.options.captureTarget ?? 'ram';
    const ct = this.config.get('capturetarget');
    if (ct?.choices?.length) {
      const want = ct.choices.find((c) => (target === 'ram' ? /ram/i : /card/i).test(c));
      if (want) await this.applySetting(s, 'capturetarget', want);
    }
    const fmt = this.options.imageFormat;
    if (fmt) {
      const w = this.config.get('imageformat');
      const choice = w?.choices?.find((c) => c.toLowerCase() === fmt.toLowerCase());
      if (!choice) {
        throw new DeviceError('invalid', this.url, `imageformat "${fmt}" is not offered; choices: ${(w?.choices ?? []).join(', ') || 'none'}`);
      }
      await this.applySetting(s, 'imageformat', choice);
    }
  }

  private async applySetting(s: Gphoto2Session, name: string, value: string): Promise<void> {
    const cur = this.config.get(name);
    if (cur && String(cur.value) === value) return;
    await s.setConfig(name, value);
    if (cur) this.config.set(name, { ...cur, value });
  }

  private async applyIso(s: Gphoto2Session, iso: number): Promise<number> {
    const choices = this.config.get('iso')?.choices ?? [];
    const numeric = choices.map((c) => ({ c, v: Number(c) })).filter((x) => Number.isFinite(x.v) && x.v > 0);
    if (!numeric.length) throw new DeviceError('invalid', this.url, `the camera offers no ISO setting (choices: ${choices.join(', ') || 'none'})`);
    let best = numeric[0];
    for (const x of numeric) if (Math.abs(Math.log2(x.v / iso)) < Math.abs(Math.log2(best.v / iso)) - 1e-9) best = x;
    await this.applySetting(s, 'iso', best.c);
    return best.v;
  }

  /** The binding cannot time a bulb exposure: release the USB device and let the command line do it. */
  private async bulbViaFallback(s: Gphoto2Session, seconds: number, stem: string): Promise<string> {
    const fb = this.deps.fallback;
    if (!fb) throw new DeviceError('invalid', this.url, `bulb exposures (${seconds} s) need the gphoto2 command line, which is not available`);
    const cam = s.camera;
    this.session = null;
    await s.close();
    const cli = await fb.open(cam);
    try {
      return await this.retrying('bulb', () => cli.captureBulb!(seconds, stem));
    } catch (err) {
      if (s.released === false && err instanceof DeviceError && err.code === 'busy') {
        throw new DeviceError('busy', this.url,
          `bulb via the gphoto2 command line could not claim the camera, which this process opened through the binding and cannot release without node --expose-gc; run node with --expose-gc or use gphoto2://?backend=cli for bulb work`, { cause: err });
      }
      throw err;
    } finally {
      await cli.close();
    }
  }

  /** Run an operation on the open session, reconnecting first if the camera had gone away. */
  private async withSession<T>(what: string, op: (s: Gphoto2Session) => Promise<T>): Promise<T> {
    return this.withRetry(what, async () => {
      if (!this.session) await this.open();
      return op(this.session!);
    });
  }

  private async withRetry<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await this.retrying(what, op);
    } catch (err) {
      if (err instanceof DeviceError) throw err;
      const kind = classifyFailure(err);
      if (kind === 'gone') {
        const s = this.session;
        this.session = null;
        await s?.close().catch(() => {});
        throw new DeviceError('disconnected', this.url,
          `camera went away during ${what} (${(err as Error).message}); unplugged or switched off? The next capture looks for it again`, { cause: err });
      }
      throw new DeviceError('io', this.url, `${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Retry busy / claim failures with exponential backoff; anything else goes straight up. */
  private async retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        const kind = classifyFailure(err);
        if (err instanceof DeviceError || (kind !== 'busy' && kind !== 'claim')) throw err;
        if (kind === 'claim') {
          // The claim may be held by our own stale session: drop it before trying again.
          const s = this.session;
          this.session = null;
          await s?.close().catch(() => {});
        }
        if (attempt >= attempts) {
          const msg = kind === 'claim'
            ? `could not claim the USB device during ${what} after ${attempts} attempts: ${GVFS_HINT}`
            : `camera stayed busy (PTP Device Busy) during ${what} after ${attempts} attempts: is it still writing to the card or in live view? If it persists, ${GVFS_HINT}`;
          throw new DeviceError('busy', this.url, msg, { cause: err });
        }
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        this.deps.log.warn('gphoto2: camera busy, retrying', { what, attempt, delayMs: delay, reason: (err as Error).message });
        await this.sleep(delay);
      }
    }
  }
}
