// One frame from the rig's state: scene radiance (star field or day landscape) → optics (PSF, defocus,
// vignetting, clouds) → sensor (PRNU, dark current, hot pixels, noise, gain, bias, ADC). Pure: inputs
// in, ADU out; the camera adds clock, abort and file I/O around it.
import type { FrameType, Roi } from '../drivers/types.js';
import { airmass, allSkyGeometry, allSkyStars, EXTINCTION_MAG, projectFisheye, treeLineAt, unprojectFisheye, type SphereStar } from './allsky.js';
import { renderRadiance } from './day.js';
import type { BayerPattern, PsfName, ResponseName, SimFormat } from './params.js';
import { fwhmAt, gaussianBlur, stampStar, variableBlur, type DefocusModel, FWHM_PER_SIGMA } from './psf.js';
import { Rng, STREAM, fbm, mixSeed } from './random.js';
import { applyResponse } from './response.js';
import { cfaIndices, darkRateAt, exposeToAdu, vignetteAt, whitePointAdu, type DarkSignal, type HotPixels, type SensorModel } from './sensor.js';
import { starsInFrame, type FrameStar, type FrameTransform, type StarFieldOptions } from './stars.js';
import { angularDistanceDeg, aureole, moonGlowFactor, sunGlowFactor, SUN_MAG, type MoonState } from './sky-light.js';

export interface SkyModel {
  stars: StarFieldOptions;
  /** Night sky background, e-/s/px at gain 1, before twilight and clouds. */
  skyGlow: number;
  driftX: number;
  driftY: number;
  rotationDeg: number;
  jitterPx: number;
  clouds: number;
  cloudyFrames: ReadonlySet<number>;
  trailFrames: ReadonlySet<number>;
}

export interface Optics {
  psf: PsfName;
  defocus: DefocusModel;
}

export interface FixedPattern {
  hot: HotPixels;
  prnu: Float32Array;
  /** Vignetting × PRNU per pixel: what a master flat would measure. */
  illumination: Float32Array;
}

export function illuminationMap(sensor: SensorModel, prnu: Float32Array): Float32Array {
  const { width: W, height: H } = sensor;
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = vignetteAt(W, H, sensor.vignette, x, y) * prnu[y * W + x]!;
  return out;
}

export interface RenderInput {
  seed: number;
  scene: 'sky' | 'day';
  sky: SkyModel;
  optics: Optics;
  sensor: SensorModel;
  fixed: FixedPattern;
  frameIndex: number;
  frameType: FrameType;
  exposureS: number;
  gain: number;
  shutterClosed: boolean;
  defocusSteps: number;
  sensorTempC: number;
  /** Sun altitude (deg) for twilight sky glow; null when the site is unknown. */
  sunAltitudeDeg: number | null;
  /** RGB (3) for JPEG/PNG, one plane for FITS (mosaic when `bayer`). */
  channels: 1 | 3;
  bayer: BayerPattern | null;
  roi?: Roi;
  binning: number;
  check?: () => void;
  /** Day scene magnification about the frame centre (focus breathing); 1 = none. */
  scale?: number;
  /** Day scene: per-pixel best-focus offset (steps) from focusOffsetMap; absent = all at infinity. */
  focusOffsets?: Float32Array;
  /** All-sky fisheye view (lens=fisheye): stars from the sphere at this time and site instead of the drifting plane. */
  allSky?: { at: Date; lat: number; lon: number; catalogue: SphereStar[]; trees: Float32Array; zeroPointFlux?: number };
  /** Day radiance already rendered for this seed, size and cloud cover (the scene is static): skips the render. */
  dayRadiance?: Float32Array;
  /** The moon (site known, `moon=1`): its glow over the sky, and on the fisheye its disc and aureole. */
  moon?: MoonState | null;
  /** The sun's direction for the fisheye's daytime disc and aureole. */
  sun?: { altDeg: number; azDeg: number } | null;
  /** Cloud cover of this frame when clouds pass with time (else from `sky.clouds` / `cloudy_frames`). */
  cover?: number;
  /** Cloud field shift (px) when clouds drift with the clock (else 3 px per frame). */
  cloudShiftPx?: number;
}

export interface RenderedFrame {
  adu: Uint16Array;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Pattern of the output mosaic (null when RGB, mono, or binned). */
  bayer: BayerPattern | null;
  transform: FrameTransform;
  /** Stars drawn, brightest first, with positions in this (full, unbinned) frame. */
  stars: FrameStar[];
  cloudCover: number;
  /** Satellite/plane trail drawn across this frame (full-frame px), or null. */
  trail: Trail | null;
  fwhmPx: number;
  whitePointAdu: number;
}

export interface Trail {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Electrons deposited per pixel of trail length (independent of exposure: the crossing is brief). */
  electronsPerPx: number;
}

export const TRAIL_ELECTRONS_PER_PX = 3000;

/** The trail of frame `i` when it is listed in trail_frames: a line right across the field. */
export function trailOf(sky: SkyModel, seed: number, width: number, height: number, i: number): Trail | null {
  if (!sky.trailFrames.has(i)) return null;
  const rng = new Rng(mixSeed(seed, STREAM.trail, i));
  const a = rng.uniform();
  const b = rng.uniform();
  return rng.uniform() < 0.5
    ? { x0: -1, y0: a * height, x1: width, y1: b * height, electronsPerPx: TRAIL_ELECTRONS_PER_PX }
    : { x0: a * width, y0: -1, x1: b * width, y1: height, electronsPerPx: TRAIL_ELECTRONS_PER_PX };
}

function drawTrail(rate: Float32Array, W: number, H: number, ch: number, tr: Trail, fwhm: number, exposureS: number, weight: (x: number, y: number) => number): void {
  const sigma = fwhm / FWHM_PER_SIGMA;
  const dx = tr.x1 - tr.x0;
  const dy = tr.y1 - tr.y0;
  const len = Math.hypot(dx, dy);
  const nx = -dy / len;
  const ny = dx / len;
  const peak = tr.electronsPerPx / (Math.sqrt(2 * Math.PI) * sigma) / Math.max(exposureS, 1e-6);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = (x - tr.x0) * nx + (y - tr.y0) * ny;
      if (Math.abs(d) > 5 * sigma) continue;
      const v = peak * Math.exp((-d * d) / (2 * sigma * sigma));
      const o = (y * W + x) * ch;
      if (ch === 3) for (let c = 0; c < 3; c++) rate[o + c] += v;
      else rate[o] += v * weight(x, y);
    }
  }
}

const FLAT_RATE = 20000; // e-/s: a 1 s flat sits near 40 % of a 50 ke- well
const FLAT_COLOUR = [0.85, 1, 0.7];
const GLOW_COLOUR = [1.25, 1, 0.75]; // sodium/LED light pollution is warm

/** Where the field is in frame `i`: steady drift and rotation plus seeded jitter. */
export function frameTransform(sky: SkyModel, seed: number, width: number, height: number, i: number): FrameTransform {
  const rng = new Rng(mixSeed(seed, STREAM.jitter, i));
  const jx = sky.jitterPx > 0 && i > 0 ? sky.jitterPx * rng.normal() : 0;
  const jy = sky.jitterPx > 0 && i > 0 ? sky.jitterPx * rng.normal() : 0;
  return { dx: sky.driftX * i + jx, dy: sky.driftY * i + jy, rotationDeg: sky.rotationDeg * i, cx: (width - 1) / 2, cy: (height - 1) / 2 };
}

/** Sky glow multiplier from the sun: ×1 in astronomical night, ×1000 at sunset, ×10⁵ by day (sky-light.ts). */
export const twilightFactor = sunGlowFactor;

export function cloudCoverOf(sky: SkyModel, frameIndex: number): number {
  return sky.cloudyFrames.has(frameIndex) ? Math.max(0.9, sky.clouds) : sky.clouds;
}

export function renderFrame(inp: RenderInput): RenderedFrame {
  const { width: W, height: H } = inp.sensor;
  const ch = inp.channels;
  const cfa = ch === 1 && inp.bayer ? cfaIndices(inp.bayer) : undefined;
  const photonsDay = inp.frameType === 'light' && !inp.shutterClosed && inp.scene === 'day';
  // An RGB day frame is built in its radiance buffer (saves a full-size float image on big frames).
  let rate: Float32Array = photonsDay && ch === 3 ? new Float32Array(0) : new Float32Array(W * H * ch);
  const transform = frameTransform(inp.sky, inp.seed, W, H, inp.scene === 'sky' && !inp.allSky ? inp.frameIndex : 0);
  const geo = inp.allSky ? allSkyGeometry(W, H) : null;
  const fwhmPx = fwhmAt(inp.optics.defocus, inp.defocusSteps);
  const cover = inp.cover ?? cloudCoverOf(inp.sky, inp.frameIndex);
  let stars: FrameStar[] = [];
  let trail: Trail | null = null;
  const photons = inp.frameType === 'light' && !inp.shutterClosed;
  const illum = inp.fixed.illumination;
  const cfaColour = (c: readonly number[], x: number, y: number) => (cfa ? c[cfa[(x & 1) | ((y & 1) << 1)]!]! : (c[0]! + c[1]! + c[2]!) / 3);

  if (photons && inp.scene === 'sky') {
    stars = inp.allSky && geo
      ? allSkyStars(inp.allSky.trees, inp.allSky.catalogue, geo, inp.allSky.at, inp.allSky.lat, inp.allSky.lon)
      : starsInFrame(inp.sky.stars, transform, W, H, 4 * fwhmPx + 8);
    for (const s of stars) stampStar({ width: W, height: H, channels: ch, data: rate, cfa }, s.fx, s.fy, s.flux, s.colour, fwhmPx, inp.optics.psf);
    trail = trailOf(inp.sky, inp.seed, W, H, inp.frameIndex);
    if (trail) drawTrail(rate, W, H, ch, trail, fwhmPx, inp.exposureS, (x, y) => cfaColour([1, 1, 1], x, y));
    if (inp.allSky && geo) stampBodies(inp, geo, rate, ch, cfa, fwhmPx);
    inp.check?.();
    const sunGlow = inp.sky.skyGlow * sunGlowFactor(inp.sunAltitudeDeg);
    const moonGlow = inp.sky.skyGlow * moonGlowFactor(inp.moon ?? null);
    const glow = sunGlow + moonGlow;
    const moonUp = inp.moon && inp.moon.altDeg > 0 ? inp.moon : null;
    const sunUp = inp.sun && inp.sun.altDeg > 0 ? inp.sun : null;
    const cloudShift = inp.cloudShiftPx ?? 3 * inp.frameIndex;
    const cloudSeed = mixSeed(inp.seed, STREAM.clouds);
    const scale = Math.max(16, W / 4);
    for (let y = 0; y < H; y++) {
      let g = glow * (1 + (0.6 * y) / H); // brighter toward the horizon below
      for (let x = 0; x < W; x++) {
        if (inp.allSky && geo) {
          // Fisheye: glow rises toward the horizon (longer path through the air); trees and the area
          // outside the horizon circle get almost no light, and hide the stars behind them.
          const { alt, az } = unprojectFisheye(geo, x, y);
          if (alt < 0 || alt < treeLineAt(inp.allSky.trees, az)) {
            const o = (y * W + x) * ch;
            const dim = alt < 0 ? 0 : 0.03 * glow;
            if (ch === 3) for (let c = 0; c < 3; c++) rate[o + c] = dim * GLOW_COLOUR[c]! * illum[y * W + x]!;
            else rate[o] = dim * cfaColour(GLOW_COLOUR, x, y) * illum[y * W + x]!;
            continue;
          }
          g = glow * (1 + 1.5 * (1 - Math.sin((alt * Math.PI) / 180)));
          // Forward scattering: a halo around the moon and, by day, the sun.
          if (moonUp) g += moonGlow * aureole(angularDistanceDeg(alt, az, moonUp.altDeg, moonUp.azDeg), 10);
          if (sunUp) g += sunGlow * aureole(angularDistanceDeg(alt, az, sunUp.altDeg, sunUp.azDeg), 15);
        }
        let opacity = 0;
        if (cover > 0) opacity = smoothstep(1 - cover - 0.08, 1 - cover + 0.12, fbm(cloudSeed, x + cloudShift, y, scale, 4));
        const trans = 1 - 0.97 * opacity;
        const lit = g * (1 + 4 * opacity); // clouds reflect the light pollution
        const f = illum[y * W + x]!;
        const o = (y * W + x) * ch;
        if (ch === 3) for (let c = 0; c < 3; c++) rate[o + c] = (rate[o + c]! * trans + lit * GLOW_COLOUR[c]!) * f;
        else rate[o] = (rate[o]! * trans + lit * cfaColour(GLOW_COLOUR, x, y)) * f;
      }
    }
  } else if (photons) {
    let rad = inp.dayRadiance ? inp.dayRadiance.slice() : renderRadiance({ width: W, height: H, seed: inp.seed, clouds: cover });
    // A landscape has no seeing: only the defocus disc blurs it, by each pixel's distance from its focus.
    const k = inp.optics.defocus.blurPxPerStep / FWHM_PER_SIGMA;
    if (inp.focusOffsets) {
      const sigma = new Float32Array(W * H);
      for (let i = 0; i < sigma.length; i++) sigma[i] = k * Math.abs(inp.defocusSteps - inp.focusOffsets[i]!);
      variableBlur(rad, W, H, 3, sigma);
    } else {
      gaussianBlur(rad, W, H, 3, k * Math.abs(inp.defocusSteps));
    }
    if (inp.scale !== undefined && inp.scale !== 1) rad = magnify(rad, W, H, 3, inp.scale);
    inp.check?.();
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const f = illum[y * W + x]!;
        const i = y * W + x;
        if (ch === 3) for (let c = 0; c < 3; c++) rad[i * 3 + c] = rad[i * 3 + c]! * f;
        else rate[i] = cfaColour([rad[i * 3]!, rad[i * 3 + 1]!, rad[i * 3 + 2]!], x, y) * f;
      }
    }
    if (ch === 3) rate = rad;
  } else if (inp.frameType === 'flat') {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const f = FLAT_RATE * illum[y * W + x]!;
        const o = (y * W + x) * ch;
        if (ch === 3) for (let c = 0; c < 3; c++) rate[o + c] = f * FLAT_COLOUR[c]!;
        else rate[o] = f * cfaColour(FLAT_COLOUR, x, y);
      }
    }
  }

  const roi = inp.roi ?? { x: 0, y: 0, width: W, height: H };
  const b = inp.binning;
  const cropped = cropBin(rate, W, ch, roi, b);
  const outW = Math.floor(roi.width / b);
  const outH = Math.floor(roi.height / b);
  let dark: DarkSignal | null = null;
  if (inp.frameType !== 'bias') {
    const scale = 2 ** ((inp.sensorTempC - 20) / 6); // hot pixels follow the same doubling as dark current
    const hot = new Map<number, number>();
    for (let k = 0; k < inp.fixed.hot.index.length; k++) {
      const i = inp.fixed.hot.index[k]!;
      const ox = Math.floor(((i % W) - roi.x) / b);
      const oy = Math.floor((Math.floor(i / W) - roi.y) / b);
      if (ox < 0 || oy < 0 || ox >= outW || oy >= outH) continue;
      const o = oy * outW + ox;
      hot.set(o, (hot.get(o) ?? 0) + inp.fixed.hot.rate[k]! * scale);
    }
    const hotIndex = Uint32Array.from([...hot.keys()].sort((p, q) => p - q));
    dark = { uniform: darkRateAt(inp.sensor, inp.sensorTempC) * b * b, hotIndex, hotRate: Float32Array.from(hotIndex, (o) => hot.get(o)!) };
  }
  const rng = new Rng(mixSeed(inp.seed, STREAM.noise, inp.frameIndex));
  const exposureS = inp.frameType === 'bias' ? 0 : inp.exposureS;
  const adu = exposeToAdu({ rate: cropped, channels: ch, dark, exposureS, gain: inp.gain, model: inp.sensor, rng, check: inp.check });
  // A mosaic keeps its pattern only if the crop starts on an even pixel and nothing was binned.
  let bayer: BayerPattern | null = null;
  if (cfa && inp.bayer && b === 1) bayer = shiftPattern(inp.bayer, roi.x & 1, roi.y & 1);
  return { adu, width: outW, height: outH, channels: ch, bayer, transform, stars, cloudCover: cover, trail, fwhmPx, whitePointAdu: whitePointAdu(inp.sensor, inp.gain) };
}

/** Moon and sun discs on the fisheye: point sources of their magnitude (they saturate), behind the trees like stars. */
function stampBodies(inp: RenderInput, geo: ReturnType<typeof allSkyGeometry>, rate: Float32Array, ch: 1 | 3, cfa: Uint8Array | undefined, fwhmPx: number): void {
  const sky = inp.allSky!;
  const zp = sky.zeroPointFlux ?? 3e5;
  // Discs a little wider than a star: half a degree across on the fisheye scale, at least the seeing.
  const discPx = Math.max(fwhmPx, (geo.radius * 0.5) / 90);
  const bodies: { altDeg: number; azDeg: number; mag: number; colour: [number, number, number] }[] = [];
  if (inp.moon && inp.moon.altDeg > 0) bodies.push({ altDeg: inp.moon.altDeg, azDeg: inp.moon.azDeg, mag: inp.moon.mag, colour: [1, 1, 0.95] });
  if (inp.sun && inp.sun.altDeg > 0) bodies.push({ altDeg: inp.sun.altDeg, azDeg: inp.sun.azDeg, mag: SUN_MAG, colour: [1, 1, 0.9] });
  for (const b of bodies) {
    if (b.altDeg < treeLineAt(sky.trees, b.azDeg)) continue;
    const [fx, fy] = projectFisheye(geo, b.altDeg, b.azDeg);
    const flux = zp * 10 ** (-0.4 * (b.mag + EXTINCTION_MAG * airmass(b.altDeg)));
    stampStar({ width: geo.width, height: geo.height, channels: ch, data: rate, cfa }, fx, fy, flux, b.colour, discPx, 'gaussian');
  }
}

/** Crop to `roi` (full-frame px) and sum b×b blocks. */
function cropBin(src: Float32Array, W: number, ch: number, roi: Roi, b: number): Float32Array {
  if (b === 1 && roi.x === 0 && roi.y === 0 && roi.width === W && src.length === roi.width * roi.height * ch) return src;
  const outW = Math.floor(roi.width / b);
  const outH = Math.floor(roi.height / b);
  const out = new Float32Array(outW * outH * ch);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < ch; c++) {
        let s = 0;
        for (let j = 0; j < b; j++) for (let i = 0; i < b; i++) s += src[((roi.y + y * b + j) * W + roi.x + x * b + i) * ch + c]!;
        out[(y * outW + x) * ch + c] = s;
      }
    }
  }
  return out;
}

/** Pattern seen by a crop starting at an odd column/row. */
export function shiftPattern(p: BayerPattern, dx: number, dy: number): BayerPattern {
  let s = p as string;
  if (dx) s = s[1]! + s[0]! + s[3]! + s[2]!;
  if (dy) s = s[2]! + s[3]! + s[0]! + s[1]!;
  return s as BayerPattern;
}

/** ADU → normalised samples for the file: linear 16-bit for FITS, through the response curve for JPEG/PNG. */
export function toOutputSamples(f: RenderedFrame, format: SimFormat, response: ResponseName, biasAdu: number): Float32Array {
  const out = new Float32Array(f.adu.length);
  if (format === 'fits') {
    for (let i = 0; i < out.length; i++) out[i] = f.adu[i]! / 65535;
    return out;
  }
  // One response evaluation per ADU code, not per sample.
  const inv = 1 / f.whitePointAdu;
  const lut = new Float32Array(65536);
  for (let a = 0; a < 65536; a++) lut[a] = applyResponse(response, (a - biasAdu) * inv);
  for (let i = 0; i < out.length; i++) out[i] = lut[f.adu[i]!]!;
  return out;
}

function smoothstep(a: number, b: number, x: number): number {
  const t = Math.max(0, Math.min(1, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
}

/** Scale an interleaved image about its centre by `s` (bilinear, edges clamped): focus breathing. */
export function magnify(src: Float32Array, W: number, H: number, ch: number, s: number): Float32Array {
  const out = new Float32Array(src.length);
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  for (let y = 0; y < H; y++) {
    const sy = Math.min(H - 1, Math.max(0, cy + (y - cy) / s));
    const y0 = Math.min(H - 2, Math.floor(sy));
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(W - 1, Math.max(0, cx + (x - cx) / s));
      const x0 = Math.min(W - 2, Math.floor(sx));
      const fx = sx - x0;
      const a = (y0 * W + x0) * ch;
      const b = a + W * ch;
      for (let c = 0; c < ch; c++) {
        const top = src[a + c]! + (src[a + ch + c]! - src[a + c]!) * fx;
        const bot = src[b + c]! + (src[b + ch + c]! - src[b + c]!) * fx;
        out[(y * W + x) * ch + c] = top + (bot - top) * fy;
      }
    }
  }
  return out;
}
