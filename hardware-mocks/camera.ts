// The simulated camera: validates a CaptureRequest like a real driver, renders the frame from the rig's
// state (clock, focuser, temperature), writes a real FITS/JPEG/PNG and reports a CapturedFrame whose
// meta carries the truth (focus, transform, stars) tests compare against.
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { DriverContext } from '../drivers/context.js';
import { DeviceError, type Camera, type CameraCapabilities, type CaptureRequest, type CapturedFrame, type FrameType } from '../drivers/types.js';
import type { ImageF32, ImageMeta } from '../pipeline/image/types.js';
import { writeImage } from '../pipeline/image/write.js';
import { allSkyGeometry, allSkyStars, sphereCatalogue, treeLineTable, type SphereStar } from './allsky.js';
import { focusOffsetMap, renderRadiance } from './day.js';
import { bool0, num0, str0, type BayerPattern, type ParsedParams, type ResponseName, type Scene, type SimFormat } from './params.js';
import { cloudCoverOf, frameTransform, illuminationMap, renderFrame, toOutputSamples, type FixedPattern, type RenderedFrame, type SkyModel } from './render.js';
import { applyResponse, responseLnTable } from './response.js';
import { getOrCreateRig, type SimRig } from './rig.js';
import { hotPixelMap, normalisedSignal, prnuMap, whitePointAdu, type SensorModel } from './sensor.js';
import { starsInFrame, type FrameStar, type FrameTransform } from './stars.js';
import { CLOUD_WIND_PX_PER_MIN, moonAt, moonGlowFactor, passingCover, sunAt, sunGlowFactor, type MoonState } from './sky-light.js';
import { mixSeed, STREAM } from './random.js';

export interface SimCameraConfig {
  scene: Scene;
  format: SimFormat;
  /** PNG depth; JPEG is always 8, FITS 16. */
  depth: 8 | 16;
  quality: number;
  response: ResponseName;
  bayer: BayerPattern | null;
  hotPixels: number;
  shutterClosed: boolean;
  /** Frame indices that come out dark as if the shutter (or lens cap) were closed. */
  closedFrames: ReadonlySet<number>;
  realtime: boolean;
  gainMax: number;
  sensor: SensorModel;
  sky: SkyModel;
  lens: 'rect' | 'fisheye';
  /** Passing clouds: minutes over which the cover changes (0 = fixed cover). */
  cloudPeriodMin: number;
  /** Render the moon (needs lat/lon). */
  moon: boolean;
  /** Whole-sky catalogue for lens=fisheye. */
  allSkyStars: { count: number; magMin: number; magMax: number; zeroPointFlux: number };
}

export const MIN_EXPOSURE_S = 1e-5;
export const MAX_EXPOSURE_S = 3600;
/** Readout time added to the simulated clock after each frame. */
export const READOUT_S = 0.1;
/** An uncooled sensor runs this much above ambient. */
export const SENSOR_SELF_HEATING_C = 3;

export function cameraConfigFrom(p: ParsedParams, seed: number): SimCameraConfig {
  const width = num0(p, 'width', 640);
  const height = num0(p, 'height', 480);
  const area = width * height;
  const bayer = p.get('bayer');
  const fisheye = p.get('lens') === 'fisheye';
  return {
    lens: fisheye ? 'fisheye' : 'rect',
    // An all-sky lens has a small aperture and sees the whole sky: fewer photons per star, many more stars.
    allSkyStars: {
      count: num0(p, 'stars', 6000),
      magMin: num0(p, 'mag_min', -1),
      magMax: num0(p, 'mag_max', 7),
      zeroPointFlux: num0(p, 'zero_point', 3e5),
    },
    cloudPeriodMin: num0(p, 'cloud_period', 0),
    moon: bool0(p, 'moon', true),
    scene: str0(p, 'scene', 'sky'),
    format: str0(p, 'format', 'fits'),
    depth: num0(p, 'depth', 8) === 16 ? 16 : 8,
    quality: num0(p, 'quality', 90),
    response: str0(p, 'response', 'srgb'),
    bayer: typeof bayer === 'string' ? (bayer as BayerPattern) : null,
    hotPixels: num0(p, 'hot_pixels', Math.round(area / 4000)),
    shutterClosed: p.get('shutter') === 'closed',
    closedFrames: new Set((p.get('closed_frames') as number[] | undefined) ?? []),
    realtime: bool0(p, 'realtime', false),
    gainMax: num0(p, 'gain_max', 64),
    sensor: {
      width,
      height,
      fullWellE: num0(p, 'full_well', 50000),
      readNoiseE: num0(p, 'read_noise', 3),
      biasAdu: num0(p, 'bias', 1000),
      darkRate20: num0(p, 'dark_rate', 0.2),
      vignette: num0(p, 'vignette', 0.3),
    },
    sky: {
      stars: {
        seed,
        starsPerFrame: num0(p, 'stars', area / 1500),
        frameArea: area,
        magMin: num0(p, 'mag_min', 3),
        magMax: num0(p, 'mag_max', 13),
        zeroPointFlux: num0(p, 'zero_point', 5.7e6),
      },
      skyGlow: num0(p, 'sky_glow', 15),
      driftX: num0(p, 'drift_x', 0.4),
      driftY: num0(p, 'drift_y', 0.25),
      rotationDeg: num0(p, 'rotation', 0.02),
      jitterPx: num0(p, 'jitter', 0),
      clouds: num0(p, 'clouds', 0),
      cloudyFrames: new Set((p.get('cloudy_frames') as number[] | undefined) ?? []),
      trailFrames: new Set((p.get('trail_frames') as number[] | undefined) ?? []),
    },
  };
}

const IMAGETYP: Record<FrameType, string> = { light: 'Light Frame', dark: 'Dark Frame', flat: 'Flat Field', bias: 'Bias Frame' };
const EXT: Record<SimFormat, string> = { fits: '.fits', jpeg: '.jpg', png: '.png' };

export class SimCamera implements Camera {
  readonly url: string;
  readonly rig: SimRig;
  readonly config: SimCameraConfig;
  private connected = false;
  private current: AbortController | null = null;
  private fixedPattern: FixedPattern | null = null;
  private dayCache: { clouds: number; radiance: Float32Array } | null = null;
  private offsetCache: Float32Array | null = null;
  private sphere: { catalogue: SphereStar[]; trees: Float32Array } | null = null;
  /** Capture time of each frame index this camera shot (truth lookups for the fisheye sky). */
  private readonly frameTimes = new Map<number, Date>();
  /** Truth of the last frame rendered (null before the first). */
  lastFrame: (RenderedFrame & { frameIndex: number; path: string }) | null = null;

  constructor(url: URL, ctx: DriverContext) {
    this.url = url.href;
    const { rig, params } = getOrCreateRig(url, ctx);
    this.rig = rig;
    this.config = cameraConfigFrom(params, rig.config.seed);
    const where = this.url;
    if (this.config.scene === 'auto' && rig.config.lat === null) {
      throw new DeviceError('invalid', where, 'scene=auto needs the site: add lat= and lon= (degrees)');
    }
    if (this.config.lens === 'fisheye' && rig.config.lat === null) {
      throw new DeviceError('invalid', where, 'lens=fisheye needs the site: add lat= and lon= (degrees)');
    }
    const s = this.config.sky.stars;
    if (s.magMin > s.magMax) throw new DeviceError('invalid', where, `mag_min=${s.magMin} is fainter than mag_max=${s.magMax}`);
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.current?.abort();
    this.connected = false;
  }

  async capabilities(): Promise<CameraCapabilities> {
    const c = this.config;
    return {
      model: `skyrig simulated camera (rig ${this.rig.name})`,
      width: c.sensor.width,
      height: c.sensor.height,
      bitDepth: c.format === 'fits' ? 16 : c.format === 'png' ? c.depth : 8,
      color: c.format !== 'fits' || c.bayer !== null,
      ...(c.format === 'fits' && c.bayer ? { bayer: c.bayer } : {}),
      minExposureS: MIN_EXPOSURE_S,
      maxExposureS: MAX_EXPOSURE_S,
      gain: { min: 1, max: c.gainMax },
      isoValues: [100, 200, 400, 800, 1600, 3200, 6400].filter((iso) => iso / 100 <= c.gainMax),
      frameTypes: ['light', 'dark', 'flat', 'bias'],
      canAbort: true,
      hasCooler: false,
    };
  }

  async temperature(): Promise<number | null> {
    return this.rig.ambientTemperature() + SENSOR_SELF_HEATING_C;
  }

  async abort(): Promise<void> {
    this.current?.abort();
  }

  /** Close or open the shutter (closed: lights come out as darks — the "lens cap on" failure). */
  setShutterClosed(closed: boolean): void {
    this.config.shutterClosed = closed;
  }

  /** Change cloud cover from now on (0..1). */
  setClouds(cover: number): void {
    this.config.sky.clouds = Math.max(0, Math.min(1, cover));
  }

  /**
   * Scene the camera renders at a time: `auto` picks day when the sun is above the horizon — except on
   * the fisheye, which looks at the sky day and night (its sky glow follows the sun).
   */
  sceneAt(at: Date = this.rig.now()): 'sky' | 'day' {
    if (this.config.scene !== 'auto') return this.config.scene;
    if (this.config.lens === 'fisheye') return 'sky';
    return (this.rig.sunAltitudeDeg(at) ?? -90) > 0 ? 'day' : 'sky';
  }

  // ---- truth for tests ---------------------------------------------------------------------------

  /** The moon at a time (null without a site or with moon=0). */
  moonAt(at: Date = this.rig.now()): MoonState | null {
    const { lat, lon } = this.rig.config;
    if (!this.config.moon || lat === null || lon === null) return null;
    return moonAt(at, lat, lon);
  }

  /** Cloud cover of frame `i` shot at `at`: passing clouds by the clock, else `clouds` / `cloudy_frames`. */
  cloudCoverAt(i: number, at: Date = this.rig.now()): number {
    const c = this.config;
    if (c.cloudPeriodMin > 0) {
      const cover = passingCover(mixSeed(this.rig.config.seed, STREAM.clouds), c.sky.clouds, c.cloudPeriodMin, this.rig.minutesSinceStart(at));
      return c.sky.cloudyFrames.has(i) ? Math.max(0.9, cover) : cover;
    }
    return cloudCoverOf(c.sky, i);
  }

  /** Sky glow (e-/s/px at gain 1, before vignetting, at the zenith, clear) at a time: night glow × sun + moon. */
  skyGlowAt(at: Date = this.rig.now()): number {
    const g = this.config.sky.skyGlow;
    return g * sunGlowFactor(this.rig.sunAltitudeDeg(at)) + g * moonGlowFactor(this.moonAt(at));
  }

  /** Field transform of frame `i` (sky = frame-0 pixel coordinates → frame i). */
  frameTransform(i: number): FrameTransform {
    return frameTransform(this.config.sky, this.rig.config.seed, this.config.sensor.width, this.config.sensor.height, i);
  }

  /** Stars inside frame `i`, brightest first, with their pixel positions in that frame. */
  starsInFrame(i: number): FrameStar[] {
    const { width, height } = this.config.sensor;
    if (this.config.lens === 'fisheye') {
      const at = this.frameTimes.get(i);
      if (!at) throw new Error(`${this.url}: frame ${i} was not shot by this camera (fisheye stars depend on its time)`);
      return this.starsAt(at);
    }
    return starsInFrame(this.config.sky.stars, this.frameTransform(i), width, height, 0);
  }

  /** lens=fisheye: stars above the tree line at a time, with pixel positions and flux after extinction. */
  starsAt(at: Date): FrameStar[] {
    const { width, height } = this.config.sensor;
    const sky = this.allSky();
    return allSkyStars(sky.trees, sky.catalogue, allSkyGeometry(width, height), at, this.rig.config.lat ?? 0, this.rig.config.lon ?? 0);
  }

  private allSky(): { catalogue: SphereStar[]; trees: Float32Array } {
    if (!this.sphere) {
      const a = this.config.allSkyStars;
      const seed = this.rig.config.seed;
      this.sphere = { catalogue: sphereCatalogue(seed, a.count, a.magMin, a.magMax, a.zeroPointFlux), trees: treeLineTable(seed) };
    }
    return this.sphere;
  }

  /** Ground-truth radiance of the day scene (RGB interleaved, e-/s/px at gain 1), before optics and sensor. */
  renderRadiance(clouds = this.config.sky.clouds): ImageF32 {
    const { width, height } = this.config.sensor;
    return { width, height, channels: 3, bitDepth: 32, data: renderRadiance({ width, height, seed: this.rig.config.seed, clouds }) };
  }

  /**
   * Day scene depth truth: per pixel, the focuser offset from best focus (steps) that makes it sharp —
   * 0 for sky and horizon, rising to near_focus at the bottom row of the ground.
   */
  focusOffsetMap(): Float32Array {
    const { width, height } = this.config.sensor;
    this.offsetCache ??= focusOffsetMap({ width, height, seed: this.rig.config.seed }, this.rig.config.nearFocus);
    return this.offsetCache;
  }

  /** Linear signal (0..1 of the white point) that radiance L gives at an exposure and gain. */
  normalisedSignal(radiance: number, exposureS: number, gain = 1): number {
    return normalisedSignal(this.config.sensor, radiance, exposureS, gain);
  }

  /** The JPEG/PNG response: linear signal 0..1 → output 0..1, and g(z) = ln X per 8-bit code. */
  response(x: number): number {
    return applyResponse(this.config.response, x);
  }

  responseLnTable(levels = 256): Float64Array {
    return responseLnTable(this.config.response, levels);
  }

  whitePointAdu(gain = 1): number {
    return whitePointAdu(this.config.sensor, gain);
  }

  /** Hot pixels and PRNU, fixed for the seed and sensor size. */
  fixed(): FixedPattern {
    if (!this.fixedPattern) {
      const { width, height } = this.config.sensor;
      const seed = this.rig.config.seed;
      const prnu = prnuMap(seed, width, height);
      this.fixedPattern = { hot: hotPixelMap(seed, width, height, this.config.hotPixels), prnu, illumination: illuminationMap(this.config.sensor, prnu) };
    }
    return this.fixedPattern;
  }

  private dayRadianceFor(clouds: number): Float32Array {
    if (this.dayCache?.clouds !== clouds) this.dayCache = { clouds, radiance: this.renderRadiance(clouds).data };
    return this.dayCache.radiance;
  }

  // ---- capture -----------------------------------------------------------------------------------

  async capture(req: CaptureRequest): Promise<CapturedFrame> {
    if (!this.connected) throw new DeviceError('disconnected', this.url, 'not connected (call connect() first)');
    if (this.current) throw new DeviceError('busy', this.url, 'an exposure is already in progress');
    const c = this.config;
    const frameType: FrameType = req.frameType ?? 'light';
    const exposureS = frameType === 'bias' ? 0 : req.exposureS;
    if (frameType !== 'bias' && !(Number.isFinite(exposureS) && exposureS >= MIN_EXPOSURE_S && exposureS <= MAX_EXPOSURE_S)) {
      throw new DeviceError('invalid', this.url, `exposureS=${req.exposureS} outside ${MIN_EXPOSURE_S}..${MAX_EXPOSURE_S} s`);
    }
    const gain = req.gain ?? (req.iso !== undefined ? req.iso / 100 : 1);
    if (!(Number.isFinite(gain) && gain >= 1 && gain <= c.gainMax)) {
      throw new DeviceError('invalid', this.url, `${req.gain !== undefined ? `gain=${req.gain}` : `iso=${req.iso}`} outside gain 1..${c.gainMax} (iso 100..${c.gainMax * 100})`);
    }
    const binning = req.binning ?? 1;
    if (![1, 2, 3, 4].includes(binning)) throw new DeviceError('invalid', this.url, `binning=${binning} not offered (1, 2, 3 or 4)`);
    const roi = req.roi;
    if (roi) {
      const ok = [roi.x, roi.y, roi.width, roi.height].every(Number.isInteger) && roi.x >= 0 && roi.y >= 0 && roi.width >= binning && roi.height >= binning;
      if (!ok || roi.x + roi.width > c.sensor.width || roi.y + roi.height > c.sensor.height) {
        throw new DeviceError('invalid', this.url, `roi ${JSON.stringify(roi)} outside the ${c.sensor.width}×${c.sensor.height} sensor`);
      }
    }
    if (req.signal?.aborted) throw new DeviceError('aborted', this.url, 'exposure aborted before it started');

    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    this.current = ctl;
    try {
      const timestamp = this.rig.now();
      const frameIndex = this.rig.nextFrameIndex();
      const scene = this.sceneAt(timestamp);
      const closed = c.shutterClosed || c.closedFrames.has(frameIndex);
      this.frameTimes.set(frameIndex, timestamp);
      const check = () => {
        if (ctl.signal.aborted) throw new DeviceError('aborted', this.url, `exposure of frame ${frameIndex} aborted`);
      };
      if (c.realtime && exposureS > 0) {
        try {
          await sleep(exposureS * 1000, undefined, { signal: ctl.signal });
        } catch {
          check();
        }
      }
      check();
      const sensorTempC = this.rig.ambientTemperature(timestamp) + SENSOR_SELF_HEATING_C;
      const defocusSteps = this.rig.defocusSteps(timestamp);
      const moon = this.moonAt(timestamp);
      const cover = this.cloudCoverAt(frameIndex, timestamp);
      const frame = renderFrame({
        seed: this.rig.config.seed,
        scene,
        sky: c.sky,
        optics: { psf: this.rig.config.psf, defocus: this.rig.config.defocus },
        sensor: c.sensor,
        fixed: this.fixed(),
        frameIndex,
        frameType,
        exposureS,
        gain,
        shutterClosed: closed,
        defocusSteps,
        sensorTempC,
        sunAltitudeDeg: this.rig.sunAltitudeDeg(timestamp),
        channels: c.format === 'fits' ? 1 : 3,
        bayer: c.format === 'fits' ? c.bayer : null,
        roi,
        binning,
        check,
        dayRadiance: scene === 'day' ? this.dayRadianceFor(cover) : undefined,
        allSky: scene === 'sky' && c.lens === 'fisheye' ? { at: timestamp, lat: this.rig.config.lat ?? 0, lon: this.rig.config.lon ?? 0, zeroPointFlux: c.allSkyStars.zeroPointFlux, ...this.allSky() } : undefined,
        moon,
        sun: c.lens === 'fisheye' && this.rig.config.lat !== null ? sunAt(timestamp, this.rig.config.lat, this.rig.config.lon ?? 0) : null,
        cover,
        ...(c.cloudPeriodMin > 0 ? { cloudShiftPx: CLOUD_WIND_PX_PER_MIN * this.rig.minutesSinceStart(timestamp) } : {}),
        scale: scene === 'day' ? this.rig.scaleAt(defocusSteps) : 1,
        focusOffsets: scene === 'day' && this.rig.config.nearFocus !== 0 ? this.focusOffsetMap() : undefined,
      });
      check();
      this.rig.advanceAfterCapture(exposureS + READOUT_S);

      const path = join(req.outDir, req.fileStem + EXT[c.format]);
      const bitDepth: 8 | 16 = c.format === 'fits' ? 16 : c.format === 'png' ? c.depth : 8;
      const image: ImageF32 = { width: frame.width, height: frame.height, channels: frame.channels, bitDepth, data: toOutputSamples(frame, c.format, c.response, c.sensor.biasAdu) };
      const cards = this.fitsCards({ frame, frameType, exposureS, gain, binning, roi, timestamp, frameIndex, scene, sensorTempC, defocusSteps });
      try {
        await mkdir(req.outDir, { recursive: true });
        await writeImage(path, image, { cards, quality: c.quality, depth: bitDepth === 16 ? 16 : 8, fitsBitpix: 16 });
      } catch (err) {
        throw new DeviceError('io', this.url, `cannot write ${path}: ${(err as Error).message}`, { cause: err });
      }
      this.lastFrame = { ...frame, frameIndex, path };
      return {
        path,
        format: c.format,
        width: frame.width,
        height: frame.height,
        channels: frame.channels,
        bitDepth,
        ...(frame.bayer ? { bayer: frame.bayer } : {}),
        exposureS,
        gain,
        ...(req.iso !== undefined ? { iso: req.iso } : {}),
        frameType,
        timestamp,
        meta: {
          rig: this.rig.name,
          seed: this.rig.config.seed,
          frameIndex,
          scene,
          lens: c.lens,
          focusPosition: this.rig.motorPosition,
          opticalPosition: this.rig.opticalPosition,
          bestFocus: this.rig.bestFocus(timestamp),
          defocusSteps,
          depthOfFocusSteps: this.rig.depthOfFocusSteps,
          fwhmPx: frame.fwhmPx,
          scale: scene === 'day' ? this.rig.scaleAt(defocusSteps) : 1,
          hfrPx: this.rig.hfrAt(defocusSteps),
          transform: { ...frame.transform },
          shiftX: frame.transform.dx,
          shiftY: frame.transform.dy,
          rotationDeg: frame.transform.rotationDeg,
          starsDrawn: frame.stars.length,
          cloudCover: frame.cloudCover,
          trail: frame.trail,
          shutterClosed: closed,
          sensorTempC,
          ambientTempC: this.rig.ambientTemperature(timestamp),
          sunAltitudeDeg: this.rig.sunAltitudeDeg(timestamp),
          moonAltitudeDeg: moon ? moon.altDeg : null,
          moonIllumination: moon ? moon.fraction : null,
          skyGlow: this.skyGlowAt(timestamp),
          biasAdu: c.sensor.biasAdu,
          whitePointAdu: frame.whitePointAdu,
          binning,
          ...(roi ? { roi } : {}),
          ...(c.format === 'fits' ? { cards } : { response: c.response }),
        },
      };
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      this.current = null;
    }
  }

  private fitsCards(f: {
    frame: RenderedFrame;
    frameType: FrameType;
    exposureS: number;
    gain: number;
    binning: number;
    roi: CaptureRequest['roi'];
    timestamp: Date;
    frameIndex: number;
    scene: string;
    sensorTempC: number;
    defocusSteps: number;
  }): ImageMeta {
    const cards: ImageMeta = {
      INSTRUME: 'skyrig-sim',
      TELESCOP: `sim://${this.rig.name}`,
      ORIGIN: 'skyrig',
      'DATE-OBS': f.timestamp.toISOString().slice(0, 23),
      EXPTIME: f.exposureS,
      EXPOSURE: f.exposureS,
      GAIN: f.gain,
      EGAIN: 1 / f.gain,
      OFFSET: this.config.sensor.biasAdu,
      IMAGETYP: IMAGETYP[f.frameType],
      FRAMETYP: f.frameType.charAt(0).toUpperCase() + f.frameType.slice(1),
      XBINNING: f.binning,
      YBINNING: f.binning,
      XORGSUBF: f.roi?.x ?? 0,
      YORGSUBF: f.roi?.y ?? 0,
      'CCD-TEMP': round(f.sensorTempC, 2),
      FOCUSPOS: this.rig.motorPosition,
      FOCTEMP: round(this.rig.ambientTemperature(f.timestamp), 2),
      ROWORDER: 'TOP-DOWN',
      SIMSEED: this.rig.config.seed,
      SIMFRAME: f.frameIndex,
      SIMSCENE: f.scene,
      SIMDX: round(f.frame.transform.dx, 4),
      SIMDY: round(f.frame.transform.dy, 4),
      SIMROT: round(f.frame.transform.rotationDeg, 6),
      SIMDEFOC: round(f.defocusSteps, 3),
      SIMFWHM: round(f.frame.fwhmPx, 4),
      SIMCLOUD: round(f.frame.cloudCover, 3),
      SIMTRAIL: f.frame.trail !== null,
    };
    if (f.frame.bayer) {
      cards.BAYERPAT = f.frame.bayer;
      cards.XBAYROFF = 0;
      cards.YBAYROFF = 0;
    }
    return cards;
  }
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
