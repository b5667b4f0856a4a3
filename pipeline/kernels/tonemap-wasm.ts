// The Debevec merge's second pass (Reinhard from the spooled 16-bit lnE codes → the JPEG encoder's
// 8-bit samples) in WebAssembly (assembly/tonemap.ts → tonemap.wasm) on `threads` cores. The caller
// copies a strip of codes into `codes`, `run()` splits it into row bands (the calling thread takes
// one, workers the rest) and the bytes are read from `bytes`. They equal toneMapCodes + floatToPnm
// (pipeline/hdr/tonemap.ts, pipeline/image/pnm.ts) byte for byte.
//
// Returns null where WebAssembly SIMD or shared memory is unavailable; the caller then runs the
// plain-TS reference.
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

interface Exports {
  toneMapCells(codes: number, start: number, end: number, channels: number, expLut: number, cellByte: number, rise: number, top: number, a: number, w2: number, out: number): void;
  toneMapBytes(codes: number, start: number, end: number, channels: number, expLut: number, gamma: number, top: number, a: number, w2: number, out: number): void;
  heapBase(): number;
}

interface Layout {
  codes: number;
  out: number;
  channels: number;
  expLut: number;
  gamma: number;
  top: number;
  a: number;
  w2: number;
  /** gammaCells' tables (0: the gamma rises more than one code in a cell, interpolate instead). */
  cellByte: number;
  rise: number;
}

const BAND_SOURCE = `function runBand(ex, L, start, end) {
  if (L.cellByte) ex.toneMapCells(L.codes, start, end, L.channels, L.expLut, L.cellByte, L.rise, L.top, L.a, L.w2, L.out);
  else ex.toneMapBytes(L.codes, start, end, L.channels, L.expLut, L.gamma, L.top, L.a, L.w2, L.out);
  return 0;
}`;

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** The largest double below x (x > 0). */
function below(x: number): number {
  f64[0] = x;
  i64[0] = i64[0]! - 1n;
  return f64[0];
}

/** The reference's byte for x = √v·top in gamma cell k: floatToPnm(f32(g[k] + (x − k)(g[k+1] − g[k]))). */
function cellByteAt(g: Float32Array, k: number, x: number): number {
  const d = Math.fround(g[k]! + (x - k) * (g[k + 1]! - g[k]!));
  return d <= 0 ? 0 : d >= 1 ? 255 : Math.round(d * 255);
}

/**
 * For each cell k of the gamma table (x = √v·top in [k, k + 1)), the byte at its start and the first
 * f64 x at which the byte is one higher (+∞ when it stays): the reference's byte is non-decreasing in
 * x inside a cell (one interpolation, then f32 and rounding), so these two give it exactly. null when
 * some cell rises by more than one code (very steep gammas): then the kernel interpolates as the reference does.
 */
export function gammaCells(g: Float32Array): { cellByte: Uint8Array; rise: Float64Array } | null {
  const top = g.length - 2;
  const cellByte = new Uint8Array(top + 1);
  const rise = new Float64Array(top + 1).fill(Infinity);
  for (let k = 0; k < top; k++) {
    const b0 = cellByteAt(g, k, k);
    cellByte[k] = b0;
    // Bisect over the doubles of [k, k + 1): lo keeps b0, hi is the cell's end or a higher byte.
    let lo = k;
    let hi = k + 1;
    for (;;) {
      const mid = lo + (hi - lo) / 2;
      if (mid <= lo || mid >= hi) break;
      if (cellByteAt(g, k, mid) > b0) hi = mid;
      else lo = mid;
    }
    if (cellByteAt(g, k, lo) !== b0) return null;
    if (hi < k + 1) {
      if (cellByteAt(g, k, hi) !== b0 + 1) return null;
      // The cell's last double must still be b0 + 1 (one rise at most).
      if (cellByteAt(g, k, below(k + 1)) !== b0 + 1) return null;
      rise[k] = hi;
    }
  }
  // v ≥ 1 lands at x = top exactly.
  cellByte[top] = 255;
  return { cellByte, rise };
}

export interface WasmToneMap {
  readonly threads: number;
  /** Where the strip's spool codes go (strip samples long). */
  readonly codes: Uint16Array;
  /** 8-bit display samples of the last run (strip samples long). */
  readonly bytes: Uint8Array;
  /** Tone-map the first `count` samples (`rowLen` a row). */
  run(count: number, rowLen: number): Promise<void>;
  close(): Promise<void>;
}

export interface WasmToneMapSpec {
  /** Samples per strip. */
  samples: number;
  channels: number;
  /** exp(lnE) of every spool code (65536 f32). */
  expLut: Float32Array;
  /** tonemap.ts gammaLut(γ): v^(1/γ) over u = √v, 4096 steps + guard. */
  gammaLut: Float32Array;
  /** reinhardConstants(stats). */
  a: number;
  w2: number;
  /** Total threads including the caller's. */
  threads: number;
}

export function createWasmToneMap(spec: WasmToneMapSpec): WasmToneMap | null {
  const arena = kernelArena('tonemap');
  if (!arena) return null;
  const { samples } = spec;
  const expLut = arena.take(spec.expLut.length * 4);
  const gamma = arena.take(spec.gammaLut.length * 4);
  const codes = arena.take(samples * 2);
  const out = arena.take(samples);
  const cells = gammaCells(spec.gammaLut);
  const cellByte = cells ? arena.take(cells.cellByte.length) : 0;
  const rise = cells ? arena.take(cells.rise.length * 8) : 0;
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  const buf = made.memory.buffer;
  new Float32Array(buf, expLut, spec.expLut.length).set(spec.expLut);
  new Float32Array(buf, gamma, spec.gammaLut.length).set(spec.gammaLut);
  if (cells) {
    new Uint8Array(buf, cellByte, cells.cellByte.length).set(cells.cellByte);
    new Float64Array(buf, rise, cells.rise.length).set(cells.rise);
  }
  const layout: Layout = { codes, out, channels: spec.channels, expLut, gamma, top: spec.gammaLut.length - 2, a: spec.a, w2: spec.w2, cellByte, rise };
  const pool = createBandPool({
    name: 'tonemap',
    module: kernelModule('tonemap')!,
    memory: made.memory,
    exports: made.exports,
    bandSource: BAND_SOURCE,
    layout,
    threads: spec.threads,
  });
  return {
    threads: pool.threads,
    codes: new Uint16Array(buf, codes, samples),
    bytes: new Uint8Array(buf, out, samples),
    run: async (count, rowLen) => {
      await pool.run(rowBands(count / rowLen, rowLen, pool.threads));
    },
    close: () => pool.close(),
  };
}
