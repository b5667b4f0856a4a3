// Mertens exposure fusion's tile work (weights, weight and Laplacian pyramids, blend, collapse) in
// WebAssembly with 128-bit SIMD (pipeline/kernels/assembly/pyramid.ts `mertensTile`) on `threads`
// cores. One shared WebAssembly.Memory holds every frame's window of 8/16-bit code rows, the code →
// value table, each thread's tile scratch and the fused output strip; the caller fills the windows,
// `run` hands each thread a share of the strip's tiles and the fused rows land in `strip`.
//
// Returns null where WebAssembly SIMD or shared memory is unavailable; the caller then runs the
// plain-TS reference (pipeline/hdr/mertens.ts fuseTileSources), which the result equals within f32
// rounding (test/pipeline/kernels-pyramid.test.ts).
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

interface Exports {
  mertensScratchBytes(tw: number, th: number, c: number, levels: number): number;
  countSaturated(codes: number, wide: number, start: number, end: number, c: number, level: number): number;
  mertensBytes(src: number, n: number, dst: number): void;
  heapBase(): number;
}

/** One tile of a strip: window columns [tx0, tx0 + tw), core [x0, x0 + cw) in image columns. */
export type MertensTileJob = [tx0: number, tw: number, x0: number, cw: number];

interface Layout {
  windows: number;
  n: number;
  wide: number;
  W: number;
  C: number;
  lut: number;
  levels: number;
  unit: number;
  pc: number;
  ps: number;
  pe: number;
  /** The fused strip's floats (0: not kept — the tiles write the JPEG's bytes straight to `bytes`). */
  strip: number;
  bytes: number;
  sum: number;
  /** Rows per mertensWeightSum chunk that fit each thread's scratch. */
  chunk: number[];
  scratch: number[];
}

type Job =
  /** Σ weights of window rows [start, end) of th. */
  | { op: 'sum'; th: number }
  /** Tiles [start, end): window rows [ty0, ty0 + th), the core from row cy0, ch rows. */
  | { op: 'tiles'; tiles: MertensTileJob[]; ty0: number; th: number; cy0: number; ch: number };

// Pyramid kernel of OpenCV's pyrDown/pyrUp: [1, 4, 6, 4, 1]/16.
const BAND_SOURCE = `function runBand(ex, L, start, end, job, band) {
  if (job.op === 'sum') {
    ex.mertensWeightSum(L.windows, L.n, L.wide, L.W, L.C, L.lut, job.th, start, end, L.sum, L.chunk[band], L.unit, L.pc, L.ps, L.pe, L.scratch[band]);
    return 0;
  }
  for (let t = start; t < end; t++) {
    const T = job.tiles[t];
    ex.mertensTile(L.windows, L.n, L.wide, L.W, L.C, L.lut, T[0], job.ty0, T[1], job.th, L.levels, 0.0625, 0.25, 0.375,
      L.unit, L.pc, L.ps, L.pe, L.strip + 4 * T[2] * L.C, L.W * L.C, T[2] - T[0], job.cy0, T[3], job.ch, L.sum, L.scratch[band], L.strip ? 0 : L.bytes + T[2] * L.C);
  }
  return 0;
}`;

export interface WasmMertensSpec {
  frames: number;
  width: number;
  channels: number;
  /** 16-bit codes (else 8-bit). */
  wide: boolean;
  /** Rows each frame's window holds. */
  windowRows: number;
  /** Largest tile (halo included). */
  tileW: number;
  tileH: number;
  /** Core rows per strip (the output strip's height). */
  stripRows: number;
  /**
   * Keep the fused strip as floats (for .hdr/.tif/.fits outputs; the JPEG bytes are then made from
   * them). false: only the JPEG's 8-bit samples, written by the tiles — 4 bytes a sample less.
   */
  floats?: boolean;
  levels: number;
  weights: { contrast: number; saturation: number; exposedness: number };
  /** Threads for the Σ-weights pass, the caller's included (1 = no workers). */
  threads: number;
  /** Of those, the ones that fuse tiles (each with a tile scratch; default all). */
  tileThreads?: number;
}

export interface WasmMertens {
  readonly threads: number;
  /** Frame k's window of code rows (windowRows × width × channels). */
  window(k: number): Uint8Array | Uint16Array;
  /** The fused core rows of the last run (stripRows × width × channels); null without `floats`. */
  readonly strip: Float32Array | null;
  /**
   * The first `count` samples of `strip` as the JPEG encoder's 8-bit samples (floatToPnm's bytes,
   * byte for byte), in a fresh buffer the caller owns (the sink keeps it while the encoder reads).
   */
  stripBytes(count: number): Uint8Array;
  /**
   * Σ_k weights for window rows [from, th) (the windows hold th rows); rows above `from` keep what an
   * earlier call left, moved up by `shift` rows as the windows were.
   */
  weightSum(shift: number, from: number, th: number): Promise<void>;
  /** Pixels of frame k's window rows [from, to) with any channel's code ≥ level. */
  countSaturated(k: number, from: number, to: number, level: number): number;
  /** Fuse the tiles (window rows [ty0, ty0 + th), core rows from cy0, ch of them) into `strip`. */
  run(tiles: MertensTileJob[], ty0: number, th: number, cy0: number, ch: number): Promise<void>;
  close(): Promise<void>;
}

/** Shared-memory bytes a fusion of this shape takes (windows + per-thread scratch + strip). */
export function wasmMertensBytes(s: Omit<WasmMertensSpec, 'weights'>): number {
  return s.windowRows * s.width * (s.frames * s.channels * (s.wide ? 2 : 1) + 4) + (s.tileThreads ?? s.threads) * mertensScratchEstimate(s.tileW, s.tileH, s.channels, s.levels) + s.stripRows * s.width * s.channels * mertensStripBytes(s.floats ?? true);
}

/** Shared-memory bytes per output strip sample: the JPEG's byte, and the float when kept. */
export function mertensStripBytes(floats: boolean): number {
  return floats ? 5 : 1;
}

/** The scratch one thread needs (as assembly/pyramid.ts mertensScratchBytes). */
export function mertensScratchEstimate(tw: number, th: number, c: number, levels: number): number {
  let pyr = 0;
  for (let l = 0, w = tw, h = th; l <= levels; l++, w = (w + 1) >> 1, h = (h + 1) >> 1) pyr += w * h;
  return (tw + 80) * 4 + (6 * tw + pyr + c * tw * th + (pyr - tw * th) + c * pyr) * 4 + 64;
}

export function createWasmMertens(spec: WasmMertensSpec): WasmMertens | null {
  const arena = kernelArena('pyramid');
  if (!arena) return null;
  const { frames, width: W, channels: C, wide } = spec;
  const windowLen = spec.windowRows * W * C;
  const windows = Array.from({ length: frames }, () => arena.take(windowLen * (wide ? 2 : 1)));
  const table = arena.take(frames * 4);
  const levels = wide ? 65536 : 256;
  const lut = arena.take(levels * 4);
  const stripLen = spec.stripRows * W * C;
  const floats = spec.floats ?? true;
  const strip = floats ? arena.take(stripLen * 4) : 0;
  const bytes = arena.take(stripLen);
  const sum = arena.take(spec.windowRows * W * 4);
  const threads = Math.max(1, Math.floor(spec.threads));
  const tileThreads = Math.max(1, Math.min(threads, Math.floor(spec.tileThreads ?? threads)));
  // A tile thread's scratch also serves mertensWeightSum (grey, weights and C planes of W × (chunk + 2));
  // the other threads only sum weights, in 8-row chunks.
  const sumRowBytes = (C + 2) * 4 * W;
  const tileBytes = Math.max(mertensScratchEstimate(spec.tileW, spec.tileH, C, spec.levels), 10 * sumRowBytes + 64);
  const sizes = Array.from({ length: threads }, (_, k) => (k < tileThreads ? tileBytes : 10 * sumRowBytes + 64));
  const scratch = sizes.map((b) => arena.take(b));
  const chunk = sizes.map((b) => Math.floor((b - 64) / sumRowBytes) - 2);
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  if (made.exports.mertensScratchBytes(spec.tileW, spec.tileH, C, spec.levels) > tileBytes) throw new Error('mertens kernels: scratch estimate too small');
  const buf = made.memory.buffer;
  new Uint32Array(buf, table, frames).set(windows);
  // Code → value exactly as the reference's tile copy computes it: code · (1/scale), rounded to f32.
  const inv = 1 / (levels - 1);
  const lutView = new Float32Array(buf, lut, levels);
  for (let z = 0; z < levels; z++) lutView[z] = z * inv;
  const mw = spec.weights;
  const layout: Layout = {
    windows: table,
    n: frames,
    wide: wide ? 1 : 0,
    W,
    C,
    lut,
    levels: spec.levels,
    unit: mw.contrast === 1 && mw.saturation === 1 && mw.exposedness === 1 ? 1 : 0,
    pc: mw.contrast,
    ps: mw.saturation,
    pe: mw.exposedness,
    strip,
    bytes,
    sum,
    chunk,
    scratch,
  };
  const pool = createBandPool({ name: 'mertens', module: kernelModule('pyramid')!, memory: made.memory, exports: made.exports, bandSource: BAND_SOURCE, layout, threads });
  const windowViews = windows.map((at) => (wide ? new Uint16Array(buf, at, windowLen) : new Uint8Array(buf, at, windowLen)));
  return {
    threads: pool.threads,
    window: (k) => windowViews[k]!,
    strip: floats ? new Float32Array(buf, strip, stripLen) : null,
    stripBytes(count) {
      if (floats) made.exports.mertensBytes(strip, count, bytes);
      // Every byte is written below: no need to zero it.
      const out = Buffer.allocUnsafe(count);
      out.set(new Uint8Array(buf, bytes, count));
      return out;
    },
    countSaturated: (k, from, to, level) => made.exports.countSaturated(windows[k]!, wide ? 1 : 0, from * W, to * W, C, level),
    async weightSum(shift, from, th) {
      const view = new Float32Array(buf, sum, spec.windowRows * W);
      if (shift > 0) view.copyWithin(0, shift * W, spec.windowRows * W);
      const job: Job = { op: 'sum', th };
      await pool.run(rowBands(th - from, 1, pool.threads).map(([a, b]) => [a + from, b + from] as [number, number]), job);
    },
    async run(tiles, ty0, th, cy0, ch) {
      const job: Job = { op: 'tiles', tiles, ty0, th, cy0, ch };
      await pool.run(rowBands(tiles.length, 1, tileThreads), job);
    },
    close: () => pool.close(),
  };
}
