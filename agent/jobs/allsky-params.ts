// The `allsky` job's parameters: names, defaults and ranges in one table, read by the job and checked
// at config check (a wrong range fails `skyrig config check` naming the field, not the first night).
import type { LabelCorner } from '../night/types.js';

type Spec =
  | { type: 'number'; def?: number; min: number; max: number; doc: string }
  | { type: 'boolean'; def: boolean; doc: string }
  | { type: 'string'; def?: string; choices?: readonly string[]; doc: string };

const CORNERS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;

/** Every allsky param; `def` absent = taken from the camera or the site at run time. */
export const ALLSKY_PARAM_SPECS = {
  count: { type: 'number', def: 1, min: 1, max: 100, doc: 'frames per run (one per scheduler tick by default)' },
  target_day: { type: 'number', def: 0.3, min: 0.01, max: 65535, doc: 'sky level to hold by day: fraction of full scale (≤ 1) or ADU (> 1)' },
  target_night: { type: 'number', def: 0.15, min: 0.01, max: 65535, doc: 'sky level to hold at night' },
  moon_reduction: { type: 'number', def: 0.5, min: 0, max: 0.9, doc: 'fraction the night target drops under a full moon ≥ 30° high' },
  deadband_ev: { type: 'number', def: 0.25, min: 0, max: 2, doc: 'hold while the level is within this many stops of the target' },
  damping: { type: 'number', def: 0.6, min: 0.05, max: 1, doc: 'fraction of the error corrected per frame' },
  max_step_ev: { type: 'number', def: 2, min: 0.25, max: 6, doc: 'largest exposure change per frame (stops)' },
  initial_exposure_s: { type: 'number', min: 1e-6, max: 3600, doc: 'first frame with no history (default 1 ms by day, 5 s at night)' },
  day_min_exposure_s: { type: 'number', min: 0, max: 3600, doc: 'default: the camera minimum' },
  day_max_exposure_s: { type: 'number', def: 30, min: 1e-6, max: 3600, doc: 'longest day exposure' },
  day_gain: { type: 'number', min: 0, max: 1e6, doc: 'gain (ISO for DSLRs) by day; default the camera minimum' },
  night_max_exposure_s: { type: 'number', def: 30, min: 1e-6, max: 3600, doc: 'longest night exposure' },
  night_min_gain: { type: 'number', min: 0, max: 1e6, doc: 'night gain floor (exposure is raised first); default the camera minimum' },
  night_max_gain: { type: 'number', min: 0, max: 1e6, doc: 'night gain ceiling; default the camera maximum' },
  gain_db_per_unit: { type: 'number', min: 0.001, max: 10, doc: 'gain units in dB (ZWO: 0.1); default linear (gain × / ISO ×)' },
  black_level: { type: 'number', def: 0, min: 0, max: 65535, doc: 'bias: fraction of full scale (≤ 0.5) or ADU (> 1)' },
  meter: { type: 'string', def: 'circle', choices: ['circle', 'rect', 'full'], doc: 'metered region' },
  meter_radius: { type: 'number', def: 0.8, min: 0.05, max: 1, doc: 'circle radius (of half the short side) or rect fraction' },
  mode_sun_altitude: { type: 'number', min: -18, max: 10, doc: 'sun altitude of the day/night exposure switch; default site.night_sun_altitude' },
  night_sun_altitude: { type: 'number', min: -18, max: 0, doc: 'the night opens below this; default site.night_sun_altitude' },
  dawn_sun_altitude: { type: 'number', min: -18, max: 10, doc: 'the night closes when the rising sun passes this; default the opening altitude' },
  products: { type: 'boolean', def: true, doc: 'build the night products' },
  keogram: { type: 'boolean', def: true, doc: 'keogram' },
  keogram_angle_deg: { type: 'number', def: 0, min: -180, max: 180, doc: 'rotation of the keogram line from north–south' },
  startrails: { type: 'boolean', def: true, doc: 'star trails' },
  startrails_max_sky: { type: 'number', def: 0.35, min: 0, max: 1, doc: 'frames with a brighter sky level are left out of the star trails' },
  startrails_min_stars: { type: 'number', min: 0, max: 1e6, doc: 'frames with fewer stars are left out of the star trails' },
  timelapse: { type: 'boolean', def: true, doc: 'H.264 timelapse at dawn' },
  timelapse_fps: { type: 'number', def: 25, min: 1, max: 120, doc: 'timelapse frame rate' },
  timelapse_width: { type: 'number', def: 1280, min: 160, max: 7680, doc: 'timelapse width (px)' },
  timelapse_crf: { type: 'number', def: 23, min: 0, max: 51, doc: 'H.264 quality (lower is better)' },
  labels: { type: 'boolean', def: true, doc: 'time/exposure/gain/sky/station label on previews and the timelapse' },
  label_corner: { type: 'string', def: 'top-left', choices: CORNERS, doc: 'label position' },
  label_scale: { type: 'number', def: 1, min: 0.25, max: 8, doc: 'label size' },
  preview_width: { type: 'number', def: 1024, min: 64, max: 8192, doc: 'width of the published preview' },
  clear_min_stars: { type: 'number', def: 20, min: 0, max: 1e6, doc: 'a night frame with at least this many stars counts as clear' },
  ffmpeg: { type: 'string', doc: 'ffmpeg executable (default: ffmpeg on PATH)' },
  dark_temperature_window_c: { type: 'number', min: 0, max: 50, doc: 'a master dark matches within this many °C of the sensor (default: the dark library default)' },
} as const satisfies Record<string, Spec>;

export type AllskyParamName = keyof typeof ALLSKY_PARAM_SPECS;

/** The JSON type of each param, for agent/jobs/param-names.ts. */
export const ALLSKY_PARAM_TYPES = Object.fromEntries(Object.entries(ALLSKY_PARAM_SPECS).map(([k, v]) => [k, v.type])) as Record<AllskyParamName, 'number' | 'boolean' | 'string'>;

/** Range and choice problems, `params.<name>: …` each (types are checked by param-names.ts). */
export function checkAllskyParams(params: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    const spec = (ALLSKY_PARAM_SPECS as Record<string, Spec>)[name];
    if (!spec || value === null || value === undefined) continue;
    if (spec.type === 'number' && typeof value === 'number' && (value < spec.min || value > spec.max)) {
      problems.push(`params.${name}: ${value} is out of range ${spec.min}..${spec.max} (${spec.doc})`);
    }
    if (spec.type === 'string' && typeof value === 'string' && 'choices' in spec && spec.choices && !spec.choices.includes(value)) {
      problems.push(`params.${name}: ${JSON.stringify(value)} is not allowed (allowed: ${spec.choices.join(', ')})`);
    }
  }
  const n = (k: string) => (typeof params[k] === 'number' ? (params[k] as number) : undefined);
  const lo = n('night_min_gain');
  const hi = n('night_max_gain');
  if (lo !== undefined && hi !== undefined && lo > hi) problems.push(`params.night_min_gain: ${lo} is above night_max_gain ${hi}`);
  const dmin = n('day_min_exposure_s');
  const dmax = n('day_max_exposure_s');
  if (dmin !== undefined && dmax !== undefined && dmin > dmax) problems.push(`params.day_min_exposure_s: ${dmin} is above day_max_exposure_s ${dmax}`);
  return problems;
}

export interface AllskyParams {
  count: number;
  targetDay: number;
  targetNight: number;
  moonReduction: number;
  deadbandEv: number;
  damping: number;
  maxStepEv: number;
  initialExposureS?: number;
  dayMinExposureS?: number;
  dayMaxExposureS: number;
  dayGain?: number;
  nightMaxExposureS: number;
  nightMinGain?: number;
  nightMaxGain?: number;
  gainDbPerUnit?: number;
  blackLevel: number;
  meter: 'circle' | 'rect' | 'full';
  meterRadius: number;
  modeSunAltitude?: number;
  nightSunAltitude?: number;
  dawnSunAltitude?: number;
  products: boolean;
  keogram: boolean;
  keogramAngleDeg: number;
  startrails: boolean;
  startrailsMaxSky: number;
  startrailsMinStars?: number;
  timelapse: boolean;
  timelapseFps: number;
  timelapseWidth: number;
  timelapseCrf: number;
  labels: boolean;
  labelCorner: LabelCorner;
  labelScale: number;
  previewWidth: number;
  clearMinStars: number;
  ffmpeg?: string;
  darkTemperatureWindowC?: number;
}

/** Read and check the params; the first problem is thrown naming the field. */
export function parseAllskyParams(params: Record<string, unknown>): AllskyParams {
  for (const [name, value] of Object.entries(params)) {
    const spec = (ALLSKY_PARAM_SPECS as Record<string, Spec>)[name];
    if (!spec || value === null || value === undefined) continue;
    // (A plain Error in ParamError's words: params.ts imports param-names.ts, which imports this file.)
    if (typeof value !== spec.type) throw new Error(`allsky job: params.${name} must be a ${spec.type}, got ${JSON.stringify(value)}`);
  }
  const problems = checkAllskyParams(params);
  if (problems.length) throw new Error(`allsky job: ${problems[0]}`);
  const get = <K extends AllskyParamName>(k: K): unknown => params[k] ?? ('def' in ALLSKY_PARAM_SPECS[k] ? (ALLSKY_PARAM_SPECS[k] as { def: unknown }).def : undefined);
  const num = (k: AllskyParamName) => get(k) as number;
  const opt = (k: AllskyParamName) => get(k) as number | undefined;
  const bool = (k: AllskyParamName) => get(k) as boolean;
  return {
    count: Math.round(num('count')),
    targetDay: num('target_day'),
    targetNight: num('target_night'),
    moonReduction: num('moon_reduction'),
    deadbandEv: num('deadband_ev'),
    damping: num('damping'),
    maxStepEv: num('max_step_ev'),
    initialExposureS: opt('initial_exposure_s'),
    dayMinExposureS: opt('day_min_exposure_s'),
    dayMaxExposureS: num('day_max_exposure_s'),
    dayGain: opt('day_gain'),
    nightMaxExposureS: num('night_max_exposure_s'),
    nightMinGain: opt('night_min_gain'),
    nightMaxGain: opt('night_max_gain'),
    gainDbPerUnit: opt('gain_db_per_unit'),
    blackLevel: num('black_level'),
    meter: get('meter') as AllskyParams['meter'],
    meterRadius: num('meter_radius'),
    modeSunAltitude: opt('mode_sun_altitude'),
    nightSunAltitude: opt('night_sun_altitude'),
    dawnSunAltitude: opt('dawn_sun_altitude'),
    products: bool('products'),
    keogram: bool('keogram'),
    keogramAngleDeg: num('keogram_angle_deg'),
    startrails: bool('startrails'),
    startrailsMaxSky: num('startrails_max_sky'),
    startrailsMinStars: opt('startrails_min_stars'),
    timelapse: bool('timelapse'),
    timelapseFps: num('timelapse_fps'),
    timelapseWidth: Math.round(num('timelapse_width')),
    timelapseCrf: Math.round(num('timelapse_crf')),
    labels: bool('labels'),
    labelCorner: get('label_corner') as LabelCorner,
    labelScale: num('label_scale'),
    previewWidth: Math.round(num('preview_width')),
    clearMinStars: num('clear_min_stars'),
    ffmpeg: get('ffmpeg') as string | undefined,
    darkTemperatureWindowC: opt('dark_temperature_window_c'),
  };
}
