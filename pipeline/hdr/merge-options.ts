// What a bracket merge takes and gives, and how a bracket is opened: shared by the Debevec merge
// (merge.ts) and Mertens fusion (mertens.ts) so neither imports the other.
import type { BracketFrame } from './discover.js';
import { closeAll, type HdrIo, type RowSource } from './io.js';
import type { MergeWeighting } from './merge-kernel.js';
import type { CameraResponse } from './response.js';
import type { ToneMap } from './tonemap.js';
import { DEFAULT_WEIGHTS, type WeightOptions } from './weights.js';

export type OutputFormat = 'hdr' | 'tiff' | 'fits' | 'png16' | 'jpg';
export const OUTPUT_FORMATS: OutputFormat[] = ['hdr', 'tiff', 'fits', 'png16', 'jpg'];
export type MergeAlgorithm = 'debevec' | 'mertens';

export const FORMAT_EXT: Record<OutputFormat, string> = { hdr: '.hdr', tiff: '.tif', fits: '.fits', png16: '.png', jpg: '.jpg' };

export function parseFormats(value: string): OutputFormat[] {
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).map((s) => (s === 'jpeg' ? 'jpg' : s === 'tif' ? 'tiff' : s));
  for (const f of list) if (!OUTPUT_FORMATS.includes(f as OutputFormat)) throw new Error(`--format: unknown "${f}" (hdr, tiff, fits, png16, jpg)`);
  if (list.length === 0) throw new Error('--format: empty list');
  return [...new Set(list)] as OutputFormat[];
}

export interface MergeOptions {
  algorithm?: MergeAlgorithm;
  /** Required for Debevec. */
  response?: CameraResponse;
  formats?: OutputFormat[];
  tonemap?: ToneMap;
  gamma?: number;
  /** Weights for the merge; default the calibration's (from the response metadata) or 5/250 triangle. */
  weights?: WeightOptions;
  /** `hat` (default, as Debevec/asi_core) or `noise` (inverse variance from the response's slope; the clips of `weights` still apply). */
  weighting?: MergeWeighting;
  /** lnE range for the 16-bit PNG and the log tone map; default from the response and these exposures. */
  range?: [number, number];
  quality?: number;
  /** Rows per strip (default 16). */
  stripRows?: number;
  /** Threads for the merge kernels, the caller's included (default: the cores, os.availableParallelism()). */
  threads?: number;
  /** `wasm` (default): SIMD WebAssembly kernels where they load, else the plain-TS ones; `js`: the plain-TS reference. */
  kernels?: 'wasm' | 'js';
  /**
   * WebAssembly kernels only: decode the next strip while the kernels compute this one (default
   * true). The `threads` kernel threads are then all workers and the calling thread reads the
   * decoders; false: the caller computes one band itself and reads between strips.
   */
  overlap?: boolean;
  /** Mertens pyramid depth (default 5; the halo is 4·2^levels rows and columns). */
  levels?: number;
  io?: HdrIo;
  /** Name used in messages (bracket id). */
  id?: string;
  signal?: AbortSignal;
}

export interface MergeResult {
  outputs: Partial<Record<OutputFormat, string>>;
  width: number;
  height: number;
  channels: number;
  frames: number;
  /** Actual lnE min/max in the merged image (Debevec) — null for Mertens. */
  lnE: [number, number] | null;
  /** Fraction of pixels saturated even in the shortest exposure. */
  saturatedFraction: number;
  ms: number;
  /** Which kernels merged (Debevec): the SIMD WebAssembly ones on `threads` threads, or the plain-TS ones on 1. */
  kernels?: 'wasm' | 'js';
  threads?: number;
}

export function weightsFromResponse(r: CameraResponse | undefined): WeightOptions {
  const m = r?.metadata ?? {};
  const kind = m.weight === 'sine' ? 'sine' : 'triangle';
  const lowClip = typeof m.lowClip === 'number' ? m.lowClip : DEFAULT_WEIGHTS.lowClip;
  const highClip = typeof m.highClip === 'number' ? m.highClip : DEFAULT_WEIGHTS.highClip;
  return { kind, lowClip, highClip };
}

/** Open every frame (their decoders start together) and check they agree in size and channels; names the odd one out. */
export async function openBracket(frames: BracketFrame[], io: HdrIo, opts: { threaded?: boolean } = {}): Promise<RowSource[]> {
  const opened = await Promise.allSettled(frames.map((f) => io.openRowSource(f.path, opts)));
  const sources = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = opened.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const a = sources[0]!;
    for (const s of sources.slice(1)) {
      if (s.width !== a.width || s.height !== a.height) throw new Error(`${s.path}: size ${s.width}×${s.height} differs from ${a.path} (${a.width}×${a.height})`);
      if (s.channels !== a.channels) throw new Error(`${s.path}: ${s.channels} channels, ${a.path} has ${a.channels}`);
    }
    return sources;
  } catch (err) {
    await closeAll(sources);
    throw err;
  }
}

