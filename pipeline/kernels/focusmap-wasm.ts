// The focus map's hot loops (RDF, fuse, histograms, KDE box passes) in WebAssembly with 128-bit SIMD
// (assembly/focusmap.ts → focusmap.wasm) on `threads` cores. One shared memory holds the band (rows
// + halo, border-extended by plane.ts bandFromPlane straight into it), the prefix sums, the scale
// maps, the fused rows, the KDE planes and one histogram per thread and map; each step splits the
// band by rows (the vertical box passes by columns) over the band pool.
//
// References (pipeline/focus/rdf.ts, kde.ts, gaussian.ts, quantiles.ts) stay and are what runs with
// `kernels: 'js'`; the maps equal them bit for bit, the histograms' bins within one bin (log10).
import { BINS, LogHistogram } from '../focus/quantiles.js';
import { borderIndex, borderTable, type BorderMode } from '../focus/border.js';
import type { RadiiPair } from '../focus/rdf.js';
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

const HIST = BINS + 3;

/**
 * For every run of 32768 consecutive positive f32 bit patterns from 1e-14 to 1e6 (bits >> 15: 256
 * runs an octave, each narrower than a bin, so at most one bin edge falls inside): the histogram's bin
 * of its first pattern and where in the run the next bin starts, with the reference's formula and
 * Math.log10. The kernel then looks bins up instead of taking a log10 per sample, bit for bit the
 * reference's binning; the table is 68 KB, so it stays in cache.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (v: number) => ((f32[0] = v), u32[0]!);
const valueOf = (bits: number) => ((u32[0] = bits >>> 0), f32[0]!);
const SHIFT = 15;
const RUN = 1 << SHIFT;
const CELL0 = bitsOf(1e-14) >>> SHIFT;
const CELLS = (bitsOf(1e6) >>> SHIFT) + 1 - CELL0;
export function fillHistogramCells(cells: Uint32Array): void {
  const bin = (v: number) => Math.min(BINS - 1, Math.floor((Math.log10(v) + 14) * (BINS / 20)));
  for (let k = 0; k < CELLS; k++) {
    const base = (k + CELL0) << SHIFT;
    const lo = valueOf(base);
    const a = lo > 1e-14 ? bin(lo) : -1;
    const c = bin(valueOf(base | (RUN - 1)));
    if (a >= 0 && a === c) cells[k] = (a | (RUN << 16)) >>> 0;
    else if (a >= 0 && c === a + 1) {
      // the first pattern of bin c: bin() does not decrease along the patterns
      let lo2 = 1, hi2 = RUN - 1;
      while (lo2 < hi2) {
        const mid = (lo2 + hi2) >> 1;
        if (bin(valueOf(base | mid)) === c) hi2 = mid;
        else lo2 = mid + 1;
      }
      cells[k] = (a | (lo2 << 16)) >>> 0;
    } else cells[k] = 0xffff;
  }
}

/** histAdd's bin of a positive f32 `v` (> 1e-14) from the cells, in JavaScript: how the kernel looks it up (tests). */
export function cellBin(cells: Uint32Array, v: number): number {
  const bits = bitsOf(v);
  const k = (bits >>> SHIFT) - CELL0;
  if (k >= CELLS) return BINS - 1;
  const e = cells[k]!;
  const b = e & 0xffff;
  if (b === 0xffff) return Math.min(BINS - 1, Math.floor((Math.log10(v) + 14) * (BINS / 20)));
  return b + ((bits & (RUN - 1)) >= e >>> 16 ? 1 : 0);
}

/** The cells' count (for a Uint32Array to fill). */
export const HISTOGRAM_CELLS = CELLS;

interface Scale {
  ri: number;
  ro: number;
  hwIn: number;
  hwOut: number;
  nIn: number;
  nOut: number;
  map: number;
}

interface Layout {
  w: number;
  R: number;
  band: number;
  /** The band as the plane's codes (u8 or u16), and each code's value as bandFromPlane stores it (f32). */
  codeBand: number;
  lut: number;
  inside: number;
  cols: number;
  prefix: number;
  scales: Scale[];
  maps: number;
  norms: number;
  fused: number;
  kdeA: number;
  kdeB: number;
  /** The row-passed last 2·halo rows of the previous KDE band. */
  kdeSave: number;
  /** Histograms: [thread][slot], HIST f64 each. */
  hists: number;
  slots: number;
  cells: number;
  /** Per thread: two u32 count tables for histAdd. */
  scratch: number;
  cell0: number;
  cellCount: number;
  /** The pictures (pw wide: the full-size image): density rows, heat indices (a row above + the band), image codes, overlay table, scanlines. */
  pw: number;
  dens: number;
  k: number;
  codes: number;
  table: number;
  visScan: number;
  heatScan: number;
  ovScan: number;
}

const BAND_SOURCE = `function runBand(ex, L, start, end, j) {
  const w = L.w;
  const thread = Math.round((j.unit ? start : start / w) * j.n / j.rows);
  const hist = (slot) => L.hists + 8 * ${HIST} * (thread * L.slots + slot);
  switch (j.op) {
    case 'prefix': ex.prefixRows(L.band, w, L.R, L.cols, L.prefix, j.first, start, end); break;
    case 'prefixCodes': ex.prefixCodeRows(L.codeBand, j.bpc, L.lut, w, L.R, L.cols, L.prefix, start, end); break;
    case 'rdf': {
      const y0 = start / w, y1 = end / w;
      for (let s = 0; s < L.scales.length; s++) {
        const c = L.scales[s];
        ex.rdfRows(L.prefix, w, L.R, c.ri, c.ro, c.hwIn, c.hwOut, c.nIn, c.nOut, j.power, j.constant, L.inside, j.halo, c.map, y0, y1);
        if (j.scaleHists) ex.histAdd(c.map, hist(s), start, end, L.cells, L.cell0, L.cellCount, L.scratch + thread * 8 * ${BINS});
      }
      if (j.fuse) {
        ex.fuseRows(L.maps, L.norms, L.scales.length, L.fused, start, end);
        ex.histAdd(L.fused, hist(0), start, end, L.cells, L.cell0, L.cellCount, L.scratch + thread * 8 * ${BINS});
      }
      break;
    }
    case 'kdeRows': {
      const y0 = start / w, y1 = end / w;
      ex.impulseRows(L.kdeA, j.thr, j.strength, start, end);
      let a = L.kdeA, b = L.kdeB;
      for (const bw of j.boxes) { ex.boxRows(a, b, w, bw, y0, y1); const t = a; a = b; b = t; }
      break;
    }
    case 'kdeCols': {
      let a = j.from, b = j.from === L.kdeA ? L.kdeB : L.kdeA;
      for (const bw of j.boxes) { ex.boxCols(a, b, w, j.stored, bw, start, end); const t = a; a = b; b = t; }
      break;
    }
    case 'vis': ex.visRows(j.from, j.scale, L.pw, L.visScan, start / L.pw, end / L.pw); break;
    case 'paint': {
      const pw = L.pw, y0 = start / pw, y1 = end / pw;
      ex.heatRows(L.dens, j.cap, j.gain, pw, L.k + pw, y0, y1);
      if (j.channels) ex.overlayRows(L.codes, j.channels, L.k + pw, L.table, pw, L.ovScan, y0, y1);
      break;
    }
    case 'up': ex.upRows(L.k + L.pw, L.pw, L.heatScan, start / L.pw, end / L.pw); break;
    case 'hist': ex.histAdd(j.from, hist(0), start, end, L.cells, L.cell0, L.cellCount, L.scratch + thread * 8 * ${BINS}); break;
    default: throw new Error('focusmap kernels: unknown step ' + j.op);
  }
  return 0;
}`;

export interface WasmFocusMap {
  readonly threads: number;
  /** Band storage ((rows + 2R) × w f32) for bandFromPlane to fill. */
  readonly band: Float32Array;
  /**
   * RDF of the band's `rows` interior rows (halo R): per-scale maps, and either the per-scale
   * histograms (`scaleHists`) or, with `norms`, the fused rows and their histogram.
   */
  rdf(rows: number, inside: Uint8Array, o: { power: number; border: BorderMode; scaleHists?: boolean; norms?: { gain: number; offset: number }[]; codes?: 1 | 2 }): Promise<void>;
  /**
   * Load band rows y0 − R .. y0 + rows + R of an 8/16-bit plane as codes (border rows mapped, zero rows
   * outside for 'constant'), for `rdf` with `codes`; returns the band's inside flags.
   */
  loadCodes(plane: { width: number; height: number; data: Uint8Array | Uint16Array; scale: number }, y0: number, rows: number): Uint8Array;
  /** Scale s's map and the fused rows of the last `rdf` (rows × w). */
  map(s: number, rows: number): Float32Array;
  fused(rows: number): Float32Array;
  /** KDE input plane (stored × w): fill with the fused rows (zeros outside the image). */
  kdePlane(stored: number): Float32Array;
  /**
   * Impulses, then the box passes each way; returns the density's interior rows and adds them to the
   * density histogram. `reuse`: 0 for the first band; 2·halo when the previous band had the full
   * band rows (its last 2·halo stored rows are this band's first: their row passes are carried over,
   * and only rows 2·halo.. of the plane need the fused rows — rows halo.. for filter_vis).
   */
  kde(rows: number, halo: number, thr: number, strength: boolean, boxes: number[], reuse: number): Promise<Float32Array>;
  /** filter_vis scanlines (filter None) of `rows` fused rows: clip(v·scale) → bytes. */
  vis(from: Float32Array, rows: number, scale: number): Promise<Uint8Array>;
  /** Density rows to paint (rows × w): read the .npy rows into this. */
  paintDensity(rows: number): Float32Array;
  /** The image's 8-bit codes for the overlay (rows × w × channels): fill before `paint`. */
  paintCodes(rows: number, channels: number): Uint8Array;
  /**
   * Clip and scale the density rows in place (min(d, cap)·gain, f32), and paint: the jet map's
   * palette scanlines (filter Up) and, with `channels`, the overlay's RGB scanlines (filter Sub).
   */
  paint(rows: number, cap: number, gain: number, channels: number): Promise<{ heat: Uint8Array; overlay: Uint8Array | null }>;
  /** The heat indices of the last `paint` (rows × w). */
  heatIndices(rows: number): Uint8Array;
  /** The histograms in `slot` 0..count−1 summed over threads into LogHistograms, then cleared. */
  takeHistograms(count: number): LogHistogram[];
  close(): Promise<void>;
}

export function createWasmFocusMap(spec: { w: number; bandRows: number; radii: readonly RadiiPair[]; border: BorderMode; kdeStored: number; paintRows: number; fullWidth: number; threads: number; overlayTable: Uint8Array }): WasmFocusMap | null {
  const arena = kernelArena('focusmap');
  if (!arena) return null;
  const { w, bandRows, radii } = spec;
  const pw = spec.fullWidth;
  const R = Math.max(...radii.map((p) => p[1]));
  const storedRows = bandRows + 2 * R;
  const threads = Math.max(1, Math.floor(spec.threads));
  const slots = Math.max(1, radii.length);
  const take = (b: number) => arena.take(b);
  const disk = (r: number) => Int32Array.from({ length: 2 * r + 1 }, (_, i) => Math.floor(Math.sqrt(r * r - (i - r) * (i - r)) + 1e-9));
  const halfWidths = radii.map(([ri, ro]) => ({ hin: disk(ri), hout: disk(ro) }));
  const L: Layout = {
    w,
    R,
    band: take(storedRows * w * 4),
    codeBand: take(storedRows * w * 2),
    lut: take(65536 * 4),
    inside: take(storedRows),
    cols: take((w + 2 * R) * 4),
    prefix: take(storedRows * (w + 2 * R + 1) * 8),
    scales: radii.map(([ri, ro], s) => ({
      ri,
      ro,
      hwIn: take(halfWidths[s]!.hin.length * 4),
      hwOut: take(halfWidths[s]!.hout.length * 4),
      nIn: halfWidths[s]!.hin.reduce((a, h) => a + 2 * h + 1, 0),
      nOut: halfWidths[s]!.hout.reduce((a, h) => a + 2 * h + 1, 0),
      map: take(bandRows * w * 4),
    })),
    maps: take(radii.length * 4),
    norms: take(radii.length * 16),
    fused: take(bandRows * w * 4),
    kdeA: take(spec.kdeStored * w * 4),
    kdeB: take(spec.kdeStored * w * 4),
    kdeSave: take(spec.kdeStored * w * 4),
    hists: take(threads * slots * HIST * 8),
    slots,
    cells: take(CELLS * 4),
    scratch: take(threads * 8 * BINS),
    cell0: CELL0,
    cellCount: CELLS,
    pw,
    dens: take(spec.paintRows * pw * 4),
    k: take((spec.paintRows + 1) * pw),
    codes: take(spec.paintRows * pw * 3),
    table: take(spec.overlayTable.length),
    visScan: take(spec.paintRows * (pw + 1)),
    heatScan: take(spec.paintRows * (pw + 1)),
    ovScan: take(spec.paintRows * (3 * pw + 1)),
  };
  const made = arena.instantiate<{ heapBase(): number }>();
  if (!made) return null;
  const buf = made.memory.buffer;
  new Int32Array(buf, L.cols, w + 2 * R).set(borderTable(w, R, spec.border));
  L.scales.forEach((s, i) => {
    new Int32Array(buf, s.hwIn, halfWidths[i]!.hin.length).set(halfWidths[i]!.hin);
    new Int32Array(buf, s.hwOut, halfWidths[i]!.hout.length).set(halfWidths[i]!.hout);
  });
  new Int32Array(buf, L.maps, radii.length).set(L.scales.map((s) => s.map));
  fillHistogramCells(new Uint32Array(buf, L.cells, CELLS));
  new Uint8Array(buf, L.table, spec.overlayTable.length).set(spec.overlayTable);
  const hists = new Float64Array(buf, L.hists, threads * slots * HIST);
  const pool = createBandPool({ name: 'focusmap', module: kernelModule('focusmap')!, memory: made.memory, exports: made.exports, bandSource: BAND_SOURCE, layout: L, threads });
  const runRows = (rows: number, job: Record<string, unknown>) => pool.run(rowBands(rows, w, pool.threads), { ...job, n: Math.min(pool.threads, rows), rows });
  const runPaint = (rows: number, job: Record<string, unknown>) => pool.run(rowBands(rows, pw, pool.threads), job);
  const runUnits = (units: number, job: Record<string, unknown>) => pool.run(rowBands(units, 1, pool.threads), { ...job, unit: true, n: Math.min(pool.threads, units), rows: units });
  let lutFor = 0;
  return {
    threads: pool.threads,
    band: new Float32Array(buf, L.band, storedRows * w),
    async rdf(rows, inside, o) {
      new Uint8Array(buf, L.inside, inside.length).set(inside);
      if (o.norms) new Float64Array(buf, L.norms, 2 * o.norms.length).set(o.norms.flatMap((n) => [n.gain, n.offset]));
      // Prefix rows for the rows the kernels reach: band storage rows halo − R.. (halo = R here).
      await runUnits(rows + 2 * R, o.codes ? { op: 'prefixCodes', bpc: o.codes } : { op: 'prefix', first: 0 });
      await runRows(rows, { op: 'rdf', power: o.power, constant: o.border === 'constant' ? 1 : 0, halo: R, scaleHists: !!o.scaleHists, fuse: !!o.norms });
    },
    loadCodes(plane, y0, rows) {
      const bpc = plane.data.BYTES_PER_ELEMENT;
      if (lutFor !== plane.scale * bpc) {
        // bandFromPlane's f32 of code · scale, for every code
        const n = bpc === 1 ? 256 : 65536;
        const lut = new Float32Array(buf, L.lut, n);
        for (let c = 0; c < n; c++) lut[c] = c * plane.scale;
        lutFor = plane.scale * bpc;
      }
      const total = rows + 2 * R;
      const dst = bpc === 1 ? new Uint8Array(buf, L.codeBand, total * w) : new Uint16Array(buf, L.codeBand, total * w);
      const inside = new Uint8Array(total);
      for (let r = 0; r < total; r++) {
        const y = borderIndex(y0 - R + r, plane.height, spec.border);
        if (y < 0) dst.fill(0, r * w, (r + 1) * w);
        else {
          inside[r] = 1;
          dst.set(plane.data.subarray(y * w, (y + 1) * w), r * w);
        }
      }
      return inside;
    },
    map: (s, rows) => new Float32Array(buf, L.scales[s]!.map, rows * w),
    fused: (rows) => new Float32Array(buf, L.fused, rows * w),
    kdePlane: (stored) => new Float32Array(buf, L.kdeA, stored * w),
    async kde(rows, halo, thr, strength, boxes, reuse) {
      const stored = rows + 2 * halo;
      // Impulses and the row passes of the rows not carried over from the previous band.
      const fresh = stored - reuse;
      if (fresh > 0) await pool.run(rowBands(fresh, w, pool.threads).map(([a, b]) => [a + reuse * w, b + reuse * w] as [number, number]), { op: 'kdeRows', thr, strength: strength ? 1 : 0, boxes });
      const afterRows = boxes.length % 2 === 1 ? L.kdeB : L.kdeA;
      // A row's horizontal passes do not depend on the band: the previous band's last 2·halo rows
      // are this band's first, and this band's last are the next one's.
      const all = new Float32Array(buf);
      if (reuse > 0) all.copyWithin(afterRows / 4, L.kdeSave / 4, L.kdeSave / 4 + reuse * w);
      all.copyWithin(L.kdeSave / 4, afterRows / 4 + (stored - 2 * halo) * w, afterRows / 4 + stored * w);
      await runUnits(w, { op: 'kdeCols', from: afterRows, stored, boxes });
      const result = boxes.length % 2 === 1 ? (afterRows === L.kdeA ? L.kdeB : L.kdeA) : afterRows;
      const at = result + halo * w * 4;
      await runRows(rows, { op: 'hist', from: at });
      return new Float32Array(buf, at, rows * w);
    },
    async vis(from, rows, scale) {
      let at = L.dens;
      if (from.buffer === buf) at = from.byteOffset;
      else new Float32Array(buf, L.dens, rows * pw).set(from.subarray(0, rows * pw));
      await runPaint(rows, { op: 'vis', from: at, scale });
      return new Uint8Array(buf, L.visScan, rows * (pw + 1));
    },
    paintDensity: (rows) => {
      if (rows > spec.paintRows) throw new Error(`focusmap kernels: ${rows} rows to paint, room for ${spec.paintRows}`);
      return new Float32Array(buf, L.dens, rows * pw);
    },
    paintCodes: (rows, channels) => new Uint8Array(buf, L.codes, rows * pw * channels),
    heatIndices: (rows) => new Uint8Array(buf, L.k + pw, rows * pw),
    async paint(rows, cap, gain, channels) {
      await runPaint(rows, { op: 'paint', cap, gain, channels });
      await runPaint(rows, { op: 'up' });
      // The band's last heat row is the next band's row above (filter Up).
      new Uint8Array(buf, L.k, pw).set(new Uint8Array(buf, L.k + rows * pw, pw));
      return { heat: new Uint8Array(buf, L.heatScan, rows * (pw + 1)), overlay: channels ? new Uint8Array(buf, L.ovScan, rows * (3 * pw + 1)) : null };
    },
    takeHistograms(count) {
      const out = Array.from({ length: count }, () => new LogHistogram());
      for (let t = 0; t < threads; t++)
        for (let s = 0; s < count; s++) {
          const at = (t * slots + s) * HIST;
          out[s]!.addRaw(hists.subarray(at, at + HIST));
        }
      hists.fill(0);
      return out;
    },
    close: () => pool.close(),
  };
}
