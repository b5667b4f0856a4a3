// The depth-map stack's per-frame kernels (luminance, Gaussian pre-blur, energy, scaling, smoothing,
// weights, sharpest-frame index) in WebAssembly with 128-bit SIMD (assembly/focus.ts → focus.wasm) on
// `threads` cores. One shared memory holds the band's frame (interleaved f32), three working planes
// and the map's running state; every step splits the band into row ranges over the band pool, and
// each step is a barrier (a stencil reads its neighbours' rows of the step before).
//
// The plain-TS references stay in pipeline/focus (stack.ts frameEnergy/depthMapBand, measures.ts,
// gaussian.ts, bilateral.ts); the results equal them bit for bit, except where exp/pow are used
// (bilateral range weights, soft max, weight powers ≠ 1): within an f64 ulp before the f32 rounding.
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

const ENERGY_CODES: Record<string, number> = { tenengrad: 0, sobel: 1, laplacian: 2, 'modified-laplacian': 3, brenner: 4, variance: 5 };

interface Layout {
  src: number;
  planes: number[];
  den: number;
  dnum: number;
  best: number;
  idx: number;
  pix: number;
  slots: number;
  taps: number;
  offs: number;
  spatial: number;
}

// One step over a row range [start, end) of pixels (at row boundaries). Runs in the calling thread
// and, as text, in each worker.
const BAND_SOURCE = `function runBand(ex, L, start, end, j) {
  const w = j.w, y0 = start / w, y1 = end / w;
  switch (j.op) {
    case 'lum': ex.luminance(L.src, j.c, j.to, start, end); break;
    case 'blurH': ex.blurH(j.from, j.to, w, L.taps, j.taps, y0, y1); break;
    case 'blurV': ex.blurV(j.from, j.to, w, j.h, L.taps, j.taps, y0, y1); break;
    case 'energy': ex.energyRows(j.m, j.from, w, j.h, j.to, y0, y1, j.window); break;
    case 'max': ex.maxInto(j.from, start, end, L.slots + 4 * y0); break;
    case 'scale': ex.scale(j.from, j.s, start, end); break;
    case 'bilateral': ex.bilateralRows(j.from, j.to, w, j.h, L.offs, L.spatial, j.count, j.gc, y0, y1); break;
    case 'average': ex.averageWeights(j.from, j.to, L.den, L.dnum, j.k, j.power, j.first, start, end); break;
    case 'argmax': ex.argmax(j.from, L.best, L.idx, j.k, L.src, j.pix ? L.pix : 0, j.c, start, end); break;
    case 'mask': ex.maxMask(j.from, L.best, L.idx, j.k, j.t, j.to, start, end); break;
    default: throw new Error('focus kernels: unknown step ' + j.op);
  }
  return 0;
}`;

interface Exports {
  heapBase(): number;
}

export interface DepthEnergyOptions {
  energy: string;
  /** Gaussian pre-blur taps for Laplacian-type energies (≤ 1 = none) and its sigma. */
  preBlur: Float32Array | null;
  window: number;
  smoothing: 'bilateral' | 'gaussian' | 'none';
  /** Gaussian smoothing taps (smoothing 'gaussian'), or null for none. */
  smooth: Float32Array | null;
  /** Bilateral window (dx, dy pairs) and spatial weights; null when the filter is the identity. */
  bilateral: { offs: Int32Array; spatial: Float64Array; gc: number } | null;
}

export interface WasmDepthMap {
  readonly threads: number;
  /** Where the band's frame goes (interleaved f32, w·h·c samples). */
  frame(n: number): Float32Array;
  /** Energy of the frame in `frame()` (w×h, c channels) scaled by `ref` (set from the first call's maximum) and smoothed; returns the plane. */
  energy(w: number, h: number, c: number, o: DepthEnergyOptions, ref: { v: number }): Promise<number>;
  /** Average map: weights of frame k from energy plane `e`, into the sums; returns the weight plane's view. */
  average(e: number, w: number, h: number, k: number, power: number): Promise<Float32Array>;
  /** Max map pass 1: fold frame k's energy `e` into the best energy / index (and the frame's pixels when `pix`). */
  argmax(e: number, w: number, h: number, c: number, k: number, pix: boolean): Promise<void>;
  /** Max map pass 2: frame k's mask (t = 0 one-hot, else exp((E − Emax)·t)); returns its view. */
  mask(e: number, w: number, h: number, k: number, t: number): Promise<Float32Array>;
  /** Gaussian blur of weight view `m` (one of ours) in place of a fresh plane; returns the blurred view. */
  blurWeights(m: Float32Array, w: number, h: number, taps: Float32Array): Promise<Float32Array>;
  /** Views of the running state (w·h long). */
  den(n: number): Float64Array;
  dnum(n: number): Float64Array;
  idx(n: number): Uint16Array;
  pix(n: number): Float32Array;
  close(): Promise<void>;
}

/**
 * Kernels for bands of up to `maxPx` pixels of `c` channels. `map` picks the running state to keep
 * (average: f64 sums; max: best energy and index, plus the sharpest pixels when `pix`). Null when
 * WebAssembly SIMD or shared memory is unavailable.
 */
export function createWasmDepthMap(spec: { maxPx: number; c: number; rows: number; map: 'average' | 'max'; pix: boolean; threads: number; maxTaps: number; maxWindow: number }): WasmDepthMap | null {
  const arena = kernelArena('focus');
  if (!arena) return null;
  const n = spec.maxPx;
  const src = arena.take(n * spec.c * 4);
  const planes = [arena.take(n * 4), arena.take(n * 4), arena.take(n * 4)];
  const avg = spec.map === 'average';
  const layout: Layout = {
    src,
    planes,
    den: avg ? arena.take(n * 8) : 0,
    dnum: avg ? arena.take(n * 8) : 0,
    best: avg ? 0 : arena.take(n * 4),
    idx: avg ? 0 : arena.take(n * 2),
    pix: !avg && spec.pix ? arena.take(n * spec.c * 4) : 0,
    slots: arena.take(spec.rows * 4 + 16),
    taps: arena.take(spec.maxTaps * 4),
    offs: arena.take(spec.maxWindow * 8),
    spatial: arena.take(spec.maxWindow * 8),
  };
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  const buf = made.memory.buffer;
  const pool = createBandPool({ name: 'focus', module: kernelModule('focus')!, memory: made.memory, exports: made.exports, bandSource: BAND_SOURCE, layout, threads: spec.threads });
  const f32 = (at: number, len: number) => new Float32Array(buf, at, len);
  const run = (w: number, h: number, job: Record<string, unknown>) => pool.run(rowBands(h, w, pool.threads), { w, h, ...job });
  const setTaps = (taps: Float32Array) => {
    if (taps.length > spec.maxTaps) throw new Error(`focus kernels: ${taps.length} taps > ${spec.maxTaps}`);
    f32(layout.taps, taps.length).set(taps);
  };
  const blur = async (from: number, tmp: number, to: number, w: number, h: number, taps: Float32Array) => {
    setTaps(taps);
    await run(w, h, { op: 'blurH', from, to: tmp, taps: taps.length });
    await run(w, h, { op: 'blurV', from: tmp, to, taps: taps.length });
  };
  const [P0, P1, P2] = planes as [number, number, number];
  return {
    threads: pool.threads,
    frame: (len) => f32(src, len),
    async energy(w, h, c, o, ref) {
      // lum → P0 (pre-blurred back into P0 through P1), energy → P1, scaled in place, smoothed into P0 (through P2).
      await run(w, h, { op: 'lum', c, to: P0 });
      if (o.preBlur) await blur(P0, P1, P0, w, h, o.preBlur);
      await run(w, h, { op: 'energy', m: ENERGY_CODES[o.energy], from: P0, to: P1, window: o.window });
      if (ref.v <= 0) {
        const bands = rowBands(h, w, pool.threads);
        await pool.run(bands, { w, h, op: 'max', from: P1 });
        let mx = 0;
        for (const [s] of bands) mx = Math.max(mx, f32(layout.slots + 4 * (s / w), 1)[0]!);
        ref.v = mx > 0 ? mx : 1;
      }
      await run(w, h, { op: 'scale', from: P1, s: 1 / ref.v });
      if (o.smoothing === 'gaussian' && o.smooth) {
        await blur(P1, P2, P0, w, h, o.smooth);
        return P0;
      }
      if (o.smoothing === 'bilateral' && o.bilateral) {
        const { offs, spatial, gc } = o.bilateral;
        if (spatial.length > spec.maxWindow) throw new Error(`focus kernels: bilateral window ${spatial.length} > ${spec.maxWindow}`);
        new Int32Array(buf, layout.offs, offs.length).set(offs);
        new Float64Array(buf, layout.spatial, spatial.length).set(spatial);
        await run(w, h, { op: 'bilateral', from: P1, to: P0, count: spatial.length, gc });
        return P0;
      }
      return P1;
    },
    async average(e, w, h, k, power) {
      // Weights into the other plane than e's smoothed result; P2 is free after smoothing.
      await run(w, h, { op: 'average', from: e, to: P2, k, power, first: k === 0 });
      return f32(P2, w * h);
    },
    async argmax(e, w, h, c, k, pix) {
      await run(w, h, { op: 'argmax', from: e, k, c, pix });
    },
    async mask(e, w, h, k, t) {
      await run(w, h, { op: 'mask', from: e, to: P2, k, t });
      return f32(P2, w * h);
    },
    async blurWeights(m, w, h, taps) {
      // m is P2's view: through P1 into P0 (the energy planes are done with by now).
      await blur(m.byteOffset, P1, P0, w, h, taps);
      return f32(P0, w * h);
    },
    den: (len) => new Float64Array(buf, layout.den, len),
    dnum: (len) => new Float64Array(buf, layout.dnum, len),
    idx: (len) => new Uint16Array(buf, layout.idx, len),
    pix: (len) => f32(layout.pix, len),
    close: () => pool.close(),
  };
}
