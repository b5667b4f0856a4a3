// Light in the sky over a day: the sun's glow from astronomical night to noon, the moon (position and
// phase from suncalc, brightness by the phase law), and passing clouds whose cover drifts with time.
// Pure functions of time and site; the renderer turns them into e-/s per pixel.
import SunCalc from 'suncalc';
import { valueNoise } from './random.js';

const RAD = Math.PI / 180;

/**
 * Sky glow multiplier from the sun's altitude: ×1 in astronomical night (sun below −18°), rising
 * ×10³ through twilight to the horizon, then ×10² more up to 25° (daylight ≈ 10⁵ × night).
 */
export function sunGlowFactor(sunAltitudeDeg: number | null): number {
  if (sunAltitudeDeg === null || sunAltitudeDeg <= -18) return 1;
  if (sunAltitudeDeg <= 0) return 10 ** ((3 * (sunAltitudeDeg + 18)) / 18);
  return 10 ** (3 + 2 * Math.min(1, sunAltitudeDeg / 25));
}

/** Full-moon glow over the whole sky relative to the night sky glow, at the moon's zenith. */
export const MOON_GLOW_FULL = 20;
/** Magnitude of the full moon above the atmosphere. */
export const MOON_FULL_MAG = -12.7;
/** Magnitude of the sun. */
export const SUN_MAG = -26.7;

export interface MoonState {
  altDeg: number;
  /** Azimuth from north through east (degrees). */
  azDeg: number;
  /** Illuminated fraction 0..1. */
  fraction: number;
  /** Phase angle (0 = full, 180 = new), degrees. */
  phaseAngleDeg: number;
  /** Brightness relative to the full moon (phase law of Allen: 0.026|α| + 4e-9 α⁴ mag). */
  relBrightness: number;
  /** Apparent magnitude above the atmosphere. */
  mag: number;
}

export function moonAt(at: Date, latDeg: number, lonDeg: number): MoonState {
  const p = SunCalc.getMoonPosition(at, latDeg, lonDeg);
  const ill = SunCalc.getMoonIllumination(at);
  const alpha = Math.acos(Math.max(-1, Math.min(1, 2 * ill.fraction - 1))) / RAD;
  const dm = 0.026 * alpha + 4e-9 * alpha ** 4;
  // suncalc's azimuth is from south toward west; ours from north toward east.
  const az = ((p.azimuth / RAD + 180) % 360 + 360) % 360;
  return { altDeg: p.altitude / RAD, azDeg: az, fraction: ill.fraction, phaseAngleDeg: alpha, relBrightness: 10 ** (-0.4 * dm), mag: MOON_FULL_MAG + dm };
}

export function sunAt(at: Date, latDeg: number, lonDeg: number): { altDeg: number; azDeg: number } {
  const p = SunCalc.getPosition(at, latDeg, lonDeg);
  return { altDeg: p.altitude / RAD, azDeg: ((p.azimuth / RAD + 180) % 360 + 360) % 360 };
}

/**
 * Moonlight scattered over the whole sky, as a multiple of the night sky glow: ×20 for a full moon
 * at the zenith, falling with the phase law and toward the horizon; 0 with the moon set.
 */
export function moonGlowFactor(m: MoonState | null): number {
  if (!m || m.altDeg <= 0) return 0;
  return MOON_GLOW_FULL * m.relBrightness * Math.sqrt(Math.sin(m.altDeg * RAD));
}

/** Angular distance (degrees) between two alt/az directions. */
export function angularDistanceDeg(alt1: number, az1: number, alt2: number, az2: number): number {
  const c = Math.sin(alt1 * RAD) * Math.sin(alt2 * RAD) + Math.cos(alt1 * RAD) * Math.cos(alt2 * RAD) * Math.cos((az1 - az2) * RAD);
  return Math.acos(Math.max(-1, Math.min(1, c))) / RAD;
}

/** Aureole around a bright body: extra glow (× the body's uniform glow) at `d` degrees from it. */
export function aureole(dDeg: number, widthDeg: number): number {
  return 3 / (1 + (dDeg / widthDeg) ** 2);
}

/**
 * Cloud cover at a time when clouds pass (`cloud_period` minutes): `clouds` × a smooth seeded noise of
 * time, so clear spells and overcast spells come and go over about one period.
 */
export function passingCover(seed: number, maxCover: number, periodMin: number, minutesSinceStart: number): number {
  const n = valueNoise(seed ^ 0x0c10d, minutesSinceStart / periodMin, 0.5);
  const t = Math.max(0, Math.min(1, (n - 0.3) / 0.4));
  return maxCover * t * t * (3 - 2 * t);
}

/** Cloud drift with passing clouds: pixels per minute of clock (wind), instead of 3 px per frame. */
export const CLOUD_WIND_PX_PER_MIN = 3;
