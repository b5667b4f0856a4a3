// Mertens, Kautz & Van Reeth exposure fusion, streamed: no response curve needed.
//
// The pyramid blend is done tile by tile with a halo wide enough that every core pixel sees all the
// inputs its result depends on (5-tap pyramids of depth L reach ≤ 4·2^L pixels), so the stitched
// output equals a whole-image fusion of the same depth. Each frame keeps a sliding window of
// (strip + 2·halo) rows as 8- or 16-bit codes; pyramids exist only for one tile at a time.
// Memory: N × (strip + 2·halo) × width × C bytes for the windows + a few MB of tile pyramids —
// bounded by the halo, linear in N (documented in docs/hdr.md with measured figures).
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { createWasmMertens, mertensScratchEstimate, mertensStripBytes, type MertensTileJob, type WasmMertens } from '../kernels/mertens-wasm.js';
import type { BracketFrame } from './discover.js';
import { closeAll, defaultIo, type RowSink, type RowSource } from './io.js';
import { hasReadInto } from './lean-source.js';
import { FORMAT_EXT, openBracket, type MergeOptions, type MergeResult, type OutputFormat } from './merge-options.js';
import { collapse, gaussianPyramid, laplacianPyramid, plane, PlanePool, type Plane } from './pyramid.js';

export interface MertensWeights {
  contrast: number;
  saturation: number;
  exposedness: number;
}

export const DEFAULT_MERTENS: MertensWeights = { contrast: 1, saturation: 1, exposedness: 1 };
const SIGMA2x2 = 2 * 0.2 * 0.2;

/** Per-pixel fusion weight of one tile (OpenCV MergeMertens' measures). */
export function fusionWeights(img: Plane, mw: MertensWeights = DEFAULT_MERTENS, pool?: PlanePool): Float32Array {
  const { w, h, c, data } = img;
  const gray = pool ? pool.get(w, h, 1, false).data : new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) gray[i] = c >= 3 ? 0.299 * data[i * c]! + 0.587 * data[i * c + 1]! + 0.114 * data[i * c + 2]! : data[i]!;
  const out = pool ? pool.get(w, h, 1, false).data : new Float32Array(w * h);
  const unitPowers = mw.contrast === 1 && mw.saturation === 1 && mw.exposedness === 1;
  for (let y = 0; y < h; y++) {
    const yu = y > 0 ? y - 1 : Math.min(1, h - 1);
    const yd = y < h - 1 ? y + 1 : Math.max(0, h - 2);
    for (let x = 0; x < w; x++) {
      const xl = x > 0 ? x - 1 : Math.min(1, w - 1);
      const xr = x < w - 1 ? x + 1 : Math.max(0, w - 2);
      const i = y * w + x;
      const contrast = Math.abs(gray[yu * w + x]! + gray[yd * w + x]! + gray[y * w + xl]! + gray[y * w + xr]! - 4 * gray[i]!);
      let mean = 0;
      for (let ch = 0; ch < c; ch++) mean += data[i * c + ch]!;
      mean /= c;
      let variance = 0;
      let dist2 = 0;
      for (let ch = 0; ch < c; ch++) {
        const v = data[i * c + ch]!;
        variance += (v - mean) * (v - mean);
        dist2 += (v - 0.5) * (v - 0.5);
      }
      // Π exp(−d²/2σ²) over channels = exp(−Σd²/2σ²): one exp per pixel, not one per channel.
      const wellExp = Math.exp(-dist2 / SIGMA2x2);
      const sat = c >= 3 ? Math.sqrt(variance / c) : 1;
      out[i] = unitPowers
        ? contrast * sat * wellExp + 1e-12
        : Math.pow(contrast, mw.contrast) * Math.pow(sat, mw.saturation) * Math.pow(wellExp, mw.exposedness) + 1e-12;
    }
  }
  return out;
}

/**
 * Fuse N tiles (same size) → fused tile, pyramid depth `levels`. With a pool, every temporary comes
 * from it and the caller releases them after copying the result out.
 */
export function fuseTiles(tiles: Plane[], levels: number, mw: MertensWeights = DEFAULT_MERTENS, pool: PlanePool = new PlanePool()): Plane {
  return fuseTileSources(tiles.length, (k) => tiles[k]!, levels, mw, pool);
}

/**
 * The same, with each frame's tile made on demand by `tileOf(k)` (from the pool) and given back
 * right after use: one tile exists at a time, not N (9 × 2.4 MB at 24 MP, N=9). Each tile is made
 * twice — once for the weights, once for the pyramids — which costs a copy from the row window,
 * not a decode.
 */
export function fuseTileSources(count: number, tileOf: (k: number) => Plane, levels: number, mw: MertensWeights = DEFAULT_MERTENS, pool: PlanePool = new PlanePool()): Plane {
  // The tile size first (the weight planes outlive every tile, so they come from the pool before them).
  const probe = pool.mark();
  const { w, h, c } = tileOf(0);
  pool.releaseTo(probe);
  const sum = pool.get(w, h, 1).data;
  const weights = Array.from({ length: count }, () => pool.get(w, h, 1, false).data);
  for (let k = 0; k < count; k++) {
    const mark = pool.mark();
    const wt = fusionWeights(tileOf(k), mw, pool);
    weights[k]!.set(wt);
    for (let i = 0; i < sum.length; i++) sum[i] += wt[i]!;
    pool.releaseTo(mark);
  }
  // The blended pyramid lives across frames; each frame's pyramids are returned to the pool at once.
  const result: Plane[] = [];
  for (let l = 0, lw = w, lh = h; l <= levels; l++, lw = (lw + 1) >> 1, lh = (lh + 1) >> 1) result.push(pool.get(lw, lh, c));
  for (let k = 0; k < count; k++) {
    const mark = pool.mark();
    const tile = tileOf(k);
    const wk = pool.get(w, h, 1, false);
    const wsrc = weights[k]!;
    for (let i = 0; i < sum.length; i++) wk.data[i] = wsrc[i]! / sum[i]!;
    const gw = gaussianPyramid(wk, levels, pool);
    const li = laplacianPyramid(tile, levels, pool);
    for (let l = 0; l <= levels; l++) {
      const r = result[l]!.data;
      const band = li[l]!.data;
      const g = gw[l]!.data;
      if (c === 3) {
        for (let p = 0, i = 0; p < g.length; p++, i += 3) {
          const gp = g[p]!;
          r[i] += gp * band[i]!;
          r[i + 1] += gp * band[i + 1]!;
          r[i + 2] += gp * band[i + 2]!;
        }
      } else for (let i = 0, p = 0; p < g.length; p++) for (let ch = 0; ch < c; ch++, i++) r[i] += g[p]! * band[i]!;
    }
    pool.releaseTo(mark);
  }
  return collapse(result, pool);
}

export function mertensGeometry(width: number, height: number, levels?: number): { levels: number; halo: number; stripRows: number; tileCols: number } {
  const maxLevels = Math.max(0, Math.floor(Math.log2(Math.min(width, height))));
  const L = Math.max(0, Math.min(levels ?? 5, maxLevels));
  const unit = 1 << L;
  const halo = 4 * unit;
  // Every window row is fused (strip + 2·halo)/strip times and every column (tile + 2·halo)/tile
  // times: strips of one halo and tiles of two keep that at 3× and 2× without big windows.
  return { levels: L, halo, stripRows: Math.max(64, halo), tileCols: Math.max(256, 2 * halo) };
}

/**
 * Shared memory (MB) for the kernels' windows, Σ-weight rows, tile scratch and output strip by default:
 * with node, the decoders' and encoder's buffers (≈ 110 MB more, measured at 24 MP compiled) and ~8 MB
 * per extra worker this keeps a 24 MP fusion at ≈ 235 MB peak RSS compiled (docs/performance.md). 126
 * rather than 110 (before the fifth slice): at N = 9 each pixel is fused 2.50× instead of 2.92× (−12 %
 * CPU measured) for ≈ 21 MB of RSS.
 */
export function mertensKernelBudgetMB(threads: number): number {
  return Math.max(64, 126 - 8 * (threads - 1));
}

/**
 * Strip and tile sizes for the WebAssembly kernels: each tile thread fuses whole tiles with its own
 * scratch, so memory is N windows of (strip + 2·halo) rows (+ their Σ-weight rows) plus one tile
 * scratch per tile thread. Within `budgetBytes`, the strip height, tile width and number of tile
 * threads (≤ `threads`) that fuse each pixel the fewest times — (strip + 2·halo)/strip ×
 * (tile + 2·halo)/tile, i.e. the least CPU: more tile threads means smaller tiles, so a thread is
 * added only while it costs under 10 % more work (at 24 MP within ~100 MB that is one; the Σ-weights
 * pass, which needs no tile scratch, always runs on every thread). The tiles of a strip are a multiple
 * of the tile threads, so every thread gets the same share. The output does not depend on any of this
 * (the halo). `cost` is that redundancy factor of the pick (mergeMertens compares it across thread counts).
 */
export function mertensKernelGeometry(
  width: number,
  height: number,
  o: { levels?: number; frames: number; channels: number; codeBytes: number; threads: number; budgetBytes?: number; tileThreads?: number; floats?: boolean },
): { levels: number; halo: number; stripRows: number; tileCols: number; tiles: number; threads: number; cost: number } {
  const base = mertensGeometry(width, height, o.levels);
  const { levels, halo } = base;
  const unit = 1 << levels;
  const budget = o.budgetBytes ?? mertensKernelBudgetMB(o.threads) * 2 ** 20;
  let best = { cost: Infinity, stripRows: base.stripRows, tileCols: base.tileCols, tiles: Math.ceil(width / base.tileCols), threads: 1 };
  let bestOne = Infinity;
  const rowsMax = Math.ceil(height / unit) * unit;
  for (let t = o.tileThreads ?? 1; t <= (o.tileThreads ?? Math.max(1, o.threads)); t++) {
    for (let sr = unit; ; sr += unit) {
      const rows = Math.min(height, sr + 2 * halo);
      // + two strips of the JPEG's bytes outside the shared memory: one draining into the encoder, one queued behind it.
      const windows = rows * width * (o.frames * o.channels * o.codeBytes + 4) + sr * width * o.channels * (mertensStripBytes(o.floats ?? true) + 2);
      const perThread = (budget - windows) / t;
      // Widest tile whose scratch fits (≈ 35 bytes per tile pixel for RGB), from above (≥ 1 + 2·C floats a pixel).
      let tw = Math.min(width, Math.floor(perThread / ((1 + 2 * o.channels) * 4 * rows)));
      while (tw > 0 && mertensScratchEstimate(tw, rows, o.channels, levels) > perThread) tw -= 8;
      const core = Math.floor((tw - (tw >= width ? 0 : 2 * halo)) / unit) * unit;
      if (core >= unit || (sr === unit && best.cost === Infinity)) {
        const c = Math.max(unit, core);
        const tiles = Math.ceil(Math.ceil(width / c) / t) * t;
        const tileCols = Math.ceil(width / tiles / unit) * unit;
        const cost = (Math.min(height, sr + 2 * halo) / Math.min(height, sr)) * (Math.min(width, tileCols + 2 * halo) / Math.min(width, tileCols));
        if (t === (o.tileThreads ?? 1)) bestOne = Math.min(bestOne, cost);
        // One thread: the cheapest; more: the cheapest of them if within 10 % of one thread's best.
        if (t === (o.tileThreads ?? 1) ? cost < best.cost : cost <= 1.1 * bestOne && (best.threads < t || cost < best.cost)) best = { cost, stripRows: sr, tileCols, tiles: Math.ceil(width / tileCols), threads: t };
      }
      if (sr >= rowsMax || windows > budget) break;
    }
  }
  return { levels, halo, stripRows: best.stripRows, tileCols: best.tileCols, tiles: best.tiles, threads: best.threads, cost: best.cost };
}

/** Sliding window of rows of one source, stored as integer codes (in `buf` when given: the kernels' shared memory). */
class RowWindow {
  y0 = 0;
  rows = 0;
  readonly buf: Uint8Array | Uint16Array;
  private readonly scale: number;
  constructor(private readonly src: RowSource, capacity: number, sixteen: boolean, buf?: Uint8Array | Uint16Array) {
    const n = capacity * src.width * src.channels;
    this.buf = buf ?? (sixteen ? new Uint16Array(n) : new Uint8Array(n));
    this.scale = sixteen ? 65535 : 255;
  }
  /** Make the window hold exactly rows [from, to). */
  async advance(from: number, to: number): Promise<void> {
    const rowLen = this.src.width * this.src.channels;
    const drop = Math.min(this.rows, from - this.y0);
    if (drop > 0) {
      this.buf.copyWithin(0, drop * rowLen, this.rows * rowLen);
      this.rows -= drop;
      this.y0 += drop;
    }
    const src = this.src;
    // Raw codes straight into the window when the decoder offers them at the window's depth.
    const direct = hasReadInto(src) && src.codeLevels === this.scale + 1;
    while (this.y0 + this.rows < to) {
      const base = this.rows * rowLen;
      if (direct) {
        const n = Math.min(8, to - this.y0 - this.rows);
        this.buf.set(await src.readRowsCodes(n), base);
        this.rows += n;
        continue;
      }
      // Small batches: big per-call arrays would pile up as large-object garbage.
      const b = await src.readRows(Math.min(8, to - this.y0 - this.rows));
      if (!b) throw new Error(`${src.path}: ended at row ${this.y0 + this.rows} of ${src.height} (truncated?)`);
      const n = b.rows * rowLen;
      for (let i = 0; i < n; i++) {
        const v = b.data[i]!;
        this.buf[base + i] = v <= 0 ? 0 : v >= 1 ? this.scale : Math.round(v * this.scale);
      }
      this.rows += b.rows;
    }
  }
  tile(x0: number, x1: number, y0: number, y1: number, pool?: PlanePool): Plane {
    const { width, channels } = this.src;
    const p = pool ? pool.get(x1 - x0, y1 - y0, channels, false) : plane(x1 - x0, y1 - y0, channels);
    const inv = 1 / this.scale;
    for (let y = y0; y < y1; y++) {
      const srcOff = ((y - this.y0) * width + x0) * channels;
      const dstOff = (y - y0) * (x1 - x0) * channels;
      for (let i = 0; i < (x1 - x0) * channels; i++) p.data[dstOff + i] = this.buf[srcOff + i]! * inv;
    }
    return p;
  }
}

export async function mergeMertens(
  frames: BracketFrame[],
  outBase: string,
  options: MergeOptions & {
    mertens?: MertensWeights;
    /** Kernels' shared memory in MB (default mertensKernelBudgetMB). */
    kernelBudgetMB?: number;
    /** Threads that fuse tiles (default: as mertensKernelGeometry picks; tests force more). */
    kernelTileThreads?: number;
  } = {},
): Promise<MergeResult> {
  const t0 = performance.now();
  const io = options.io ?? defaultIo;
  const id = options.id ?? outBase;
  const formats = options.formats ?? ['jpg'];
  const sources = await openBracket(frames, io);
  const { width, height, channels } = sources[0]!;
  const sixteen = sources.some((s) => s.bitDepth !== 8);
  let wasm: WasmMertens | null = null;
  let geo = mertensGeometry(width, height, options.levels);
  const sinks = new Map<OutputFormat, RowSink>();
  const outputs: Partial<Record<OutputFormat, string>> = {};
  try {
    await mkdir(dirname(outBase), { recursive: true });
    const sinkFormat = { hdr: 'hdr', tiff: 'tiff-f32', fits: 'fits-f32', png16: 'png16', jpg: 'jpeg' } as const;
    for (const f of formats) {
      const path = outBase + FORMAT_EXT[f];
      sinks.set(f, await io.openRowSink(path, { width, height, channels, format: sinkFormat[f], quality: options.quality ?? 90, cards: { FUSION: 'mertens' } }));
      outputs[f] = path;
    }
    // The SIMD WebAssembly kernels on `threads` cores (tiles split between threads), else the plain-TS reference.
    if (options.kernels !== 'js') {
      let threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
      const tileThreads = options.kernelTileThreads === undefined ? undefined : Math.min(threads, options.kernelTileThreads);
      // Only a JPEG out, through an encoder that takes its samples: the tiles write those bytes and no float strip is kept.
      const floats = !formats.every((f) => f === 'jpg' && sinks.get(f)!.writeEncoded);
      const shape = { levels: options.levels, frames: frames.length, channels, codeBytes: sixteen ? 2 : 1, floats, ...(tileThreads ? { tileThreads } : {}) };
      let g = mertensKernelGeometry(width, height, { ...shape, threads, budgetBytes: (options.kernelBudgetMB ?? mertensKernelBudgetMB(threads)) * 2 ** 20 });
      if (g.threads === 1 && threads > 1 && options.kernelBudgetMB === undefined) {
        // Extra workers that fuse no tiles only share the Σ-weights pass (~10 % of the work) but take
        // memory from the windows, so every tile is fused more often (24 MP: +10 % CPU at 2 threads,
        // +30 % at 4). Where the one-thread budget gives cheaper tiles, run on one thread instead.
        const one = mertensKernelGeometry(width, height, { ...shape, threads: 1, budgetBytes: mertensKernelBudgetMB(1) * 2 ** 20 });
        if (one.cost < g.cost) {
          g = one;
          threads = 1;
        }
      }
      const rows = Math.min(height, g.stripRows + 2 * g.halo);
      wasm = createWasmMertens({
        frames: frames.length,
        width,
        channels,
        wide: sixteen,
        windowRows: rows,
        tileW: Math.min(width, g.tileCols + 2 * g.halo),
        tileH: rows,
        stripRows: g.stripRows,
        levels: g.levels,
        weights: options.mertens ?? DEFAULT_MERTENS,
        threads,
        tileThreads: g.threads,
        floats,
      });
      if (wasm) geo = g;
    }
    const capacity = Math.min(height, geo.stripRows + 2 * geo.halo);
    const windows = sources.map((s, k) => new RowWindow(s, capacity, sixteen, wasm?.window(k)));
    const rowLen = width * channels;
    // null only when the kernels write the JPEG's bytes and no sink takes floats.
    const strip = wasm ? wasm.strip : new Float32Array(geo.stripRows * rowLen);
    const pool = new PlanePool();
    let lastTile: [number, number] = [0, 0];
    let saturated = 0;
    // Window rows [sumY0, sumEnd) whose Σ weights the kernels hold (the last one reflected at the window's edge).
    let sumY0 = 0;
    let sumEnd = 0;
    for (let y0 = 0; y0 < height; y0 += geo.stripRows) {
      if (options.signal?.aborted) throw new Error(`${id}: merge aborted`);
      const y1 = Math.min(height, y0 + geo.stripRows);
      const wy0 = Math.max(0, y0 - geo.halo);
      const wy1 = Math.min(height, y1 + geo.halo);
      for (const w of windows) await w.advance(wy0, wy1);
      if (wasm) {
        // Σ weights once per window row (not per tile): rows kept from the last strip move up with the
        // windows; the last of them is redone now that the row below it is in.
        const from = sumEnd - 1 > wy0 ? sumEnd - 1 : wy0;
        await wasm.weightSum(wy0 - sumY0, from - wy0, wy1 - wy0);
        sumY0 = wy0;
        sumEnd = wy1;
        const tiles: MertensTileJob[] = [];
        for (let x0 = 0; x0 < width; x0 += geo.tileCols) {
          const x1 = Math.min(width, x0 + geo.tileCols);
          const tx0 = Math.max(0, x0 - geo.halo);
          tiles.push([tx0, Math.min(width, x1 + geo.halo) - tx0, x0, x1 - x0]);
        }
        await wasm.run(tiles, wy0 - windows[0]!.y0, wy1 - wy0, y0 - wy0, y1 - y0);
      }
      for (let x0 = 0; !wasm && x0 < width; x0 += geo.tileCols) {
        const x1 = Math.min(width, x0 + geo.tileCols);
        const tx0 = Math.max(0, x0 - geo.halo);
        const tx1 = Math.min(width, x1 + geo.halo);
        // Interior tiles share one size and reuse the pool's buffers; an edge tile's other size clears it.
        if (tx1 - tx0 !== lastTile[0] || wy1 - wy0 !== lastTile[1]) pool.clear();
        lastTile = [tx1 - tx0, wy1 - wy0];
        const fused = fuseTileSources(windows.length, (k) => windows[k]!.tile(tx0, tx1, wy0, wy1, pool), geo.levels, options.mertens, pool);
        for (let y = y0; y < y1; y++) {
          const src = ((y - wy0) * fused.w + (x0 - tx0)) * channels;
          strip!.set(fused.data.subarray(src, src + (x1 - x0) * channels), ((y - y0) * width + x0) * channels);
        }
        pool.releaseAll();
      }
      // Saturated = the darkest frame is clipped there (all frames are).
      const shortest = windows[0]!;
      const top = sixteen ? 65535 : 255;
      if (wasm) saturated += wasm.countSaturated(0, y0 - shortest.y0, y1 - shortest.y0, Math.ceil(top * 0.98));
      for (let y = y0; !wasm && y < y1; y++) {
        for (let x = 0; x < width; x++) {
          const off = ((y - shortest.y0) * width + x) * channels;
          let sat = false;
          for (let ch = 0; ch < channels; ch++) if (shortest.buf[off + ch]! >= top * 0.98) sat = true;
          if (sat) saturated++;
        }
      }
      const count = (y1 - y0) * rowLen;
      for (const [f, sink] of sinks) {
        // The JPEG's 8-bit samples from the kernels; the encoder works on them while the next strip is fused.
        if (wasm && f === 'jpg' && sink.writeEncoded) await sink.writeEncoded(wasm.stripBytes(count), y1 - y0);
        else await sink.writeRows(strip!.subarray(0, count), y1 - y0);
      }
    }
    await closeAll(sources);
    for (const sink of sinks.values()) await sink.finish();
    sinks.clear();
    return { outputs, width, height, channels, frames: frames.length, lnE: null, saturatedFraction: saturated / (width * height), ms: performance.now() - t0, kernels: wasm ? 'wasm' : 'js', threads: wasm?.threads ?? 1 };
  } catch (err) {
    for (const sink of sinks.values()) await sink.abort().catch(() => {});
    const msg = (err as Error).message;
    throw new Error(msg.includes(id) || frames.some((f) => msg.includes(f.path)) ? msg : `${id}: ${msg}`, { cause: err });
  } finally {
    await closeAll(sources);
    await wasm?.close();
  }
}
