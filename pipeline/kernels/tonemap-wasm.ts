// The Debevec merge's second pass (Reinhard from the spooled 16-bit lnE codes → the JPEG encoder's
// 8-bit samples) in WebAssembly (assembly/tonemap.ts → tonemap.wasm) on `threads` cores. The caller
// puts a strip of codes into one of `codes`, `run()` splits it into row bands (the calling thread
// takes one, workers the rest) and the bytes are read from one of `bytes` — several byte slots so
// the encoder can still hold earlier strips while the next is tone-mapped.
//
// Tolerance against toneMapCodes + floatToPnm (pipeline/hdr/tonemap.ts, pipeline/image/pnm.ts):
// every sample within ±1 code, ≤ 0.5 % of them off by one (0.065 % of a real 24 MP scene at γ 2.2;
// test/pipeline/kernels-hdr-out.test.ts asserts it over every spool code at γ 0.1–10).
//
// Returns null where WebAssembly SIMD or shared memory is unavailable, or for a gamma the byte table
// cannot hold within ±1 code (none within the CLI's 0.1–10); the caller then runs the plain-TS reference.
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

interface Exports {
  fillExpLut(expLut: number, lo: number, step: number): void;
  fillGammaLut(g: number, top: number, gamma: number): void;
  gammaCellCount(g: number, top: number, minCells: number, maxCells: number, span: number): number;
  fillGammaBytes(g: number, top: number, cells: number, bytes: number): void;
  toneMapF32(codes: number, start: number, end: number, channels: number, expLut: number, bytes: number, cells: number, a: number, iw2: number, out: number): void;
  heapBase(): number;
}

interface Layout {
  channels: number;
  expLut: number;
  /** gammaBytes' table and its cell count. */
  bytes: number;
  cells: number;
  a: number;
  iw2: number;
}

// job: the strip's { codes, out } addresses.
const BAND_SOURCE = `function runBand(ex, L, start, end, job) {
  ex.toneMapF32(job.codes, start, end, L.channels, L.expLut, L.bytes, L.cells, L.a, L.iw2, job.out);
  return 0;
}`;

/** The reference's byte at x = √v·top of the gamma table g: floatToPnm(f32(g[k] + (x − k)(g[k+1] − g[k]))), k = ⌊x⌋. */
function referenceByte(g: Float32Array, x: number): number {
  const k = Math.floor(x);
  const d = Math.fround(g[k]! + (x - k) * (g[k + 1]! - g[k]!));
  return d <= 0 ? 0 : d >= 1 ? 255 : Math.round(d * 255);
}

/** Fewest and most cells of a byte table (64 KiB … 2 MiB). */
const MIN_CELLS = 1 << 16;
const MAX_CELLS = 1 << 21;
/** The most the reference's display value may move across one cell, in codes. */
const SPAN = 0.1;

/**
 * The kernel's gamma table in plain TS (the kernel makes the same one with fillGammaBytes):
 * the display byte over u = √v in `cells` equal cells, cell j centred on u = j / cells (the kernel
 * rounds √v·cells to the nearest integer; cell `cells` is v ≥ 1: 255), each holding the reference's
 * byte at its centre (cell 0 is 0, as v ≤ 0 and NaN are). The cells are fine enough that the
 * reference's display value moves at most SPAN of a code across one, so any v in a cell is within
 * ±1 of the reference, and equal to it unless a rounding boundary lies between v and the centre
 * (0.065 % of the samples of a real 24 MP scene at γ 2.2). 65536 cells serve γ 0.1 … 3; steeper gammas take
 * up to 2^21 (γ 10); null beyond (the caller then runs the plain-TS reference).
 */
export function gammaBytes(g: Float32Array): { bytes: Uint8Array; cells: number } | null {
  const top = g.length - 2;
  let steepest = 0;
  for (let k = 0; k < top; k++) steepest = Math.max(steepest, (g[k + 1]! - g[k]!) * 255);
  let cells = MIN_CELLS;
  while (cells <= MAX_CELLS && (steepest * top) / cells > SPAN) cells *= 2;
  if (cells > MAX_CELLS) return null;
  const bytes = new Uint8Array(cells + 1);
  const scale = top / cells;
  for (let j = 1; j < cells; j++) bytes[j] = referenceByte(g, j * scale);
  bytes[cells] = 255;
  return { bytes, cells };
}

export interface WasmToneMap {
  readonly threads: number;
  /** `spec.codeSlots` strips of spool codes in the kernel's shared memory (strip samples long each). */
  readonly codes: readonly Uint16Array[];
  /** `spec.byteSlots` strips of 8-bit display samples (strip samples long each). */
  readonly bytes: readonly Uint8Array[];
  /** Tone-map the first `count` samples (`rowLen` a row) of codes slot `from` into bytes slot `to`. */
  run(from: number, to: number, count: number, rowLen: number): Promise<void>;
  close(): Promise<void>;
  /** The byte table the kernel made (gammaBytes' cells + 1 entries; for the tests). */
  table(): Uint8Array;
}

export interface WasmToneMapSpec {
  /** Samples per strip. */
  samples: number;
  /** Strips of codes and of bytes (default 1 each). */
  codeSlots?: number;
  byteSlots?: number;
  channels: number;
  /** Spool code q stands for lnE = lo + q·step (the kernel tabulates exp of all 65536). */
  lo: number;
  step: number;
  /** Display gamma (the table is gammaBytes(gammaLut(gamma)), made in the kernel). */
  gamma: number;
  /** reinhardConstants(stats). */
  a: number;
  w2: number;
  /** Total threads including the caller's. */
  threads: number;
}

/** gammaLut's steps (tonemap.ts). */
const GAMMA_TOP = 4096;

export function createWasmToneMap(spec: WasmToneMapSpec): WasmToneMap | null {
  // The kernel has RGB and mono paths (the JPEG sink takes nothing else).
  if (spec.channels !== 1 && spec.channels !== 3) return null;
  const arena = kernelArena('tonemap');
  if (!arena) return null;
  const { samples } = spec;
  const expLut = arena.take(65536 * 4);
  const g = arena.take((GAMMA_TOP + 2) * 4);
  // Room for the finest table; the pages a coarser one leaves untouched are never made resident.
  const bytes = arena.take(MAX_CELLS + 1);
  const codes = Array.from({ length: Math.max(1, spec.codeSlots ?? 1) }, () => arena.take(samples * 2));
  const out = Array.from({ length: Math.max(1, spec.byteSlots ?? 1) }, () => arena.take(samples));
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  const ex = made.exports;
  ex.fillGammaLut(g, GAMMA_TOP, spec.gamma);
  const cells = ex.gammaCellCount(g, GAMMA_TOP, MIN_CELLS, MAX_CELLS, SPAN);
  if (cells === 0) return null;
  ex.fillGammaBytes(g, GAMMA_TOP, cells, bytes);
  ex.fillExpLut(expLut, spec.lo, spec.step);
  const buf = made.memory.buffer;
  const layout: Layout = { channels: spec.channels, expLut, bytes, cells, a: spec.a, iw2: 1 / spec.w2 };
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
    codes: codes.map((at) => new Uint16Array(buf, at, samples)),
    bytes: out.map((at) => new Uint8Array(buf, at, samples)),
    run: async (from, to, count, rowLen) => {
      await pool.run(rowBands(count / rowLen, rowLen, pool.threads), { codes: codes[from]!, out: out[to]! });
    },
    close: () => pool.close(),
    table: () => new Uint8Array(buf, bytes, cells + 1),
  };
}
