// INDI CCD behind the Camera interface. Standard CCD properties only (CCD_EXPOSURE, CCD_FRAME_TYPE,
// CCD_BINNING, CCD_FRAME, CCD_GAIN/CCD_OFFSET or CCD_CONTROLS, CCD_TEMPERATURE, CCD_ABORT_EXPOSURE,
// UPLOAD_MODE, CCD_INFO), so any INDI camera driver works the same way. The frame arrives as the CCD1
// BLOB, streamed to a temp file next to its final name and renamed into place once complete.
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { tempPathFor } from '../../lib/atomic.js';
import { readFitsHeader } from '../../lib/fits-header.js';
import { DeviceError, type Camera, type CameraCapabilities, type CaptureRequest, type CapturedFrame, type FrameType, type Roi } from '../types.js';
import type { BlobResult } from './blob-file.js';
import type { IndiClient, SetMessage } from './client.js';
import { ensureDeviceConnected } from './device.js';
import type { ClientLease } from './shared.js';
import type { BlobStartInfo, ElementValue, IndiVector } from './types.js';

const FRAME_TYPE_SWITCH: Record<FrameType, string> = { light: 'FRAME_LIGHT', dark: 'FRAME_DARK', flat: 'FRAME_FLAT', bias: 'FRAME_BIAS' };

export interface IndiCameraOptions {
  /** Extra time after the exposure for readout and transfer before giving up. */
  readoutTimeoutMs?: number;
  /** Time allowed for setting one property (binning, gain…). */
  settingTimeoutMs?: number;
}

export class IndiCamera implements Camera {
  private readonly client: IndiClient;
  private active: { cancel(err: Error): void } | null = null;
  private expectedBlob: string | null = null;
  private readonly readoutTimeoutMs: number;
  private readonly settingTimeoutMs: number;

  constructor(
    readonly url: string,
    private readonly device: string,
    private readonly lease: ClientLease,
    private readonly log: Logger,
    options: IndiCameraOptions = {},
  ) {
    this.client = lease.client;
    this.readoutTimeoutMs = options.readoutTimeoutMs ?? 60_000;
    this.settingTimeoutMs = options.settingTimeoutMs ?? 10_000;
    this.client.on('blob', this.dropStaleBlob);
  }

  /** A BLOB that completes after its capture gave up (timeout, abort) must not litter the spool. */
  private readonly dropStaleBlob = (r: BlobResult): void => {
    if (r.device === this.device && r.path !== this.expectedBlob) void unlink(r.path).catch(() => {});
  };

  async connect(signal?: AbortSignal): Promise<void> {
    const c = this.client;
    const d = this.device;
    await ensureDeviceConnected(c, d, { ...(signal && { signal }) });
    const wait = { timeoutMs: this.settingTimeoutMs, ...(signal && { signal }) };
    await c.waitForVector(d, 'CCD_EXPOSURE', wait).catch(rethrowMissing(d, 'CCD_EXPOSURE', 'not a CCD'));
    // CCD_INFO is defined with zeros and filled in once the driver has read the sensor.
    if (c.vector(d, 'CCD_INFO')) {
      await c.waitForVectorState(d, 'CCD_INFO', (v) => num(v, 'CCD_MAX_X') > 0, 'CCD_INFO with the sensor size', wait).catch(() => undefined);
    }
    if (c.vector(d, 'UPLOAD_MODE') && c.value(d, 'UPLOAD_MODE', 'UPLOAD_CLIENT') !== true) {
      await c.setVectorAndWait(d, 'UPLOAD_MODE', { UPLOAD_CLIENT: true }, wait);
    }
    if (c.vector(d, 'CCD_TRANSFER_FORMAT')?.elements.has('FORMAT_FITS') && c.value(d, 'CCD_TRANSFER_FORMAT', 'FORMAT_FITS') !== true) {
      await c.setVectorAndWait(d, 'CCD_TRANSFER_FORMAT', { FORMAT_FITS: true }, wait);
    }
    c.enableBLOB(d, 'Also');
  }

  async disconnect(): Promise<void> {
    this.active?.cancel(new DeviceError('aborted', this.device, 'camera disconnected'));
    this.client.routeBlobs(this.device, null);
    this.client.off('blob', this.dropStaleBlob);
    await this.lease.release();
  }

  async capabilities(): Promise<CameraCapabilities> {
    await this.ready();
    const c = this.client;
    const d = this.device;
    const info = c.vector(d, 'CCD_INFO');
    const exposure = c.vector(d, 'CCD_EXPOSURE')!.elements.get('CCD_EXPOSURE_VALUE');
    const gain = this.gainElement();
    const bits = info ? num(info, 'CCD_BITSPERPIXEL') : 16;
    const cfa = c.value(d, 'CCD_CFA', 'CFA_TYPE');
    const frameTypes = (Object.keys(FRAME_TYPE_SWITCH) as FrameType[]).filter((t) => c.vector(d, 'CCD_FRAME_TYPE')?.elements.has(FRAME_TYPE_SWITCH[t]));
    const caps: CameraCapabilities = {
      model: String(c.value(d, 'DRIVER_INFO', 'DRIVER_NAME') || d),
      width: info ? num(info, 'CCD_MAX_X') : 0,
      height: info ? num(info, 'CCD_MAX_Y') : 0,
      bitDepth: bits > 0 && bits <= 8 ? 8 : 16,
      color: typeof cfa === 'string' && cfa !== '',
      minExposureS: exposure?.min ?? 0,
      maxExposureS: exposure?.max ?? 3600,
      frameTypes: frameTypes.length ? frameTypes : ['light'],
      canAbort: !!c.vector(d, 'CCD_ABORT_EXPOSURE'),
      hasCooler: !!c.vector(d, 'CCD_COOLER'),
    };
    if (typeof cfa === 'string' && cfa) caps.bayer = cfa;
    if (gain && gain.min !== undefined && gain.max !== undefined) caps.gain = { min: gain.min, max: gain.max };
    return caps;
  }

  async temperature(): Promise<number | null> {
    await this.ready();
    return this.client.number(this.device, 'CCD_TEMPERATURE', 'CCD_TEMPERATURE_VALUE') ?? null;
  }

  async abort(): Promise<void> {
    const active = this.active;
    if (this.client.connected && this.client.vector(this.device, 'CCD_ABORT_EXPOSURE')) {
      this.client.setVector(this.device, 'CCD_ABORT_EXPOSURE', { ABORT: true });
    }
    active?.cancel(new DeviceError('aborted', this.device, 'exposure aborted'));
  }

  async capture(req: CaptureRequest): Promise<CapturedFrame> {
    const d = this.device;
    if (this.active) throw new DeviceError('busy', d, 'an exposure is already running on this camera');
    if (!(req.exposureS >= 0) || !Number.isFinite(req.exposureS)) throw new DeviceError('invalid', d, `exposureS must be a number ≥ 0, got ${req.exposureS}`);
    if (!req.outDir || !req.fileStem) throw new DeviceError('invalid', d, 'capture needs outDir and fileStem');
    const frameType = req.frameType ?? 'light';
    const signal = req.signal;
    if (signal?.aborted) throw new DeviceError('aborted', d, 'capture aborted before it started');
    let cancelled: Error | null = null;
    this.active = { cancel: (err) => (cancelled ??= err) };
    try {
      await this.ready(signal);
      await this.applySettings(req, frameType);
      if (cancelled) throw cancelled;
      return await this.expose(req, frameType);
    } finally {
      this.active = null;
      this.expectedBlob = null;
      this.client.routeBlobs(d, null);
    }
  }

  /** Connect on first use and again after the server came back (a restarted server has the device off). */
  private async ready(signal?: AbortSignal): Promise<void> {
    const c = this.client;
    if (!c.connected) await c.connect();
    const conn = c.vector(this.device, 'CONNECTION');
    if (conn?.elements.get('CONNECT')?.value === true && c.vector(this.device, 'CCD_EXPOSURE')) return;
    await this.connect(signal);
  }

  private async applySettings(req: CaptureRequest, frameType: FrameType): Promise<void> {
    const c = this.client;
    const d = this.device;
    const wait = { timeoutMs: this.settingTimeoutMs, ...(req.signal && { signal: req.signal }) };
    if (exposureOutOfRange(this.exposureRange(), req.exposureS, frameType)) {
      const { min, max } = this.exposureRange()!;
      throw new DeviceError('invalid', d, `exposure ${req.exposureS} s outside what the camera offers (${min}..${max} s)`);
    }
    const matches = (v: IndiVector, values: Record<string, ElementValue>) => Object.entries(values).every(([k, val]) => v.elements.get(k)?.value === val);
    const set = async (name: string, values: Record<string, ElementValue>, force = false) => {
      const v = c.vector(d, name)!;
      if (!force && matches(v, values)) return;
      // Switches come back exactly as asked: wait for that, so an update caused by another client
      // (in flight when we asked) is not taken as our answer. Numbers may come back rounded.
      await c.setVectorAndWait(d, name, values, v.type === 'Switch' ? { ...wait, accept: (x) => matches(x, values) } : wait);
    };

    // Frames are stored as plain FITS: fpack (.fits.fz) would need funpack, and the Pi has the CPU
    // to spare less than the link has bandwidth. zlib (.fits.z) from other drivers is inflated.
    // Sent every time: our copy may not show yet a change another client just made.
    if (c.vector(d, 'CCD_COMPRESSION')?.elements.has('INDI_DISABLED')) await set('CCD_COMPRESSION', { INDI_DISABLED: true }, true);

    const types = c.vector(d, 'CCD_FRAME_TYPE');
    if (types) {
      const sw = FRAME_TYPE_SWITCH[frameType];
      if (!types.elements.has(sw)) throw new DeviceError('invalid', d, `frame type ${frameType} not offered (CCD_FRAME_TYPE has ${[...types.elements.keys()].join(', ')})`);
      await set('CCD_FRAME_TYPE', { [sw]: true });
    } else if (frameType !== 'light') {
      throw new DeviceError('invalid', d, `frame type ${frameType} not offered (no CCD_FRAME_TYPE)`);
    }

    const bin = req.binning ?? 1;
    if (c.vector(d, 'CCD_BINNING')) {
      const el = c.vector(d, 'CCD_BINNING')!.elements.get('HOR_BIN');
      if (!Number.isInteger(bin) || bin < 1 || (el?.max !== undefined && bin > el.max)) throw new DeviceError('invalid', d, `binning ${bin} not offered (1..${el?.max ?? 1})`);
      await set('CCD_BINNING', { HOR_BIN: bin, VER_BIN: bin });
    } else if (bin !== 1) {
      throw new DeviceError('invalid', d, `binning ${bin} not offered (no CCD_BINNING)`);
    }

    if (c.vector(d, 'CCD_FRAME')) {
      const roi = req.roi ?? this.fullFrame();
      if (roi) {
        this.checkRoi(roi);
        await set('CCD_FRAME', { X: roi.x, Y: roi.y, WIDTH: roi.width, HEIGHT: roi.height });
      }
    } else if (req.roi) {
      throw new DeviceError('invalid', d, 'region of interest not offered (no CCD_FRAME)');
    }

    if (req.gain !== undefined) await this.setControl('gain', req.gain, this.gainTarget(), set);
    if (req.offset !== undefined) await this.setControl('offset', req.offset, this.offsetTarget(), set);
    if (req.iso !== undefined) {
      const iso = c.vector(d, 'CCD_ISO');
      const el = iso && [...iso.elements.values()].find((e) => (e.label ?? e.name).trim() === String(req.iso));
      if (!iso || !el) throw new DeviceError('invalid', d, `ISO ${req.iso} not offered${iso ? ` (CCD_ISO has ${[...iso.elements.values()].map((e) => e.label ?? e.name).join(', ')})` : ''}`);
      await set('CCD_ISO', { [el.name]: true });
    }
  }

  private exposureRange(): { min: number; max: number } | null {
    const el = this.client.vector(this.device, 'CCD_EXPOSURE')?.elements.get('CCD_EXPOSURE_VALUE');
    return el?.min !== undefined && el.max !== undefined ? { min: el.min, max: el.max } : null;
  }

  /** A bias is "the shortest exposure there is": 0 s becomes the camera's minimum. */
  private effectiveExposure(exposureS: number, frameType: FrameType): number {
    const range = this.exposureRange();
    return frameType === 'bias' && range && exposureS < range.min ? range.min : exposureS;
  }

  private async setControl(what: string, value: number, target: { vector: string; element: string } | null, set: (name: string, values: Record<string, ElementValue>) => Promise<void>): Promise<void> {
    if (!target) throw new DeviceError('invalid', this.device, `${what} not offered by this camera`);
    const el = this.client.vector(this.device, target.vector)!.elements.get(target.element)!;
    if (!Number.isFinite(value) || (el.min !== undefined && value < el.min) || (el.max !== undefined && value > el.max)) {
      throw new DeviceError('invalid', this.device, `${what} ${value} outside ${el.min}..${el.max} (${target.vector}.${target.element})`);
    }
    await set(target.vector, { [target.element]: value });
  }

  private gainTarget(): { vector: string; element: string } | null {
    if (this.client.vector(this.device, 'CCD_GAIN')?.elements.has('GAIN')) return { vector: 'CCD_GAIN', element: 'GAIN' };
    return this.controlsElement('gain');
  }

  private offsetTarget(): { vector: string; element: string } | null {
    if (this.client.vector(this.device, 'CCD_OFFSET')?.elements.has('OFFSET')) return { vector: 'CCD_OFFSET', element: 'OFFSET' };
    return this.controlsElement('offset');
  }

  /** ZWO/QHY-style drivers put gain and offset into CCD_CONTROLS. */
  private controlsElement(name: string): { vector: string; element: string } | null {
    const controls = this.client.vector(this.device, 'CCD_CONTROLS');
    const el = controls && [...controls.elements.keys()].find((k) => k.toLowerCase() === name);
    return el ? { vector: 'CCD_CONTROLS', element: el } : null;
  }

  private gainElement() {
    const t = this.gainTarget();
    return t ? this.client.vector(this.device, t.vector)?.elements.get(t.element) : undefined;
  }

  private fullFrame(): Roi | null {
    const info = this.client.vector(this.device, 'CCD_INFO');
    if (!info) return null;
    const width = num(info, 'CCD_MAX_X');
    const height = num(info, 'CCD_MAX_Y');
    return width > 0 && height > 0 ? { x: 0, y: 0, width, height } : null;
  }

  private checkRoi(roi: Roi): void {
    const full = this.fullFrame();
    const ok = [roi.x, roi.y, roi.width, roi.height].every(Number.isInteger) && roi.x >= 0 && roi.y >= 0 && roi.width > 0 && roi.height > 0;
    if (!ok || (full && (roi.x + roi.width > full.width || roi.y + roi.height > full.height))) {
      throw new DeviceError('invalid', this.device, `roi ${roi.x},${roi.y} ${roi.width}x${roi.height} outside the sensor${full ? ` (${full.width}x${full.height})` : ''}`);
    }
  }

  private async expose(req: CaptureRequest, frameType: FrameType): Promise<CapturedFrame> {
    const c = this.client;
    const d = this.device;
    const finalPath = join(req.outDir, `${req.fileStem}.fits`);
    const tmpPath = tempPathFor(finalPath);
    this.expectedBlob = tmpPath;
    c.routeBlobs(d, (info: BlobStartInfo) => (info.vector === 'CCD1' ? tmpPath : null));
    const timeoutMs = Math.round(req.exposureS * 1000) + this.readoutTimeoutMs;
    const started = new Date();
    const waiting = c.waitFor<BlobResult>(d, `frame (CCD1 BLOB) after a ${req.exposureS} s exposure`, { timeoutMs, ...(req.signal && { signal: req.signal }) }, (done, fail) => {
      const onBlob = (r: BlobResult) => {
        if (r.device === d && r.path === tmpPath) done(r);
      };
      const onBlobError = (info: BlobStartInfo, err: Error) => {
        if (info.device === d && info.vector === 'CCD1') fail(new DeviceError('io', d, `frame transfer failed: ${err.message}`, { cause: err }));
      };
      const onUpdate = (v: IndiVector, msg: SetMessage) => {
        if (v.device === d && v.name === 'CCD_EXPOSURE' && msg.state === 'Alert') fail(c.alertError(d, 'CCD_EXPOSURE', msg.message));
      };
      c.on('blob', onBlob);
      c.on('blobError', onBlobError);
      c.on('update', onUpdate);
      return () => {
        c.off('blob', onBlob);
        c.off('blobError', onBlobError);
        c.off('update', onUpdate);
      };
    });
    this.active = { cancel: (err) => waiting.cancel(err) };
    try {
      c.setVector(d, 'CCD_EXPOSURE', { CCD_EXPOSURE_VALUE: this.effectiveExposure(req.exposureS, frameType) });
    } catch (err) {
      waiting.cancel(err as Error);
    }
    let blob: BlobResult;
    try {
      blob = await waiting.promise;
    } catch (err) {
      if (err instanceof DeviceError && (err.code === 'aborted' || err.code === 'timeout') && c.connected && c.vector(d, 'CCD_ABORT_EXPOSURE')) {
        try {
          c.setVector(d, 'CCD_ABORT_EXPOSURE', { ABORT: true });
        } catch {
          // best effort: the exposure is abandoned either way
        }
      }
      throw err;
    }
    if (blob.storedFormat !== '.fits') {
      await unlink(blob.path).catch(() => {});
      throw new DeviceError('io', d, `camera sent a ${blob.format} frame; only .fits and .fits.z are handled (set the driver's transfer format to FITS and disable fpack/other compression)`);
    }
    await syncAndRename(blob.path, finalPath).catch(async (err: Error) => {
      await unlink(blob.path).catch(() => {});
      throw new DeviceError('io', d, `${finalPath}: ${err.message}`, { cause: err });
    });
    return this.describe(finalPath, req, frameType, started, blob);
  }

  private async describe(path: string, req: CaptureRequest, frameType: FrameType, started: Date, blob: BlobResult): Promise<CapturedFrame> {
    let header;
    try {
      header = await readFitsHeader(path);
    } catch (err) {
      await unlink(path).catch(() => {});
      throw new DeviceError('io', this.device, `${path}: frame from the camera is not a readable FITS file: ${(err as Error).message}`, { cause: err });
    }
    const dataBytes = header.width * header.height * header.planes * (Math.abs(header.bitpix) / 8);
    if (blob.bytes < header.dataOffset + dataBytes) {
      await unlink(path).catch(() => {});
      throw new DeviceError('io', this.device, `${path}: FITS data truncated (${blob.bytes} bytes, header needs ${header.dataOffset + dataBytes})`);
    }
    const cards = header.cards;
    const cardNumber = (k: string) => (typeof cards[k] === 'number' ? (cards[k] as number) : undefined);
    const dateObs = typeof cards['DATE-OBS'] === 'string' ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(cards['DATE-OBS']) ? cards['DATE-OBS'] : `${cards['DATE-OBS']}Z`) : null;
    const frame: CapturedFrame = {
      path,
      format: 'fits',
      width: header.width,
      height: header.height,
      channels: header.planes === 3 ? 3 : 1,
      bitDepth: header.bitpix === 8 ? 8 : header.bitpix === 16 ? 16 : 32,
      exposureS: cardNumber('EXPTIME') ?? cardNumber('EXPOSURE') ?? req.exposureS,
      frameType,
      timestamp: dateObs && !Number.isNaN(dateObs.getTime()) ? dateObs : started,
      meta: {
        device: this.device,
        server: this.client.address,
        blobFormat: blob.format,
        temperatureC: cardNumber('CCD-TEMP') ?? this.client.number(this.device, 'CCD_TEMPERATURE', 'CCD_TEMPERATURE_VALUE') ?? null,
        binning: req.binning ?? 1,
        header: cards,
      },
    };
    if (typeof cards.BAYERPAT === 'string' && cards.BAYERPAT) frame.bayer = cards.BAYERPAT;
    const gain = req.gain ?? cardNumber('GAIN');
    if (gain !== undefined) frame.gain = gain;
    if (req.iso !== undefined) frame.iso = req.iso;
    this.log.debug('INDI frame captured', { device: this.device, path, width: frame.width, height: frame.height, exposureS: frame.exposureS });
    return frame;
  }
}

function exposureOutOfRange(range: { min: number; max: number } | null, exposureS: number, frameType: FrameType): boolean {
  if (!range) return false;
  if (exposureS > range.max) return true;
  return exposureS < range.min && frameType !== 'bias';
}

function num(v: IndiVector, element: string): number {
  const x = v.elements.get(element)?.value;
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}

function rethrowMissing(device: string, property: string, what: string) {
  return (err: unknown): never => {
    if (err instanceof DeviceError && err.code === 'timeout') throw new DeviceError('invalid', device, `device offers no ${property} (${what})`);
    throw err;
  };
}

async function syncAndRename(tmp: string, finalPath: string): Promise<void> {
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, finalPath);
}
