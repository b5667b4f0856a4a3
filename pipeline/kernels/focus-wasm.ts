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
  /** The band's decoded codes (8 or 16 bits a sample), turned into `src` by 'codes': `codeSlots` slots of `codeSlot` bytes. */
  codes: number;
  codeSlot: number;
  /** f64 planes of the map: ΣE^p (or Σw), Σk·E^p, Σw. */
  total: number;
  dnum: number;
  den: number;
  /** Pyramids (f32, `pyr` bytes each): the frame's c channels, the weight, c numerators, the summed weight. */
  frame: number;
  weight: number;
  num: number;
  wden: number;
  pyr: number;
  /** Per-thread row buffers of `rbBytes`; per-thread rings of the fused Sobel energies. */
  rb: number;
  rbBytes: number;
  /** Energies kept from the first pass (`cacheFrames` planes of the largest band). */
  cache: number;
  ring: number;
  ringBytes: number;
  planes: number[];
  tmp: number;
  kx: number;
  ky: number;
  taps: number;
  lut: number;
  window: number;
  slots: number;
}

const BAND_SOURCE = `function runBand(ex, L, start, end, j, band) {
  const w = j.w, y0 = start / w, y1 = end / w;
  const rb = L.rb + band * L.rbBytes;
  switch (j.op) {
    case 'sobel': ex.sobelEnergyRows(j.codes ? j.at : L.src, j.c, j.scale, w, j.h, j.to, j.k, L.kx, L.ring + band * L.ringBytes, y0, y1, j.codes); break;
    case 'codes': ex.codesToFloat(j.at, j.is16, L.src, start * j.c, end * j.c); break;
    case 'codesP': ex.codesToPlanes(j.at, j.is16, j.c, L.frame, L.pyr, start, end); break;
    case 'sumPower': ex.sumPower(j.e, j.power, j.k, L.total, L.dnum, start, end); break;
    case 'seedW': ex.seedWeights(j.e, j.power, L.total, j.to, L.den, start, end); break;
    case 'oursW': ex.oursWeights(j.e, j.power, j.k, j.to, L.dnum, L.den, start, end); break;
    case 'depth': ex.depthRows(L.dnum, j.den, j.to, start, end); break;
    case 'deint': ex.deinterleave(L.src, j.c, j.to, L.pyr, start, end); break;
    case 'inter': ex.interleave(j.from, L.pyr, j.c, L.src, start, end); break;
    case 'reduce':
      for (const [a, b] of j.planes) ex.reduceRows(a, j.sw, j.sh, b, y0, y1, j.k0, j.k1, j.k2, rb);
      break;
    case 'expandAcc':
      for (let ch = 0; ch < j.c; ch++) {
        const g = j.g + ch * L.pyr;
        if (j.up) ex.expandAddRows(j.up + ch * L.pyr, j.sw, j.sh, g, w, y0, y1, j.k0, j.k1, j.k2, -1, rb);
        ex.accumulate(j.num + ch * L.pyr, j.wt, g, start, end);
      }
      ex.addInto(j.wden, j.wt, start, end);
      break;
    case 'norm': ex.normalize(j.num, L.pyr, j.c, j.wden, j.floor, j.keep, start, end); break;
    case 'collapse':
      for (let ch = 0; ch < j.c; ch++) ex.expandAddRows(j.up + ch * L.pyr, j.sw, j.sh, j.g + ch * L.pyr, w, y0, y1, j.k0, j.k1, j.k2, 1, rb);
      break;
    case 'maxUp': ex.maxUpdate(j.e, j.k, j.best, j.idx, j.count, L.total, start, end, L.slots + 8 * y0); break;
    case 'maxW': ex.maxWeights(j.ties, j.e, j.k, j.best, j.idx, j.count, j.to, start, end); break;
    case 'maxD': ex.maxDepth(L.total, j.count, j.to, start, end); break;
    case 'samples': ex.bandSamples(j.from, L.pyr, w, j.c, j.origin, y0, y1, j.mode, j.trunc, L.src); break;
    case 'depthS': ex.depthSamples(j.from, j.scale, w, j.origin, y0, y1, j.to); break;
    case 'lum': ex.luminance(L.src, j.c, j.to, start, end); break;
    case 'gray': ex.grayNative(L.src, j.c, j.scale, j.to, start, end); break;
    case 'blurH': ex.blurH(j.from, j.to, w, L.taps, j.n, y0, y1); break;
    case 'blurV': ex.blurV(j.from, j.to, w, j.h, L.taps, j.n, y0, y1); break;
    case 'sepH': ex.sepH(j.from, L.tmp, w, L.kx, j.nx, y0, y1); break;
    case 'sepV': ex.sepV(L.tmp, j.to, w, j.h, L.ky, j.ny, y0, y1); break;
    case 'energy': ex.energyRows(j.m, j.from, w, j.h, j.to, y0, y1, j.window); break;
    case 'combine': ex.combine(j.k, j.a, j.b, j.to, start, end); break;
    case 'minmax': ex.minMaxInto(j.from, start, end, L.slots + 8 * y0); break;
    case 'bilateral': ex.bilateralRows(j.from, j.to, w, j.h, j.offs, j.spatial, j.count, L.lut, j.scaleIndex, y0, y1, L.ring + band * L.ringBytes); break;
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

/** How a band's frames are blended (stack.ts WeightedPyramidBlend): levels, the 5-tap kernel, the summed-weight floor. */
export interface BlendSpec {
  levels: number;
  kernel: readonly number[];
  floor: number;
  /** Below the floor keep the coefficients unnormalised (shinestacker) instead of zeroing them. */
  keepBelow: boolean;
}

/**
 * The whole depth map of a band on the kernels. Per band: `begin`, then per frame the energy (left in
 * the kernels' memory, at the address `energyAt` returns), the map step, the weight into the blend
 * (`setWeight` for a mask made in JS) and `blendFrame`; then `depth` and `blendResult`.
 */
export interface WasmDepthMap extends Omit<WasmEnergy, 'energy'> {
  /** As WasmEnergy's; null: the frame `loadCodes` loaded. */
  energy(p: Plane | null, o: EnergyOptions, native: number): Promise<Float32Array>;
  /** Start a band of w×h pixels, c channels: zero the map's sums and the blend's accumulators. */
  begin(w: number, h: number, c: number, blend: BlendSpec | null): void;
  /** frameEnergy on the kernels, kept in their memory (the frame stays loaded for `blendFrame(null)`); null: the frame `loadCodes` loaded. */
  energyAt(p: Plane | null, o: EnergyOptions, native: number): Promise<number>;
  /** Frames whose energy `keepEnergy` can hold for the band (0: none). */
  readonly cacheFrames: number;
  /** Keep the energy at `e` as frame k's (the second pass reads it back instead of recomputing it: the same values). */
  keepEnergy(e: number, k: number): void;
  /** Where frame k's kept energy is. */
  keptEnergy(k: number): number;
  /** Load frame p into the kernels (for `blendFrame(null)` without an energy). */
  load(p: Plane): void;
  /**
   * Where the band's decoded codes go (w·h·c samples of 1 or 2 bytes; kernels made with `codes`), in
   * code slot `slot` (0 or 1 with `codeSlots: 2`: the next frame's codes are read into one while the
   * kernels work on the other's). `rows`: of a band not yet begun (default: the current band's).
   */
  codesView(is16: boolean, slot?: number, rows?: number): Uint8Array;
  /** Code slots (1, or 2 for reading ahead). */
  readonly codeSlots: number;
  /** The codes written to `codesView(is16, slot)` → the band's frame (codes / 255 or / 65535, as frame-store.ts codesToPlane). */
  loadCodes(is16: boolean, slot?: number): Promise<void>;
  /** shinestacker average, pass 1: ΣE^p and Σk·E^p of the energy at `e`. */
  sumPower(e: number, power: number, k: number): Promise<void>;
  /** shinestacker average, pass 2: the weight E^p/ΣE^p (0 where the sum is 0) into the blend. */
  seedWeights(e: number, power: number): Promise<void>;
  /** ours average: the weight (E + 1e-6)^p into the blend; Σk·w and Σw for the depth. */
  oursWeights(e: number, power: number, k: number): Promise<void>;
  /** A weight made in JS (the max map's masks) into the blend. */
  setWeight(m: Float32Array): void;
  /** A copy of the current weight (tests). */
  weight(): Float32Array;
  /** A copy of the loaded frame, interleaved (tests). */
  frame(): Promise<Float32Array>;
  /** shinestacker's pyramid_smooth_size: the weight through sepFilter(k, k) in place. */
  smoothWeight(k: ArrayLike<number>): Promise<void>;
  /** The depth Σk·w / Σw (0 where Σw ≤ 0): over ΣE^p (`total`, shinestacker average) or Σw (`den`) — a view of the kernels' memory, valid until the next frame's energy. */
  depth(over: 'total' | 'den'): Promise<Float32Array>;
  /** The codes written to `codesView(is16, slot)` → the blend's planes (for `blendFrame('planar')`: no interleaved frame). */
  loadCodesPlanar(is16: boolean, slot?: number): Promise<void>;
  /** Add frame p (null: the frame `energyAt`/`load`/`loadCodes` loaded; 'planar': `loadCodesPlanar`'s) with the current weight to the blend. */
  blendFrame(p: Plane | null | 'planar'): Promise<void>;
  /** The blended band, interleaved — a view of the kernels' memory, valid until the next frame is loaded. */
  blendResult(): Promise<Plane>;
  /**
   * The hard max map's pass 1 (stack.ts depthMapBand 'max'): frame k's energy at `e` against the best
   * so far, the frame reaching it, the count of tied frames and their index sum (k = 0 starts them).
   * True when some pixel ties.
   */
  maxUpdate(e: number, k: number): Promise<boolean>;
  /** Pass 2: frame k's weight into the blend — 1 where it is the best frame (`e` null), or with ties 1/count where its energy at `e` equals the best. */
  maxWeights(e: number | null, k: number): Promise<void>;
  /** The max map's depth Σk/count — a view of the kernels' memory, valid until the next frame's energy. */
  maxDepth(): Promise<Float32Array>;
  /** Normalise and collapse the blend (once a band) without interleaving it: for `samples`. */
  finishBlend(): Promise<void>;
  /**
   * Rows [from, from + rows) of the finished blend as the encoder's interleaved samples: clamped to
   * 0..1, truncated (`trunc`, shinestacker) or rounded, 8-bit, 16-bit big-endian (PNM) or 16-bit in
   * this host's order — the bytes stack.ts's float path makes. A view of the kernels' memory, valid
   * until the next frame is loaded.
   */
  samples(from: number, rows: number, mode: SampleMode, trunc: boolean): Promise<Uint8Array>;
  /**
   * Rows [from, from + rows) of the band's depth (`depth`: the view `depth()` gave, or an array of the
   * band's size) as 8-bit samples of f32(d·scale) rounded as floatToPnm does. A view of the kernels'
   * memory, valid until the next frame's energy.
   */
  depthSamples(depth: Float32Array, from: number, rows: number, scale: number): Promise<Uint8Array>;
}

/** Encoder samples: 8-bit, 16-bit big-endian (PNM), 16-bit in this host's order (a Uint16Array). */
export type SampleMode = 'u8' | 'u16be' | 'u16';

/** Kernels for bands of up to `maxPx` pixels (`rows` rows) of `c` channels; null where WebAssembly SIMD or shared memory is unavailable. */
export function createWasmEnergy(spec: { maxPx: number; rows: number; c: number; threads: number }): WasmEnergy | null {
  return createWasmDepthMap({ width: Math.ceil(spec.maxPx / spec.rows), rows: spec.rows, c: spec.c, threads: spec.threads, levels: 0 });
}

/** Level sizes of a pyramid of a w×h plane, and each level's byte offset inside the pyramid. */
function pyramidLevels(w: number, h: number, levels: number): Array<{ w: number; h: number; off: number }> {
  const out = [];
  let off = 0;
  for (let l = 0; l <= levels; l++) {
    out.push({ w, h, off });
    off += w * h * 4;
    w = (w + 1) >> 1;
    h = (h + 1) >> 1;
  }
  return out;
}

/** The depth map's kernels for bands of up to `rows` rows of `width` pixels, `c` channels, blending through up to `levels` levels. */
export function createWasmDepthMap(spec: { width: number; rows: number; c: number; threads: number; levels: number; codes?: boolean; cacheFrames?: number; codeSlots?: 1 | 2; codeBytes?: 1 | 2 }): WasmDepthMap | null {
  const arena = kernelArena('focus');
  if (!arena) return null;
  const n = spec.width * spec.rows;
  const geomMax = pyramidLevels(spec.width, spec.rows, spec.levels);
  const pyr = spec.levels > 0 ? Math.ceil((geomMax[spec.levels]!.off + geomMax[spec.levels]!.w * geomMax[spec.levels]!.h * 4) / 16) * 16 : 0;
  const C = spec.c;
  const threadsWanted = Math.max(1, Math.floor(spec.threads));
  const rbBytes = Math.ceil(((spec.width + 64) * 4 + 64) / 16) * 16;
  // assembly/focus.ts sobelRingBytes(w).
  const ringBytes = Math.ceil((56 * spec.width + 80) / 16) * 16;
  // One slot holds 16-bit codes; two slots (reading ahead) of 8-bit codes take the same room.
  const codeSlots = spec.codes ? (spec.codeSlots ?? 1) : 0;
  const codeSlot = n * spec.c * (codeSlots === 2 ? (spec.codeBytes ?? 2) : 2);
  const L: Layout = {
    src: arena.take(n * spec.c * 4),
    codes: codeSlots ? arena.take(Math.max(n * spec.c * 2, codeSlots * codeSlot)) : 0,
    codeSlot,
    planes: [arena.take(n * 4), arena.take(n * 4), arena.take(n * 4), arena.take(n * 4)],
    tmp: arena.take(n * 8),
    kx: arena.take(MAX_TAPS * 8),
    ky: arena.take(MAX_TAPS * 8),
    taps: arena.take(MAX_TAPS * 4),
    lut: arena.take(LUT * 4),
    window: arena.take(WINDOW_BYTES),
    // One (min, max) pair per band, at its first row.
    slots: arena.take(8 * spec.rows + 16),
    total: arena.take(n * 8),
    dnum: arena.take(n * 8),
    den: arena.take(n * 8),
    frame: arena.take(C * pyr),
    weight: pyr ? arena.take(pyr) : arena.take(n * 4),
    num: arena.take(C * pyr),
    wden: arena.take(pyr),
    pyr,
    rb: arena.take(rbBytes * threadsWanted),
    rbBytes,
    cache: arena.take(n * 4 * (spec.cacheFrames ?? 0)),
    ring: arena.take(ringBytes * threadsWanted),
    ringBytes,
  };
  const made = arena.instantiate<{ heapBase(): number }>();
  if (!made) return null;
  const buf = made.memory.buffer;
  const pool = createBandPool({ name: 'focus', module: kernelModule('focus')!, memory: made.memory, exports: made.exports, bandSource: BAND_SOURCE, layout: L, threads: threadsWanted });
  const [P0, P1, P2, P3] = L.planes as [number, number, number, number];
  const taps = (at: number, k: ArrayLike<number>, f32 = false) => {
    if (k.length > MAX_TAPS) throw new Error(`focus kernels: ${k.length} taps > ${MAX_TAPS}`);
    (f32 ? new Float32Array(buf, at, k.length) : new Float64Array(buf, at, k.length)).set(k);
  };
  // The current band.
  let bw = 0, bh = 0, bc = 0;
  // Codes loaded but not yet turned into the float frame: 1 (8-bit) or 2 (16-bit); 0 none. In slot `pendingSlot`.
  let pendingCodes = 0;
  let pendingSlot = 0;
  const slotAt = (slot: number, is16: boolean, px = bw * bh) => {
    if (!L.codes) throw new Error('focus kernels: made without room for codes');
    if (!(slot === 0 || slot < codeSlots)) throw new Error(`focus kernels: no code slot ${slot}`);
    if (px * C * (is16 ? 2 : 1) > L.codeSlot) throw new Error(`focus kernels: ${px} pixels of ${is16 ? 16 : 8}-bit codes exceed a code slot`);
    return L.codes + slot * L.codeSlot;
  };
  const floats = async () => {
    if (!pendingCodes) return;
    const is16 = pendingCodes === 2 ? 1 : 0;
    pendingCodes = 0;
    await runRows(bh, bw, { op: 'codes', is16, c: bc, at: L.codes + pendingSlot * L.codeSlot });
  };
  // The blend normalised and collapsed this band (norm works in place: once).
  let finished = false;
  const loadFrame = (p: Plane) => {
    if (!(p.data instanceof Float32Array)) throw new Error('focus kernels: f32 frames only');
    if (p.w * p.h > n) throw new Error(`focus kernels: band of ${p.w}×${p.h} exceeds ${spec.width}×${spec.rows}`);
    pendingCodes = 0;
    new Float32Array(buf, L.src, p.data.length).set(p.data);
  };
  let blend: BlendSpec | null = null;
  let geom: Array<{ w: number; h: number; off: number }> = [];
  // Steps under 32 k samples stay on the calling thread (a worker round trip costs more).
  const runRows = (rows: number, rowLen: number, job: Record<string, unknown>) =>
    pool.run(rowBands(rows, rowLen, rows * rowLen < 32768 ? 1 : pool.threads), { h: rows, ...job, w: rowLen });
  const sepOn = async (w: number, h: number, from: number, to: number, kx: ArrayLike<number>, ky: ArrayLike<number>) => {
    taps(L.kx, kx);
    taps(L.ky, ky);
    await runRows(h, w, { op: 'sepH', from, nx: kx.length });
    await runRows(h, w, { op: 'sepV', to, ny: ky.length });
  };
  const maxPlanes = () => ({ best: L.dnum, idx: L.dnum + n * 4, count: L.dnum + n * 6 });
  const self: WasmDepthMap = {
    threads: pool.threads,
    async energy(p, o, native) {
      const e = await self.energyAt(p, o, native);
      return new Float32Array(buf, e, p ? p.w * p.h : bw * bh).slice();
    },
    async energyAt(p, o, native) {
      const { w, h, c } = p ?? { w: bw, h: bh, c: bc };
      if (p) loadFrame(p);
      // The Sobel energies read the codes themselves when their range is the gray's (not an 8-bit frame of a 16-bit bracket).
      const fromCodes = pendingCodes && (pendingCodes === 2) === (native === 65535) ? pendingCodes : 0;
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
        const m = o.energy;
        if (m === 'tenengrad' || m === 'sobel' || m === 'modified-laplacian') {
          // gray → both Sobel filters → combination in one fused step (same arithmetic).
          if (!fromCodes) await floats();
          taps(L.kx, [...cvDerivKernel(3, 1), ...cvDerivKernel(3, 0)]);
          await run({ op: 'sobel', c, scale: native, to: P3, k: m === 'tenengrad' ? 0 : 1, codes: fromCodes, at: L.codes + pendingSlot * L.codeSlot });
          e = P3;
        } else if (m === 'laplacian') {
          await floats();
          await run({ op: 'gray', c, scale: native, to: P0 });
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
          await floats();
          await run({ op: 'gray', c, scale: native, to: P0 });
          const box = Float64Array.from({ length: 5 }, () => 1 / 5);
          await run({ op: 'combine', k: 3, a: P0, b: P0, to: P1 });
          await sep(P0, P2, box, box);
          await sep(P1, P3, box, box);
          await run({ op: 'combine', k: 4, a: P3, b: P2, to: P0 });
          e = P0;
        } else throw new Error(`--energy ${m}: not one of shinestacker's energies (tenengrad, laplacian, modified-laplacian, sobel, variance); use --depthmap-preset ours for it`);
      } else {
        await floats();
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
          if (spatialAt - L.window + t.spatial.length * 4 > WINDOW_BYTES) {
            new Float32Array(buf, free[0], w * h).set(bilateralPlane(new Float32Array(buf, e, w * h).slice(), w, h, o.smoothSize, o.sigmaColor, o.sigmaSpace));
            return free[0];
          }
          new Int32Array(buf, offsAt, t.offs.length).set(t.offs);
          new Float32Array(buf, spatialAt, t.spatial.length).set(t.spatial);
          new Float32Array(buf, L.lut, t.lut.length).set(t.lut);
          await run({ op: 'bilateral', from: e, to: free[0], offs: offsAt, spatial: spatialAt, count: t.spatial.length, scaleIndex: t.scaleIndex });
          e = free[0];
        }
      }
      return e;
    },
    begin(w, h, c, spec2) {
      if (w * h > n || c !== C) throw new Error(`focus kernels: band ${w}×${h}×${c} does not fit ${spec.width}×${spec.rows}×${C}`);
      if (spec2 && (spec2.levels > spec.levels || spec2.kernel.length !== 5)) throw new Error(`focus kernels: blend of ${spec2.levels} levels on kernels sized for ${spec.levels}`);
      bw = w;
      bh = h;
      bc = c;
      finished = false;
      blend = spec2 && spec2.levels > 0 ? spec2 : null;
      geom = blend ? pyramidLevels(w, h, blend.levels) : [];
      new Float64Array(buf, L.total, w * h).fill(0);
      new Float64Array(buf, L.dnum, w * h).fill(0);
      new Float64Array(buf, L.den, w * h).fill(0);
      if (blend) {
        new Float32Array(buf, L.num, (C * pyr) / 4).fill(0);
        new Float32Array(buf, L.wden, pyr / 4).fill(0);
      }
    },
    cacheFrames: spec.cacheFrames ?? 0,
    keepEnergy(e, k) {
      if (!(k < (spec.cacheFrames ?? 0))) throw new Error(`focus kernels: no room to keep frame ${k}'s energy`);
      new Uint8Array(buf, L.cache + k * bw * bh * 4, bw * bh * 4).set(new Uint8Array(buf, e, bw * bh * 4));
    },
    keptEnergy: (k) => L.cache + k * bw * bh * 4,
    load(p) {
      if (p.w !== bw || p.h !== bh || p.c !== bc) throw new Error('focus kernels: frame differs from the band');
      loadFrame(p);
    },
    codeSlots,
    codesView(is16, slot = 0, rows) {
      // A band not yet begun is as wide as the kernels.
      const px = rows === undefined ? bw * bh : spec.width * rows;
      return new Uint8Array(buf, slotAt(slot, is16, px), px * C * (is16 ? 2 : 1));
    },
    async loadCodesPlanar(is16, slot = 0) {
      if (!blend) throw new Error('focus kernels: no blend in this band');
      await runRows(bh, bw, { op: 'codesP', is16: is16 ? 1 : 0, c: bc, at: slotAt(slot, is16) });
    },
    async loadCodes(is16, slot = 0) {
      // Turned into floats when a step needs them (shinestacker's Sobel energies read the codes).
      slotAt(slot, is16);
      pendingCodes = is16 ? 2 : 1;
      pendingSlot = slot;
    },
    async sumPower(e, power, k) {
      await runRows(bh, bw, { op: 'sumPower', e, power, k });
    },
    async seedWeights(e, power) {
      await runRows(bh, bw, { op: 'seedW', e, power, to: L.weight });
    },
    async oursWeights(e, power, k) {
      await runRows(bh, bw, { op: 'oursW', e, power, k, to: L.weight });
    },
    setWeight(m) {
      new Float32Array(buf, L.weight, bw * bh).set(m);
    },
    weight: () => new Float32Array(buf, L.weight, bw * bh).slice(),
    async frame() {
      await floats();
      return new Float32Array(buf, L.src, bw * bh * bc).slice();
    },
    async smoothWeight(k) {
      await sepOn(bw, bh, L.weight, L.weight, k, k);
    },
    async depth(over) {
      await runRows(bh, bw, { op: 'depth', den: over === 'total' ? L.total : L.den, to: P0 });
      return new Float32Array(buf, P0, bw * bh);
    },
    async blendFrame(p) {
      if (!blend) throw new Error('focus kernels: no blend in this band');
      if (p && p !== 'planar') {
        if (p.w !== bw || p.h !== bh || p.c !== bc) throw new Error('focus kernels: frame differs from the band');
        loadFrame(p);
      }
      const [k0, k1, k2] = blend.kernel as [number, number, number];
      const K = { k0, k1, k2, c: bc };
      if (p !== 'planar') {
        await floats();
        await runRows(bh, bw, { op: 'deint', c: bc, to: L.frame });
      }
      for (let l = 0; l <= blend.levels; l++) {
        const a = geom[l]!;
        const b = geom[l + 1];
        if (b) {
          const planes: Array<[number, number]> = [];
          for (let ch = 0; ch < bc; ch++) planes.push([L.frame + ch * pyr + a.off, L.frame + ch * pyr + b.off]);
          planes.push([L.weight + a.off, L.weight + b.off]);
          await runRows(b.h, b.w, { op: 'reduce', planes, sw: a.w, sh: a.h, ...K });
        }
        // The level becomes the Laplacian band (the top level stays the low-pass) and is accumulated.
        await runRows(a.h, a.w, { op: 'expandAcc', g: L.frame + a.off, up: b ? L.frame + b.off : 0, sw: b?.w ?? 0, sh: b?.h ?? 0, num: L.num + a.off, wt: L.weight + a.off, wden: L.wden + a.off, ...K });
      }
    },
    async maxUpdate(e, k) {
      // The map's f64 planes hold it: the index sum in `total`, the best energy, index and count in `dnum`.
      const bands = rowBands(bh, bw, bh * bw < 32768 ? 1 : pool.threads);
      await pool.run(bands, { w: bw, h: bh, op: 'maxUp', e, k, ...maxPlanes() });
      return bands.some(([s]) => new Int32Array(buf, L.slots + 8 * (s / bw), 1)[0] !== 0);
    },
    async maxWeights(e, k) {
      await runRows(bh, bw, { op: 'maxW', ties: e === null ? 0 : 1, e: e ?? 0, k, to: L.weight, ...maxPlanes() });
    },
    async maxDepth() {
      await runRows(bh, bw, { op: 'maxD', to: P0, ...maxPlanes() });
      return new Float32Array(buf, P0, bw * bh);
    },
    async finishBlend() {
      if (!blend) throw new Error('focus kernels: no blend in this band');
      if (finished) return;
      finished = true;
      const [k0, k1, k2] = blend.kernel as [number, number, number];
      for (const a of geom) await runRows(a.h, a.w, { op: 'norm', num: L.num + a.off, c: bc, wden: L.wden + a.off, floor: blend.floor, keep: blend.keepBelow ? 1 : 0 });
      for (let l = blend.levels - 1; l >= 0; l--) {
        const a = geom[l]!, b = geom[l + 1]!;
        await runRows(a.h, a.w, { op: 'collapse', c: bc, up: L.num + b.off, sw: b.w, sh: b.h, g: L.num + a.off, k0, k1, k2 });
      }
    },
    async blendResult() {
      await self.finishBlend();
      await runRows(bh, bw, { op: 'inter', from: L.num, c: bc });
      return { w: bw, h: bh, c: bc, data: new Float32Array(buf, L.src, bw * bh * bc) };
    },
    async samples(from, rows, mode, trunc) {
      if (!finished) throw new Error('focus kernels: samples before finishBlend');
      if (!(from >= 0 && rows >= 1 && from + rows <= bh)) throw new Error(`focus kernels: rows ${from}..${from + rows} outside the band's ${bh}`);
      // The samples go where the interleaved frame was (free once the band is blended).
      await runRows(rows, bw, { op: 'samples', from: L.num + from * bw * 4, c: bc, origin: 0, mode: mode === 'u8' ? 1 : mode === 'u16be' ? 2 : 3, trunc: trunc ? 1 : 0 });
      return new Uint8Array(buf, L.src, rows * bw * bc * (mode === 'u8' ? 1 : 2));
    },
    async depthSamples(depth, from, rows, scale) {
      if (depth.length !== bw * bh) throw new Error(`focus kernels: depth of ${depth.length} values for a ${bw}×${bh} band`);
      if (!(from >= 0 && rows >= 1 && from + rows <= bh)) throw new Error(`focus kernels: rows ${from}..${from + rows} outside the band's ${bh}`);
      // The depth in P0 (where depth() leaves it; a JS one is copied there), its samples in P1.
      if (depth.buffer !== buf || depth.byteOffset !== P0) new Float32Array(buf, P0, bw * bh).set(depth);
      await runRows(rows, bw, { op: 'depthS', from: P0 + from * bw * 4, scale, origin: 0, to: P1 });
      return new Uint8Array(buf, P1, rows * bw);
    },
    close: () => pool.close(),
  };
  return self;
}
