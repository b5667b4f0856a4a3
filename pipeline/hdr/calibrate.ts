// Response calibration from brackets on disk: pick sample pixels, stream every frame once by rows
// to read their codes, fold each sample into the per-channel Debevec accumulator, solve.
// Memory: the sample codes of one bracket (samples × N × C bytes) plus 256² doubles per channel.
import { DebevecAccumulator, enforceMonotonic, isStrictlyIncreasing, LEVELS } from './debevec.js';
import type { Bracket } from './discover.js';
import { closeAll, defaultIo, type HdrIo, type RowSource } from './io.js';
import { mulberry32 } from './random.js';
import { lnERange, type CameraResponse } from './response.js';
import { DEFAULT_WEIGHTS, validateWeights, type WeightOptions } from './weights.js';

/** λ and μ are stated per this many samples (the default of one bracket); see calibrateResponse. */
export const SAMPLES_PER_LAMBDA = 1000;
/** Default μ of the third-difference (ripple) rows; 0 gives Debevec's / asi_core's objective. */
export const DEFAULT_RIPPLE = 2000;

export type SamplingTechnique = 'random' | 'histogram';

export interface CalibrateOptions {
  maxGroups?: number;
  samples?: number;
  technique?: SamplingTechnique;
  smoothness?: number;
  /** μ of the third-difference rows that hold down the exposure-ratio ripple (default 2000; 0 = off). */
  ripple?: number;
  weights?: WeightOptions;
  seed?: number;
  camera?: string;
  io?: HdrIo;
  /** Called per bracket (used or skipped) for progress and warnings. */
  onBracket?: (id: string, error?: string) => void;
}

export interface CalibrateResult {
  response: CameraResponse;
  used: string[];
  skipped: { id: string; error: string }[];
}

/** Up to `max` brackets spread evenly over the list (a night's darks and dawns both count). */
export function chooseGroups<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.floor(((i + 0.5) * items.length) / max)]!);
  return out;
}

interface SamplePlan {
  /** Sorted unique pixel indices to read. */
  pixels: Int32Array;
  /** Per channel: indices into `pixels`. */
  perChannel: Int32Array[];
}

function randomPlan(width: number, height: number, channels: number, samples: number, rnd: () => number): SamplePlan {
  const total = width * height;
  const n = Math.min(samples, total);
  const set = new Set<number>();
  while (set.size < n) set.add(Math.floor(rnd() * total));
  const pixels = Int32Array.from([...set].sort((a, b) => a - b));
  const idx = Int32Array.from(pixels.keys());
  return { pixels, perChannel: Array.from({ length: channels }, () => idx) };
}

/**
 * Histogram technique: samples spread evenly over the reference frame's code range, so rare
 * highlights and shadows are sampled as densely as the mid-tones. A bounded reservoir per code
 * keeps this one streaming pass in fixed memory.
 */
async function histogramPlan(ref: RowSource, samples: number, weights: WeightOptions, rnd: () => number): Promise<SamplePlan> {
  const { width, channels } = ref;
  const K = Math.max(2, Math.ceil((4 * samples) / LEVELS));
  const res = Array.from({ length: channels }, () => new Int32Array(LEVELS * K).fill(-1));
  const seen = Array.from({ length: channels }, () => new Float64Array(LEVELS));
  for (;;) {
    const b = await ref.readRows(8);
    if (!b) break;
    const n = b.rows * width;
    for (let p = 0; p < n; p++) {
      const pix = b.y0 * width + p;
      for (let c = 0; c < channels; c++) {
        const z = Math.round(Math.min(1, Math.max(0, b.data[p * channels + c]!)) * 255);
        const s = ++seen[c]![z]!;
        if (s <= K) res[c]![z * K + s - 1] = pix;
        else {
          const r = Math.floor(rnd() * s);
          if (r < K) res[c]![z * K + r] = pix;
        }
      }
    }
  }
  const chosen: number[][] = [];
  for (let c = 0; c < channels; c++) {
    const used = new Int32Array(LEVELS);
    const avail = (z: number) => used[z]! < Math.min(K, seen[c]![z]!);
    const picks: number[] = [];
    for (let i = 0; i < samples; i++) {
      const target = Math.round(weights.lowClip + ((weights.highClip - weights.lowClip) * i) / Math.max(1, samples - 1));
      let z = -1;
      for (let d = 0; d < LEVELS && z < 0; d++) {
        if (target - d >= 0 && avail(target - d)) z = target - d;
        else if (target + d < LEVELS && avail(target + d)) z = target + d;
      }
      if (z < 0) break;
      picks.push(res[c]![z * K + used[z]!]!);
      used[z]++;
    }
    chosen.push(picks);
  }
  const pixels = Int32Array.from([...new Set(chosen.flat())].sort((a, b) => a - b));
  const pos = new Map<number, number>();
  pixels.forEach((p, i) => pos.set(p, i));
  return { pixels, perChannel: chosen.map((picks) => Int32Array.from(picks, (p) => pos.get(p)!)) };
}

/** Codes of the planned pixels in one frame (streamed by rows): [pixelIdx·C + c]. */
async function readCodes(src: RowSource, pixels: Int32Array, out: Uint8Array, frame: number, frames: number): Promise<void> {
  const { width, channels } = src;
  let k = 0;
  let rowsSeen = 0;
  for (;;) {
    const b = await src.readRows(8);
    if (!b) break;
    rowsSeen += b.rows;
    const end = (b.y0 + b.rows) * width;
    while (k < pixels.length && pixels[k]! < end) {
      const local = pixels[k]! - b.y0 * width;
      for (let c = 0; c < channels; c++) out[(k * frames + frame) * channels + c] = Math.round(Math.min(1, Math.max(0, b.data[local * channels + c]!)) * 255);
      k++;
    }
  }
  if (rowsSeen < src.height) throw new Error(`${src.path}: ended after ${rowsSeen} of ${src.height} rows (truncated?)`);
}

export async function calibrateResponse(brackets: Bracket[], options: CalibrateOptions = {}): Promise<CalibrateResult> {
  const io = options.io ?? defaultIo;
  const samples = options.samples ?? 1000;
  const technique = options.technique ?? 'random';
  const smoothness = options.smoothness ?? 50;
  const ripple = options.ripple ?? DEFAULT_RIPPLE;
  const weights = options.weights ?? DEFAULT_WEIGHTS;
  const seed = options.seed ?? 0;
  validateWeights(weights);
  if (!(samples >= 10)) throw new Error(`--samples: need at least 10, got ${samples}`);
  if (technique !== 'random' && technique !== 'histogram') throw new Error(`--technique: expected random or histogram, got "${String(technique)}"`);
  if (!(smoothness >= 0)) throw new Error(`--smoothness: must be ≥ 0, got ${smoothness}`);
  if (!(ripple >= 0)) throw new Error(`--ripple: must be ≥ 0, got ${ripple}`);
  const skipped: { id: string; error: string }[] = [];
  for (const b of brackets) if (b.error) { skipped.push({ id: b.id, error: b.error }); options.onBracket?.(b.id, b.error); }
  const groups = chooseGroups(brackets.filter((b) => !b.error), options.maxGroups ?? 10);
  const rnd = mulberry32(seed);
  let acc: DebevecAccumulator[] | null = null;
  let channels = 0;
  const used: string[] = [];
  const exposures = new Set<number>();
  for (const br of groups) {
    const n = br.frames.length;
    const sources: RowSource[] = [];
    try {
      for (const f of br.frames) sources.push(await io.openRowSource(f.path));
      const first = sources[0]!;
      for (const s of sources) {
        if (s.width !== first.width || s.height !== first.height || s.channels !== first.channels)
          throw new Error(`${s.path}: ${s.width}×${s.height}×${s.channels} differs from ${first.path} (${first.width}×${first.height}×${first.channels})`);
      }
      if (channels && first.channels !== channels) throw new Error(`${first.path}: ${first.channels} channels, earlier brackets had ${channels}`);
      const ref = sources[Math.floor(n / 2)]!;
      const plan = technique === 'histogram' ? await histogramPlan(ref, samples, weights, rnd) : randomPlan(first.width, first.height, first.channels, samples, rnd);
      if (technique === 'histogram') {
        // The reference was consumed by planning; reopen it for the code pass.
        await ref.close();
        sources[Math.floor(n / 2)] = await io.openRowSource(ref.path);
      }
      const C = first.channels;
      const codes = new Uint8Array(plan.pixels.length * n * C);
      for (let j = 0; j < n; j++) {
        await readCodes(sources[j]!, plan.pixels, codes, j, n);
        await sources[j]!.close();
      }
      channels = C;
      acc ??= Array.from({ length: C }, () => new DebevecAccumulator(weights));
      const lnT = Float64Array.from(br.frames, (f) => Math.log(f.exposureS));
      const z = new Int32Array(n);
      for (let c = 0; c < C; c++) {
        for (const k of plan.perChannel[c]!) {
          for (let j = 0; j < n; j++) z[j] = codes[(k * n + j) * C + c]!;
          acc[c]!.addSample(z, lnT, n);
        }
      }
      used.push(br.id);
      for (const f of br.frames) exposures.add(f.exposureS);
      options.onBracket?.(br.id);
    } catch (err) {
      const msg = (err as Error).message;
      skipped.push({ id: br.id, error: msg.includes(br.id) ? msg : `${br.id}: ${msg}` });
      options.onBracket?.(br.id, msg);
    } finally {
      await closeAll(sources);
    }
  }
  if (!acc || used.length === 0) {
    throw new Error(skipped.length ? `no usable bracket for calibration (first problem: ${skipped[0]!.error})` : 'no brackets found');
  }
  const g = new Float32Array(LEVELS * channels);
  const repairs: number[] = [];
  // λ and μ are per 1000 samples used: the data term grows with every sample (more --samples, more
  // brackets) while the smoothness rows do not, so both scale with √(samples / 1000) and keep their
  // balance with the data; more data then only averages the noise down.
  // μ (third differences) is there for the ripple one exposure ladder cannot see: a ripple of g
  // periodic in ln X with the ladder's ratio is absorbed exactly by the samples' lnE unknowns
  // (Grossberg & Nayar's exposure-ratio ambiguity), so only the smoothness rows hold it, and λ = 50
  // alone let it reach ±0.06 in ln X at the mid codes — the same in one bracket or ten of that ladder
  // (ln-radiance RMSE 0.062 against 0.057 without it). λ high enough to flatten it (≥ 150) bends the
  // gamma curve from ~600 on; third differences hold the ripple from μ ≈ 1000 to 5000 at no cost.
  for (let c = 0; c < channels; c++) {
    const scale = Math.sqrt(Math.max(1, acc[c]!.samples) / SAMPLES_PER_LAMBDA);
    const gc = acc[c]!.solve(smoothness * scale, ripple * scale);
    repairs.push(isStrictlyIncreasing(gc) ? 0 : enforceMonotonic(gc));
    for (let z = 0; z < LEVELS; z++) g[z * channels + c] = gc[z]!;
  }
  const expoList = [...exposures].sort((a, b) => a - b);
  const response: CameraResponse = {
    channels,
    g,
    metadata: {
      method: 'debevec',
      channels,
      samples,
      technique,
      smoothness,
      ripple,
      weight: weights.kind,
      lowClip: weights.lowClip,
      highClip: weights.highClip,
      seed,
      groups: used,
      exposures: expoList,
      lnERange: [0, 0],
      ...(options.camera ? { camera: options.camera } : {}),
      date: new Date().toISOString(),
      monotonicRepairs: repairs,
      samplesUsed: acc.map((a) => a.samples),
    },
  };
  response.metadata.lnERange = lnERange(response, expoList);
  return { response, used, skipped };
}
