// Focus stacking's pyramid fusion (PyramidFuser in pipeline/focus/pyramid.ts: Laplacian pyramid of
// each frame, region energy per level, max-energy select, collapse) in WebAssembly with 128-bit SIMD
// (pipeline/kernels/assembly/pyramid.ts) on `threads` cores. One shared WebAssembly.Memory holds the
// band's pyramids as planar f32 planes — the candidate frame's, the fused one, the best energies —
// sized once for the largest band; every step is split into row ranges run by the calling thread and
// the pool's workers. Only 32-bit floats (the default `--float 32`); callers keep the plain-TS fuser
// for 64.
//
// Returns null where WebAssembly SIMD or shared memory is unavailable; the result then comes from the
// plain-TS reference, which this one equals within f32 rounding of the sums (the select may differ
// where two frames' energies tie to within that rounding: test/pipeline/kernels-pyramid.test.ts).
import type { Plane } from '../focus/pyramid.js';
import { localDeviation } from '../focus/pyramid.js';
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

interface Layout {
  C: number;
  k0: number;
  k1: number;
  k2: number;
  size: number;
  rb: number[];
}

type Job =
  | { op: 'reduce'; src: number[]; dst: number[]; w: number; h: number }
  | { op: 'expand'; src: number[]; dst: number[]; sw: number; sh: number; w: number; sign: number }
  | { op: 'energySelect'; p: number; w: number; h: number; best: number; fused: number; first: boolean };

// One step on rows [start, end) of its output (reduce, expand, energy + select).
const BAND_SOURCE = `function runBand(ex, L, start, end, job, band) {
  const rb = L.rb[band];
  if (job.op === 'reduce') {
    for (let c = 0; c < L.C; c++) ex.reduceRows(job.src[c], job.w, job.h, job.dst[c], start, end, L.k0, L.k1, L.k2, rb);
  } else if (job.op === 'expand') {
    for (let c = 0; c < L.C; c++) ex.expandAddRows(job.src[c], job.sw, job.sh, job.dst[c], job.w, start, end, L.k0, L.k1, L.k2, job.sign, rb);
  } else {
    ex.energySelectRows(job.p, job.w, job.h, L.C, L.size, job.best, job.fused, job.first ? 1 : 0, start, end, rb);
  }
  return 0;
}`;

/** Rows below which a step runs on the calling thread alone (a worker round trip costs more). */
const MIN_PARALLEL_SAMPLES = 1 << 15;

export interface FocusPyramidKernelsSpec {
  width: number;
  /** The tallest band (halo included). */
  maxRows: number;
  channels: number;
  levels: number;
  /** The 5-tap generating kernel (symmetric). */
  kernel: number[];
  /** Region-energy window (odd, ≤ 17). */
  kernelSize: number;
  threads: number;
}

export interface FocusPyramidFuser {
  /** Merge one frame (interleaved, band-sized; not kept). */
  push(frame: Plane): Promise<void>;
  /** The fused band, collapsed (interleaved, in the kernels' memory: valid until the next push). */
  result(): Promise<Plane>;
}

export interface FocusPyramidKernels {
  readonly threads: number;
  /** A fuser for one band of `rows` rows (≤ maxRows); one at a time (they share the memory). */
  fuser(rows: number): FocusPyramidFuser;
  close(): Promise<void>;
}

function dims(w: number, h: number, levels: number): Array<{ w: number; h: number; n: number; off: number }> {
  const out: Array<{ w: number; h: number; n: number; off: number }> = [];
  let off = 0;
  for (let l = 0; l <= levels; l++) {
    out.push({ w, h, n: w * h, off });
    off += w * h;
    w = (w + 1) >> 1;
    h = (h + 1) >> 1;
  }
  return out;
}

export function createFocusPyramidKernels(spec: FocusPyramidKernelsSpec): FocusPyramidKernels | null {
  const { width: W, channels: C, levels } = spec;
  const k = spec.kernel;
  if (spec.kernelSize > 17 || k[0] !== k[4] || k[1] !== k[3]) return null;
  const arena = kernelArena('pyramid');
  if (!arena) return null;
  const maxDims = dims(W, spec.maxRows, levels);
  const pyrLen = maxDims.reduce((s, d) => s + d.n, 0);
  const cand = arena.take(pyrLen * C * 4);
  const fused = arena.take(pyrLen * C * 4);
  const best = arena.take(pyrLen * 4);
  const threads = Math.max(1, Math.floor(spec.threads));
  // Per thread: the row buffer (with margins), energySelectRows' ring of kernelSize squared rows + tags, an energy row.
  const rowBytes = Math.ceil(((W + 40) * 4) / 16) * 16;
  const rb = Array.from({ length: threads }, () => arena.take(32 + rowBytes * (spec.kernelSize + 2) + spec.kernelSize * 4 + 64));
  // Frames come in and the result goes out interleaved, through this staging area a few rows at a time.
  const stageRows = Math.max(1, Math.min(spec.maxRows, Math.floor((4 << 20) / (W * C * 4))));
  const stage = arena.take(stageRows * W * C * 4);
  const made = arena.instantiate<{
    deinterleave(src: number, n: number, c: number, dst: number, stride: number): void;
    interleave(src: number, stride: number, n: number, c: number, dst: number): void;
  }>();
  if (!made) return null;
  const buf = made.memory.buffer;
  const ex = made.exports;
  const stageView = new Float32Array(buf, stage, stageRows * W * C);

  const layout: Layout = { C, k0: k[0]!, k1: k[1]!, k2: k[2]!, size: spec.kernelSize, rb };
  const pool = createBandPool({ name: 'focus pyramid', module: kernelModule('pyramid')!, memory: made.memory, exports: made.exports, bandSource: BAND_SOURCE, layout, threads });
  const run = (rows: number, w: number, job: Job) => pool.run(rowBands(rows, 1, rows * w < MIN_PARALLEL_SAMPLES ? 1 : pool.threads), job);
  return {
    threads: pool.threads,
    close: () => pool.close(),
    fuser(rows) {
      if (rows > spec.maxRows) throw new Error(`focus pyramid kernels: band of ${rows} rows > ${spec.maxRows}`);
      const d = dims(W, rows, levels);
      // Level l, channel c of a C-channel pyramid; level l of the 1-channel best energies.
      const plane = (base: number, l: number, c: number) => base + (d[l]!.off * C + c * d[l]!.n) * 4;
      const planes = (base: number, l: number) => Array.from({ length: C }, (_, c) => plane(base, l, c));
      const bestAt = (l: number) => best + d[l]!.off * 4;
      let first = true;
      return {
        async push(frame) {
          if (frame.w !== W || frame.h !== rows || frame.c !== C) throw new Error(`focus pyramid kernels: frame ${frame.w}×${frame.h}×${frame.c}, expected ${W}×${rows}×${C}`);
          // Interleaved → planar level 0, through the staging rows.
          const n0 = d[0]!.n;
          const level0 = plane(cand, 0, 0);
          for (let y = 0; y < rows; y += stageRows) {
            const r = Math.min(stageRows, rows - y);
            stageView.set(frame.data.subarray(y * W * C, (y + r) * W * C));
            ex.deinterleave(stage, r * W, C, level0 + y * W * 4, n0);
          }
          for (let l = 0; l < levels; l++) {
            const g = d[l]!;
            const next = d[l + 1]!;
            await run(next.h, next.w, { op: 'reduce', src: planes(cand, l), dst: planes(cand, l + 1), w: g.w, h: g.h });
            await run(g.h, g.w, { op: 'expand', src: planes(cand, l + 1), dst: planes(cand, l), sw: next.w, sh: next.h, w: g.w, sign: -1 });
            await run(g.h, g.w, { op: 'energySelect', p: plane(cand, l, 0), w: g.w, h: g.h, best: bestAt(l), fused: plane(fused, l, 0), first });
          }
          // The coarsest level (small): local deviation in the plain-TS reference, select here.
          const top = d[levels]!;
          const interleaved = new Float32Array(top.n * C);
          const candTop = planes(cand, levels).map((at) => new Float32Array(buf, at, top.n));
          const fusedTop = planes(fused, levels).map((at) => new Float32Array(buf, at, top.n));
          for (let c = 0; c < C; c++) for (let i = 0; i < top.n; i++) interleaved[i * C + c] = candTop[c]![i]!;
          const dev = localDeviation({ w: top.w, h: top.h, c: C, data: interleaved }, spec.kernelSize, 32);
          const E = new Float32Array(buf, bestAt(levels), top.n);
          for (let i = 0; i < top.n; i++) {
            if (first || dev[i]! > E[i]!) {
              E[i] = dev[i]!;
              for (let c = 0; c < C; c++) fusedTop[c]![i] = candTop[c]![i]!;
            }
          }
          first = false;
        },
        async result() {
          if (first) throw new Error('pyramid: no frames');
          for (let l = levels - 1; l >= 0; l--) {
            const g = d[l]!;
            const next = d[l + 1]!;
            await run(g.h, g.w, { op: 'expand', src: planes(fused, l + 1), dst: planes(fused, l), sw: next.w, sh: next.h, w: g.w, sign: 1 });
          }
          // Interleaved into the candidate's level 0 (free once every frame is in): the caller reads it
          // before the next band's first push overwrites it.
          const n0 = d[0]!.n;
          const at = plane(cand, 0, 0);
          ex.interleave(plane(fused, 0, 0), n0, n0, C, at);
          const out = new Float32Array(buf, at, n0 * C);
          return { w: W, h: rows, c: C, data: out };
        },
      };
    },
  };
}
