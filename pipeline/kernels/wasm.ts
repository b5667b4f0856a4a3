// What every WebAssembly kernel needs: the compiled module by name (pipeline/kernels/NAME.wasm,
// built from assembly/NAME.ts), one shared memory laid out by an arena, and a pool of worker threads
// that run row bands of the same buffers. Each kernel module (debevec-wasm.ts, …) adds its layout
// and its band function; nothing is copied between threads — every band reads and writes its own
// range of the shared memory.
//
// Everything returns null (with the reason from `kernelUnavailable`) where WebAssembly SIMD or shared
// memory is unavailable (or SKYRIG_NO_WASM=1); callers then run their plain-TS reference.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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

// Kernel workers are generic: a band pool hands each its band source, module, memory and layout on
// init, and on close gives it back (released: nothing of the pool kept) to a process-wide idle set, so
// the next pool — the tone-map pass after the merge, the next bracket, the next job of the agent —
// starts no thread. A worker costs ≈ 30–60 ms of CPU to start (its own V8 isolate); on the 2-core VM
// the Debevec run started two to four of them. prestartKernelWorkers() starts them ahead, beside
// whatever the caller does first (module loading, discovery, opening the decoders).
const GENERIC_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
let ex = null, L = null, runBand = null;
parentPort.on('message', (m) => {
  if (m.init) {
    runBand = new Function(m.bandSource + '; return runBand;')();
    ex = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
    L = m.layout;
    return;
  }
  if (m.release) {
    ex = L = runBand = null;
    return;
  }
  try {
    parentPort.postMessage({ result: runBand(ex, L, m.start, m.end, m.job, m.band) });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
});`;

/** Idle kernel workers, ready for a pool; unreferenced (they never hold the process open). */
const idleWorkers = new Set<Worker>();
const maxIdleWorkers = () => Math.max(1, availableParallelism());

function spawnKernelWorker(): Worker {
  // execArgv: [] — a kernel worker needs no loader hooks (tsx) or inspector of the parent.
  const worker = new Worker(GENERIC_WORKER_SOURCE, { eval: true, execArgv: [] });
  worker.unref();
  return worker;
}

/** The listeners an idle worker carries (removed one by one: removeAllListeners would also remove
 *  node's own 'newListener' hooks that ref the worker's message port). */
const idleListeners = new WeakMap<Worker, () => void>();

function parkWorker(worker: Worker): void {
  if (idleWorkers.size >= maxIdleWorkers()) {
    void worker.terminate();
    return;
  }
  // An idle worker that fails or exits is dropped (an 'error' with no listener would end the process).
  const drop = () => {
    idleWorkers.delete(worker);
    worker.off('error', drop);
    worker.off('exit', drop);
  };
  worker.on('error', drop);
  worker.on('exit', drop);
  idleListeners.set(worker, drop);
  worker.unref();
  idleWorkers.add(worker);
}

function takeWorker(): Worker {
  for (const worker of idleWorkers) {
    idleWorkers.delete(worker);
    const drop = idleListeners.get(worker);
    if (drop) {
      worker.off('error', drop);
      worker.off('exit', drop);
    }
    return worker;
  }
  return spawnKernelWorker();
}

/** Start kernel workers until `count` are idle (at most the cores): their start-up then overlaps the caller's. */
export function prestartKernelWorkers(count: number): void {
  const want = Math.min(Math.floor(count), maxIdleWorkers());
  while (idleWorkers.size < want) parkWorker(spawnKernelWorker());
}

/** A pool of `threads − 1` workers sharing `memory`, each with its own instance of `module`. */
export function createBandPool<L>(spec: BandPoolSpec<L>): BandPool {
  const runBand = new Function(`${spec.bandSource}; return runBand;`)() as (ex: unknown, L: L, start: number, end: number, job: unknown, band: number) => number;
  // Listeners go on before a worker can fail: an 'error' with none would take the process down, and
  // a worker that dies mid-band must fail the run, not leave it waiting.
  interface Slot {
    worker: Worker;
    failed: Error | null;
    /** Bands asked of the worker and not yet answered, oldest first (answers come in order). */
    pending: Array<{ resolve: (n: number) => void; reject: (e: Error) => void }>;
    /** Remove this pool's listeners (before the worker goes back to the idle set). */
    detach: () => void;
  }
  const slots: Slot[] = [];
  const threads = Math.max(1, Math.floor(spec.threads));
  const callerBand = spec.callerBand ?? true;
  for (let k = callerBand ? 1 : 0; k < threads; k++) {
    const slot: Slot = { worker: takeWorker(), failed: null, pending: [], detach: () => {} };
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
    const onError = (err: Error) => fail(new Error(`${spec.name} kernel worker: ${err.message}`));
    const onExit = (code: number) => fail(new Error(`${spec.name} kernel worker exited (code ${code})`));
    const onMessage = (m: { result?: number; error?: string }) => {
      const p = settle();
      if (m.error !== undefined) p?.reject(new Error(`${spec.name} kernel worker: ${m.error}`));
      else p?.resolve(m.result!);
    };
    slot.worker.on('error', onError);
    slot.worker.on('exit', onExit);
    slot.worker.on('message', onMessage);
    slot.detach = () => {
      slot.worker.off('error', onError);
      slot.worker.off('exit', onExit);
      slot.worker.off('message', onMessage);
    };
    slot.worker.unref();
    slot.worker.postMessage({ init: true, bandSource: spec.bandSource, module: spec.module, memory: spec.memory, layout: spec.layout });
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
      if (closed) return;
      closed = new Error(`${spec.name} kernels closed`);
      const busy: Worker[] = [];
      for (const slot of slots) {
        // A worker still in a band (a failed run) is ended; an idle one goes back, released.
        if (slot.pending.length || slot.failed) busy.push(slot.worker);
        else {
          slot.worker.postMessage({ release: true });
          slot.detach();
          parkWorker(slot.worker);
        }
        slot.failed ??= closed;
        for (const p of slot.pending.splice(0)) p.reject(closed);
      }
      await Promise.all(busy.map((w) => w.terminate()));
    },
  };
}
