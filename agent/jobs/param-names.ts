// The parameters each job kind reads, with their JSON type, so `skyrig config check` (and the daemon
// at start) reject a misspelt or mistyped param in the YAML instead of the job silently using its
// default (`exposure: 30` for `exposure_s: 30` would shoot 1 s frames all night). The job runners
// stay the authority on ranges and choices; test/agent/job-params.test.ts keeps this list in step
// with what they read.
import type { JobKind } from '../config/schema.js';
import { ALLSKY_PARAM_TYPES, checkAllskyParams } from './allsky-params.js';

type ParamType = 'number' | 'numbers' | 'string' | 'boolean' | 'any';

const n = 'number' as const;
const s = 'string' as const;
const b = 'boolean' as const;

export const JOB_PARAMS: Record<JobKind, Record<string, ParamType>> = {
  capture: { exposure_s: n, exposures: 'numbers', count: n, gain: n },
  hdr: {
    exposures: 'numbers', steps: n, ev_step: n, target: n, meter_exposure_s: n, gain: n,
    response: s, formats: 'any', tonemap: s, gamma: n, quality: n, merge_weights: s, threads: n,
  },
  livestack: {
    exposure_s: n, gain: n, iso: n, binning: n, method: s, kappa: n, align: s, model: s, reference: s,
    restart_on_drift: n, darks: s, flats: s, bias: s, dark_method: s, output_name: s,
    resume: 'any', resume_within_s: n, max_frames: n, min_stars: n, cosmetic: n, warmup: n, relearn: n, dark_scale: 'any', mixed_settings: 'any',
    save_every_frames: n, save_every_s: n, state_dir: s,
  },
  focusbracket: {
    positions: 'numbers', start: n, end: n, step: n, count: n, exposure_s: n, gain: n, iso: n,
    algorithm: s, align: b, quality: n, energy: s, map: s, pyramid_levels: n, memory_limit_mb: n,
    depth_map: b, return_to_start: b,
    depthmap_preset: s, weight_power: n, temperature: n, smoothing: s, smooth_size: n, sigma_color: n, sigma_space: n,
    energy_smooth: n, blur_size: n, dm_kernel_size: n, pyramid_smooth_size: n, tiling: s, tile_size: n, n_tiled_layers: n,
    threads: n,
  },
  autofocus: {
    exposure_s: n, gain: n, step: n, points: n, measure: s, fit: s, r2_min: n, overshoot: n,
    approach: s, refine: b, only_if_hfr_above: n,
  },
  // One table (allsky-params.ts) gives names, types and ranges.
  allsky: ALLSKY_PARAM_TYPES,
  darks: { exposures: 'numbers', gains: 'numbers', isos: 'numbers', count: n, covered: b, bias: b, method: s, hot_sigma: n },
};

/** Longest single exposure any job takes (s); a longer one is a typo (ms for s) more often than a plan. */
export const MAX_EXPOSURE_S = 3600;
const GAIN: Range = [0, 100_000];
const EXPOSURE: Range = [1e-6, MAX_EXPOSURE_S];
const ISO: Range = [1, 409_600];

/** [min, max, integer?] of numeric params (each element of a list): config check and the runners use both. */
export type Range = readonly [number, number, boolean?];
export const PARAM_RANGES: Record<JobKind, Record<string, Range>> = {
  capture: { exposure_s: EXPOSURE, exposures: EXPOSURE, count: [1, 10_000, true], gain: GAIN },
  hdr: {
    exposures: EXPOSURE, steps: [2, 15, true], ev_step: [0.3, 4], target: [0.05, 0.9], meter_exposure_s: EXPOSURE, gain: GAIN,
    gamma: [0.1, 10], quality: [1, 100, true],
  },
  livestack: {
    exposure_s: EXPOSURE, gain: GAIN, iso: ISO, binning: [1, 16, true], kappa: [0.1, 20], restart_on_drift: [0.1, 1e6],
    resume_within_s: [0, 366 * 86_400], max_frames: [1, 1e7, true], min_stars: [3, 1e6, true], cosmetic: [0, 1e6], warmup: [1, 50, true],
    relearn: [0, 1000, true],
  },
  focusbracket: {
    step: [1, 1e7], count: [2, 200, true], exposure_s: EXPOSURE, gain: GAIN, iso: ISO, quality: [1, 100, true],
    pyramid_levels: [0, 10, true], memory_limit_mb: [64, 1e6], threads: [1, 64, true],
  },
  autofocus: {
    exposure_s: EXPOSURE, gain: GAIN, step: [1, 1e7], points: [5, 41, true], r2_min: [0, 0.999], overshoot: [0, 1e7],
    only_if_hfr_above: [0, 1000],
  },
  darks: { exposures: [0, MAX_EXPOSURE_S], gains: GAIN, isos: ISO, count: [1, 1000, true], hot_sigma: [0.1, 1000] },
  // allsky ranges live with its names and defaults (allsky-params.ts, checked below).
  allsky: {},
};

/** Why `v` is outside `r`, or null. */
export function rangeProblem(v: number, r: Range): string | null {
  if (v < r[0] || v > r[1]) return `is out of range (allowed ${r[0]}..${r[1]})`;
  if (r[2] && !Number.isInteger(v)) return 'must be a whole number';
  return null;
}

function typeOk(t: ParamType, v: unknown): boolean {
  switch (t) {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'numbers':
      return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

const TYPE_WORDS: Record<ParamType, string> = { number: 'a number', numbers: 'a list of numbers', string: 'a string', boolean: 'true or false', any: '' };

/** Edit distance, for "did you mean" on a misspelt param. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Problems with one job's params, each `params.<name>: ...` (the caller prefixes the job's path). */
export function checkJobParams(kind: JobKind, params: Record<string, unknown>): string[] {
  const known = JOB_PARAMS[kind];
  const names = Object.keys(known);
  const problems: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    const type = known[name];
    if (!type) {
      const near = names.filter((k) => distance(k, name) <= 2 || k.startsWith(name) || name.startsWith(k));
      problems.push(`params.${name}: unknown ${kind} parameter${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}; known: ${names.join(', ')}`);
    } else if (value !== null && !typeOk(type, value)) {
      problems.push(`params.${name}: ${JSON.stringify(value)} is not ${TYPE_WORDS[type]}`);
    } else if (value !== null && PARAM_RANGES[kind][name]) {
      const r = PARAM_RANGES[kind][name];
      for (const v of Array.isArray(value) ? (value as number[]) : typeof value === 'number' ? [value] : []) {
        const why = rangeProblem(v, r);
        if (why) {
          problems.push(`params.${name}: ${JSON.stringify(value)} ${why}`);
          break;
        }
      }
    }
  }
  if (kind === 'allsky' && !problems.length) problems.push(...checkAllskyParams(params));
  return problems;
}
