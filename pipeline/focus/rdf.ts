// Ring Difference Filter focus response (Surh et al., CVPR 2017; the focus_response library):
// at each pixel, mean over a ring (inner..outer radius) minus mean over the inner disk, taken as
// |d| or d². In focus, a pixel differs from its surroundings; out of focus the disk and ring agree.
// Several (inner, outer) pairs give several scales, each normalised and summed.
//
// Disk sums use one prefix sum per (border-extended) row and one horizontal run per disk row, so the
// cost per pixel is O(radius), not O(radius²), and a band of rows is all that is ever needed.
import { borderTable, type BorderMode } from './border.js';
import type { Band } from './plane.js';

export type RdfPower = 1 | 2;
export type RdfNormalize = 'none' | 'p99' | 'mad';
export type RadiiPair = readonly [inner: number, outer: number];

export const DEFAULT_RADII: RadiiPair[] = [[1, 3], [2, 5], [3, 7]];

export function parseRadii(text: string, field = '--radii'): RadiiPair[] {
  const pairs = text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\d+):(\d+)$/.exec(s);
    if (!m) throw new Error(`${field}: expected inner:outer pairs like 1:3,2:5,3:7, got '${s}'`);
    const inner = Number(m[1]);
    const outer = Number(m[2]);
    if (!(inner >= 1 && outer > inner)) throw new Error(`${field}: need 1 <= inner < outer, got '${s}'`);
    return [inner, outer] as const;
  });
  if (pairs.length === 0) throw new Error(`${field}: no radii pairs given`);
  return pairs;
}

/** Horizontal half-widths of a disk of radius r for dy = -r..r (pixels with dx²+dy² <= r²). */
function diskHalfWidths(r: number): Int32Array {
  const hw = new Int32Array(2 * r + 1);
  for (let dy = -r; dy <= r; dy++) hw[dy + r] = Math.floor(Math.sqrt(r * r - dy * dy) + 1e-9);
  return hw;
}

export function rdfHalo(radii: readonly RadiiPair[]): number {
  return Math.max(...radii.map((p) => p[1]));
}

/**
 * Per-scale RDF responses for the interior rows of `band` (band.halo must be >= max outer radius).
 * Returns one Float32Array(rows*width) per radii pair.
 */
export function rdfBand(band: Band, radii: readonly RadiiPair[], power: RdfPower, border: BorderMode): Float32Array[] {
  const w = band.width;
  const R = rdfHalo(radii);
  if (band.halo < R) throw new Error(`rdf: band halo ${band.halo} < radius ${R}`);
  const ew = w + 2 * R; // extended row
  const cols = borderTable(w, R, border);
  // Prefix sums of the border-extended rows that the kernel can reach.
  const firstRow = band.halo - R;
  const nRows = band.rows + 2 * R;
  const prefix = new Float64Array(nRows * (ew + 1));
  for (let r = 0; r < nRows; r++) {
    const src = (firstRow + r) * w;
    const o = r * (ew + 1);
    let acc = 0;
    prefix[o] = 0;
    for (let k = 0; k < ew; k++) {
      const c = cols[k]!;
      acc += c < 0 ? 0 : band.data[src + c]!;
      prefix[o + k + 1] = acc;
    }
  }
  const constant = border === 'constant';
  const outs: Float32Array[] = [];
  for (const [ri, ro] of radii) {
    const hwIn = diskHalfWidths(ri);
    const hwOut = diskHalfWidths(ro);
    let nIn = 0;
    let nOut = 0;
    for (const h of hwIn) nIn += 2 * h + 1;
    for (const h of hwOut) nOut += 2 * h + 1;
    const out = new Float32Array(band.rows * w);
    for (let y = 0; y < band.rows; y++) {
      const rowC = y + R; // centre row in prefix rows
      for (let x = 0; x < w; x++) {
        const xc = x + R; // centre column in extended coordinates
        let sIn = 0;
        let sOut = 0;
        for (let dy = -ro; dy <= ro; dy++) {
          const o = (rowC + dy) * (ew + 1);
          const h = hwOut[dy + ro]!;
          sOut += prefix[o + xc + h + 1]! - prefix[o + xc - h]!;
          if (dy >= -ri && dy <= ri) {
            const hi = hwIn[dy + ri]!;
            sIn += prefix[o + xc + hi + 1]! - prefix[o + xc - hi]!;
          }
        }
        let cIn = nIn;
        let cOut = nOut;
        if (constant) {
          // Only pixels inside the image count (coverage correction at the edges).
          cIn = coverage(band, y, x, w, ri, hwIn);
          cOut = coverage(band, y, x, w, ro, hwOut);
        }
        const cRing = cOut - cIn;
        const d = cRing > 0 && cIn > 0 ? (sOut - sIn) / cRing - sIn / cIn : 0;
        out[y * w + x] = power === 1 ? Math.abs(d) : d * d;
      }
    }
    outs.push(out);
  }
  return outs;
}

function coverage(band: Band, y: number, x: number, w: number, r: number, hw: Int32Array): number {
  let n = 0;
  for (let dy = -r; dy <= r; dy++) {
    if (!band.inside[band.halo + y + dy]) continue;
    const h = hw[dy + r]!;
    n += Math.min(x + h, w - 1) - Math.max(x - h, 0) + 1;
  }
  return n;
}

export interface ScaleNorm {
  /** Multiply then subtract: v' = max(0, (v - offset) * gain) ('none' is gain 1, offset 0). */
  gain: number;
  offset: number;
}

export function normFromStats(mode: RdfNormalize, stats: { p99: number; median: number; mad: number }): ScaleNorm {
  if (mode === 'none') return { gain: 1, offset: 0 };
  if (mode === 'p99') return { gain: 1 / (stats.p99 + 1e-8), offset: 0 };
  // Robust z-score, clamped at 0 (only "sharper than typical" counts).
  if (stats.mad < 1e-12) return { gain: 0, offset: 0 };
  return { gain: 1 / (1.4826 * stats.mad), offset: stats.median };
}

/** Sum normalised per-scale maps into `fused` (rows*width). */
export function fuseScales(maps: readonly Float32Array[], norms: readonly ScaleNorm[], fused: Float32Array): void {
  fused.fill(0);
  for (let s = 0; s < maps.length; s++) {
    const m = maps[s]!;
    const { gain, offset } = norms[s]!;
    if (offset === 0) {
      for (let i = 0; i < fused.length; i++) fused[i]! += m[i]! * gain;
    } else {
      for (let i = 0; i < fused.length; i++) {
        const v = (m[i]! - offset) * gain;
        if (v > 0) fused[i]! += v;
      }
    }
  }
}
