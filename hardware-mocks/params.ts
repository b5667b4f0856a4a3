// sim:// URL parameters: one table gives names, kinds, ranges and defaults, so an error can name the
// parameter, the bad value and what is allowed. Camera and focuser URLs accept the same names; each
// device takes its own part, and the rig-level part must agree between the devices of one rig.
import { DeviceError } from '../drivers/types.js';

export const SCENES = ['sky', 'day', 'auto'] as const;
export const FORMATS = ['fits', 'jpeg', 'png'] as const;
export const BAYER_PATTERNS = ['RGGB', 'BGGR', 'GRBG', 'GBRG'] as const;
export const RESPONSES = ['srgb', 'scurve', 'linear'] as const;
export const PSFS = ['gaussian', 'moffat'] as const;

export type Scene = (typeof SCENES)[number];
export type SimFormat = (typeof FORMATS)[number];
export type BayerPattern = (typeof BAYER_PATTERNS)[number];
export type ResponseName = (typeof RESPONSES)[number];
export type PsfName = (typeof PSFS)[number];

type Kind =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'bool' }
  | { kind: 'date' }
  | { kind: 'intlist' };

interface Spec {
  scope: 'rig' | 'camera' | 'focuser' | 'any';
  type: Kind;
  help: string;
}

const int = (min: number, max: number): Kind => ({ kind: 'int', min, max });
const num = (min: number, max: number): Kind => ({ kind: 'number', min, max });

export const PARAM_SPECS: Record<string, Spec> = {
  // Rig-level: one value per rig, shared by its camera and focuser.
  seed: { scope: 'rig', type: int(0, 2 ** 31 - 1), help: 'seed of every random choice (stars, hot pixels, noise)' },
  focus_best: { scope: 'rig', type: num(-1e9, 1e9), help: 'optical focuser position of best focus (steps)' },
  focus_min: { scope: 'rig', type: int(-1e9, 1e9), help: 'focuser lower limit (steps)' },
  focus_max: { scope: 'rig', type: int(-1e9, 1e9), help: 'focuser upper limit (steps)' },
  start: { scope: 'rig', type: { kind: 'date' }, help: 'simulated clock start (ISO time); absent = wall clock' },
  lat: { scope: 'rig', type: num(-90, 90), help: 'site latitude (deg) for scene=auto and twilight' },
  lon: { scope: 'rig', type: num(-180, 180), help: 'site longitude (deg)' },
  temp: { scope: 'rig', type: num(-60, 60), help: 'ambient temperature at start (°C)' },
  temp_drift: { scope: 'rig', type: num(-100, 100), help: 'ambient temperature change (°C per hour of clock)' },
  time_step: { scope: 'rig', type: num(0, 86400), help: 'simulated clock advance per capture (s), whatever the exposure; needs start=' },
  temp_coeff: { scope: 'rig', type: num(-1e6, 1e6), help: 'best-focus shift with temperature (steps per °C)' },
  // Camera
  scene: { scope: 'camera', type: { kind: 'enum', values: SCENES }, help: 'sky (stars), day (HDR landscape) or auto (sun altitude)' },
  width: { scope: 'camera', type: int(16, 20000), help: 'sensor width (px)' },
  height: { scope: 'camera', type: int(16, 20000), help: 'sensor height (px)' },
  lens: { scope: 'camera', type: { kind: 'enum', values: ['rect', 'fisheye'] }, help: 'rect: drifting star field; fisheye: all-sky view of the real sky rotation (needs lat, lon)' },
  bayer: { scope: 'camera', type: { kind: 'enum', values: BAYER_PATTERNS }, help: 'colour filter mosaic of FITS output' },
  format: { scope: 'camera', type: { kind: 'enum', values: FORMATS }, help: 'file format written' },
  depth: { scope: 'camera', type: int(8, 16), help: 'PNG bit depth (8 or 16)' },
  quality: { scope: 'camera', type: int(1, 100), help: 'JPEG quality' },
  response: { scope: 'camera', type: { kind: 'enum', values: RESPONSES }, help: 'camera response curve for JPEG/PNG' },
  hot_pixels: { scope: 'camera', type: int(0, 1e7), help: 'number of hot pixels' },
  stars: { scope: 'camera', type: num(0, 1e6), help: 'mean number of stars per frame area' },
  mag_min: { scope: 'camera', type: num(-5, 30), help: 'brightest star magnitude' },
  mag_max: { scope: 'camera', type: num(-5, 30), help: 'faintest star magnitude' },
  zero_point: { scope: 'camera', type: num(0, 1e12), help: 'flux of a magnitude-0 star (e-/s)' },
  sky_glow: { scope: 'camera', type: num(0, 1e9), help: 'night sky background (e-/s/px)' },
  psf: { scope: 'rig', type: { kind: 'enum', values: PSFS }, help: 'star profile' },
  fwhm: { scope: 'rig', type: num(0.5, 100), help: 'in-focus star FWHM (px)' },
  defocus_blur: { scope: 'rig', type: num(0, 100), help: 'FWHM growth per step of defocus (px/step)' },
  drift_x: { scope: 'camera', type: num(-1000, 1000), help: 'field drift per frame in x (px)' },
  drift_y: { scope: 'camera', type: num(-1000, 1000), help: 'field drift per frame in y (px)' },
  rotation: { scope: 'camera', type: num(-360, 360), help: 'field rotation per frame (deg)' },
  jitter: { scope: 'camera', type: num(0, 1000), help: 'random extra shift per frame (px, standard deviation)' },
  clouds: { scope: 'camera', type: num(0, 1), help: 'cloud cover 0..1' },
  cloudy_frames: { scope: 'camera', type: { kind: 'intlist' }, help: 'frame indices that are overcast (comma list)' },
  cloud_period: { scope: 'camera', type: num(0, 1e6), help: 'passing clouds: cover varies with the clock over about this many minutes, up to `clouds` (0 = fixed cover)' },
  moon: { scope: 'camera', type: { kind: 'bool' }, help: '0: no moon (its glow and disc need lat/lon)' },
  trail_frames: { scope: 'camera', type: { kind: 'intlist' }, help: 'frame indices crossed by a satellite/plane trail (comma list)' },
  breathing: { scope: 'rig', type: num(-0.01, 0.01), help: 'day scene: image scale change per step of defocus (focus breathing)' },
  near_focus: { scope: 'rig', type: num(-1e6, 1e6), help: 'day scene: best-focus offset of the nearest ground (bottom row), steps' },
  closed_frames: { scope: 'camera', type: { kind: 'intlist' }, help: 'frame indices shot with the shutter closed (comma list)' },
  shutter: { scope: 'camera', type: { kind: 'enum', values: ['open', 'closed'] }, help: 'closed: lights come out as darks' },
  read_noise: { scope: 'camera', type: num(0, 1000), help: 'read noise (e- rms)' },
  full_well: { scope: 'camera', type: num(100, 1e7), help: 'full-well capacity (e-)' },
  bias: { scope: 'camera', type: int(0, 30000), help: 'bias offset (ADU)' },
  dark_rate: { scope: 'camera', type: num(0, 1e6), help: 'dark current at 20 °C (e-/s/px), doubling every 6 °C' },
  vignette: { scope: 'camera', type: num(0, 0.99), help: 'light lost in the frame corners (0..1)' },
  gain_max: { scope: 'camera', type: num(1, 1e4), help: 'highest gain offered' },
  // Focuser
  // Not `backlash`: the driver registry takes that name for its compensation overshoot (drivers/backlash.ts).
  dead_band: { scope: 'focuser', type: int(0, 1e6), help: 'mechanical backlash: slack taken up when reversing (steps)' },
  speed: { scope: 'focuser', type: num(1, 1e9), help: 'focuser speed (steps/s)' },
  position: { scope: 'focuser', type: num(-1e9, 1e9), help: 'focuser start position (steps)' },
  // Either device
  realtime: { scope: 'any', type: { kind: 'bool' }, help: '1: exposures and moves take their real time' },
};

export type ParamValue = number | string | boolean | Date | number[];
export type ParsedParams = Map<string, ParamValue>;

/** Rig name from the URL host (`sim://main?...`); `sim:?...` or `sim:///` give `default`. */
export function rigName(url: URL): string {
  return decodeURIComponent(url.hostname) || 'default';
}

export function parseSimUrl(url: URL): ParsedParams {
  const where = `sim://${rigName(url)}`;
  if (url.protocol !== 'sim:') throw new DeviceError('invalid', where, `not a sim:// URL: ${url.href}`);
  const out: ParsedParams = new Map();
  for (const [name, raw] of url.searchParams) {
    const spec = PARAM_SPECS[name];
    if (!spec) {
      throw new DeviceError('invalid', where, `unknown parameter '${name}' (allowed: ${Object.keys(PARAM_SPECS).join(', ')})`);
    }
    out.set(name, parseValue(where, name, raw, spec.type));
  }
  const w = out.get('mag_min');
  const f = out.get('mag_max');
  if (typeof w === 'number' && typeof f === 'number' && w > f) throw new DeviceError('invalid', where, `mag_min=${w} is fainter than mag_max=${f}`);
  const d = out.get('depth');
  if (d !== undefined && d !== 8 && d !== 16) throw new DeviceError('invalid', where, `depth=${String(d)} not allowed (8 or 16)`);
  return out;
}

function parseValue(where: string, name: string, raw: string, type: Kind): ParamValue {
  const bad = (allowed: string) => new DeviceError('invalid', where, `${name}=${JSON.stringify(raw)} not allowed (${allowed})`);
  switch (type.kind) {
    case 'int':
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v) || (type.kind === 'int' && !Number.isInteger(v)) || v < type.min || v > type.max) {
        throw bad(`${type.kind === 'int' ? 'an integer' : 'a number'} from ${type.min} to ${type.max}`);
      }
      return v;
    }
    case 'enum': {
      const v = type.values.find((x) => x.toLowerCase() === raw.toLowerCase());
      if (!v) throw bad(type.values.join('|'));
      return v;
    }
    case 'bool':
      if (['1', 'true', 'yes'].includes(raw)) return true;
      if (['0', 'false', 'no'].includes(raw)) return false;
      throw bad('0 or 1');
    case 'date': {
      const t = new Date(raw);
      if (Number.isNaN(t.getTime())) throw bad('an ISO time such as 2026-06-21T21:30:00Z');
      return t;
    }
    case 'intlist': {
      const parts = raw.split(',').filter((s) => s.trim() !== '');
      const vals = parts.map(Number);
      if (vals.some((v) => !Number.isInteger(v) || v < 0)) throw bad('comma-separated frame indices');
      return vals;
    }
  }
}

export function num0(p: ParsedParams, name: string, fallback: number): number {
  const v = p.get(name);
  return typeof v === 'number' ? v : fallback;
}

export function str0<T extends string>(p: ParsedParams, name: string, fallback: T): T {
  const v = p.get(name);
  return typeof v === 'string' ? (v as T) : fallback;
}

export function bool0(p: ParsedParams, name: string, fallback: boolean): boolean {
  const v = p.get(name);
  return typeof v === 'boolean' ? v : fallback;
}
