// The sky level to hold, by sun and moon: a brighter target by day, a darker one at night (a night
// sky exposed to mid-grey washes out the stars), blended in log terms through twilight so the target
// never jumps; at night lowered when the moon is up and bright (moonlight would otherwise make the
// loop lengthen exposures into a washed-out grey and burn the moon's halo). Pure: altitudes in.
import type { ExposureMode } from './controller.js';

export interface TargetSettings {
  /** Target by day (sun at or above `dayAltitudeDeg`), 0..1 of full scale. */
  day: number;
  /** Target at night (sun at or below `nightAltitudeDeg`). */
  night: number;
  /** Sun altitude where night mode (and the night gain/limits) begins, e.g. −6. */
  nightAltitudeDeg: number;
  /** Sun altitude from which the day target holds (default 0). */
  dayAltitudeDeg?: number;
  /** Fraction the night target drops under a full moon at 30° or higher (default 0.5). */
  moonReduction?: number;
}

export interface MoonState {
  altitudeDeg: number;
  /** Illuminated fraction 0..1. */
  illumination: number;
}

export interface SkyTarget {
  mode: ExposureMode;
  target: number;
  /** How much of the night target the moon took away (0 = none). */
  moonFactor: number;
}

/** Moon dimming factor of the night target: illumination × height (full effect from 30° up). */
export function moonTargetFactor(moon: MoonState | null, reduction = 0.5): number {
  if (!moon || moon.altitudeDeg <= 0) return 1;
  const height = Math.min(1, Math.sin((moon.altitudeDeg * Math.PI) / 180) / Math.sin(Math.PI / 6));
  return 1 - Math.max(0, Math.min(1, reduction)) * Math.max(0, Math.min(1, moon.illumination)) * height;
}

export function skyTarget(sunAltitudeDeg: number, moon: MoonState | null, s: TargetSettings): SkyTarget {
  const dayAlt = Math.max(s.dayAltitudeDeg ?? 0, s.nightAltitudeDeg + 0.1);
  const moonFactor = moonTargetFactor(moon, s.moonReduction ?? 0.5);
  const night = s.night * moonFactor;
  const f = Math.max(0, Math.min(1, (sunAltitudeDeg - s.nightAltitudeDeg) / (dayAlt - s.nightAltitudeDeg)));
  const target = f >= 1 ? s.day : f <= 0 ? night : Math.exp(Math.log(night) + f * (Math.log(s.day) - Math.log(night)));
  return { mode: sunAltitudeDeg < s.nightAltitudeDeg ? 'night' : 'day', target, moonFactor: 1 - moonFactor };
}
