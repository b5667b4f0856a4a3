// Translation-only alignment by phase correlation (Moon, planets, daytime targets without
// stars): Hann-windowed central square of both images, normalised cross-power spectrum, peak
// of its inverse with a parabolic sub-pixel fit.
import type { ImageF32 } from '../../image/types.js';
import { fft2d } from './fft.js';

export interface PhaseResult {
  /** Shift to add to frame coordinates to land on the reference. */
  dx: number;
  dy: number;
  /** Peak height of the correlation surface (1 = identical images). */
  peak: number;
}

function windowed(img: ImageF32, n: number, x0: number, y0: number): Float64Array {
  const out = new Float64Array(n * n);
  let mean = 0, cnt = 0;
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const v = img.data[(y0 + y) * img.width + x0 + x]!;
    if (v === v) { mean += v; cnt++; }
  }
  mean = cnt ? mean / cnt : 0;
  for (let y = 0; y < n; y++) {
    const wy = 0.5 - 0.5 * Math.cos((2 * Math.PI * (y + 0.5)) / n);
    for (let x = 0; x < n; x++) {
      const wx = 0.5 - 0.5 * Math.cos((2 * Math.PI * (x + 0.5)) / n);
      const v = img.data[(y0 + y) * img.width + x0 + x]!;
      out[y * n + x] = ((v === v ? v : mean) - mean) * wx * wy;
    }
  }
  return out;
}

export function phaseCorrelate(ref: ImageF32, frame: ImageF32, maxSize = 1024): PhaseResult {
  if (ref.channels !== 1 || frame.channels !== 1) throw new Error('phaseCorrelate needs mono images');
  let n = 1;
  while (n * 2 <= Math.min(ref.width, ref.height, maxSize)) n *= 2;
  const x0 = (ref.width - n) >> 1, y0 = (ref.height - n) >> 1;
  const ar = windowed(ref, n, x0, y0), ai = new Float64Array(n * n);
  const br = windowed(frame, n, x0, y0), bi = new Float64Array(n * n);
  fft2d(ar, ai, n);
  fft2d(br, bi, n);
  for (let i = 0; i < n * n; i++) {
    // ref · conj(frame), normalised: its inverse peaks at the shift frame → ref.
    const r = ar[i]! * br[i]! + ai[i]! * bi[i]!;
    const im = ai[i]! * br[i]! - ar[i]! * bi[i]!;
    const mag = Math.hypot(r, im) || 1;
    ar[i] = r / mag;
    ai[i] = im / mag;
  }
  fft2d(ar, ai, n, true);
  let best = 0, bv = -Infinity;
  for (let i = 0; i < n * n; i++) if (ar[i]! > bv) { bv = ar[i]!; best = i; }
  const py = Math.floor(best / n), px = best % n;
  const at = (x: number, y: number) => ar[((y + n) % n) * n + ((x + n) % n)]!;
  const sub = (m: number, c: number, p: number) => {
    const den = m - 2 * c + p;
    return den < 0 ? (0.5 * (m - p)) / den : 0;
  };
  const fx = px + sub(at(px - 1, py), bv, at(px + 1, py));
  const fy = py + sub(at(px, py - 1), bv, at(px, py + 1));
  return { dx: fx > n / 2 ? fx - n : fx, dy: fy > n / 2 ? fy - n : fy, peak: bv };
}
