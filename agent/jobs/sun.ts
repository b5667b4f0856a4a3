// Day/night from the sun's altitude at the site (suncalc: a well-kept implementation of the
// standard low-precision solar position, good to ~0.1° — plenty for twilight thresholds).
import SunCalc from 'suncalc';

export function sunAltitudeDeg(at: Date, latitude: number, longitude: number): number {
  return (SunCalc.getPosition(at, latitude, longitude).altitude * 180) / Math.PI;
}

export function isNight(at: Date, latitude: number, longitude: number, nightSunAltitude: number): boolean {
  return sunAltitudeDeg(at, latitude, longitude) < nightSunAltitude;
}

export function moonInfo(at: Date, latitude: number, longitude: number): { altitudeDeg: number; illumination: number } {
  const pos = SunCalc.getMoonPosition(at, latitude, longitude);
  return { altitudeDeg: (pos.altitude * 180) / Math.PI, illumination: SunCalc.getMoonIllumination(at).fraction };
}
