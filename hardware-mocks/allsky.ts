// All-sky (fisheye) view of the night sky: stars on the celestial sphere turned by the Earth's rotation
// for the site and time, projected by an equidistant 180° fisheye looking at the zenith (north up,
// east left, as seen from below), dimmed by extinction toward the horizon and hidden behind a
// silhouette of trees. What an all-sky station's camera sees, and why its stars do not simply drift.
import { Rng, STREAM, fbm, mixSeed } from './random.js';
import type { FrameStar } from './stars.js';

export interface SphereStar {
  id: number;
  /** Right ascension and declination (degrees). */
  ra: number;
  dec: number;
  mag: number;
  /** e-/s at gain 1 above the atmosphere. */
  flux: number;
  colour: [number, number, number];
}

export interface AllSkyGeometry {
  width: number;
  height: number;
  /** Image centre (zenith) and radius of the horizon circle (px). */
  cx: number;
  cy: number;
  radius: number;
}

export function allSkyGeometry(width: number, height: number): AllSkyGeometry {
  return { width, height, cx: (width - 1) / 2, cy: (height - 1) / 2, radius: 0.48 * Math.min(width, height) };
}

const RAD = Math.PI / 180;
/** Extinction at the zenith (mag per airmass). */
export const EXTINCTION_MAG = 0.25;

/** The whole sky's stars for a seed: uniform on the sphere, log N(<m) rising 0.3 per magnitude. */
export function sphereCatalogue(seed: number, count: number, magMin: number, magMax: number, zeroPointFlux: number): SphereStar[] {
  const rng = new Rng(mixSeed(seed, STREAM.stars, 0x5c7));
  const lo = 10 ** (0.3 * magMin);
  const hi = 10 ** (0.3 * magMax);
  const out: SphereStar[] = [];
  for (let id = 0; id < count; id++) {
    const ra = 360 * rng.uniform();
    const dec = Math.asin(2 * rng.uniform() - 1) / RAD;
    const mag = Math.log10(lo + rng.uniform() * (hi - lo)) / 0.3;
    const bv = -0.3 + 2.0 * rng.uniform() ** 1.5;
    const r = Math.max(0.2, 1 + 0.35 * (bv - 0.6));
    const b = Math.max(0.2, 1 - 0.35 * (bv - 0.6));
    out.push({ id, ra, dec, mag, flux: zeroPointFlux * 10 ** (-0.4 * mag), colour: [r, 1, b] });
  }
  return out.sort((a, b) => a.mag - b.mag);
}

/** Local sidereal time (degrees) at a longitude (east positive). */
export function localSiderealDeg(at: Date, lonDeg: number): number {
  const d = at.getTime() / 86400000 + 2440587.5 - 2451545.0; // days since J2000.0
  const gmst = 280.46061837 + 360.98564736629 * d;
  return (((gmst + lonDeg) % 360) + 360) % 360;
}

/** Altitude and azimuth (degrees; azimuth from north through east) of a star. */
export function altAz(raDeg: number, decDeg: number, latDeg: number, lstDeg: number): { alt: number; az: number } {
  const h = (lstDeg - raDeg) * RAD;
  const dec = decDeg * RAD;
  const lat = latDeg * RAD;
  const sinAlt = Math.sin(lat) * Math.sin(dec) + Math.cos(lat) * Math.cos(dec) * Math.cos(h);
  const alt = Math.asin(Math.max(-1, Math.min(1, sinAlt)));
  const az = Math.atan2(-Math.cos(dec) * Math.sin(h), Math.sin(dec) * Math.cos(lat) - Math.cos(dec) * Math.cos(h) * Math.sin(lat));
  return { alt: alt / RAD, az: ((az / RAD) % 360 + 360) % 360 };
}

/** Equidistant fisheye: zenith at the centre, horizon on the circle, north up, east left. */
export function projectFisheye(g: AllSkyGeometry, altDeg: number, azDeg: number): [number, number] {
  const r = (g.radius * (90 - altDeg)) / 90;
  return [g.cx - r * Math.sin(azDeg * RAD), g.cy - r * Math.cos(azDeg * RAD)];
}

/** Inverse: altitude (degrees) and azimuth of pixel (x, y); altitude < 0 outside the circle. */
export function unprojectFisheye(g: AllSkyGeometry, x: number, y: number): { alt: number; az: number } {
  const dx = g.cx - x;
  const dy = g.cy - y;
  const r = Math.hypot(dx, dy);
  return { alt: 90 - (90 * r) / g.radius, az: ((Math.atan2(dx, dy) / RAD) % 360 + 360) % 360 };
}

/** Height (degrees) of the tree line at an azimuth: 0 to ~8°, fixed by the seed. */
export function treeLineDeg(seed: number, azDeg: number): number {
  const n = fbm(mixSeed(seed, STREAM.scene, 0xa11), azDeg * 4, 0, 40, 4);
  return Math.max(0, 14 * (n - 0.35));
}

/** Tree line in 0.25° azimuth bins (per-pixel lookups would evaluate the noise millions of times). */
export function treeLineTable(seed: number): Float32Array {
  const t = new Float32Array(1440);
  for (let i = 0; i < t.length; i++) t[i] = treeLineDeg(seed, i / 4);
  return t;
}

export function treeLineAt(table: Float32Array, azDeg: number): number {
  return table[Math.floor(azDeg * 4) % 1440]!;
}

export function airmass(altDeg: number): number {
  return 1 / Math.max(0.05, Math.sin(Math.max(altDeg, 0.5) * RAD));
}

/** Stars above the tree line at a time, with pixel positions and flux after extinction (brightest first). */
export function allSkyStars(trees: Float32Array, cat: SphereStar[], g: AllSkyGeometry, at: Date, latDeg: number, lonDeg: number): FrameStar[] {
  const lst = localSiderealDeg(at, lonDeg);
  const out: FrameStar[] = [];
  for (const s of cat) {
    const { alt, az } = altAz(s.ra, s.dec, latDeg, lst);
    if (alt <= 0 || alt < treeLineAt(trees, az)) continue;
    const [fx, fy] = projectFisheye(g, alt, az);
    const flux = s.flux * 10 ** (-0.4 * EXTINCTION_MAG * airmass(alt));
    out.push({ id: s.id, x: fx, y: fy, fx, fy, mag: s.mag, flux, bv: 0, colour: s.colour });
  }
  return out;
}
