// Synthetic star fields with known truth, for tests and benches: stars with a Gaussian PSF
// integrated over each pixel, sky background, Gaussian noise, optional hot pixels, satellite
// trail, clouds (dimming + glow), and a known similarity transform (shift + rotation about the
// centre) from the reference sky to the frame.
import { createImage, type ImageF32 } from '../image/types.js';

export interface CatalogStar {
  x: number;
  y: number;
  flux: number; // total flux in 0..1 units × pixels
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussianRng(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    let a = 0, b = 0, r = 0;
    do { a = 2 * u() - 1; b = 2 * u() - 1; r = a * a + b * b; } while (r === 0 || r >= 1);
    const f = Math.sqrt(-2 * Math.log(r) / r);
    spare = b * f;
    return a * f;
  };
}

/** Random catalogue over a sky a bit larger than the frame (so shifted frames stay full). */
export function makeCatalog(seed: number, count: number, width: number, height: number, margin = 40, fluxRange: [number, number] = [0.05, 3]): CatalogStar[] {
  const r = mulberry32(seed);
  const stars: CatalogStar[] = [];
  for (let i = 0; i < count; i++) {
    // Power-law fluxes: many faint stars, few bright ones.
    const f = fluxRange[0] * Math.pow(fluxRange[1] / fluxRange[0], Math.pow(r(), 2.5));
    stars.push({ x: -margin + r() * (width + 2 * margin), y: -margin + r() * (height + 2 * margin), flux: f });
  }
  return stars;
}

export interface FieldTransform {
  dx: number;
  dy: number;
  /** Rotation in degrees about the frame centre. */
  rotDeg: number;
}

/** Where a sky (reference) point lands in the frame. */
export function skyToFrame(t: FieldTransform, width: number, height: number, x: number, y: number): [number, number] {
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const a = (t.rotDeg * Math.PI) / 180;
  const c = Math.cos(a), s = Math.sin(a);
  const u = x - cx, v = y - cy;
  return [c * u - s * v + cx + t.dx, s * u + c * v + cy + t.dy];
}

export interface RenderOptions {
  width: number;
  height: number;
  catalog: CatalogStar[];
  transform?: FieldTransform;
  fwhm?: number; // px, default 2.5
  background?: number; // default 0.05
  noise?: number; // Gaussian sigma, default 0.004
  /** Multiplies star fluxes and background (ISO/gain change, exposure). */
  gain?: number;
  /** 0..1 transparency of clouds (1 = clear); clouds also add a glow. */
  transparency?: number;
  seed?: number;
  hotPixels?: { x: number; y: number; value: number }[];
  trail?: { x0: number; y0: number; x1: number; y1: number; value: number; width?: number };
  /** Quantise to this many bits (8 or 16) like a real sensor file. */
  quantize?: 8 | 16;
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7.
  const s = x < 0 ? -1 : 1;
  x = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return s * y;
}

export function renderStarField(o: RenderOptions): ImageF32 {
  const { width: w, height: h } = o;
  const img = createImage(w, h, 1, o.quantize ?? 32);
  const d = img.data;
  const gain = o.gain ?? 1;
  const transp = o.transparency ?? 1;
  const bg = (o.background ?? 0.05) * gain + (1 - transp) * 0.08 * gain;
  d.fill(bg);
  const sigma = (o.fwhm ?? 2.5) / 2.3548;
  const t = o.transform ?? { dx: 0, dy: 0, rotDeg: 0 };
  const rad = Math.ceil(sigma * 5);
  const k = 1 / (Math.SQRT2 * sigma);
  const ex = new Float64Array(2 * rad + 2);
  const ey = new Float64Array(2 * rad + 2);
  for (const s of o.catalog) {
    const [fx, fy] = skyToFrame(t, w, h, s.x, s.y);
    if (fx < -rad || fy < -rad || fx > w + rad || fy > h + rad) continue;
    const flux = s.flux * gain * transp;
    const x0 = Math.round(fx) - rad, y0 = Math.round(fy) - rad;
    // Pixel-integrated Gaussian: separable differences of erf.
    for (let i = 0; i <= 2 * rad; i++) {
      ex[i] = 0.5 * (erf((x0 + i + 0.5 - fx) * k) - erf((x0 + i - 0.5 - fx) * k));
      ey[i] = 0.5 * (erf((y0 + i + 0.5 - fy) * k) - erf((y0 + i - 0.5 - fy) * k));
    }
    for (let j = 0; j <= 2 * rad; j++) {
      const y = y0 + j;
      if (y < 0 || y >= h) continue;
      for (let i = 0; i <= 2 * rad; i++) {
        const x = x0 + i;
        if (x < 0 || x >= w) continue;
        d[y * w + x] += flux * ex[i]! * ey[j]!;
      }
    }
  }
  if (o.trail) {
    const tr = o.trail;
    const len = Math.hypot(tr.x1 - tr.x0, tr.y1 - tr.y0);
    const nx = -(tr.y1 - tr.y0) / len, ny = (tr.x1 - tr.x0) / len;
    const half = (tr.width ?? 2) / 2;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const dist = Math.abs((x - tr.x0) * nx + (y - tr.y0) * ny);
        const along = ((x - tr.x0) * (tr.x1 - tr.x0) + (y - tr.y0) * (tr.y1 - tr.y0)) / len;
        if (dist <= half && along >= 0 && along <= len) d[y * w + x] += tr.value;
      }
    }
  }
  const noise = (o.noise ?? 0.004) * Math.sqrt(gain);
  const rng = gaussianRng(o.seed ?? 1);
  for (let i = 0; i < d.length; i++) d[i] += noise * rng();
  for (const hp of o.hotPixels ?? []) d[hp.y * w + hp.x] += hp.value;
  const q = o.quantize ? (o.quantize === 8 ? 255 : 65535) : 0;
  for (let i = 0; i < d.length; i++) {
    let v = d[i]!;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    d[i] = q ? Math.round(v * q) / q : v;
  }
  return img;
}
