// Focus stacking's pyramid fusion (PyramidFuser in pipeline/focus/pyramid.ts: Laplacian pyramid of
// each frame, region energy per level, max-energy select, collapse) in WebAssembly with 128-bit SIMD
// (pipeline/kernels/assembly/pyramid.ts) on `threads` cores. One shared WebAssembly.Memory holds the
// band's pyramids as planar f32 planes — the candidate frame's, the fused one, the best energies —
// sized once for the largest band; every step is split into row ranges run by the calling thread and
// the pool's workers. Only 32-bit floats (the default `--float 32`); callers keep the plain-TS fuser
// for 64.
//
// Frames can come in as their 8/16-bit codes (`codes(slot)`: the frame store reads a band's rows
// straight into this memory; `pushCodes` turns them into level 0 in the bands) and the fused band can
// leave as the encoder's samples (`samples`): then no per-band float copy of a frame exists in the JS
// heap (before, those copies and their garbage were most of a big stack's time).
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
  | { op: 'energySelect'; p: number; w: number; h: number; best: number; fused: number; first: boolean }
  | { op: 'codes'; codes: number; wide: number; w: number; dst: number; n: number }
  | { op: 'samples'; src: number; n: number; w: number; origin: number; mode: number; out: number };

// One step on rows [start, end) of its output (reduce, expand, energy + select).
const BAND_SOURCE = `function runBand(ex, L, start, end, job, band) {
  const rb = L.rb[band];
  if (job.op === 'reduce') {
    for (let c = 0; c < L.C; c++) ex.reduceRows(job.src[c], job.w, job.h, job.dst[c], start, end, L.k0, L.k1, L.k2, rb);
  } else if (job.op === 'expand') {
    for (let c = 0; c < L.C; c++) ex.expandAddRows(job.src[c], job.sw, job.sh, job.dst[c], job.w, start, end, L.k0, L.k1, L.k2, job.sign, rb);
  } else if (job.op === 'energySelect') {
    ex.energySelectRows(job.p, job.w, job.h, L.C, L.size, job.best, job.fused, job.first ? 1 : 0, start, end, rb);
  } else if (job.op === 'codes') {
    ex.focusCodesToPlanes(job.codes, job.wide, job.w, L.C, start, end, job.dst, job.n);
  } else {
    ex.focusPlanesToSamples(job.src, job.n, job.w, L.C, job.origin, job.origin + start, job.origin + end, job.mode, job.out);
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
  /** Largest bytes of a frame code (1, or 2 when any frame is 16-bit) when frames come in as codes (`codes`, `pushCodes`); 0 = floats only. */
  codeBytes?: 0 | 1 | 2;
  /** Bytes of an output sample (1 or 2) when the band leaves as samples (`samples`); 0 = floats only. */
  outBytes?: 0 | 1 | 2;
}

/** Output samples: 8-bit, 16-bit big-endian (PNM, the encoder sinks), 16-bit in this host's order (a Uint16Array). */
export type SampleMode = 'u8' | 'u16be' | 'u16';
const SAMPLE_MODES: Record<SampleMode, number> = { u8: 1, u16be: 2, u16: 3 };

export interface FocusPyramidFuser {
  /** Merge one frame (interleaved, band-sized; not kept). */
  push(frame: Plane): Promise<void>;
  /** Merge the frame whose band rows (full width, interleaved codes of `bytes` each) were put in `codes(slot, rows, bytes)`. */
  pushCodes(slot: number, bytes: 1 | 2): Promise<void>;
  /** The fused band, collapsed (interleaved, in the kernels' memory: valid until the next push). */
  result(): Promise<Plane>;
  /**
   * Rows [from, from + rows) of the collapsed band as interleaved samples (clamped to 0..1 and rounded
   * as image/pnm.ts floatToPnm does): a view of the kernels' memory, valid until the next call.
   */
  samples(from: number, rows: number, mode: SampleMode): Promise<Uint8Array>;
}

export interface FocusPyramidKernels {
  readonly threads: number;
  /** A fuser for one band of `rows` rows (≤ maxRows); one at a time (they share the memory). */
  fuser(rows: number): FocusPyramidFuser;
  /** Code slot 0 or 1 for `rows` rows of `bytes`-byte codes: where a frame's band goes before `pushCodes(slot, bytes)`. */
  codes(slot: number, rows: number, bytes: 1 | 2): Uint8Array;
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
  // Per thread: the row buffer (with margins), energySelectRows' ring of kernelSize squared rows + tags,
  // an energy row and the list of ring rows an output row sums.
  const rowBytes = Math.ceil(((W + 40) * 4) / 16) * 16;
  const rb = Array.from({ length: threads }, () => arena.take(32 + rowBytes * (spec.kernelSize + 2) + 2 * spec.kernelSize * 4 + 80));
  // Frames come in and the result goes out interleaved, through this staging area a few rows at a time.
  const stageRows = Math.max(1, Math.min(spec.maxRows, Math.floor((4 << 20) / (W * C * 4))));
  const stage = arena.take(stageRows * W * C * 4);
  // Two code slots (the next frame's rows are read while this one is fused), 16 bytes of slack for the
  // 16-byte loads of 12-byte pixel groups; one output area.
  const codeBytes = spec.codeBytes ?? 0;
  const slotBytes = spec.maxRows * W * C * codeBytes;
  const slots = codeBytes ? [arena.take(slotBytes + 16), arena.take(slotBytes + 16)] : [];
  const outArea = spec.outBytes ? arena.take(spec.maxRows * W * C * spec.outBytes) : 0;
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
    codes(slot, rows, bytes) {
      if (bytes > codeBytes) throw new Error(`focus pyramid kernels: ${bytes}-byte codes, slots made for ${codeBytes}`);
      if (rows > spec.maxRows) throw new Error(`focus pyramid kernels: band of ${rows} rows > ${spec.maxRows}`);
      return new Uint8Array(buf, slots[slot]!, rows * W * C * bytes);
    },
    fuser(rows) {
      if (rows > spec.maxRows) throw new Error(`focus pyramid kernels: band of ${rows} rows > ${spec.maxRows}`);
      const d = dims(W, rows, levels);
      // Level l, channel c of a C-channel pyramid; level l of the 1-channel best energies.
      const plane = (base: number, l: number, c: number) => base + (d[l]!.off * C + c * d[l]!.n) * 4;
      const planes = (base: number, l: number) => Array.from({ length: C }, (_, c) => plane(base, l, c));
      const bestAt = (l: number) => best + d[l]!.off * 4;
      let first = true;
      let collapsed = false;
      const merge = async () => {
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
      };
      const collapse = async () => {
        if (first) throw new Error('pyramid: no frames');
        if (collapsed) return;
        collapsed = true;
        for (let l = levels - 1; l >= 0; l--) {
          const g = d[l]!;
          const next = d[l + 1]!;
          await run(g.h, g.w, { op: 'expand', src: planes(fused, l + 1), dst: planes(fused, l), sw: next.w, sh: next.h, w: g.w, sign: 1 });
        }
      };
      const open = () => {
        if (collapsed) throw new Error('focus pyramid kernels: push after the result');
      };
      return {
        async push(frame) {
          open();
          if (frame.w !== W || frame.h !== rows || frame.c !== C) throw new Error(`focus pyramid kernels: frame ${frame.w}×${frame.h}×${frame.c}, expected ${W}×${rows}×${C}`);
          // Interleaved → planar level 0, through the staging rows.
          const n0 = d[0]!.n;
          const level0 = plane(cand, 0, 0);
          for (let y = 0; y < rows; y += stageRows) {
            const r = Math.min(stageRows, rows - y);
            stageView.set(frame.data.subarray(y * W * C, (y + r) * W * C));
            ex.deinterleave(stage, r * W, C, level0 + y * W * 4, n0);
          }
          await merge();
        },
        async pushCodes(slot, bytes) {
          open();
          if (bytes > codeBytes) throw new Error(`focus pyramid kernels: ${bytes}-byte codes, slots made for ${codeBytes}`);
          await run(rows, W, { op: 'codes', codes: slots[slot]!, wide: bytes === 2 ? 1 : 0, w: W, dst: plane(cand, 0, 0), n: d[0]!.n });
          await merge();
        },
        async samples(from, count, mode) {
          if (!spec.outBytes) throw new Error('focus pyramid kernels: made without an output area');
          const m = SAMPLE_MODES[mode];
          if ((m === 1 ? 1 : 2) > spec.outBytes) throw new Error(`focus pyramid kernels: ${mode} samples need ${m === 1 ? 1 : 2} bytes, the output area has ${spec.outBytes}`);
          if (from < 0 || count < 1 || from + count > rows) throw new Error(`focus pyramid kernels: rows ${from}..${from + count} outside the band's ${rows}`);
          await collapse();
          await run(count, W, { op: 'samples', src: plane(fused, 0, 0), n: d[0]!.n, w: W, origin: from, mode: m, out: outArea });
          return new Uint8Array(buf, outArea, count * W * C * (m === 1 ? 1 : 2));
        },
        async result() {
          await collapse();
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
