// The Debevec merge's per-strip work (fold every frame's 8/16-bit codes into the sums, then lnE) in
// WebAssembly with 128-bit SIMD (pipeline/kernels/assembly/debevec.ts, built to debevec.wasm) on
// `threads` cores. One shared WebAssembly.Memory holds the tables, the strip's codes for every frame,
// the sums and the lnE out; the caller copies each frame's codes into `codes(j)`, `run()` splits the
// strip into row bands — the calling thread takes one, workers the rest — and lnE is read from `lnE`.
// No copying between threads: every band reads and writes its own range of the same buffer.
//
// Returns null where WebAssembly SIMD or shared memory is unavailable; the caller then runs the
// plain-TS reference (pipeline/hdr/merge-kernel.ts), which the WASM result equals bit for bit.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { MergeLut } from '../hdr/merge-kernel.js';

// The project compiles without the DOM lib, where the WebAssembly global is declared: the little used here.
type WasmModule = object;
interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
const WA = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => WasmModule;
    Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
    Instance: new (m: WasmModule, imports: object) => { exports: unknown };
  };
}).WebAssembly;

let cached: WasmModule | null | undefined;

/** The compiled kernel module, or null (with the reason in `wasmUnavailable`) when it cannot load. */
export function debevecModule(): WasmModule | null {
  if (cached !== undefined) return cached;
  try {
    if (process.env.SKYRIG_NO_WASM === '1') throw new Error('SKYRIG_NO_WASM=1');
    cached = new WA.Module(readFileSync(new URL('./debevec.wasm', import.meta.url)));
  } catch (err) {
    wasmUnavailable = (err as Error).message;
    cached = null;
  }
  return cached ?? null;
}
export let wasmUnavailable: string | null = null;

interface Exports {
  accumulateCodes8: Kernel;
  accumulateCodes16: Kernel;
  finish(start: number, end: number, channels: number, g: number, num: number, den: number, sl: number, ll: number, lnTShort: number, lnTLong: number, half: number, satLevel: number, out: number): number;
  linearAndSpool(start: number, end: number, lnE: number, linear: number, spool: number, lo: number, scale: number): void;
  heapBase(): number;
}
type Kernel = (codes: number, start: number, end: number, channels: number, wg: number, w: number, num: number, den: number, keep: number, first: number) => void;

/** Byte addresses of everything in the shared memory, plus the strip constants: all a band needs. */
interface Layout {
  frames: number;
  channels: number;
  wide: boolean;
  g: number;
  w: number;
  wg: number[];
  codes: number[];
  num: number;
  den: number;
  shortLevel: number;
  longLevel: number;
  out: number;
  lnTShort: number;
  lnTLong: number;
  half: number;
  satLevel: number;
  /** exp(lnE) out (0: not wanted). */
  linear: number;
  /** 16-bit spool codes out (0: not wanted), round((lnE − spoolLo)·spoolScale) clamped. */
  spool: number;
  spoolLo: number;
  spoolScale: number;
}

// One band: every frame folded in, then lnE. The same source runs in the calling thread and, as
// text, in each worker (eval workers take no TypeScript and no imports).
const BAND_SOURCE = `function runBand(ex, L, start, end) {
  const acc = L.wide ? ex.accumulateCodes16 : ex.accumulateCodes8;
  for (let j = 0; j < L.frames; j++) {
    const keep = j === 0 ? L.shortLevel : j === L.frames - 1 ? L.longLevel : 0;
    acc(L.codes[j], start, end, L.channels, L.wg[j], L.w, L.num, L.den, keep, j === 0 ? 1 : 0);
  }
  const saturated = ex.finish(start, end, L.channels, L.g, L.num, L.den, L.shortLevel, L.longLevel, L.lnTShort, L.lnTLong, L.half, L.satLevel, L.out);
  if (L.linear || L.spool) ex.linearAndSpool(start, end, L.out, L.linear, L.spool, L.spoolLo, L.spoolScale);
  return saturated;
}`;
const runBand = new Function(`${BAND_SOURCE}; return runBand;`)() as (ex: Exports, L: Layout, start: number, end: number) => number;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
${BAND_SOURCE}
let ex, L;
parentPort.on('message', (m) => {
  if (m.init) {
    ex = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
    L = m.layout;
    return;
  }
  try {
    parentPort.postMessage({ saturated: runBand(ex, L, m.start, m.end) });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
});`;

export interface WasmDebevec {
  readonly threads: number;
  /** Where frame j's codes for the current strip go (strip samples long). */
  codes(j: number): Uint8Array | Uint16Array;
  /** Accumulate every frame and finish the first `count` samples (`rowLen` per row); returns saturated pixels. */
  run(count: number, rowLen: number): Promise<number>;
  /** lnE of the last run (strip samples long). */
  readonly lnE: Float32Array;
  /** exp(lnE) of the last run, when asked for with `linear` (else null). */
  readonly linear: Float32Array | null;
  /** lnE of the last run as spool codes, when asked for with `spool` (else null). */
  readonly spool: Uint16Array | null;
  close(): Promise<void>;
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
}

export function createWasmDebevec(spec: WasmDebevecSpec): WasmDebevec | null {
  const module = debevecModule();
  if (!module) return null;
  const { lut, tables, lnT, samples } = spec;
  const n = tables.length;
  const wide = lut.levels > 256;
  const tableBytes = lut.levels * lut.channels * 4;
  // Our buffers start past the module's static data, which each instantiation (re)writes.
  let top: number;
  try {
    const probe = new WA.Memory({ initial: 1, maximum: 1, shared: true });
    top = Math.ceil((new WA.Instance(module, { env: { memory: probe } }).exports as Exports).heapBase() / 16) * 16;
  } catch (err) {
    wasmUnavailable = (err as Error).message;
    return null;
  }
  const take = (bytes: number) => {
    const at = top;
    top += Math.ceil(bytes / 16) * 16;
    return at;
  };
  const g = take(tableBytes);
  const w = take(tableBytes);
  const wg = tables.map(() => take(tableBytes));
  const codes = tables.map(() => take(samples * (wide ? 2 : 1)));
  const num = take(samples * 4);
  const den = take(samples * 4);
  const shortLevel = take(samples * 2);
  const longLevel = take(samples * 2);
  const out = take(samples * 4);
  const linear = spec.linear ? take(samples * 4) : 0;
  const spool = spec.spool ? take(samples * 2) : 0;
  const pages = Math.ceil(top / 65536) + 1;
  let memory: WasmMemory;
  let ex: Exports;
  try {
    memory = new WA.Memory({ initial: pages, maximum: pages, shared: true });
    ex = new WA.Instance(module, { env: { memory } }).exports as unknown as Exports;
  } catch (err) {
    wasmUnavailable = (err as Error).message;
    return null;
  }
  const buf = memory.buffer;
  new Float32Array(buf, g, lut.g.length).set(lut.g);
  new Float32Array(buf, w, lut.w.length).set(lut.w);
  tables.forEach((t, j) => new Float32Array(buf, wg[j]!, t.length).set(t));
  const codeViews = codes.map((at) => (wide ? new Uint16Array(buf, at, samples) : new Uint8Array(buf, at, samples)));
  const layout: Layout = {
    frames: n,
    channels: lut.channels,
    wide,
    g,
    w,
    wg,
    codes,
    num,
    den,
    shortLevel,
    longLevel,
    out,
    lnTShort: lnT[0]!,
    lnTLong: lnT[n - 1]!,
    half: (lut.levels - 1) / 2,
    satLevel: lut.satLevel,
    linear,
    spool,
    spoolLo: spec.spool?.lo ?? 0,
    spoolScale: spec.spool?.scale ?? 0,
  };
  // Listeners go on before a worker can fail: an 'error' with none would take the process down, and
  // a worker that dies mid-band must fail the merge, not leave it waiting.
  interface Slot {
    worker: Worker;
    failed: Error | null;
    pending: { resolve: (n: number) => void; reject: (e: Error) => void } | null;
  }
  const slots: Slot[] = [];
  const threads = Math.max(1, Math.floor(spec.threads));
  for (let k = 1; k < threads; k++) {
    // execArgv: [] — a kernel worker needs no loader hooks (tsx) or inspector of the parent.
    const slot: Slot = { worker: new Worker(WORKER_SOURCE, { eval: true, execArgv: [] }), failed: null, pending: null };
    // Referenced only while a band is out: an idle pool must not keep the process alive, a busy one must.
    const settle = () => {
      const p = slot.pending;
      slot.pending = null;
      slot.worker.unref();
      return p;
    };
    const fail = (err: Error) => {
      slot.failed ??= err;
      settle()?.reject(slot.failed);
    };
    slot.worker.on('error', (err) => fail(new Error(`debevec kernel worker: ${err.message}`)));
    slot.worker.on('exit', (code) => fail(new Error(`debevec kernel worker exited (code ${code})`)));
    slot.worker.on('message', (m: { saturated?: number; error?: string }) => {
      const p = settle();
      if (m.error !== undefined) p?.reject(new Error(`debevec kernel worker: ${m.error}`));
      else p?.resolve(m.saturated!);
    });
    slot.worker.unref();
    slot.worker.postMessage({ init: true, module, memory, layout });
    slots.push(slot);
  }
  const ask = (slot: Slot, start: number, end: number) =>
    new Promise<number>((resolve, reject) => {
      if (slot.failed) return reject(slot.failed);
      slot.pending = { resolve, reject };
      slot.worker.ref();
      slot.worker.postMessage({ start, end });
    });
  return {
    threads,
    codes: (j) => codeViews[j]!,
    lnE: new Float32Array(buf, out, samples),
    linear: linear ? new Float32Array(buf, linear, samples) : null,
    spool: spool ? new Uint16Array(buf, spool, samples) : null,
    async run(count, rowLen) {
      const rows = count / rowLen;
      const bands = Math.min(threads, rows);
      // Bands at row (so pixel) boundaries; the caller's band is the first, computed while the workers run.
      const edge = (b: number) => Math.round((rows * b) / bands) * rowLen;
      const pending = slots.slice(0, bands - 1).map((slot, k) => ask(slot, edge(k + 1), edge(k + 2)));
      let saturated = runBand(ex, layout, 0, edge(1));
      for (const s of await Promise.all(pending)) saturated += s;
      return saturated;
    },
    async close() {
      for (const slot of slots) slot.failed ??= new Error('debevec kernels closed');
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
