// The depth-map stack's per-frame energy (stack.ts frameEnergy: shinestacker's energies on its
// native gray, or our measures on the luminance, then Gaussian or bilateral smoothing) in WebAssembly
// with 128-bit SIMD (assembly/focus.ts → focus.wasm) on `threads` cores. One shared memory holds the
// band's frame (interleaved f32), four f32 planes and one f64 plane; every step splits the band into
// row ranges over the band pool, and each step is a barrier (a stencil reads its neighbours' rows of
// the step before). The result equals frameEnergy bit for bit (test/pipeline/kernels-focus.test.ts).
import { bilateralPlane, bilateralTables } from '../focus/bilateral.js';
import { cvDerivKernel, cvGaussianKernel, laplacianParts } from '../focus/shine-energy.js';
import { gaussianKernel } from '../focus/gaussian.js';
import type { EnergyMeasure } from '../focus/measures.js';
import type { Plane } from '../focus/pyramid.js';
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

const ENERGY_CODES: Record<string, number> = { tenengrad: 0, sobel: 1, laplacian: 2, 'modified-laplacian': 3, brenner: 4, variance: 5 };
const MAX_TAPS = 128;
const LUT = (1 << 12) + 2;
/** Room for the bilateral window: 12 bytes a tap, radius up to about 80 px; wider ones run the reference. */
const WINDOW_BYTES = 256 * 1024;

interface Layout {
  src: number;
  planes: number[];
  tmp: number;
  kx: number;
  ky: number;
  taps: number;
  lut: number;
  window: number;
  slots: number;
}

const BAND_SOURCE = `function runBand(ex, L, start, end, j) {
  const w = j.w, y0 = start / w, y1 = end / w;
  switch (j.op) {
    case 'lum': ex.luminance(L.src, j.c, j.to, start, end); break;
    case 'gray': ex.grayNative(L.src, j.c, j.scale, j.to, start, end); break;
    case 'blurH': ex.blurH(j.from, j.to, w, L.taps, j.n, y0, y1); break;
    case 'blurV': ex.blurV(j.from, j.to, w, j.h, L.taps, j.n, y0, y1); break;
    case 'sepH': ex.sepH(j.from, L.tmp, w, L.kx, j.nx, y0, y1); break;
    case 'sepV': ex.sepV(L.tmp, j.to, w, j.h, L.ky, j.ny, y0, y1); break;
    case 'energy': ex.energyRows(j.m, j.from, w, j.h, j.to, y0, y1, j.window); break;
    case 'combine': ex.combine(j.k, j.a, j.b, j.to, start, end); break;
    case 'minmax': ex.minMaxInto(j.from, start, end, L.slots + 8 * y0); break;
    case 'bilateral': ex.bilateralRows(j.from, j.to, w, j.h, j.offs, j.spatial, j.count, L.lut, j.scaleIndex, y0, y1); break;
    default: throw new Error('focus kernels: unknown step ' + j.op);
  }
  return 0;
}`;

/** The StackOptions fields frameEnergy reads (not imported from stack.ts, which imports this module). */
export interface EnergyOptions {
  energyKernels: 'shinestacker' | 'ours';
  energy: EnergyMeasure;
  dmBlurSize: number;
  dmKernelSize: number;
  smoothing: 'bilateral' | 'gaussian' | 'none';
  energySmooth: number;
  smoothSize: number;
  sigmaColor: number;
  sigmaSpace: number;
}

export interface WasmEnergy {
  readonly threads: number;
  /** frameEnergy(p, o, native) on the kernels: a fresh array (the caller may keep it). p.data must be f32. */
  energy(p: Plane, o: EnergyOptions, native: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Kernels for bands of up to `maxPx` pixels (`rows` rows) of `c` channels; null where WebAssembly SIMD or shared memory is unavailable. */
export function createWasmEnergy(spec: { maxPx: number; rows: number; c: number; threads: number }): WasmEnergy | null {
  const arena = kernelArena('focus');
  if (!arena) return null;
  const n = spec.maxPx;
  const L: Layout = {
    src: arena.take(n * spec.c * 4),
    planes: [arena.take(n * 4), arena.take(n * 4), arena.take(n * 4), arena.take(n * 4)],
    tmp: arena.take(n * 8),
    kx: arena.take(MAX_TAPS * 8),
    ky: arena.take(MAX_TAPS * 8),
    taps: arena.take(MAX_TAPS * 4),
    lut: arena.take(LUT * 4),
    window: arena.take(WINDOW_BYTES),
    // One (min, max) pair per band, at its first row.
    slots: arena.take(8 * spec.rows + 16),
  };
  const made = arena.instantiate<{ heapBase(): number }>();
  if (!made) return null;
  const buf = made.memory.buffer;
  const pool = createBandPool({ name: 'focus', module: kernelModule('focus')!, memory: made.memory, exports: made.exports, bandSource: BAND_SOURCE, layout: L, threads: spec.threads });
  const [P0, P1, P2, P3] = L.planes as [number, number, number, number];
  const taps = (at: number, k: ArrayLike<number>, f32 = false) => {
    if (k.length > MAX_TAPS) throw new Error(`focus kernels: ${k.length} taps > ${MAX_TAPS}`);
    (f32 ? new Float32Array(buf, at, k.length) : new Float64Array(buf, at, k.length)).set(k);
  };
  return {
    threads: pool.threads,
    async energy(p, o, native) {
      const { w, h, c } = p;
      if (!(p.data instanceof Float32Array)) throw new Error('focus kernels: f32 frames only');
      new Float32Array(buf, L.src, p.data.length).set(p.data);
      const run = (job: Record<string, unknown>, what = h, unit = w) => pool.run(rowBands(what, unit, pool.threads), { w, h, ...job });
      const sep = async (from: number, to: number, kx: ArrayLike<number>, ky: ArrayLike<number>) => {
        taps(L.kx, kx);
        taps(L.ky, ky);
        await run({ op: 'sepH', from, nx: kx.length });
        await run({ op: 'sepV', to, ny: ky.length });
      };
      const blur = async (from: number, via: number, to: number, k: Float32Array) => {
        taps(L.taps, k, true);
        await run({ op: 'blurH', from, to: via, n: k.length });
        await run({ op: 'blurV', from: via, to, n: k.length });
      };
      let e: number;
      if (o.energyKernels === 'shinestacker') {
        await run({ op: 'gray', c, scale: native, to: P0 });
        const m = o.energy;
        if (m === 'tenengrad' || m === 'sobel' || m === 'modified-laplacian') {
          await sep(P0, P1, cvDerivKernel(3, 1), cvDerivKernel(3, 0));
          await sep(P0, P2, cvDerivKernel(3, 0), cvDerivKernel(3, 1));
          await run({ op: 'combine', k: m === 'tenengrad' ? 0 : 1, a: P1, b: P2, to: P3 });
          e = P3;
        } else if (m === 'laplacian') {
          let src = P0;
          if (o.dmBlurSize > 1) {
            const gk = cvGaussianKernel(o.dmBlurSize);
            await sep(P0, P1, gk, gk);
            src = P1;
          }
          const [[ax, ay], [bx, by]] = laplacianParts(o.dmKernelSize);
          await sep(src, P2, ax!, ay!);
          await sep(src, P3, bx!, by!);
          await run({ op: 'combine', k: 2, a: P2, b: P3, to: P0 });
          e = P0;
        } else if (m === 'variance') {
          const box = Float64Array.from({ length: 5 }, () => 1 / 5);
          await run({ op: 'combine', k: 3, a: P0, b: P0, to: P1 });
          await sep(P0, P2, box, box);
          await sep(P1, P3, box, box);
          await run({ op: 'combine', k: 4, a: P3, b: P2, to: P0 });
          e = P0;
        } else throw new Error(`--energy ${m}: not one of shinestacker's energies (tenengrad, laplacian, modified-laplacian, sobel, variance); use --depthmap-preset ours for it`);
      } else {
        await run({ op: 'lum', c, to: P0 });
        const laplacian = o.energy === 'laplacian' || o.energy === 'modified-laplacian';
        if (laplacian && o.dmBlurSize > 1) await blur(P0, P1, P0, gaussianKernel(0.3 * ((o.dmBlurSize - 1) * 0.5 - 1) + 0.8));
        await run({ op: 'energy', m: ENERGY_CODES[o.energy], from: P0, to: P1, window: laplacian ? o.dmKernelSize : 5 });
        e = P1;
      }
      const free = [P0, P1, P2, P3].filter((x) => x !== e) as [number, number, number];
      if (o.smoothing === 'gaussian' && o.energySmooth > 0) {
        await blur(e, free[0], free[1], gaussianKernel(o.energySmooth));
        e = free[1];
      } else if (o.smoothing === 'bilateral' && o.smoothSize > 0) {
        const bands = rowBands(h, w, pool.threads);
        await pool.run(bands, { w, h, op: 'minmax', from: e });
        let lo = Infinity, hi = -Infinity;
        for (const [s] of bands) {
          const mm = new Float32Array(buf, L.slots + 8 * (s / w), 2);
          lo = Math.min(lo, mm[0]!);
          hi = Math.max(hi, mm[1]!);
        }
        const t = bilateralTables(o.smoothSize, o.sigmaColor, o.sigmaSpace, lo, hi);
        if (t) {
          const offsAt = L.window;
          const spatialAt = L.window + Math.ceil((t.offs.length * 4) / 16) * 16;
          if (spatialAt - L.window + t.spatial.length * 4 > WINDOW_BYTES) return bilateralPlane(new Float32Array(buf, e, w * h).slice(), w, h, o.smoothSize, o.sigmaColor, o.sigmaSpace);
          new Int32Array(buf, offsAt, t.offs.length).set(t.offs);
          new Float32Array(buf, spatialAt, t.spatial.length).set(t.spatial);
          new Float32Array(buf, L.lut, t.lut.length).set(t.lut);
          await run({ op: 'bilateral', from: e, to: free[0], offs: offsAt, spatial: spatialAt, count: t.spatial.length, scaleIndex: t.scaleIndex });
          e = free[0];
        }
      }
      return new Float32Array(buf, e, w * h).slice();
    },
    close: () => pool.close(),
  };
}
