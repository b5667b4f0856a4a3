// Classic focus measures as per-pixel energy maps over bands, and their scalar scores.
// (Pertuz et al. 2013 survey names: GRA7 Tenengrad, LAP4 variance of Laplacian, LAP2 modified
// Laplacian, Sobel gradient magnitude, STA3 local variance, Brenner.)
import { borderTable, type BorderMode } from './border.js';
import { bandFromPlane, type Band, type GrayPlane } from './plane.js';

export type EnergyMeasure = 'tenengrad' | 'laplacian' | 'modified-laplacian' | 'sobel' | 'variance' | 'brenner';
export const ENERGY_MEASURES: readonly EnergyMeasure[] = ['tenengrad', 'laplacian', 'modified-laplacian', 'sobel', 'variance', 'brenner'];

export function parseEnergyMeasure(v: string, field = '--energy'): EnergyMeasure {
  if ((ENERGY_MEASURES as readonly string[]).includes(v)) return v as EnergyMeasure;
  throw new Error(`${field}: expected one of ${ENERGY_MEASURES.join('|')}, got '${v}'`);
}

/** Rows of context each measure needs above/below. */
export function measureHalo(m: EnergyMeasure, window = 5): number {
  if (m === 'variance') return window >> 1;
  if (m === 'brenner') return 2;
  return 1;
}

/**
 * Energy of the interior rows of a band (rows*width). For 'laplacian' the map is L² (its mean
 * over a region minus the squared mean is the variance of the Laplacian).
 */
export function energyBand(band: Band, m: EnergyMeasure, border: BorderMode, window = 5, out?: Float32Array): Float32Array {
  const w = band.width;
  const halo = measureHalo(m, window);
  if (band.halo < halo) throw new Error(`${m}: band halo ${band.halo} < ${halo}`);
  const res = out ?? new Float32Array(band.rows * w);
  const d = band.data;
  const pad = Math.max(2, halo);
  const cols = borderTable(w, pad, border);
  const at = (row: number, x: number): number => {
    const c = cols[x + pad]!;
    return c < 0 ? 0 : d[row * w + c]!;
  };
  for (let y = 0; y < band.rows; y++) {
    const r = band.halo + y;
    const o = y * w;
    const interior0 = pad;
    for (let x = 0; x < w; x++) {
      const edge = x < interior0 || x >= w - interior0;
      let e: number;
      if (m === 'tenengrad' || m === 'sobel') {
        let a00, a01, a02, a10, a12, a20, a21, a22;
        if (!edge) {
          const p = (r - 1) * w + x, q = r * w + x, s = (r + 1) * w + x;
          a00 = d[p - 1]!; a01 = d[p]!; a02 = d[p + 1]!;
          a10 = d[q - 1]!; a12 = d[q + 1]!;
          a20 = d[s - 1]!; a21 = d[s]!; a22 = d[s + 1]!;
        } else {
          a00 = at(r - 1, x - 1); a01 = at(r - 1, x); a02 = at(r - 1, x + 1);
          a10 = at(r, x - 1); a12 = at(r, x + 1);
          a20 = at(r + 1, x - 1); a21 = at(r + 1, x); a22 = at(r + 1, x + 1);
        }
        const gx = a02 + 2 * a12 + a22 - a00 - 2 * a10 - a20;
        const gy = a20 + 2 * a21 + a22 - a00 - 2 * a01 - a02;
        const g2 = gx * gx + gy * gy;
        e = m === 'tenengrad' ? g2 : Math.sqrt(g2);
      } else if (m === 'laplacian' || m === 'modified-laplacian') {
        const c = d[r * w + x]!;
        const l = edge ? at(r, x - 1) : d[r * w + x - 1]!;
        const rr = edge ? at(r, x + 1) : d[r * w + x + 1]!;
        const u = d[(r - 1) * w + x]!;
        const dn = d[(r + 1) * w + x]!;
        if (m === 'laplacian') {
          const lap = l + rr + u + dn - 4 * c;
          e = lap * lap;
        } else {
          e = Math.abs(2 * c - l - rr) + Math.abs(2 * c - u - dn);
        }
      } else if (m === 'brenner') {
        const c = d[r * w + x]!;
        const dx = (edge ? at(r, x + 2) : d[r * w + x + 2]!) - c;
        const dy = d[(r + 2) * w + x]! - c;
        e = dx * dx + dy * dy;
      } else {
        const hw = window >> 1;
        let s = 0;
        let s2 = 0;
        for (let dy = -hw; dy <= hw; dy++) {
          for (let dx = -hw; dx <= hw; dx++) {
            const v = at(r + dy, x + dx);
            s += v;
            s2 += v * v;
          }
        }
        const n = (2 * hw + 1) * (2 * hw + 1);
        const mean = s / n;
        e = Math.max(0, s2 / n - mean * mean);
      }
      res[o + x] = e;
    }
  }
  return res;
}

export interface GridScore {
  /** Whole-frame score. */
  score: number;
  /** 3×3 cells, row-major (top-left first). */
  grid: number[];
}

/**
 * Scalar focus score of a plane: the mean energy (for 'laplacian' the variance of the Laplacian),
 * also per cell of a `gridN`×`gridN` grid, computed band by band.
 */
export function scorePlane(p: GrayPlane, m: EnergyMeasure, border: BorderMode = 'reflect', gridN = 3, bandRows = 64): GridScore {
  const halo = Math.max(measureHalo(m), 2);
  const cells = gridN * gridN;
  const sum = new Float64Array(cells);
  const sum2 = new Float64Array(cells); // of the Laplacian itself, for its variance
  const cnt = new Float64Array(cells);
  const colCell = new Int32Array(p.width);
  for (let x = 0; x < p.width; x++) colCell[x] = Math.min(gridN - 1, Math.floor((x * gridN) / p.width));
  let buf: Float32Array | undefined;
  let eBuf: Float32Array | undefined;
  for (let y0 = 0; y0 < p.height; y0 += bandRows) {
    const rows = Math.min(bandRows, p.height - y0);
    const band = bandFromPlane(p, y0, rows, halo, border, buf);
    buf = band.data;
    if (m === 'laplacian') {
      // Signed Laplacian for a true variance (mean of L and of L²).
      const w = p.width;
      const cols = borderTable(w, 1, border);
      for (let y = 0; y < rows; y++) {
        const r = halo + y;
        const cellRow = Math.min(gridN - 1, Math.floor(((y0 + y) * gridN) / p.height)) * gridN;
        for (let x = 0; x < w; x++) {
          const xl = cols[x]!, xr = cols[x + 2]!;
          const c = band.data[r * w + x]!;
          const l = xl < 0 ? 0 : band.data[r * w + xl]!;
          const rr = xr < 0 ? 0 : band.data[r * w + xr]!;
          const lap = l + rr + band.data[(r - 1) * w + x]! + band.data[(r + 1) * w + x]! - 4 * c;
          const k = cellRow + colCell[x]!;
          sum[k]! += lap;
          sum2[k]! += lap * lap;
          cnt[k]!++;
        }
      }
      continue;
    }
    const e = energyBand(band, m, border, 5, eBuf && eBuf.length === rows * p.width ? eBuf : undefined);
    eBuf = e;
    for (let y = 0; y < rows; y++) {
      const cellRow = Math.min(gridN - 1, Math.floor(((y0 + y) * gridN) / p.height)) * gridN;
      const o = y * p.width;
      for (let x = 0; x < p.width; x++) {
        const k = cellRow + colCell[x]!;
        sum[k]! += e[o + x]!;
        cnt[k]!++;
      }
    }
  }
  const value = (s: number, s2: number, n: number): number => {
    if (n === 0) return 0;
    if (m !== 'laplacian') return s / n;
    const mean = s / n;
    return s2 / n - mean * mean;
  };
  const grid: number[] = [];
  let S = 0, S2 = 0, N = 0;
  for (let k = 0; k < cells; k++) {
    grid.push(value(sum[k]!, sum2[k]!, cnt[k]!));
    S += sum[k]!; S2 += sum2[k]!; N += cnt[k]!;
  }
  return { score: value(S, S2, N), grid };
}

/** Energy map of a whole small plane (tests, tiles). */
export function energyPlane(p: GrayPlane, m: EnergyMeasure, border: BorderMode = 'reflect', window = 5): Float32Array {
  const band = bandFromPlane(p, 0, p.height, Math.max(measureHalo(m, window), 2), border);
  return energyBand(band, m, border, window);
}
