// Bracket analysis (the seed tool image_stats.py, s-bear/camera-spectral-calibration): per-image SNR from the channel covariance, rejection
// of frames with clipped pixels, the best-SNR frame per bracket normalised by exposure time, and a
// per-pixel fixed-pattern-noise fit against the frames' mean values,
//   img[k,i,j] = offset[i,j] + gain[i,j]·mean[k]      (per channel, unclipped samples)
// whose residual is the temporal noise. Two streaming passes per bracket over lockstep strips: the
// first gives each frame's mean (the fit's abscissa), the second folds the fit. Memory is N strips,
// plus the offset/gain/residual maps of the ROI when they are to be written.
import type { Bracket } from './discover.js';
import { closeAll, defaultIo, readExactRows, type HdrIo, type RowSource } from './io.js';
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
  /** Per channel: the frame's temporal noise after FPN removal (null without a fit). */
  temporalStd: number[] | null;
}

export interface FpnFit {
  /** Per channel: mean and spatial std of the offset map (DSNU, in DN of full scale 1), gain map (dimensionless, mean ≈ 1) and PRNU = std/mean of gain. */
  offsetMean: number[];
  offsetStd: number[];
  gainMean: number[];
  gainStd: number[];
  prnu: number[];
  /** RMS residual after the per-pixel fit (temporal noise, k−2 degrees of freedom), per channel. */
  temporalNoise: number[];
  /** Pixels with ≥ 3 unclipped frames, per channel. */
  pixelsFit: number[];
}

/** Per-pixel maps of one bracket's fit over the ROI, interleaved (height, width, C); NaN where not fitted. */
export interface FpnMaps {
  width: number;
  height: number;
  channels: number;
  offset: Float32Array;
  gain: Float32Array;
  /** Per-pixel RMS residual (k−2 degrees of freedom). */
  residual: Float32Array;
}

export interface BracketStats {
  id: string;
  nomWl: number | null;
  best: string | null;
  bestSnr: number | null;
  fpn: FpnFit | null;
}

export type Normalise = 'none' | 'peak' | 'total';

export interface Roi {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CameraSamples {
  /** Best-SNR frame per bracket, mean per channel divided by exposure time (and by `scale` when normalised): (N, C). */
  mean: number[][];
  /** Temporal noise of that frame after FPN removal, same units as `mean`: (N, C). */
  std: number[][];
  /** Pixels averaged per sample (integer). */
  n: number[];
  exp_time: number[];
  exp_time_units: 's';
  /** Nominal wavelength per sample (NaN when bracketed by time). */
  nom_wl: number[];
  wl_units: string;
  /** Units of `mean`/`std` once denormalised (mean·scale). */
  units: string;
  nd: number;
  camera: string;
  lens: string;
  /** Ours: a JSON object; from the seed's settings file: its free text. */
  settings: Record<string, unknown> | string;
  label: string;
  /** Denormalisation factor: physical = stored · scale (the peak/total divided out, 1 for none). */
  scale: number;
  normalise: Normalise;
  roi: number[];
}

/**
 * What the seed tool (Samuel B. Powell's camera spectral calibration suite, `image_stats.py`) saves
 * as its CameraSamples file, computed by its rules: samples in the frame's own counts per second
 * (raw DN ÷ exposure time, never normalised — its `normalize()` runs only after loading), ordered by
 * wavelength; the per-pixel fit runs *across the samples* (the best frame of every bracket ÷ t)
 * against their means, and `samples_std` is np.std (ddof 0) of each sample's residuals over the ROI.
 */
export interface SeedSamples {
  nominal_wavelength: number[];
  wl_units: string;
  exposure_time: number[];
  exp_time_units: 's';
  /** (N, C) mean of each sample over the ROI, counts/s. */
  samples: number[][];
  /** (N, C) std of the cross-sample fit's residuals over the ROI, counts/s. */
  samples_std: number[][];
  units: string;
  /** Pixels averaged per sample (the ROI), one integer as the seed stores it. */
  n: number;
  ND: number;
  camera: string;
  lens: string;
  settings: string;
  label: string;
}

export interface StatsReport {
  camera_samples: CameraSamples;
  /** The seed tool's CameraSamples (null when no bracket gave a sample). */
  seed_samples: SeedSamples | null;
  images: ImageStats[];
  brackets: BracketStats[];
}

export interface StatsOptions {
  /** Reject frames with any pixel above this fraction of full scale (default 0.995). */
  max?: number;
  /** Default `peak`, as image_stats. */
  normalise?: Normalise;
  camera?: string;
  lens?: string;
  label?: string;
  nd?: number;
  /** Factor taking DN/s to `units` before normalisation (default 1). */
  scale?: number;
  units?: string;
  wlUnits?: string;
  settings?: Record<string, unknown> | string;
  roi?: Roi;
  /** Keep per-pixel maps (returned through onMaps). */
  maps?: boolean;
  onMaps?: (bracket: Bracket, maps: FpnMaps) => Promise<void>;
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

/** The ROI, checked against the frame size; the whole frame without one. */
export function resolveRoi(roi: Roi | undefined, width: number, height: number, where: string): Roi {
  if (!roi) return { x: 0, y: 0, width, height };
  if (roi.x < 0 || roi.y < 0 || roi.width < 1 || roi.height < 1 || roi.x + roi.width > width || roi.y + roi.height > height)
    throw new Error(`${where}: ROI ${roi.x},${roi.y},${roi.width},${roi.height} is outside the ${width}×${height} frame`);
  return roi;
}

/** Read the strips of all sources in lockstep, handing each the ROI part (row-major, ROI width). */
async function forEachStrip(sources: RowSource[], roi: Roi, stripRows: number, fn: (y0: number, rows: number, bufs: Float32Array[]) => void): Promise<void> {
  const { width, channels: C } = sources[0]!;
  const full = new Float32Array(stripRows * width * C);
  const bufs = sources.map(() => new Float32Array(stripRows * roi.width * C));
  const end = roi.y + roi.height;
  for (let y = 0; y < end; y += stripRows) {
    const rows = Math.min(stripRows, end - y);
    const r0 = Math.max(y, roi.y);
    for (let k = 0; k < sources.length; k++) {
      await readExactRows(sources[k]!, rows, full);
      for (let r = r0; r < y + rows; r++) {
        const from = ((r - y) * width + roi.x) * C;
        bufs[k]!.set(full.subarray(from, from + roi.width * C), (r - r0) * roi.width * C);
      }
    }
    if (y + rows > roi.y) fn(r0, y + rows - r0, bufs);
  }
}

async function bracketStats(b: Bracket, o: StatsOptions, io: HdrIo): Promise<{ images: ImageStats[]; fpn: FpnFit | null }> {
  const max = o.max ?? 0.995;
  const stripRows = Math.max(1, o.stripRows ?? 16);
  const N = b.frames.length;
  // Pass 1: per-frame channel moments over the ROI.
  let sources = await openBracket(b.frames, io);
  const { width, height, channels: C } = sources[0]!;
  let roi: Roi;
  try {
    roi = resolveRoi(o.roi, width, height, b.id);
  } catch (err) {
    await closeAll(sources);
    throw err;
  }
  const sums = sources.map(() => new Float64Array(C));
  const cross = sources.map(() => new Float64Array(C * C));
  const maxima = new Float64Array(N);
  try {
    await forEachStrip(sources, roi, stripRows, (_y, rows, bufs) => {
      const count = rows * roi.width * C;
      for (let k = 0; k < N; k++) {
        const buf = bufs[k]!;
        const sum = sums[k]!;
        const cr = cross[k]!;
        let mx = maxima[k]!;
        for (let p = 0; p < count; p += C) {
          for (let a = 0; a < C; a++) {
            const va = buf[p + a]!;
            sum[a] += va;
            if (va > mx) mx = va;
            for (let c2 = a; c2 < C; c2++) cr[a * C + c2] += va * buf[p + c2]!;
          }
        }
        maxima[k] = mx;
      }
    });
  } finally {
    await closeAll(sources);
  }
  const npx = roi.width * roi.height;
  const images: ImageStats[] = b.frames.map((f, k) => {
    for (let a = 0; a < C; a++) for (let c2 = 0; c2 < a; c2++) cross[k]![a * C + c2] = cross[k]![c2 * C + a]!;
    const st = statsFromMoments(sums[k]!, cross[k]!, npx, C);
    return { path: f.path, bracket: b.id, expTime: f.exposureS, ...st, max: maxima[k]!, pixels: npx, rejected: maxima[k]! > max, temporalStd: null };
  });
  // The fit needs two distinct mean values per channel; repeats at one level have no gain to fit.
  const stim = images.map((i) => i.mean);
  const spread = (c: number) => Math.max(...stim.map((m) => m[c]!)) - Math.min(...stim.map((m) => m[c]!));
  if (N < 3 || Array.from({ length: C }, (_, c) => spread(c)).some((s) => !(s > 1e-9))) return { images, fpn: null };

  // Pass 2: per-pixel least squares y = off + gain·mean_k, residuals per pixel and per frame.
  sources = await openBracket(b.frames, io);
  const maps: FpnMaps | null = o.maps ? { width: roi.width, height: roi.height, channels: C, offset: new Float32Array(npx * C).fill(NaN), gain: new Float32Array(npx * C).fill(NaN), residual: new Float32Array(npx * C).fill(NaN) } : null;
  const acc = Array.from({ length: 7 }, () => new Float64Array(C)); // offΣ, offΣ², gainΣ, gainΣ², rss, pixels, dof
  const frameR2 = images.map(() => new Float64Array(C));
  const frameN = images.map(() => new Float64Array(C));
  try {
    await forEachStrip(sources, roi, stripRows, (y0, rows, bufs) => {
      const count = rows * roi.width * C;
      const base = (y0 - roi.y) * roi.width * C;
      for (let i = 0; i < count; i++) {
        const c = i % C;
        let m = 0, S1 = 0, S2 = 0, Y1 = 0, SY = 0, Y2 = 0;
        for (let k = 0; k < N; k++) {
          const v = bufs[k]![i]!;
          if (v > max) continue;
          const s = stim[k]![c]!;
          m++;
          S1 += s;
          S2 += s * s;
          Y1 += v;
          SY += s * v;
          Y2 += v * v;
        }
        if (m < 3) continue;
        const sxx = S2 - (S1 * S1) / m;
        if (!(sxx > 1e-15)) continue;
        const gain = (SY - (S1 * Y1) / m) / sxx;
        const off = (Y1 - gain * S1) / m;
        const rss = Math.max(0, Y2 - off * Y1 - gain * SY);
        const sbar = S1 / m;
        for (let k = 0; k < N; k++) {
          const v = bufs[k]![i]!;
          if (v > max) continue;
          const s = stim[k]![c]!;
          const r = v - off - gain * s;
          // Leverage-corrected, so E[r²/(1−h)] is the temporal variance whatever the frame's level.
          const h = 1 / m + ((s - sbar) * (s - sbar)) / sxx;
          frameR2[k]![c] += (r * r) / Math.max(1e-12, 1 - h);
          frameN[k]![c]++;
        }
        acc[0]![c] += off;
        acc[1]![c] += off * off;
        acc[2]![c] += gain;
        acc[3]![c] += gain * gain;
        acc[4]![c] += rss;
        acc[5]![c]++;
        acc[6]![c] += m - 2;
        if (maps) {
          maps.offset[base + i] = off;
          maps.gain[base + i] = gain;
          maps.residual[base + i] = Math.sqrt(rss / (m - 2));
        }
      }
    });
  } finally {
    await closeAll(sources);
  }
  images.forEach((im, k) => (im.temporalStd = Array.from({ length: C }, (_, c) => (frameN[k]![c]! > 0 ? Math.sqrt(frameR2[k]![c]! / frameN[k]![c]!) : NaN))));
  const per = (f: (c: number) => number) => Array.from({ length: C }, (_, c) => f(c));
  const cnt = (c: number) => Math.max(1, acc[5]![c]!);
  const mean = (k: number, c: number) => acc[k]![c]! / cnt(c);
  const sd = (k: number, c: number) => Math.sqrt(Math.max(0, acc[k + 1]![c]! / cnt(c) - mean(k, c) ** 2));
  const fpn: FpnFit = {
    offsetMean: per((c) => mean(0, c)),
    offsetStd: per((c) => sd(0, c)),
    gainMean: per((c) => mean(2, c)),
    gainStd: per((c) => sd(2, c)),
    prnu: per((c) => (mean(2, c) !== 0 ? sd(2, c) / Math.abs(mean(2, c)) : 0)),
    temporalNoise: per((c) => Math.sqrt(acc[4]![c]! / Math.max(1, acc[6]![c]!))),
    pixelsFit: per((c) => acc[5]![c]!),
  };
  if (maps && o.onMaps) await o.onMaps(b, maps);
  return { images, fpn };
}

/** Brackets whose frames cannot be analysed at all (repeats and single frames still have stats). */
function unusable(b: Bracket): boolean {
  return b.error !== undefined && !/single exposure|duplicate exposure/.test(b.error);
}

export async function bracketStatsAll(brackets: Bracket[], o: StatsOptions = {}): Promise<StatsReport> {
  const io = o.io ?? defaultIo;
  const images: ImageStats[] = [];
  const bstats: BracketStats[] = [];
  const best: { img: ImageStats; nomWl: number | null }[] = [];
  for (const b of brackets) {
    if (unusable(b)) {
      o.onBracket?.(b.id, b.error);
      continue;
    }
    try {
      const r = await bracketStats(b, o, io);
      images.push(...r.images);
      const ok = r.images.filter((i) => !i.rejected && Number.isFinite(i.snr));
      const top = [...ok].sort((a, c) => c.snr - a.snr)[0] ?? null;
      if (top) best.push({ img: top, nomWl: b.nomWl ?? null });
      bstats.push({ id: b.id, nomWl: b.nomWl ?? null, best: top?.path ?? null, bestSnr: top?.snr ?? null, fpn: r.fpn });
      o.onBracket?.(b.id);
    } catch (err) {
      o.onBracket?.(b.id, (err as Error).message.split('\n')[0]);
    }
  }
  const normalise = o.normalise ?? 'peak';
  const scale = o.scale ?? 1;
  let mean = best.map(({ img }) => img.mean.map((v) => (v * scale) / img.expTime));
  // Temporal noise after FPN removal; a bracket without a fit falls back to the frame's spatial std.
  let std = best.map(({ img }) => (img.temporalStd ?? img.std).map((v) => (v * scale) / img.expTime));
  const flat = mean.flat();
  const div = normalise === 'peak' ? Math.max(...flat) : normalise === 'total' ? flat.reduce((a, b) => a + b, 0) : 1;
  const factor = div > 0 && Number.isFinite(div) ? div : 1;
  if (factor !== 1) {
    mean = mean.map((r) => r.map((v) => v / factor));
    std = std.map((r) => r.map((v) => v / factor));
  }
  const roi = o.roi;
  const seed = best.length ? await seedSamples(best, o, io) : null;
  return {
    seed_samples: seed,
    camera_samples: {
      mean,
      std,
      n: best.map(({ img }) => img.pixels),
      exp_time: best.map(({ img }) => img.expTime),
      exp_time_units: 's',
      nom_wl: best.map(({ nomWl }) => nomWl ?? NaN),
      wl_units: o.wlUnits ?? 'nm',
      units: o.units ?? 'DN/s',
      nd: o.nd ?? 0,
      camera: o.camera ?? '',
      lens: o.lens ?? '',
      settings: o.settings ?? {},
      label: o.label ?? '',
      scale: factor,
      normalise,
      roi: roi ? [roi.x, roi.y, roi.width, roi.height] : [],
    },
    images,
    brackets: bstats,
  };
}

/** The full-scale count of a source: 255 / 65535 for integer frames, 1 for float ones (kept as stored). */
function fullScale(bitDepth: number): number {
  return bitDepth === 8 ? 255 : bitDepth === 16 ? 65535 : 1;
}

/**
 * The seed's samples and their noise (see SeedSamples). One lockstep pass over the best frames: each
 * strip holds every sample's pixels, so the per-pixel regression y_k = a + b·x_k (x_k the sample's
 * mean, both ÷ t_k) and its residuals are computed there and folded into per-sample Σr, Σr².
 */
async function seedSamples(best: { img: ImageStats; nomWl: number | null }[], o: StatsOptions, io: HdrIo): Promise<SeedSamples> {
  // The seed walks `sorted(images.keys())`: samples in wavelength order (time brackets keep theirs).
  const order = best.map((b, i) => i);
  if (best.every((b) => b.nomWl !== null)) order.sort((a, b) => best[a]!.nomWl! - best[b]!.nomWl! || a - b);
  const picked = order.map((i) => best[i]!);
  const sources: RowSource[] = [];
  try {
    for (const { img } of picked) sources.push(await io.openRowSource(img.path));
    const first = sources[0]!;
    for (const s of sources)
      if (s.width !== first.width || s.height !== first.height || s.channels !== first.channels)
        throw new Error(`${s.path}: ${s.width}×${s.height}×${s.channels} differs from ${first.path} (${first.width}×${first.height}×${first.channels}); the seed stacks its samples`);
    const C = first.channels;
    const N = picked.length;
    const roi = resolveRoi(o.roi, first.width, first.height, first.path);
    const full = sources.map((s) => fullScale(s.bitDepth));
    const t = picked.map(({ img }) => img.expTime);
    // Integer frames hold whole counts: round the decoder's 0..1 floats back to them.
    const count = (v: number, k: number) => (full[k]! > 1 ? Math.round(v * full[k]!) : v) / t[k]!;
    const sum = Array.from({ length: N * C }, () => 0);
    await forEachStrip(sources, roi, Math.max(1, o.stripRows ?? 16), (_y0, rows, bufs) => {
      const n = rows * roi.width * C;
      for (let k = 0; k < N; k++) for (let i = 0; i < n; i++) sum[k * C + (i % C)] += count(bufs[k]![i]!, k);
    });
    const P = roi.width * roi.height;
    const x = sum.map((v) => v / P); // [k·C + c]: the sample means, the fit's abscissa
    const xm = Array.from({ length: C }, (_, c) => x.filter((_v, i) => i % C === c).reduce((a, b) => a + b, 0) / N);
    const xv = Array.from({ length: C }, (_, c) => x.filter((_v, i) => i % C === c).reduce((a, b) => a + (b - xm[c]!) ** 2, 0) / N);
    for (const s of sources) await s.close();
    sources.length = 0;
    for (const { img } of picked) sources.push(await io.openRowSource(img.path));
    const r1 = new Float64Array(N * C);
    const r2 = new Float64Array(N * C);
    const y = new Float64Array(N);
    await forEachStrip(sources, roi, Math.max(1, o.stripRows ?? 16), (_y0, rows, bufs) => {
      const n = rows * roi.width * C;
      for (let i = 0; i < n; i++) {
        const c = i % C;
        let ym = 0;
        for (let k = 0; k < N; k++) ym += y[k] = count(bufs[k]![i]!, k);
        ym /= N;
        let cov = 0;
        for (let k = 0; k < N; k++) cov += (x[k * C + c]! - xm[c]!) * (y[k]! - ym);
        const b = cov / N / xv[c]!;
        const a = ym - b * xm[c]!;
        for (let k = 0; k < N; k++) {
          const r = y[k]! - (a + b * x[k * C + c]!);
          r1[k * C + c] += r;
          r2[k * C + c] += r * r;
        }
      }
    });
    const samplesStd = Array.from({ length: N }, (_, k) => Array.from({ length: C }, (_, c) => Math.sqrt(Math.max(0, r2[k * C + c]! / P - (r1[k * C + c]! / P) ** 2))));
    return {
      nominal_wavelength: picked.map(({ nomWl }) => nomWl ?? NaN),
      wl_units: o.wlUnits ?? 'nm',
      exposure_time: t,
      exp_time_units: 's',
      samples: Array.from({ length: N }, (_, k) => x.slice(k * C, k * C + C)),
      samples_std: samplesStd,
      units: 'counts/s',
      n: P,
      ND: o.nd ?? 0,
      camera: o.camera ?? '',
      lens: o.lens ?? '',
      settings: typeof o.settings === 'object' ? JSON.stringify(o.settings ?? {}) : String(o.settings),
      label: o.label ?? '',
    };
  } finally {
    await closeAll(sources);
  }
}

/** CameraSamples back in physical units (`units`): mean and std times `scale`, normalise `none`. */
export function denormalise(cs: CameraSamples): CameraSamples {
  const s = cs.scale;
  return { ...cs, mean: cs.mean.map((r) => r.map((v) => v * s)), std: cs.std.map((r) => r.map((v) => v * s)), scale: 1, normalise: 'none' };
}
