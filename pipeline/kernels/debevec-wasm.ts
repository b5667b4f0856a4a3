// The Debevec merge's per-strip work (fold every frame's 8/16-bit codes into the sums, then lnE) in
// WebAssembly with 128-bit SIMD (pipeline/kernels/assembly/debevec.ts, built to debevec.wasm) on
// `threads` cores. One shared WebAssembly.Memory holds the tables, the strip's codes for every frame,
// the sums and the lnE out; the caller copies each frame's codes into `codes(j)`, `run()` splits the
// strip into row bands — the calling thread takes one, workers the rest — and lnE is read from `lnE`.
// No copying between threads: every band reads and writes its own range of the same buffer.
//
// Returns null where WebAssembly SIMD or shared memory is unavailable; the caller then runs the
// plain-TS reference (pipeline/hdr/merge-kernel.ts). lnE and saturated counts equal it bit for bit;
// spool codes are within one of it (f32 lanes, ≈ 0.2 % one off), the linear values (f32 exp) within
// one f32 ulp of Math.exp, the statistics within 1e-6 (docs/hdr.md states the tolerances).
import type { MergeLut } from '../hdr/merge-kernel.js';
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

interface Exports {
  accumulateCodes8: Kernel;
  accumulateCodes16: Kernel;
  mergeCodes8: Merge;
  mergeCodes16: Merge;
  firstPass8: FirstPass;
  firstPass16: FirstPass;
  finish(start: number, end: number, channels: number, g: number, num: number, den: number, sl: number, ll: number, lnTShort: number, lnTLong: number, half: number, satLevel: number, out: number): number;
  linearAndSpool(start: number, end: number, lnE: number, linear: number, spool: number, lo: number, scale: number, expTab: number): void;
  rowStats(lnE: number, start: number, end: number, rowLen: number, channels: number, row0: number, sampleParity: number, out: number, expTab: number): void;
  rgbeRows(linear: number, start: number, end: number, rowLen: number, channels: number, rgbe: number, rle: number, out: number, slot: number, lens: number, planes: number): void;
  heapBase(): number;
}
type Merge = (codeTab: number, pairTab: number, n: number, start: number, end: number, channels: number, g: number, lnTShort: number, lnTLong: number, half: number, satLevel: number, out: number) => number;
type FirstPass = (cfg: number, set: number, start: number, end: number, row0: number) => number;
type Kernel = (codes: number, start: number, end: number, channels: number, pairs: number, num: number, den: number, keep: number, first: number) => void;

/** Byte addresses of everything in the shared memory, plus the strip constants: all a band needs. */
interface Layout {
  frames: number;
  channels: number;
  wide: boolean;
  g: number;
  /** Per frame: the table as (w·(g − ln t), w) f32 pairs. */
  pairs: number[];
  /** Per code set (two when double-buffered), per frame. */
  codes: number[][];
  /**
   * With two frames or more, every frame is folded in and finished in one pass (mergeCodes8/16):
   * per code set, the address of a u32 table of the frames' code addresses; and the pairs' table.
   * Empty with one frame (accumulate + finish through num/den).
   */
  codeTabs: number[];
  pairTab: number;
  num: number;
  den: number;
  shortLevel: number;
  longLevel: number;
  lnTShort: number;
  lnTLong: number;
  half: number;
  satLevel: number;
  /** Where each code set's run writes its results (two sets with `overlap`: a strip's results are read while the next is computed). */
  outs: Outputs[];
  spoolLo: number;
  spoolScale: number;
  /** Samples a row (bands start at row boundaries). */
  rowLen: number;
  rle: number;
  slot: number;
  /** Byte planes of each row's quadruples for the RLE (strip-sized as `rgbe`). */
  planes: number;
  /** exp table for the vector exp (assembly/lib/vexp.ts expTabF64x2). */
  expTab: number;
  /** With two frames or more, per code set: the f64 slots firstPass8/16 read (CFG_* in assembly/debevec.ts). */
  cfgs: number[];
}

/** One code set's results: byte addresses in the shared memory (0: not wanted). */
interface Outputs {
  /** lnE. */
  out: number;
  /** exp(lnE). */
  linear: number;
  /** 16-bit spool codes, round((lnE − spoolLo)·spoolScale) clamped. */
  spool: number;
  /** Per-row statistics records, ROW_STATS bytes each. */
  stats: number;
  /** RGBE quadruples of the strip (0: no .hdr scanlines wanted); with `rle`, RLE rows in `slot`-byte slots at `rleOut`, lengths in `lens`. */
  rgbe: number;
  rleOut: number;
  lens: number;
}

/** The f64 slots of assembly/debevec.ts firstPass's configuration block, in order. */
const CFG_FIELDS = [
  'codeTab0', 'codeTab1', 'pairTab', 'frames', 'channels', 'g', 'lnTShort', 'lnTLong', 'half', 'satLevel', 'out', 'linear', 'spool',
  'spoolLo', 'spoolScale', 'rowLen', 'stats', 'rgbe', 'rle', 'rleOut', 'slot', 'lens', 'planes', 'expTab',
] as const;

/** exp(−88 + k/256), k = 0 … 176·256: the table assembly/lib/vexp.ts's expTabF64x2 reads. */
let expTable: Float64Array | null = null;
function expTab(): Float64Array {
  expTable ??= Float64Array.from({ length: 176 * 256 + 1 }, (_, k) => Math.exp(-88 + k / 256));
  return expTable;
}

/** Bytes of one row's statistics record (assembly/debevec.ts rowStats). */
export const ROW_STATS = 32;

// One band: every frame folded in, then lnE. Runs in the calling thread and, as text, in each worker.
// With two frames or more the whole band is one call (firstPass: merge, exp, spool, statistics and
// scanlines row by row, each row's values still in cache).
const BAND_SOURCE = `function runBand(ex, L, start, end, job) {
  if (L.cfgs.length) return (L.wide ? ex.firstPass16 : ex.firstPass8)(L.cfgs[job.set], job.set, start, end, job.row0);
  const O = L.outs[job.set];
  const acc = L.wide ? ex.accumulateCodes16 : ex.accumulateCodes8;
  const codes = L.codes[job.set];
  for (let j = 0; j < L.frames; j++) {
    const keep = j === 0 ? L.shortLevel : j === L.frames - 1 ? L.longLevel : 0;
    acc(codes[j], start, end, L.channels, L.pairs[j], L.num, L.den, keep, j === 0 ? 1 : 0);
  }
  const saturated = ex.finish(start, end, L.channels, L.g, L.num, L.den, L.shortLevel, L.longLevel, L.lnTShort, L.lnTLong, L.half, L.satLevel, O.out);
  if (O.linear || O.spool) ex.linearAndSpool(start, end, O.out, O.linear, O.spool, L.spoolLo, L.spoolScale, L.expTab);
  if (O.stats) ex.rowStats(O.out, start, end, L.rowLen, L.channels, job.row0, 0, O.stats, L.expTab);
  if (O.rgbe) ex.rgbeRows(O.linear, start, end, L.rowLen, L.channels, O.rgbe, L.rle, O.rleOut, L.slot, O.lens, L.planes);
  return saturated;
}`;

export interface WasmDebevec {
  readonly threads: number;
  /**
   * Where frame j's codes for the next run go (strip samples long). Double-buffered (`overlap`),
   * run() switches to the other set as soon as it has started, so the caller can fill the next
   * strip while the kernels work on this one.
   */
  codes(j: number): Uint8Array | Uint16Array;
  /** Frame j's codes of code set `set` (0, or 0 and 1 with `overlap`). */
  codesOf(set: number, j: number): Uint8Array | Uint16Array;
  /** true when the code sets are double-buffered (see codes). */
  readonly overlap: boolean;
  /**
   * Accumulate every frame and finish the first `count` samples (`rowLen` per row); returns saturated
   * pixels. `row0`: the strip's first image row (the statistics sample the even image rows).
   */
  run(count: number, rowLen: number, row0?: number): Promise<number>;
  /** The code set the next run() reads (codes(j)) and whose results it writes (results(set)). */
  readonly nextSet: number;
  /** The results of the last run on code set `set`: valid until the next run on that set starts. */
  results(set: number): DebevecResults;
  /** lnE of the last run (strip samples long). */
  readonly lnE: Float32Array;
  /** exp(lnE) of the last run, when asked for with `linear` (else null). */
  readonly linear: Float32Array | null;
  /** lnE of the last run as spool codes, when asked for with `spool` (else null). */
  readonly spool: Uint16Array | null;
  /** Per-row statistics of the last run (with `stats`): fold them in row order with foldRowStats. */
  readonly stats: DataView | null;
  /**
   * The .hdr scanlines of the last run's first `rows` rows (with `rgbe`), in a fresh buffer the caller
   * owns: RLE rows when 8 ≤ width ≤ 32767 (as the radiance sink writes them), flat RGBE otherwise.
   */
  scanlines(rows: number): Uint8Array | null;
  close(): Promise<void>;
}

/** One run's results (see WasmDebevec's lnE, linear, spool, stats and scanlines). */
export interface DebevecResults {
  readonly lnE: Float32Array;
  readonly linear: Float32Array | null;
  readonly spool: Uint16Array | null;
  readonly stats: DataView | null;
  scanlines(rows: number): Uint8Array | null;
  /** The same bytes as scanlines(rows), as views of the kernel's memory (one a row, or one flat): no copy. */
  scanlineParts(rows: number): Uint8Array[] | null;
}

export interface WasmDebevecSpec {
  lut: MergeLut;
  /** Per-frame tables w·(g − ln t) (frameTable), shortest exposure first. */
  tables: Float32Array[];
  lnT: number[];
  /** Samples per strip. */
  samples: number;
  /** Total threads including the caller's (1 = no workers). */
  threads: number;
  /** Also compute exp(lnE) (for the linear outputs) in the bands: within 1 f32 ulp of Math.exp. */
  linear?: boolean;
  /** Also quantise lnE to 16-bit codes round((lnE − lo)·scale), clamped to 0..65535, as merge.ts's spool. */
  spool?: { lo: number; scale: number };
  /** Samples a row: with it, each run also gathers per-row tone-map statistics (rowStats). */
  rowLen?: number;
  /** Also encode the linear radiance as .hdr scanlines (needs `linear` and `rowLen`). */
  rgbe?: boolean;
  /**
   * Double-buffer the codes so that the caller reads the next strip while this one is computed
   * (decoding overlaps the kernels). With one thread the band runs in a worker; with more the
   * calling thread takes a smaller first band (CALLER_WEIGHT) and then reads while the workers finish.
   */
  overlap?: boolean;
  /** Accumulate frame by frame through num/den then finish (the one-frame path), even with more frames: for tests. */
  separatePasses?: boolean;
}

export function createWasmDebevec(spec: WasmDebevecSpec): WasmDebevec | null {
  const arena = kernelArena('debevec');
  if (!arena) return null;
  const { lut, tables, lnT, samples } = spec;
  const n = tables.length;
  const wide = lut.levels > 256;
  const tableBytes = lut.levels * lut.channels * 4;
  const take = (bytes: number) => arena.take(bytes);
  const g = take(tableBytes);
  const pairs = tables.map(() => take(2 * tableBytes));
  const sets = spec.overlap ? 2 : 1;
  const codes = Array.from({ length: sets }, () => tables.map(() => take(samples * (wide ? 2 : 1))));
  // Two frames or more: one pass over all frames, no sums or levels in memory (see Layout.codeTabs).
  const fused = n >= 2 && !spec.separatePasses;
  const codeTabs = fused ? codes.map(() => take(n * 4)) : [];
  const pairTab = fused ? take(n * 4) : 0;
  const num = fused ? 0 : take(samples * 4);
  const den = fused ? 0 : take(samples * 4);
  const shortLevel = fused ? 0 : take(samples * 2);
  const longLevel = fused ? 0 : take(samples * 2);
  const rowLen = spec.rowLen ?? 0;
  const rows = rowLen ? Math.ceil(samples / rowLen) : 0;
  const width = rowLen / lut.channels;
  const wantRgbe = Boolean(spec.rgbe && spec.linear && rowLen);
  const rle = wantRgbe && width >= 8 && width <= 0x7fff;
  // Worst case RLE grows a scanline by 4 + one count byte per ≤ 128-byte literal per component.
  const slot = rle ? width * 4 + 4 + 4 * Math.ceil(width / 128) : 0;
  // Results per code set: with overlap the caller reads strip k's while strip k + 1 is computed.
  const outs: Outputs[] = codes.map(() => ({
    out: take(samples * 4),
    // The one-pass kernel's statistics read the luminance from the linear values: computed even when
    // no linear output is wanted.
    linear: spec.linear || (fused && spec.rowLen) ? take(samples * 4) : 0,
    spool: spec.spool ? take(samples * 2) : 0,
    stats: rowLen ? take(rows * ROW_STATS) : 0,
    rgbe: wantRgbe ? take(rows * width * 4) : 0,
    rleOut: rle ? take(rows * slot) : 0,
    lens: rle ? take(rows * 4) : 0,
  }));
  // Scratch of one run (runs never overlap).
  const planes = rle ? take(rows * width * 4) : 0;
  const expTabAt = take(expTab().length * 8);
  const cfgs = fused ? codes.map(() => take(CFG_FIELDS.length * 8)) : [];
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  const buf = made.memory.buffer;
  new Float32Array(buf, g, lut.g.length).set(lut.g);
  tables.forEach((t, j) => {
    const pair = new Float32Array(buf, pairs[j]!, 2 * t.length);
    for (let e = 0; e < t.length; e++) {
      pair[2 * e] = t[e]!;
      pair[2 * e + 1] = lut.w[e]!;
    }
  });
  new Float64Array(buf, expTabAt, expTab().length).set(expTab());
  codeTabs.forEach((at, set) => new Uint32Array(buf, at, n).set(codes[set]!));
  if (pairTab) new Uint32Array(buf, pairTab, n).set(pairs);
  const codeViews = codes.map((set) => set.map((at) => (wide ? new Uint16Array(buf, at, samples) : new Uint8Array(buf, at, samples))));
  let fill = 0;
  let last = 0;
  const layout: Layout = {
    frames: n,
    channels: lut.channels,
    wide,
    g,
    pairs,
    codes,
    codeTabs,
    pairTab,
    num,
    den,
    shortLevel,
    longLevel,
    lnTShort: lnT[0]!,
    lnTLong: lnT[n - 1]!,
    half: (lut.levels - 1) / 2,
    satLevel: lut.satLevel,
    outs,
    spoolLo: spec.spool?.lo ?? 0,
    spoolScale: spec.spool?.scale ?? 0,
    rowLen,
    rle: rle ? 1 : 0,
    slot,
    planes,
    expTab: expTabAt,
    cfgs,
  };
  cfgs.forEach((cfg, set) => {
    // Each set's block names its own codes (both code-table slots) and results.
    const slots: Record<(typeof CFG_FIELDS)[number], number> = { ...layout, ...outs[set]!, codeTab0: codeTabs[set]!, codeTab1: codeTabs[set]! };
    new Float64Array(buf, cfg, CFG_FIELDS.length).set(CFG_FIELDS.map((f) => slots[f]));
  });
  const resultsOf = outs.map((o): DebevecResults => ({
    lnE: new Float32Array(buf, o.out, samples),
    linear: spec.linear ? new Float32Array(buf, o.linear, samples) : null,
    spool: o.spool ? new Uint16Array(buf, o.spool, samples) : null,
    stats: o.stats ? new DataView(buf, o.stats, rows * ROW_STATS) : null,
    scanlines(n) {
      if (!o.rgbe) return null;
      if (!rle) return new Uint8Array(buf, o.rgbe, n * width * 4).slice();
      const len = new Int32Array(buf, o.lens, n);
      let total = 0;
      for (let r = 0; r < n; r++) total += len[r]!;
      // Every byte is written below: no need to zero it (one such buffer a strip).
      const bytes = Buffer.allocUnsafe(total);
      for (let r = 0, at = 0; r < n; at += len[r]!, r++) bytes.set(new Uint8Array(buf, o.rleOut + r * slot, len[r]!), at);
      return bytes;
    },
    scanlineParts(n) {
      if (!o.rgbe) return null;
      if (!rle) return [new Uint8Array(buf, o.rgbe, n * width * 4)];
      const len = new Int32Array(buf, o.lens, n);
      return Array.from({ length: n }, (_, r) => new Uint8Array(buf, o.rleOut + r * slot, len[r]!));
    },
  }));
  const pool = createBandPool({
    name: 'debevec',
    module: kernelModule('debevec')!,
    memory: made.memory,
    exports: made.exports,
    bandSource: BAND_SOURCE,
    layout,
    threads: spec.threads,
    // With overlap and one thread, the one band goes to a worker and the caller only reads.
    callerBand: !spec.overlap || spec.threads > 1,
  });
  return {
    threads: pool.threads,
    overlap: sets === 2,
    codes: (j) => codeViews[fill]![j]!,
    codesOf: (set, j) => codeViews[set]![j]!,
    get nextSet() {
      return fill;
    },
    results: (set) => resultsOf[set]!,
    get lnE() {
      return resultsOf[last]!.lnE;
    },
    get linear() {
      return resultsOf[last]!.linear;
    },
    get spool() {
      return resultsOf[last]!.spool;
    },
    get stats() {
      return resultsOf[last]!.stats;
    },
    scanlines: (n) => resultsOf[last]!.scanlines(n),
    run: (count, stripRowLen, row0 = 0) => {
      if (rowLen && stripRowLen !== rowLen) throw new Error(`debevec kernels: rows of ${stripRowLen} samples, made for ${rowLen}`);
      const set = fill;
      last = set;
      fill = (fill + 1) % sets;
      const rows = count / stripRowLen;
      const bands = spec.overlap && pool.threads > 1 ? callerFirstBands(rows, stripRowLen, pool.threads) : rowBands(rows, stripRowLen, pool.threads);
      return pool.run(bands, { row0: row0 & 1, set });
    },
    close: () => pool.close(),
  };
}

/**
 * The calling thread's share of a strip, against a worker's 1, when it also reads the next strip from
 * the decoders (its reading is about half a thread's work). Measured on the 2-core VM, 24 MP, N = 3,
 * interleaved runs: with the cores busy with other work (a CI run beside it), a third of the rows on
 * the caller and the rest on one worker took 15–25 % less wall time than one worker alone or an even
 * split; on the quiet machine the three are equal within the spread. It also starts one worker fewer.
 */
const CALLER_WEIGHT = 0.45;

/** Bands for the caller (first, smaller) and `threads − 1` workers; every row in exactly one band. */
export function callerFirstBands(rows: number, rowLen: number, threads: number): Array<[number, number]> {
  if (rows <= 1 || threads <= 1) return [[0, rows * rowLen]];
  const own = Math.max(1, Math.round((rows * CALLER_WEIGHT) / (CALLER_WEIGHT + threads - 1)));
  const rest = rowBands(rows - own, rowLen, threads - 1).map(([a, b]) => [a + own * rowLen, b + own * rowLen] as [number, number]);
  return [[0, own * rowLen], ...rest];
}
