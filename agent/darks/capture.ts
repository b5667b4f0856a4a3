// Taking a dark library: for each gain (or ISO) a bias master, then for each exposure `count` dark
// frames combined into a float FITS master with its bad-pixel map, all logged in the run log's
// dark_masters table. The caller says how a frame is shot (the CLI straight from the camera, the job
// through its logged capture), so this module only plans, combines and records.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Camera, CameraCapabilities, CapturedFrame, FrameType } from '../../drivers/types.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import type { Logger } from '../../lib/log.js';
import { buildMaster, type CombineMethod } from '../../pipeline/calib/master.js';
import { findBadPixels, medianAndSigma } from '../../pipeline/calib/rows.js';
import { writeFits } from '../../pipeline/image/fits.js';
import type { DarkMasterRecord } from '../runlog/sqlite.js';
import { shutterRefusal } from './shutter.js';

export { shutterRefusal };

/** One camera setting of the grid: a gain (INDI, sim) or an ISO (DSLR); neither = the camera's default. */
export interface DarkSetting {
  gain?: number;
  iso?: number;
}

export interface ShootRequest {
  exposureS: number;
  gain?: number;
  iso?: number;
  frameType: FrameType;
  stem: string;
}

export interface DarkGridOptions {
  camera: Camera;
  /** Camera URL, recorded with each master. */
  cameraUrl: string;
  exposures: number[];
  settings: DarkSetting[];
  /** Frames per master. */
  count: number;
  /** The user says the lens is capped / the cover is closed (required where the camera has no shutter). */
  covered?: boolean;
  method?: Extract<CombineMethod, 'median' | 'sigma'>;
  /** Hot-pixel threshold: master > median + k·σ_MAD. */
  hotSigma?: number;
  /** Also take a bias master per setting (needed to scale darks to other exposures). Default true. */
  bias?: boolean;
  /** `<data_dir>/darks`. */
  darksDir: string;
  store: { addDarkMaster(m: DarkMasterRecord): number };
  runId?: number | null;
  shoot(req: ShootRequest): Promise<CapturedFrame>;
  /** Delete the single frames once their master is written (the CLI's frames are its own). */
  deleteFrames?: boolean;
  onFrame?(label: string): void;
  signal?: AbortSignal;
  log: Logger;
}

export interface TakenMaster extends DarkMasterRecord {
  id: number;
}

/** Planned frames of a grid: biases per setting, then darks per setting × exposure. */
export function planGrid(exposures: number[], settings: DarkSetting[], count: number, bias: boolean): number {
  return settings.length * (exposures.length + (bias ? 1 : 0)) * count;
}

function settingWords(s: DarkSetting): string {
  return s.gain !== undefined ? `gain ${s.gain}` : s.iso !== undefined ? `ISO ${s.iso}` : 'default gain';
}

function fileTag(kind: 'dark' | 'bias', exposureS: number, s: DarkSetting, tempC: number | null, at: Date): string {
  const exp = kind === 'bias' ? 'bias' : `${Number(exposureS.toPrecision(6))}s`;
  const set = s.gain !== undefined ? `_g${s.gain}` : s.iso !== undefined ? `_iso${s.iso}` : '';
  const t = tempC === null ? '' : `_${tempC < 0 ? 'm' : ''}${Math.abs(tempC).toFixed(1)}C`;
  return `${kind === 'bias' ? 'bias' : `dark_${exp}`}${set}${t}_${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
}

/** Sensor temperature of a frame: what the driver put in its meta, else the camera's reading now. */
async function frameTemperature(f: CapturedFrame, camera: Camera): Promise<number | null> {
  for (const k of ['temperatureC', 'sensorTempC']) {
    const v = f.meta[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return camera.temperature().catch(() => null);
}

/** A dark brighter than this (of full scale) saw light: the cap is off or the cover leaks. */
const LIGHT_LEAK_LEVEL = 0.25;

export async function captureDarkGrid(o: DarkGridOptions): Promise<TakenMaster[]> {
  const refusal = shutterRefusal(o.cameraUrl, o.covered ?? false);
  if (refusal) throw new Error(refusal);
  if (!o.exposures.length) throw new Error('darks: no exposures given');
  if (!(Number.isInteger(o.count) && o.count >= 1)) throw new Error(`darks: count must be a whole number ≥ 1, got ${o.count}`);
  const caps: CameraCapabilities = await o.camera.capabilities();
  for (const e of o.exposures) {
    if (!(e >= caps.minExposureS && e <= caps.maxExposureS)) throw new Error(`darks: exposure ${e} s outside the camera's ${caps.minExposureS}..${caps.maxExposureS} s`);
  }
  for (const s of o.settings) {
    if (s.gain !== undefined && caps.gain && (s.gain < caps.gain.min || s.gain > caps.gain.max)) {
      throw new Error(`darks: gain ${s.gain} outside the camera's ${caps.gain.min}..${caps.gain.max}`);
    }
  }
  await mkdir(o.darksDir, { recursive: true }).catch((err: Error) => {
    throw new Error(`darks: cannot create ${o.darksDir}: ${err.message}`);
  });
  const shutter = o.covered ? 'covered' : 'shutter';
  const taken: TakenMaster[] = [];
  const settings = o.settings.length ? o.settings : [{}];
  const withBias = o.bias ?? true;
  for (const s of settings) {
    const cells: { kind: 'dark' | 'bias'; exposureS: number }[] = [];
    if (withBias) cells.push({ kind: 'bias', exposureS: caps.minExposureS });
    for (const e of o.exposures) cells.push({ kind: 'dark', exposureS: e });
    for (const cell of cells) {
      o.signal?.throwIfAborted();
      const frames: CapturedFrame[] = [];
      const temps: number[] = [];
      // Cameras without a bias frame type take the shortest dark instead: the same offset, no thermal signal.
      const frameType: FrameType = cell.kind === 'bias' && caps.frameTypes.includes('bias') ? 'bias' : 'dark';
      try {
        for (let i = 0; i < o.count; i++) {
          o.signal?.throwIfAborted();
          const label = `${cell.kind === 'bias' ? 'bias' : `dark ${cell.exposureS} s`} ${settingWords(s)} ${i + 1}/${o.count}`;
          const f = await o.shoot({ exposureS: cell.exposureS, ...s, frameType, stem: `${cell.kind}_${cell.exposureS}_${s.gain ?? s.iso ?? 'd'}_${String(i).padStart(3, '0')}` });
          frames.push(f);
          const t = await frameTemperature(f, o.camera);
          if (t !== null) temps.push(t);
          o.onFrame?.(label);
        }
        taken.push(await writeMaster(o, cell.kind, frames, s, temps, shutter));
      } finally {
        if (o.deleteFrames) await Promise.all(frames.map((f) => rm(f.path, { force: true })));
      }
    }
  }
  return taken;
}

async function writeMaster(o: DarkGridOptions, kind: 'dark' | 'bias', frames: CapturedFrame[], s: DarkSetting, temps: number[], shutter: string): Promise<TakenMaster> {
  const method = o.method ?? 'median';
  const f0 = frames[0]!;
  const master = await buildMaster(frames.map((f) => f.path), `${kind} frames ${settingWords(s)}`, { method });
  const img = master.image;
  const { median } = medianAndSigma(img.data);
  if (median > LIGHT_LEAK_LEVEL) {
    throw new Error(`darks: ${kind} ${f0.exposureS} s ${settingWords(s)} is at ${(median * 100).toFixed(0)} % of full scale — light reaches the sensor (cap the lens, close the cover)`);
  }
  const temperatureC = temps.length ? Math.round((temps.reduce((a, b) => a + b, 0) / temps.length) * 100) / 100 : null;
  const at = new Date();
  const stem = fileTag(kind, f0.exposureS, s, temperatureC, at);
  const path = join(o.darksDir, `${stem}.fits`);
  const bayer = typeof f0.bayer === 'string' ? f0.bayer : null;
  const cannotWrite = (err: Error, file = path) => new Error(`darks: cannot write ${file}: ${err.message}`, { cause: err });
  await writeFits(path, img, {
    bitpix: -32,
    cards: {
      IMAGETYP: kind === 'dark' ? 'Master Dark' : 'Master Bias',
      EXPTIME: f0.exposureS,
      ...(s.gain !== undefined ? { GAIN: s.gain } : {}),
      ...(s.iso !== undefined ? { ISOSPEED: s.iso } : {}),
      ...(temperatureC !== null ? { 'CCD-TEMP': temperatureC } : {}),
      NCOMBINE: frames.length,
      COMBINE: method,
      ...(bayer ? { BAYERPAT: bayer } : {}),
      INSTRUME: o.cameraUrl.slice(0, 60),
      SHUTTER: shutter,
      'DATE-OBS': f0.timestamp.toISOString().slice(0, 23),
    },
  }).catch((err: Error) => {
    throw cannotWrite(err);
  });
  let badPixelsPath: string | null = null;
  let badPixels: number | null = null;
  if (kind === 'dark') {
    const bad = findBadPixels(img, o.hotSigma ?? 8);
    badPixels = bad.length;
    badPixelsPath = join(o.darksDir, `${stem}.badpix.json`);
    await writeFileAtomic(badPixelsPath, JSON.stringify({ width: img.width, height: img.height, k: o.hotSigma ?? 8, pixels: bad.map((p) => [p.x, p.y]) }) + '\n').catch((err: Error) => {
      throw cannotWrite(err, badPixelsPath!);
    });
  }
  const rec: DarkMasterRecord = {
    kind,
    camera: o.cameraUrl,
    exposureS: f0.exposureS,
    gain: s.gain ?? (f0.gain !== undefined && s.iso === undefined ? f0.gain : null),
    iso: s.iso ?? null,
    temperatureC,
    width: img.width,
    height: img.height,
    channels: img.channels,
    bayer,
    frameCount: frames.length,
    method,
    path,
    sizeBytes: (await stat(path)).size,
    badPixelsPath,
    badPixels,
    median,
    runId: o.runId ?? null,
  };
  const id = o.store.addDarkMaster(rec);
  o.log.info('darks: master written', { kind, exposure_s: rec.exposureS, gain: rec.gain, iso: rec.iso, temperature_c: temperatureC, frames: frames.length, path, bad_pixels: badPixels });
  return { ...rec, id };
}
