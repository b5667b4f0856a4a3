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
}

const BAND_SOURCE = `function runBand(ex, L, start, end) {
  ex.toneMapBytes(L.codes, start, end, L.channels, L.expLut, L.gamma, L.top, L.a, L.w2, L.out);
  return 0;
}`;

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
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  const buf = made.memory.buffer;
  new Float32Array(buf, expLut, spec.expLut.length).set(spec.expLut);
  new Float32Array(buf, gamma, spec.gammaLut.length).set(spec.gammaLut);
  const layout: Layout = { codes, out, channels: spec.channels, expLut, gamma, top: spec.gammaLut.length - 2, a: spec.a, w2: spec.w2 };
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
