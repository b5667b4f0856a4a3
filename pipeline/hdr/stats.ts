// Bracket analysis (asi_core's image_stats): per-image SNR from the channel covariance, rejection
// of frames with clipped pixels, the best-SNR frame per bracket normalised by exposure time, and a
// per-pixel fixed-pattern-noise fit  img[k,i,j] = offset[i,j] + gain[i,j]·stimulus[k]  with the
// residual temporal noise. One streaming pass per bracket: frames are read in lockstep strips and
// folded into per-pixel sums, so memory is a few strips whatever the stack depth.
import type { Bracket } from './discover.js';
import { closeAll, defaultIo, readExactRows, type HdrIo } from './io.js';
import { openBracket } from './merge.js';

export interface ImageStats {
  path: string;
  bracket: string;
  expTime: number;
  mean: number[];
  std: number[];
  cov: number[][];
  /** √(Σ cov)/C */
  noise: number;
  /** mean over channels / noise */
  snr: number;
  max: number;
  pixels: number;
  rejected: boolean;
}

export interface FpnFit {
  /** Per channel: mean and spatial std of the offset map (DSNU), gain map (per second) and PRNU = std/mean of gain. */
  offsetMean: number[];
  offsetStd: number[];
  gainMean: number[];
  gainStd: number[];
  prnu: number[];
  /** RMS residual after the per-pixel fit (temporal noise), per channel. */
  temporalNoise: number[];
  /** Pixels with ≥ 3 unclipped frames, per channel. */
  pixelsFit: number[];
}

export interface BracketStats {
  id: string;
  best: string | null;
  bestSnr: number | null;
  fpn: FpnFit | null;
}

export type Normalise = 'none' | 'peak' | 'total';

export interface CameraSamples {
  /** Best-SNR frame per bracket, mean per channel divided by exposure time: (N, C); n = pixels averaged. */
  mean: number[][];
  std: number[][];
  n: number[];
  exp_time: number[];
  exp_time_units: 's';
  nd: number;
  camera: string;
  lens: string;
  settings: Record<string, unknown>;
  label: string;
  scale: number;
  normalise: Normalise;
}

export interface StatsReport {
  camera_samples: CameraSamples;
  images: ImageStats[];
  brackets: BracketStats[];
}

export interface StatsOptions {
  /** Reject frames with any pixel above this fraction of full scale (default 0.995). */
  max?: number;
  normalise?: Normalise;
  camera?: string;
  lens?: string;
  label?: string;
  nd?: number;
  scale?: number;
  settings?: Record<string, unknown>;
  stripRows?: number;
  io?: HdrIo;
  onBracket?: (id: string, error?: string) => void;
}

/** Image stats from running channel sums. */
export function statsFromMoments(sum: Float64Array, cross: Float64Array, n: number, C: number): { mean: number[]; std: number[]; cov: number[][]; noise: number; snr: number } {
  const mean = Array.from(sum, (s) => s / n);
  const cov: number[][] = [];
  let total = 0;
  for (let a = 0; a < C; a++) {
    const row: number[] = [];
    for (let b = 0; b < C; b++) {
      const v = (cross[a * C + b]! - n * mean[a]! * mean[b]!) / Math.max(1, n - 1);
      row.push(v);
      total += v;
    }
    cov.push(row);
  }
  const noise = Math.sqrt(Math.max(0, total)) / C;
  const m = mean.reduce((x, y) => x + y, 0) / C;
  return { mean, std: cov.map((r, i) => Math.sqrt(Math.max(0, r[i]!))), cov, noise, snr: noise > 0 ? m / noise : Infinity };
}

async function bracketStats(b: Bracket, o: StatsOptions, io: HdrIo): Promise<{ images: ImageStats[]; fpn: FpnFit | null }> {
  const max = o.max ?? 0.995;
  const sources = await openBracket(b.frames, io);
  try {
    const { width, height, channels: C } = sources[0]!;
    const N = sources.length;
    const tmax = Math.max(...b.frames.map((f) => f.exposureS));
    const s = b.frames.map((f) => f.exposureS / tmax); // stimulus, scaled to ~1 for conditioning
    const sums = sources.map(() => new Float64Array(C));
    const cross = sources.map(() => new Float64Array(C * C));
    const maxima = new Float64Array(N);
    const stripRows = Math.max(1, Math.min(height, o.stripRows ?? 16));
    const len = stripRows * width * C;
    const buf = new Float32Array(len);
    const [n, S1, S2, Y1, SY, Y2] = Array.from({ length: 6 }, () => new Float64Array(len));
    const acc = Array.from({ length: 8 }, () => new Float64Array(C)); // offΣ, offΣ², gainΣ, gainΣ², residΣ, count, residDof
    for (let y = 0; y < height; y += stripRows) {
      const rows = Math.min(stripRows, height - y);
      const count = rows * width * C;
      for (const a of [n, S1, S2, Y1, SY, Y2]) a!.fill(0, 0, count);
      for (let k = 0; k < N; k++) {
        await readExactRows(sources[k]!, rows, buf);
        const sk = s[k]!;
        const sum = sums[k]!;
        const cr = cross[k]!;
        let mx = maxima[k]!;
        for (let p = 0; p < count; p += C) {
          for (let a = 0; a < C; a++) {
            const va = buf[p + a]!;
            sum[a] += va;
            if (va > mx) mx = va;
            for (let c2 = a; c2 < C; c2++) cr[a * C + c2] += va * buf[p + c2]!;
            if (va <= max) {
              const i = p + a;
              n![i]++;
              S1![i] += sk;
              S2![i] += sk * sk;
              Y1![i] += va;
              SY![i] += sk * va;
              Y2![i] += va * va;
            }
          }
        }
        maxima[k] = mx;
      }
      for (let i = 0; i < count; i++) {
        const m = n![i]!;
        if (m < 3) continue;
        const den = m * S2![i]! - S1![i]! * S1![i]!;
        if (!(den > 1e-15)) continue;
        const gain = (m * SY![i]! - S1![i]! * Y1![i]!) / den;
        const off = (Y1![i]! - gain * S1![i]!) / m;
        const rss = Math.max(0, Y2![i]! - off * Y1![i]! - gain * SY![i]!);
        const c = i % C;
        const g = gain / tmax;
        acc[0]![c] += off;
        acc[1]![c] += off * off;
        acc[2]![c] += g;
        acc[3]![c] += g * g;
        acc[4]![c] += rss;
        acc[5]![c]++;
        acc[6]![c] += m - 2;
      }
    }
    const npx = width * height;
    const images: ImageStats[] = sources.map((src, k) => {
      for (let a = 0; a < C; a++) for (let c2 = 0; c2 < a; c2++) cross[k]![a * C + c2] = cross[k]![c2 * C + a]!;
      const st = statsFromMoments(sums[k]!, cross[k]!, npx, C);
      return { path: src.path, bracket: b.id, expTime: b.frames[k]!.exposureS, ...st, max: maxima[k]!, pixels: npx, rejected: maxima[k]! > max };
    });
    let fpn: FpnFit | null = null;
    if (N >= 3) {
      const per = (f: (c: number) => number) => Array.from({ length: C }, (_, c) => f(c));
      const cnt = (c: number) => Math.max(1, acc[5]![c]!);
      const mean = (k: number, c: number) => acc[k]![c]! / cnt(c);
      const sd = (k: number, c: number) => Math.sqrt(Math.max(0, acc[k + 1]![c]! / cnt(c) - mean(k, c) ** 2));
      fpn = {
        offsetMean: per((c) => mean(0, c)),
        offsetStd: per((c) => sd(0, c)),
        gainMean: per((c) => mean(2, c)),
        gainStd: per((c) => sd(2, c)),
        prnu: per((c) => (mean(2, c) !== 0 ? sd(2, c) / Math.abs(mean(2, c)) : 0)),
        temporalNoise: per((c) => Math.sqrt(acc[4]![c]! / Math.max(1, acc[6]![c]!))),
        pixelsFit: per((c) => acc[5]![c]!),
      };
    }
    return { images, fpn };
  } finally {
    await closeAll(sources);
  }
}

export async function bracketStatsAll(brackets: Bracket[], o: StatsOptions = {}): Promise<StatsReport> {
  const io = o.io ?? defaultIo;
  const images: ImageStats[] = [];
  const bstats: BracketStats[] = [];
  const best: ImageStats[] = [];
  for (const b of brackets) {
    // A single exposure still has image stats; only duplicates/missing exposure make a bracket unusable.
    if (b.error && !/single exposure/.test(b.error)) {
      o.onBracket?.(b.id, b.error);
      continue;
    }
    try {
      const r = await bracketStats(b, o, io);
      images.push(...r.images);
      const ok = r.images.filter((i) => !i.rejected && Number.isFinite(i.snr));
      const top = ok.sort((a, c) => c.snr - a.snr)[0] ?? null;
      if (top) best.push(top);
      bstats.push({ id: b.id, best: top?.path ?? null, bestSnr: top?.snr ?? null, fpn: r.fpn });
      o.onBracket?.(b.id);
    } catch (err) {
      o.onBracket?.(b.id, (err as Error).message.split('\n')[0]);
    }
  }
  const normalise = o.normalise ?? 'none';
  let mean = best.map((i) => i.mean.map((v) => v / i.expTime));
  let std = best.map((i) => i.std.map((v) => v / i.expTime));
  const flat = mean.flat();
  const div = normalise === 'peak' ? Math.max(...flat) : normalise === 'total' ? flat.reduce((a, b) => a + b, 0) : 1;
  if (div > 0 && div !== 1) {
    mean = mean.map((r) => r.map((v) => v / div));
    std = std.map((r) => r.map((v) => v / div));
  }
  return {
    camera_samples: {
      mean,
      std,
      n: best.map((i) => i.pixels),
      exp_time: best.map((i) => i.expTime),
      exp_time_units: 's',
      nd: o.nd ?? 0,
      camera: o.camera ?? '',
      lens: o.lens ?? '',
      settings: o.settings ?? {},
      label: o.label ?? '',
      scale: o.scale ?? 1,
      normalise,
    },
    images,
    brackets: bstats,
  };
}
