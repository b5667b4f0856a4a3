// What every WebAssembly kernel needs: the compiled module by name (pipeline/kernels/NAME.wasm,
// built from assembly/NAME.ts), one shared memory laid out by an arena, and a pool of worker threads
// that run row bands of the same buffers. Each kernel module (debevec-wasm.ts, …) adds its layout
// and its band function; nothing is copied between threads — every band reads and writes its own
// range of the shared memory.
//
// Everything returns null (with the reason from `kernelUnavailable`) where WebAssembly SIMD or shared
// memory is unavailable (or SKYRIG_NO_WASM=1); callers then run their plain-TS reference.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

// The project compiles without the DOM lib, where the WebAssembly global is declared: the little used here.
export type WasmModule = object;
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
const WA = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => WasmModule;
    Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
    Instance: new (m: WasmModule, imports: object) => { exports: unknown };
  };
}).WebAssembly;

const modules = new Map<string, WasmModule | null>();
const reasons = new Map<string, string>();

/** The compiled kernel module NAME.wasm, or null (reason in `kernelUnavailable(name)`) when it cannot load. */
export function kernelModule(name: string): WasmModule | null {
  if (modules.has(name)) return modules.get(name)!;
  let module: WasmModule | null = null;
  try {
    if (process.env.SKYRIG_NO_WASM === '1') throw new Error('SKYRIG_NO_WASM=1');
    module = new WA.Module(readFileSync(new URL(`./${name}.wasm`, import.meta.url)));
  } catch (err) {
    reasons.set(name, (err as Error).message);
  }
  modules.set(name, module);
  return module;
}

/** Why kernel NAME could not load or instantiate (null: it did, or was never asked for). */
export function kernelUnavailable(name: string): string | null {
  return reasons.get(name) ?? null;
}

/** A bump allocator over the module's shared memory: `take` byte ranges, then `instantiate`. */
export interface KernelArena {
  /** Reserve `bytes` (16-byte aligned); returns the byte address. */
  take(bytes: number): number;
  /** Make the memory (exactly as large as taken) and the calling thread's instance; null when it cannot. */
  instantiate<E>(): { memory: WasmMemory; exports: E } | null;
}

/** An arena for module NAME, starting past its static data (which each instantiation rewrites). */
export function kernelArena(name: string): KernelArena | null {
  const module = kernelModule(name);
  if (!module) return null;
  let top: number;
  try {
    const probe = new WA.Memory({ initial: 1, maximum: 1, shared: true });
    // Every entry re-exports assembly/lib/heap.ts's heapBase.
    top = (new WA.Instance(module, { env: { memory: probe } }).exports as { heapBase: () => number }).heapBase();
  } catch (err) {
    reasons.set(name, (err as Error).message);
    return null;
  }
  top = Math.ceil(top / 16) * 16;
  return {
    take(bytes) {
      const at = top;
      top += Math.ceil(bytes / 16) * 16;
      return at;
    },
    instantiate<E>() {
      try {
        const pages = Math.ceil(top / 65536) + 1;
        const memory = new WA.Memory({ initial: pages, maximum: pages, shared: true });
        return { memory, exports: new WA.Instance(module, { env: { memory } }).exports as E };
      } catch (err) {
        reasons.set(name, (err as Error).message);
        return null;
      }
    },
  };
}

/** Row bands [start, end) (in samples, at row boundaries) splitting `rows` rows of `rowLen` samples into `bands`. */
export function rowBands(rows: number, rowLen: number, bands: number): Array<[number, number]> {
  const n = Math.max(1, Math.min(bands, rows));
  const edge = (b: number) => Math.round((rows * b) / n) * rowLen;
  return Array.from({ length: n }, (_, b) => [edge(b), edge(b + 1)] as [number, number]);
}

export interface BandPoolSpec<L> {
  /** Kernel name (for messages). */
  name: string;
  module: WasmModule;
  memory: WasmMemory;
  /** The calling thread's instance exports. */
  exports: unknown;
  /**
   * Source text of `function runBand(ex, L, start, end, job, band) { …; return number; }`: plain
   * JavaScript, no imports, since it runs as text in each worker (eval workers take no TypeScript) and
   * in the calling thread. `job` is whatever `run` passes (structured-cloneable); `band` is the
   * thread's index (0 = the caller, k = worker k), for per-thread scratch in the shared memory.
   */
  bandSource: string;
  /** Constant layout (addresses, sizes) handed to every band; structured-cloneable. */
  layout: L;
  /** Total threads including the caller's (1 = no workers). */
  threads: number;
  /**
   * false: the caller runs no band — `threads` workers take them all and `run` returns at once, so
   * the caller can read the next input meanwhile (default true: the caller takes the first band).
   */
  callerBand?: boolean;
}

export interface BandPool {
  readonly threads: number;
  /**
   * Run `runBand` over each [start, end) range — the first in the calling thread while workers take
   * the rest (all of them in workers without `callerBand`; at most `threads` ranges) — and return
   * the sum of what the bands returned. A run may be started before the previous one has resolved:
   * each worker takes its bands in the order asked (the caller keeps the runs' memory apart).
   */
  run(ranges: Array<[number, number]>, job?: unknown): Promise<number>;
  close(): Promise<void>;
}

/** A pool of `threads − 1` workers sharing `memory`, each with its own instance of `module`. */
export function createBandPool<L>(spec: BandPoolSpec<L>): BandPool {
  const runBand = new Function(`${spec.bandSource}; return runBand;`)() as (ex: unknown, L: L, start: number, end: number, job: unknown, band: number) => number;
  const workerSource = `
const { parentPort } = require('node:worker_threads');
${spec.bandSource}
let ex, L;
parentPort.on('message', (m) => {
  if (m.init) {
    ex = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
    L = m.layout;
    return;
  }
  try {
    parentPort.postMessage({ result: runBand(ex, L, m.start, m.end, m.job, m.band) });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
});`;
  // Listeners go on before a worker can fail: an 'error' with none would take the process down, and
  // a worker that dies mid-band must fail the run, not leave it waiting.
  interface Slot {
    worker: Worker;
    failed: Error | null;
    /** Bands asked of the worker and not yet answered, oldest first (answers come in order). */
    pending: Array<{ resolve: (n: number) => void; reject: (e: Error) => void }>;
  }
  const slots: Slot[] = [];
  const threads = Math.max(1, Math.floor(spec.threads));
  const callerBand = spec.callerBand ?? true;
  for (let k = callerBand ? 1 : 0; k < threads; k++) {
    // execArgv: [] — a kernel worker needs no loader hooks (tsx) or inspector of the parent.
    const slot: Slot = { worker: new Worker(workerSource, { eval: true, execArgv: [] }), failed: null, pending: [] };
    // Referenced only while a band is out: an idle pool must not keep the process alive, a busy one must.
    const settle = () => {
      const p = slot.pending.shift();
      if (slot.pending.length === 0) slot.worker.unref();
      return p;
    };
    const fail = (err: Error) => {
      slot.failed ??= err;
      for (const p of slot.pending.splice(0)) p.reject(slot.failed);
      slot.worker.unref();
    };
    slot.worker.on('error', (err) => fail(new Error(`${spec.name} kernel worker: ${err.message}`)));
    slot.worker.on('exit', (code) => fail(new Error(`${spec.name} kernel worker exited (code ${code})`)));
    slot.worker.on('message', (m: { result?: number; error?: string }) => {
      const p = settle();
      if (m.error !== undefined) p?.reject(new Error(`${spec.name} kernel worker: ${m.error}`));
      else p?.resolve(m.result!);
    });
    slot.worker.unref();
    slot.worker.postMessage({ init: true, module: spec.module, memory: spec.memory, layout: spec.layout });
    slots.push(slot);
  }
  let closed: Error | null = null;
  const ask = (slot: Slot, start: number, end: number, job: unknown) =>
    new Promise<number>((resolve, reject) => {
      if (slot.failed) return reject(slot.failed);
      // A run may be asked for before the previous one is answered: the worker takes it next.
      slot.pending.push({ resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ start, end, job, band: slots.indexOf(slot) + 1 });
    });
  return {
    threads,
    async run(ranges, job) {
      if (closed) throw closed;
      if (ranges.length > threads) throw new Error(`${spec.name} kernels: ${ranges.length} bands for ${threads} threads`);
      if (ranges.length === 0) return 0;
      if (!callerBand) {
        const all = await Promise.allSettled(ranges.map(([s, e], k) => ask(slots[k]!, s, e, job)));
        let total = 0;
        for (const r of all) {
          if (r.status === 'rejected') throw r.reason instanceof Error ? r.reason : new Error(String(r.reason));
          total += r.value;
        }
        return total;
      }
      const pending = ranges.slice(1).map(([s, e], k) => ask(slots[k]!, s, e, job));
      // The caller's band runs while the workers run theirs; a throw here still waits for them.
      let sum = 0;
      let own: unknown = null;
      try {
        sum = runBand(spec.exports, spec.layout, ranges[0]![0], ranges[0]![1], job, 0);
      } catch (err) {
        own = err;
      }
      const rest = await Promise.allSettled(pending);
      if (own) throw own instanceof Error ? own : new Error(String(own));
      for (const r of rest) {
        if (r.status === 'rejected') throw r.reason instanceof Error ? r.reason : new Error(String(r.reason));
        sum += r.value;
      }
      return sum;
    },
    async close() {
      closed = new Error(`${spec.name} kernels closed`);
      for (const slot of slots) slot.failed ??= closed;
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
