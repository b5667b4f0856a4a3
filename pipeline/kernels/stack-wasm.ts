// The live stack's per-pixel work on `threads` cores with the SIMD WebAssembly kernels
// (pipeline/kernels/assembly/stack.ts → stack.wasm): one shared memory holds the frame in flight,
// the master dark, the sigma accumulator's planes and a small staging area for the FITS bytes; row
// bands run in the calling thread and a pool of workers (pipeline/kernels/wasm.ts). Mono frames only
// (a colour or Bayer stack keeps the plain-TS path, as does anything this returns null for).
//
// The frame plane is reused for every frame: whoever loads into it must be done with the previous
// frame (the stacker handles one frame at a time). The references the results equal bit for bit are
// named in assembly/stack.ts.
import { open } from 'node:fs/promises';
import { createBandPool, kernelArena, kernelModule, rowBands } from './wasm.js';

interface Exports {
  decodeI16BE(bytes: number, out: number, start: number, end: number, scale: number, zero: number): void;
  subtract(out: number, sub: number, start: number, end: number): void;
  warpSigma(src: number, w: number, h: number, y0: number, y1: number, warp: boolean, A: number, B: number, C: number, E: number, F: number, G: number,
    M: number, M2: number, N: number, H: number, useH: boolean, kappa: number, noise: number, off: number, warm: number): number;
  medianN(table: number, n: number, out: number, start: number, end: number): void;
  heapBase(): number;
}

interface Layout { width: number; height: number; frame: number; dark: number; staging: number; M: number; M2: number; N: number; H: number }

// One band of one job. Runs in the calling thread and, as text, in each worker.
const BAND_SOURCE = `function runBand(ex, L, start, end, job) {
  if (job.op === 'decode') { ex.decodeI16BE(L.staging, L.frame + job.at * 4, start, end, job.scale, job.zero); return 0; }
  if (job.op === 'dark') { ex.subtract(L.frame, L.dark, start, end); return 0; }
  const t = job.t;
  return ex.warpSigma(L.frame, L.width, L.height, start / L.width, end / L.width, !!t, t ? t[0] : 0, t ? t[1] : 0, t ? t[2] : 0, t ? t[3] : 0, t ? t[4] : 0, t ? t[5] : 0,
    L.M, L.M2, L.N, L.H, job.useH, job.kappa, job.noise, job.off, job.warm);
}`;

/** Bytes read from the file and decoded per round (so the staging area stays small). */
const STAGING_BYTES = 1 << 20;

export interface SigmaPlanes { M: Float32Array; M2: Float32Array; N: Float32Array; H: Float32Array | null }

export interface SigmaPush {
  /** Frame → reference-grid affine map, reference pixel → frame pixel (Mat3 row-major); null: no warp. */
  refToFrame: ArrayLike<number> | null;
  kappa: number;
  warm: number;
  useH: boolean;
  noise: number;
  /** Sky offset to the reference frame, subtracted from every value. */
  offset: number;
}

export interface StackKernels {
  readonly threads: number;
  readonly width: number;
  readonly height: number;
  /** The frame plane (width × height). */
  readonly frame: Float32Array;
  /** The master dark's plane (null: no dark). */
  readonly dark: Float32Array | null;
  /** The sigma accumulator's planes (null: not asked for). */
  readonly sigma: SigmaPlanes | null;
  /** Read the 16-bit data unit of a FITS file into the frame plane: f32(v·scale + zero). */
  readFits16(path: string, dataOffset: number, scale: number, zero: number): Promise<Float32Array>;
  /** frame −= dark. */
  subtractDark(): Promise<void>;
  /** Warp the frame onto the reference grid and fold it into the sigma planes; returns the rejected values. */
  warpSigma(p: SigmaPush): Promise<number>;
  close(): Promise<void>;
}

export interface StackKernelSpec {
  width: number;
  height: number;
  /** Master dark (width × height), copied into the shared memory. */
  dark?: Float32Array | null;
  sigma?: boolean;
  /** Also the warm-up maxima plane H (only a sigma warm-up longer than 3 uses it). */
  sigmaH?: boolean;
  /** Total threads including the caller's (1 = no workers). */
  threads: number;
}

/** The kernels for one mono geometry, or null where WebAssembly SIMD/shared memory is unavailable. */
export function createStackKernels(spec: StackKernelSpec): StackKernels | null {
  const arena = kernelArena('stack');
  if (!arena) return null;
  // Nothing below may hold `spec`: its dark is the caller's copy, to be dropped once copied in.
  const { width, height } = spec;
  const hasSigma = !!spec.sigma;
  const len = width * height;
  const plane = () => arena.take(len * 4);
  const frame = plane();
  const dark = spec.dark ? plane() : 0;
  const staging = arena.take(STAGING_BYTES);
  const [M, M2, N] = hasSigma ? [plane(), plane(), plane()] : [0, 0, 0];
  const H = hasSigma && spec.sigmaH ? plane() : 0;
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  const buf = made.memory.buffer;
  const view = (at: number) => new Float32Array(buf, at, len);
  if (spec.dark) {
    if (spec.dark.length !== len) throw new RangeError(`master dark has ${spec.dark.length} samples, frames ${len}`);
    view(dark).set(spec.dark);
  }
  const layout: Layout = { width, height, frame, dark, staging, M: M!, M2: M2!, N: N!, H };
  const pool = createBandPool({ name: 'stack', module: kernelModule('stack')!, memory: made.memory, exports: made.exports, bandSource: BAND_SOURCE, layout, threads: spec.threads });
  spec = { ...spec, dark: null };
  const frameView = view(frame);
  const stagingView = new Uint8Array(buf, staging, STAGING_BYTES);
  const wholeFrame = () => rowBands(height, width, pool.threads);
  return {
    threads: pool.threads,
    width,
    height,
    frame: frameView,
    dark: dark ? view(dark) : null,
    sigma: hasSigma ? { M: view(M!), M2: view(M2!), N: view(N!), H: H ? view(H) : null } : null,
    async readFits16(path, dataOffset, scale, zero) {
      const fh = await open(path, 'r');
      try {
        const chunk = Math.floor(STAGING_BYTES / 2 / 8) * 8;
        for (let at = 0; at < len; at += chunk) {
          const n = Math.min(chunk, len - at);
          const { bytesRead } = await fh.read(stagingView, 0, n * 2, dataOffset + at * 2);
          if (bytesRead < n * 2) throw new Error(`truncated FITS data (${dataOffset + at * 2 + bytesRead} bytes, need ${dataOffset + len * 2})`);
          // Bands of the chunk, 8-sample aligned so every band but the last runs whole vectors.
          const bands = Math.max(1, Math.min(pool.threads, Math.floor(n / 65536)));
          const ranges = Array.from({ length: bands }, (_, b) => [Math.floor((n * b) / bands / 8) * 8, b === bands - 1 ? n : Math.floor((n * (b + 1)) / bands / 8) * 8] as [number, number]);
          await pool.run(ranges, { op: 'decode', at, scale, zero });
        }
      } finally {
        await fh.close();
      }
      return frameView;
    },
    async subtractDark() {
      if (!dark) throw new Error('stack kernels: no master dark');
      await pool.run(wholeFrame(), { op: 'dark' });
    },
    async warpSigma(p) {
      if (!hasSigma) throw new Error('stack kernels: no sigma planes');
      if (p.useH && !H) throw new Error('stack kernels: no warm-up plane H (made with sigmaH)');
      let t: number[] | null = null;
      if (p.refToFrame) {
        const [a, b, c, e, f, g, , , r] = Array.from(p.refToFrame);
        t = [a! / r!, b! / r!, c! / r!, e! / r!, f! / r!, g! / r!];
      }
      return pool.run(wholeFrame(), { op: 'sigma', t, kappa: p.kappa, warm: p.warm, useH: p.useH, noise: p.noise, off: p.offset });
    },
    close: () => pool.close(),
  };
}

export interface Fits16Source {
  path: string;
  /** Byte offset of the data unit. */
  dataOffset: number;
  /** Sample value = i16 · scale + zero (BSCALE, BZERO over full scale). */
  scale: number;
  zero: number;
}

// One band of a strip: every file's 16-bit samples decoded into its f32 strip, then the median.
const MEDIAN_BAND_SOURCE = `function runBand(ex, L, start, end, job) {
  for (let k = 0; k < L.n; k++) ex.decodeI16BE(L.bytes[k], L.strips[k], start, end, job.scale[k], job.zero[k]);
  ex.medianN(L.table, L.n, L.out, start, end);
  return 0;
}`;

/**
 * Per-pixel median of mono 16-bit FITS frames (a master dark or bias), strip by strip straight from
 * the files — no decoded copy of any frame, no spill — in `stripBytes` of shared memory, the bands
 * on `threads` cores. Equals master.ts's median of the decoded frames bit for bit. Null where the
 * kernels cannot load (the caller then runs its plain-TS path).
 */
export async function medianOfFits16(files: Fits16Source[], width: number, height: number, threads: number, stripBytes = 64 << 20): Promise<Float32Array | null> {
  const arena = kernelArena('stack');
  if (!arena) return null;
  const n = files.length;
  // 2 bytes in + 4 bytes decoded per sample and file, plus the output strip.
  const rows = Math.max(1, Math.min(height, Math.floor(stripBytes / (width * (6 * n + 4)))));
  const samples = rows * width;
  const bytes = files.map(() => arena.take(samples * 2));
  const strips = files.map(() => arena.take(samples * 4));
  const table = arena.take(n * 4);
  const outAt = arena.take(samples * 4);
  const made = arena.instantiate<Exports>();
  if (!made) return null;
  const buf = made.memory.buffer;
  new Uint32Array(buf, table, n).set(strips);
  const pool = createBandPool({ name: 'stack', module: kernelModule('stack')!, memory: made.memory, exports: made.exports, bandSource: MEDIAN_BAND_SOURCE, layout: { n, bytes, strips, table, out: outAt }, threads });
  const out = new Float32Array(width * height);
  const handles: Array<Awaited<ReturnType<typeof open>>> = [];
  try {
    for (const f of files) handles.push(await open(f.path, 'r'));
    const job = { scale: files.map((f) => f.scale), zero: files.map((f) => f.zero) };
    const outView = new Float32Array(buf, outAt, samples);
    for (let y0 = 0; y0 < height; y0 += rows) {
      const count = Math.min(rows, height - y0) * width;
      await Promise.all(handles.map(async (h, k) => {
        const { bytesRead } = await h.read(new Uint8Array(buf, bytes[k]!, count * 2), 0, count * 2, files[k]!.dataOffset + y0 * width * 2);
        if (bytesRead < count * 2) throw new Error(`${files[k]!.path}: truncated FITS data`);
      }));
      // Bands at multiples of 4 samples (the vector step); the last one takes the rest.
      const bands = Math.max(1, Math.min(pool.threads, Math.ceil(count / 4096)));
      const ranges = Array.from({ length: bands }, (_, b) => [Math.floor((count * b) / bands / 4) * 4, b === bands - 1 ? count : Math.floor((count * (b + 1)) / bands / 4) * 4] as [number, number]);
      await pool.run(ranges, job);
      out.set(outView.subarray(0, count), y0 * width);
    }
  } finally {
    await Promise.all(handles.map((h) => h.close()));
    await pool.close();
  }
  return out;
}
