// Bilateral filter of a single-channel float plane with OpenCV's parameters (diameter d, sigma
// colour, sigma space; d ≤ 0 takes the radius from sigma space), used to smooth depth-map energies
// as shinestacker does. Borders reflect without repeating the edge (OpenCV's BORDER_REFLECT_101).
import { borderIndex } from './border.js';

// This is the reference of the WebAssembly kernel (pipeline/kernels/assembly/focus.ts bilateralRows).

/** The filter's round window: (dx, dy) pairs, their spatial weights, and −1/(2σc²); null = the identity. */
export function bilateralWindow(d: number, sigmaColor: number, sigmaSpace: number): { offs: Int32Array; spatial: Float64Array; gc: number } | null {
  const r = d > 0 ? Math.floor(d / 2) : Math.max(1, Math.round(1.5 * sigmaSpace));
  if (r === 0 || sigmaColor <= 0 || sigmaSpace <= 0) return null;
  const gs = -0.5 / (sigmaSpace * sigmaSpace);
  const offs: number[] = [];
  const spatial: number[] = [];
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) {
      if (dx * dx + dy * dy > r * r) continue; // OpenCV uses a round window
      offs.push(dx, dy);
      spatial.push(Math.exp((dx * dx + dy * dy) * gs));
    }
  return { offs: Int32Array.from(offs), spatial: Float64Array.from(spatial), gc: -0.5 / (sigmaColor * sigmaColor) };
}

export function bilateralPlane(src: Float32Array, w: number, h: number, d: number, sigmaColor: number, sigmaSpace: number): Float32Array {
  const win = bilateralWindow(d, sigmaColor, sigmaSpace);
  if (!win) return src.slice();
  const { offs, spatial, gc } = win;
  // Reflect-101 however far out (a window wider than the plane reflects more than once).
  const refl = (v: number, n: number) => borderIndex(v, n, 'reflect');
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const c = src[y * w + x]!;
      let num = 0;
      let den = 0;
      for (let j = 0; j < spatial.length; j++) {
        const v = src[refl(y + offs[2 * j + 1]!, h) * w + refl(x + offs[2 * j]!, w)]!;
        const wt = spatial[j]! * Math.exp((v - c) * (v - c) * gc);
        num += wt * v;
        den += wt;
      }
      out[y * w + x] = num / den;
    }
  return out;
}
