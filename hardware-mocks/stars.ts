// The star field: an endless sky plane tiled in cells, each cell's stars drawn from a stream keyed by
// (seed, cell), so any drifted or rotated frame finds the same stars without a stored catalogue.
// Sky coordinates are the pixel coordinates of frame 0 (frame 0 shows the sky unshifted).
import { Rng, STREAM, mixSeed } from './random.js';

export interface SimStar {
  /** Stable id: the same star keeps it in every frame. */
  id: number;
  /** Sky-plane position = its pixel position in frame 0 (px, pixel centres at integers). */
  x: number;
  y: number;
  mag: number;
  /** Photo-electrons per second at gain 1 before vignetting and clouds. */
  flux: number;
  /** B−V colour index; sets the RGB weights. */
  bv: number;
  /** Relative response in R, G, B (mean 1). */
  colour: [number, number, number];
}

export interface StarFieldOptions {
  seed: number;
  /** Mean stars per frameArea px². */
  starsPerFrame: number;
  frameArea: number;
  magMin: number;
  magMax: number;
  /** e-/s of a magnitude-0 star. */
  zeroPointFlux: number;
}

export const STAR_CELL_PX = 256;
/** Slope of log10 N(<m) per magnitude: faint stars outnumber bright ones as on the real sky. */
const COUNT_SLOPE = 0.3;

function colourOf(bv: number): [number, number, number] {
  // Hot (blue) to cool (red) stars; mean weight 1 so mono flux is the catalogue flux.
  const r = 1 + 0.35 * (bv - 0.6);
  const b = 1 - 0.35 * (bv - 0.6);
  return [Math.max(0.2, r), 1, Math.max(0.2, b)];
}

export function starsInCell(o: StarFieldOptions, cx: number, cy: number): SimStar[] {
  const rng = new Rng(mixSeed(o.seed, STREAM.stars, cx, cy));
  const mean = (o.starsPerFrame * STAR_CELL_PX * STAR_CELL_PX) / o.frameArea;
  const n = rng.poisson(mean);
  const lo = 10 ** (COUNT_SLOPE * o.magMin);
  const hi = 10 ** (COUNT_SLOPE * o.magMax);
  const out: SimStar[] = [];
  for (let k = 0; k < n; k++) {
    const x = (cx + rng.uniform()) * STAR_CELL_PX;
    const y = (cy + rng.uniform()) * STAR_CELL_PX;
    const mag = Math.log10(lo + rng.uniform() * (hi - lo)) / COUNT_SLOPE;
    const bv = -0.3 + 2.0 * rng.uniform() ** 1.5;
    // Id from the cell and index: unique for cells within ±32768.
    const id = ((cx + 32768) * 65536 + (cy + 32768)) * 1024 + k;
    out.push({ id, x, y, mag, flux: o.zeroPointFlux * 10 ** (-0.4 * mag), bv, colour: colourOf(bv) });
  }
  return out;
}

/** All stars whose sky position lies in the box (inclusive), brightest first. */
export function starsInBox(o: StarFieldOptions, x0: number, y0: number, x1: number, y1: number): SimStar[] {
  const out: SimStar[] = [];
  for (let cy = Math.floor(y0 / STAR_CELL_PX); cy <= Math.floor(y1 / STAR_CELL_PX); cy++) {
    for (let cx = Math.floor(x0 / STAR_CELL_PX); cx <= Math.floor(x1 / STAR_CELL_PX); cx++) {
      for (const s of starsInCell(o, cx, cy)) if (s.x >= x0 && s.x <= x1 && s.y >= y0 && s.y <= y1) out.push(s);
    }
  }
  return out.sort((a, b) => a.mag - b.mag);
}

/** Per-frame motion of the field on the sensor: rotation about the frame centre, then shift. */
export interface FrameTransform {
  dx: number;
  dy: number;
  rotationDeg: number;
  /** Rotation centre (frame centre, px). */
  cx: number;
  cy: number;
}

/** Sky (frame-0 pixel) → this frame's pixel coordinates. */
export function skyToFrame(t: FrameTransform, x: number, y: number): [number, number] {
  const a = (t.rotationDeg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const u = x - t.cx;
  const v = y - t.cy;
  return [c * u - s * v + t.cx + t.dx, s * u + c * v + t.cy + t.dy];
}

/** This frame's pixel → sky (frame-0 pixel) coordinates. */
export function frameToSky(t: FrameTransform, x: number, y: number): [number, number] {
  const a = (-t.rotationDeg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const u = x - t.cx - t.dx;
  const v = y - t.cy - t.dy;
  return [c * u - s * v + t.cx, s * u + c * v + t.cy];
}

export interface FrameStar extends SimStar {
  /** Position in this frame (px). */
  fx: number;
  fy: number;
}

/** Stars whose centre falls within the frame grown by `margin` px (so PSF wings at edges are drawn). */
export function starsInFrame(o: StarFieldOptions, t: FrameTransform, width: number, height: number, margin = 0): FrameStar[] {
  const corners = [
    frameToSky(t, -margin, -margin),
    frameToSky(t, width + margin, -margin),
    frameToSky(t, -margin, height + margin),
    frameToSky(t, width + margin, height + margin),
  ];
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const out: FrameStar[] = [];
  for (const s of starsInBox(o, Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys))) {
    const [fx, fy] = skyToFrame(t, s.x, s.y);
    if (fx >= -margin && fx <= width + margin && fy >= -margin && fy <= height + margin) out.push({ ...s, fx, fy });
  }
  return out;
}
