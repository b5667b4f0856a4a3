// Daytime high-dynamic-range scene: sun disk and aureole, lit clouds, a blue sky gradient and a dark
// ground under a horizon silhouette with texture in the shadows. Radiance is in photo-electrons per
// second per pixel at gain 1, so a frame is just radiance × exposure through the sensor model.
// Spans more than five decades: sun 3e8, clouds ~3e5, sky ~5e4, ground 1e3–1e4, deepest shadows ~1e2 e-/s.
import { STREAM, fbm, hashUnit, mixSeed } from './random.js';

export interface DayScene {
  width: number;
  height: number;
  seed: number;
  /** Extra cloud cover 0..1 over the seed's own fair-weather clouds. */
  clouds?: number;
  /** Cloud drift in px per frame and the frame index (0 = static scene). */
  cloudShift?: number;
}

export interface DayGeometry {
  sunX: number;
  sunY: number;
  sunRadius: number;
  /** Horizon row at each column (ground below). */
  horizon: Float32Array;
  /** Mean horizon row (the sky gradient's reference). */
  horizonBase: number;
}

export const SUN_RADIANCE = 3e8;

export function dayGeometry(s: DayScene): DayGeometry {
  const seed = mixSeed(s.seed, STREAM.scene);
  const u = (k: number) => hashUnit(seed, k, 0);
  const sunX = s.width * (0.25 + 0.5 * u(1));
  const sunY = s.height * (0.12 + 0.2 * u(2));
  const sunRadius = Math.max(2.5, 0.012 * s.width);
  const horizon = new Float32Array(s.width);
  const base = 0.68 * s.height;
  const p1 = u(3) * 6.28;
  const p2 = u(4) * 6.28;
  for (let x = 0; x < s.width; x++) {
    const t = x / s.width;
    // Hills, then tree crowns and a few rooftops as sharp silhouette detail.
    let h = 0.05 * s.height * Math.sin(2 * Math.PI * (t * 1.3) + p1) + 0.025 * s.height * Math.sin(2 * Math.PI * (t * 3.7) + p2);
    const tree = fbm(seed + 11, x, 0, Math.max(4, s.width / 60), 3);
    if (tree > 0.55) h += (tree - 0.55) * 0.25 * s.height;
    const block = Math.floor(t * 9);
    if (hashUnit(seed, 100 + block, 1) > 0.7) h += 0.06 * s.height * hashUnit(seed, 200 + block, 1);
    horizon[x] = base - h;
  }
  return { sunX, sunY, sunRadius, horizon, horizonBase: base };
}

/** Ground-truth radiance (RGB interleaved, e-/s/px at gain 1) of the day scene. */
export function renderRadiance(s: DayScene): Float32Array {
  const { width: w, height: h } = s;
  const g = dayGeometry(s);
  const seed = mixSeed(s.seed, STREAM.scene);
  const out = new Float32Array(w * h * 3);
  const cover = Math.min(1, 0.35 + 0.65 * (s.clouds ?? 0));
  const shift = s.cloudShift ?? 0;
  const cloudScale = Math.max(8, w / 5);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const hz = g.horizon[x]!;
      if (y < hz) {
        // Sky: deeper blue at the top, paler toward the horizon.
        const t = Math.min(1, y / g.horizonBase); // by a fixed line, so silhouettes leave no streaks
        let r = 1.5e4 + 4.5e4 * t * t;
        let gg = 3.0e4 + 4.0e4 * t * t;
        let b = 8.0e4 + 1.5e4 * t;
        // Clouds: bright where thick, with darker grey undersides.
        const n = fbm(seed + 31, x + shift, y * 1.8, cloudScale, 5);
        const thick = smoothstep(1 - cover, 1 - cover + 0.25, n);
        if (thick > 0) {
          const under = fbm(seed + 47, x + shift, y * 1.8, cloudScale / 3, 3);
          const c = 1.2e5 + 3.0e5 * (1 - thick * 0.7) * under + 1.2e5 * (1 - t);
          r += (c - r) * thick;
          gg += (c - gg) * thick;
          b += (c * 1.02 - b) * thick;
        }
        // Sun: limb-darkened disk, then an aureole falling as 1/r² that lights the clouds near it.
        const dx = x - g.sunX;
        const dy = y - g.sunY;
        const d = Math.sqrt(dx * dx + dy * dy);
        if (d <= g.sunRadius) {
          const mu = Math.sqrt(1 - (d / g.sunRadius) ** 2);
          const L = SUN_RADIANCE * (0.4 + 0.6 * mu);
          r = L;
          gg = L * 0.97;
          b = L * 0.9;
        } else {
          const aur = 3e6 * (g.sunRadius / d) ** 2 * (1 + 2 * thick);
          r += aur;
          gg += aur * 0.95;
          b += aur * 0.85;
        }
        out[o] = r;
        out[o + 1] = gg;
        out[o + 2] = b;
      } else {
        // Ground: dark, with field texture, and deep shadows near the horizon line.
        const depth = (y - hz) / Math.max(1, h - hz);
        const tex = fbm(seed + 53, x, y, Math.max(4, w / 12), 5);
        const fine = hashUnit(seed + 59, x, y);
        const furrow = 0.5 + 0.5 * Math.sin((x + 0.3 * y) * 0.45 + 8 * tex);
        const shade = y - hz < 3 ? 0.15 : 0.3 + 0.7 * depth;
        const L = 4e3 * shade * (0.2 + 2.2 * tex * tex) * (0.6 + 0.4 * furrow) * (0.7 + 0.6 * fine) * pebble(seed, x, y);
        out[o] = L * 1.0;
        out[o + 1] = L * 1.1;
        out[o + 2] = L * 0.7;
      }
    }
  }
  return out;
}

function smoothstep(a: number, b: number, x: number): number {
  const t = Math.max(0, Math.min(1, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
}

/**
 * Depth truth of the day scene as focus: the focuser offset (steps, relative to best focus at infinity)
 * that brings each pixel into focus. Sky and horizon are at infinity (0); the ground comes nearer toward
 * the bottom row, reaching `nearFocus`.
 */
export function focusOffsetMap(s: DayScene, nearFocus: number): Float32Array {
  const g = dayGeometry(s);
  const out = new Float32Array(s.width * s.height);
  if (nearFocus === 0) return out;
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const hz = g.horizon[x]!;
      if (y >= hz) out[y * s.width + x] = nearFocus * ((y - hz) / Math.max(1, s.height - 1 - hz)) ** 1.5;
    }
  }
  return out;
}

const PEBBLE_CELL = 10;

/** Stones scattered on the ground, one at most per 10-px cell: sharp, high-contrast detail to focus on. */
function pebble(seed: number, x: number, y: number): number {
  const cx = Math.floor(x / PEBBLE_CELL);
  const cy = Math.floor(y / PEBBLE_CELL);
  let f = 1;
  // A stone may reach into the neighbouring cells.
  for (let j = cy - 1; j <= cy + 1; j++) {
    for (let i = cx - 1; i <= cx + 1; i++) {
      if (hashUnit(seed + 61, i, j) > 0.6) continue;
      const px = (i + hashUnit(seed + 67, i, j)) * PEBBLE_CELL;
      const py = (j + hashUnit(seed + 71, i, j)) * PEBBLE_CELL;
      const r = 1.2 + 3 * hashUnit(seed + 73, i, j);
      if ((x - px) ** 2 + (y - py) ** 2 <= r * r) f = hashUnit(seed + 79, i, j) < 0.5 ? 0.25 : 2.8;
    }
  }
  return f;
}
