// The `allsky` job: the all-sky station's loop. Each run shoots one frame (or `count`) at the exposure
// and gain the auto-exposure controller (pipeline/exposure) chooses from the previous frames, meters
// the sky, counts stars, logs exposure/gain/sky level/mode/target on the frame row, publishes state
// and a labelled preview, and feeds the night session (agent/night): opened when the sun goes below
// the night altitude, closed at dawn with the keogram, star trails and timelapse. The controller's
// history and the night session live in the job's state folder, so a restart continues both.
//
// Time: decisions follow the camera's clock (the last frame's timestamp plus the wall time since),
// so a simulated rig with its own clock and a real camera behave the same.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CameraCapabilities, CapturedFrame } from '../../drivers/types.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { toGray } from '../../pipeline/image/read.js';
import { openRowSource } from '../../pipeline/image/rows.js';
import { encodePreviewJpeg } from '../../pipeline/image/write.js';
import { autoStretch } from '../../pipeline/preview/stretch.js';
import { detectStars } from '../../pipeline/stars/detect.js';
import {
  CONTROLLER_DEFAULTS,
  decideExposure,
  gainFactor,
  meterAndBin,
  shutterLadder,
  skyTarget,
  type ControllerSettings,
  type ExposureDecision,
  type FrameMeasurement,
  type MeterRegion,
} from '../../pipeline/exposure/index.js';
import { darkProviderOf } from '../darks/index.js';
import { NightProducts } from '../../pipeline/night/products.js';
import { NightSession, NIGHT_STAT, nightDateOf } from '../night/session.js';
import type { DarkProvider, NightFrameInput, NightProductsConfig, OpenNightProducts, RowCalibrator } from '../night/types.js';
import type { Metrics } from '../runlog/types.js';
import { parseAllskyParams, type AllskyParams } from './allsky-params.js';
import { moonInfo, sunAltitudeDeg } from './sun.js';
import type { JobContext, JobResult, JobRunner, JobStation } from './types.js';

const HISTORY = 8;
/** A history older than this (camera time) says nothing about the sky now. */
const HISTORY_MAX_AGE_MS = 30 * 60_000;

interface LoopState {
  history: FrameMeasurement[];
  /** Camera time of the last frame and the wall time it was processed: "now" on the camera's clock. */
  lastFrameAt: number | null;
  lastWallAt: number | null;
}

export interface AllskyDeps {
  /** Opens the night products (pipeline/night); null = no night products. */
  openNightProducts?: OpenNightProducts | null;
  /** Master darks; overrides ctx.darks and the dark library over the run log (agent/darks). */
  darks?: DarkProvider | null;
  /** Wall clock (tests). */
  now?: () => number;
}

/** The night products of pipeline/night (keogram, star trails, timelapse, labelled previews). */
export const defaultOpenNightProducts: OpenNightProducts = (dir, config, deps) => NightProducts.open(dir, config, deps);

async function loadState(file: string): Promise<LoopState> {
  const empty: LoopState = { history: [], lastFrameAt: null, lastWallAt: null };
  if (!existsSync(file)) return empty;
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as LoopState;
    return Array.isArray(s.history) ? { ...empty, ...s } : empty;
  } catch {
    return empty;
  }
}

type GainKind = 'gain' | 'iso' | 'none';

/** Controller limits from the camera's capabilities and the job's day/night limits. */
export function controllerSettings(caps: CameraCapabilities, p: AllskyParams): { settings: ControllerSettings; gainKind: GainKind; fullScale: number } {
  const gainKind: GainKind = caps.gain ? 'gain' : caps.isoValues?.length ? 'iso' : 'none';
  const gMin = caps.gain?.min ?? (caps.isoValues?.length ? Math.min(...caps.isoValues) : 1);
  const gMax = caps.gain?.max ?? (caps.isoValues?.length ? Math.max(...caps.isoValues) : 1);
  const clampG = (g: number) => Math.min(gMax, Math.max(gMin, g));
  const clampT = (t: number) => Math.min(caps.maxExposureS, Math.max(caps.minExposureS, t));
  const fullScale = caps.bitDepth === 8 ? 255 : 65535;
  const frac = (v: number) => (v > 1 ? v / fullScale : v);
  const dayGain = clampG(p.dayGain ?? gMin);
  const nightMin = clampG(p.nightMinGain ?? gMin);
  const nightMax = Math.max(nightMin, clampG(p.nightMaxGain ?? gMax));
  const settings: ControllerSettings = {
    ...CONTROLLER_DEFAULTS,
    day: {
      minExposureS: clampT(p.dayMinExposureS ?? caps.minExposureS),
      maxExposureS: Math.max(clampT(p.dayMinExposureS ?? caps.minExposureS), clampT(p.dayMaxExposureS)),
      minGain: dayGain,
      maxGain: dayGain,
    },
    night: { minExposureS: caps.minExposureS, maxExposureS: clampT(p.nightMaxExposureS), minGain: nightMin, maxGain: nightMax },
    exposureSteps: caps.exposureValues ?? (gainKind === 'iso' ? shutterLadder(caps.minExposureS, caps.maxExposureS) : undefined),
    gainSteps: gainKind === 'iso' ? [...caps.isoValues!].sort((a, b) => a - b) : undefined,
    gainModel: p.gainDbPerUnit ? { kind: 'db', dbPerUnit: p.gainDbPerUnit } : { kind: 'linear' },
    deadbandEv: p.deadbandEv,
    damping: p.damping,
    maxStepEv: p.maxStepEv,
    gamma: caps.bitDepth === 8 ? 2.2 : 1,
    blackLevel: frac(p.blackLevel),
  };
  return { settings, gainKind, fullScale };
}

function meterRegion(p: AllskyParams): MeterRegion {
  if (p.meter === 'circle') return { shape: 'circle', radius: p.meterRadius };
  if (p.meter === 'rect') return { shape: 'rect', fraction: p.meterRadius };
  return { shape: 'full' };
}

export function nightProductsConfig(p: AllskyParams, station: string): NightProductsConfig {
  return {
    station,
    keogram: { enabled: p.keogram, angle_deg: p.keogramAngleDeg },
    startrails: { enabled: p.startrails, max_sky_level: p.startrailsMaxSky, min_stars: p.startrailsMinStars ?? null },
    timelapse: { enabled: p.timelapse, fps: p.timelapseFps, width: p.timelapseWidth, crf: p.timelapseCrf },
    labels: { enabled: p.labels, corner: p.labelCorner, scale: p.labelScale },
  };
}

const r = (v: number, d = 4) => Number(v.toPrecision(d));

export function createAllskyJob(deps: AllskyDeps = {}): JobRunner {
  const wallNow = deps.now ?? (() => Date.now());
  return async (ctx: JobContext): Promise<JobResult> => {
    const p = parseAllskyParams(ctx.params);
    const station: JobStation = ctx.station ?? {
      id: 'skyrig', name: 'skyrig', latitude: 0, longitude: 0, elevation: 0, nightSunAltitude: -6, productsRoot: join(ctx.productsDir, '..', '..'), jobName: null,
    };
    const modeAlt = p.modeSunAltitude ?? station.nightSunAltitude;
    const openAlt = p.nightSunAltitude ?? station.nightSunAltitude;
    const dawnAlt = p.dawnSunAltitude ?? openAlt;
    const sunAt = (at: Date) => sunAltitudeDeg(at, station.latitude, station.longitude);
    const caps = await ctx.camera.capabilities();
    const { settings, gainKind, fullScale } = controllerSettings(caps, p);
    const region = meterRegion(p);
    const stateFile = join(ctx.stateDir, 'allsky.json');
    const state = await loadState(stateFile);
    const darks = deps.darks !== undefined ? deps.darks : (ctx.darks ?? darkProviderOf(ctx.runlog, { temperatureWindowC: p.darkTemperatureWindowC }));
    const openProducts = deps.openNightProducts !== undefined ? deps.openNightProducts : defaultOpenNightProducts;
    const session =
      p.products && openProducts
        ? await NightSession.load({
            stateDir: ctx.stateDir,
            productsRoot: station.productsRoot,
            runlog: ctx.runlog,
            log: ctx.log,
            publish: ctx.publish,
            open: openProducts,
            config: nightProductsConfig(p, station.name),
            jobName: station.jobName,
            ffmpegPath: p.ffmpeg,
            clearMinStars: p.clearMinStars,
            previewSize: p.previewWidth,
          })
        : null;
    let productsBroken: string | null = null;
    let last: { decision: ExposureDecision; level: number; stars: number; night: string | null } | null = null;
    let nightClosed: number | null = null;

    for (let i = 0; i < p.count; i++) {
      ctx.signal.throwIfAborted();
      // "Now" on the camera's clock: the last frame's time plus the wall time since it (a stale or
      // missing history falls back to the wall clock).
      const wall = wallNow();
      const camNow =
        state.lastFrameAt !== null && state.lastWallAt !== null && wall >= state.lastWallAt && wall - state.lastWallAt < HISTORY_MAX_AGE_MS
          ? state.lastFrameAt + (wall - state.lastWallAt)
          : wall;
      const at = new Date(camNow);
      const history = state.history.filter((h) => camNow - h.at < HISTORY_MAX_AGE_MS);
      const moon = moonInfo(at, station.latitude, station.longitude);
      const sky = skyTarget(sunAt(at), moon, { day: frac(p.targetDay, fullScale), night: frac(p.targetNight, fullScale), nightAltitudeDeg: modeAlt, moonReduction: p.moonReduction });
      const decision = decideExposure(history, { mode: sky.mode, target: sky.target, initialExposureS: p.initialExposureS }, settings);
      ctx.progress(`allsky ${i + 1}/${p.count}: ${decision.mode} ${fmtExposure(decision.exposureS)}${gainKind === 'none' ? '' : ` ${gainKind} ${r(decision.gain, 4)}`}`);
      const request = gainKind === 'gain' ? { gain: decision.gain } : gainKind === 'iso' ? { iso: decision.gain } : {};
      const { frame, frameId } = await ctx.capture({ exposureS: decision.exposureS, ...request });

      // One streamed pass: the sky metering and a binned copy (≤ 2048 px) for stars and the preview.
      const src = await openRowSource(frame.path);
      let pass: Awaited<ReturnType<typeof meterAndBin>>;
      try {
        pass = await meterAndBin(src, { region, maxSize: 2048 });
      } finally {
        await src.close();
      }
      const { metering, binned: img } = pass;
      const level = metering.median;
      const frameGain = frame.gain ?? frame.iso ?? decision.gain;
      const gf = gainFactor(frameGain, settings.gainModel);
      // Sky brightness in linear ADU per second at unit gain (an encoded 8-bit frame through its gamma).
      const linear = Math.pow(Math.max(0, level - settings.blackLevel) / Math.max(1e-6, 1 - settings.blackLevel), settings.gamma);
      const brightness = (linear * fullScale) / Math.max(1e-9, frame.exposureS * gf);
      const gray = img.channels === 1 ? img : toGray(img);
      const stars = level < 0.5 ? detectStars(gray).length : 0;
      const frameAt = frame.timestamp;
      const sunAlt = sunAt(frameAt);
      const frameMoon = moonInfo(frameAt, station.latitude, station.longitude);

      state.history = [...history, { at: frameAt.getTime(), exposureS: frame.exposureS, gain: frameGain, level, saturatedFraction: metering.saturatedFraction }].slice(-HISTORY);
      state.lastFrameAt = frameAt.getTime();
      state.lastWallAt = wallNow();
      await writeFileAtomic(stateFile, JSON.stringify(state));

      // The night: open below the night altitude; close once the rising sun passes the dawn altitude.
      let night: string | null = null;
      const rising = sunAt(new Date(frameAt.getTime() + 600_000)) > sunAlt;
      if (session && !productsBroken) {
        try {
          if (session.openNight && sunAlt >= dawnAlt && (rising || sunAlt >= openAlt)) {
            ctx.progress('allsky: dawn — finishing the night products');
            const closed = await session.close(frameAt, { signal: ctx.signal, onProgress: (d, t) => ctx.progress(`allsky: night products ${d}/${t}`) });
            nightClosed = closed?.runId ?? null;
          }
          if (sunAlt < openAlt || (session.openNight && sunAlt < dawnAlt)) {
            const date = nightDateOf(frameAt, station.longitude);
            if (await session.accepts(date, frameAt)) night = date;
          }
        } catch (err) {
          productsBroken = (err as Error).message;
        }
      }

      const stats: Metrics = {
        exposure_s: frame.exposureS,
        gain: frameGain,
        sky_level: r(level, 5),
        sky_brightness: r(brightness, 5),
        mode: decision.mode,
        target: r(decision.target, 4),
        error_ev: decision.errorEv === null ? null : r(decision.errorEv, 3),
        step_ev: r(decision.stepEv, 3),
        ae: decision.reason,
        clamped: decision.clamped,
        stars,
        median: r(level, 5),
        saturated_fraction: r(metering.saturatedFraction, 4),
        sun_alt: r(sunAlt, 4),
        moon_alt: r(frameMoon.altitudeDeg, 4),
        moon_illumination: r(frameMoon.illumination, 3),
        ...(night ? { [NIGHT_STAT]: night } : {}),
      };
      ctx.runlog.updateFrame(frameId, { stats });

      const input: NightFrameInput = { path: frame.path, timestamp: frameAt, exposureS: frame.exposureS, gain: frameGain, skyLevel: level, stars };
      let preview: Buffer | null = null;
      if (night && session && !productsBroken) {
        let calibrator: RowCalibrator | undefined;
        try {
          calibrator = await darkFor(ctx, darks, frame, gainKind, session, night);
          const added = await session.add({ ...input, calibrate: calibrator }, frameId);
          ctx.runlog.updateFrame(frameId, { stats: { keogram_column: added.keogramColumn, startrails: added.startrails, ...(added.reason ? { startrails_reason: added.reason } : {}) } });
          preview = await session.preview(input, p.previewWidth);
        } catch (err) {
          productsBroken = (err as Error).message;
        } finally {
          await calibrator?.close().catch(() => {});
        }
      }
      if (productsBroken) {
        ctx.log.warn('night products failed; frames go on without them', { error: productsBroken });
        ctx.runlog.addEvent('warn', `allsky: night products failed: ${productsBroken}`, {}, ctx.runId);
        productsBroken = null;
      }
      preview ??= await encodePreviewJpeg(autoStretch(img), p.previewWidth);
      await writeFileAtomic(join(ctx.productsDir, 'preview.jpg'), preview);
      ctx.publish.image(preview);
      ctx.publish.state({
        allsky_exposure_s: frame.exposureS,
        allsky_gain: frameGain,
        allsky_sky_level: r(level * 100, 4),
        allsky_mode: decision.mode,
        allsky_target: r(decision.target * 100, 4),
        moon_altitude: r(frameMoon.altitudeDeg, 3),
        moon_illumination: r(frameMoon.illumination, 3),
        star_count: stars,
        sky_background: r(level * 100, 4),
      });
      last = { decision, level, stars, night };
    }
    const metrics: Metrics = {
      frames: p.count,
      exposure_s: last?.decision.exposureS ?? null,
      gain: last?.decision.gain ?? null,
      sky_level: last ? r(last.level, 5) : null,
      mode: last?.decision.mode ?? null,
      target: last ? r(last.decision.target, 4) : null,
      stars: last?.stars ?? null,
      night: last?.night ?? null,
      night_closed_run: nightClosed,
    };
    ctx.runlog.addProduct(ctx.runId, { kind: 'preview', path: join(ctx.productsDir, 'preview.jpg'), metrics: { mode: metrics.mode } });
    ctx.publish.result(metrics);
    return { metrics };
  };
}

function frac(v: number, fullScale: number): number {
  return v > 1 ? v / fullScale : v;
}

function fmtExposure(s: number): string {
  return s >= 1 ? `${r(s, 3)} s` : `1/${Math.round(1 / s)} s`;
}

/** The matching master dark, opened; a gap is reported once per night (not per frame). */
async function darkFor(ctx: JobContext, darks: DarkProvider | null, frame: CapturedFrame, gainKind: GainKind, session: NightSession, night: string): Promise<RowCalibrator | undefined> {
  if (!darks) return undefined;
  const temperatureC = await ctx.camera.temperature().catch(() => null);
  const match = await darks.match({
    exposureS: frame.exposureS,
    gain: gainKind === 'gain' ? (frame.gain ?? null) : null,
    iso: gainKind === 'iso' ? (frame.iso ?? null) : null,
    temperatureC,
    width: frame.width,
    height: frame.height,
    channels: frame.channels,
  });
  if (!match) {
    if (await session.darkGapFirstTime()) {
      const what = `no master dark for ${frame.exposureS} s${frame.gain !== undefined ? ` gain ${frame.gain}` : ''}${frame.iso !== undefined ? ` ISO ${frame.iso}` : ''}${temperatureC !== null ? ` at ${temperatureC.toFixed(1)} °C` : ''}`;
      ctx.log.warn(`night ${night}: ${what}; frames are processed without darks (reported once per night)`);
      ctx.runlog.addEvent('warn', `night ${night}: ${what}; frames processed without darks`, {}, ctx.runId);
      ctx.publish.state({ allsky_dark: null });
    }
    return undefined;
  }
  ctx.publish.state({ allsky_dark: match.describe });
  return match.open();
}

export const allskyJob: JobRunner = createAllskyJob();
