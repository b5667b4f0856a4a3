// Bracket file names and the small option grammars around them: `YYYYmmddHHMMSS_<EXPO>.<ext>`,
// exposure units, `--round 30s|1min|5min`, `--exposures 1/1000,1/250,...`.

export type ExpoUnit = 'us' | 'ms' | 's';

const UNIT_SECONDS: Record<ExpoUnit, number> = { us: 1e-6, ms: 1e-3, s: 1 };

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.fits', '.fit', '.fts']);

export interface ParsedName {
  /** Capture time from the name, interpreted as UTC. */
  timestamp: Date;
  /** `YYYYmmddHHMMSS` as written. */
  stamp: string;
  /** Exposure in seconds, or null when the name carries none (EXIF fallback). */
  exposureS: number | null;
}

const NAME_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:_(\d+))?(?:[_-][^.]*)?\.[A-Za-z0-9]+$/;

/** Parse a bracket frame name; null when it does not follow the convention. */
export function parseFrameName(name: string, unit: ExpoUnit = 'us'): ParsedName | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const timestamp = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const expo = m[7] === undefined ? null : Number(m[7]) * UNIT_SECONDS[unit];
  return { timestamp, stamp: m.slice(1, 7).join(''), exposureS: expo !== null && expo > 0 ? expo : null };
}

export function parseExpoUnit(value: string): ExpoUnit {
  if (value === 'us' || value === 'ms' || value === 's') return value;
  throw new Error(`--expo-unit: expected us, ms or s, got "${value}"`);
}

/** `30s`, `1min`, `5min`, `2m`, `1h`, `90` (seconds) → seconds. */
export function parseRound(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hour|hours)?\s*$/i.exec(value);
  if (!m) throw new Error(`--round: expected a duration like 30s, 1min, 5min, got "${value}"`);
  const n = Number(m[1]);
  const u = (m[2] ?? 's').toLowerCase();
  const sec = u.startsWith('h') ? n * 3600 : u.startsWith('m') ? n * 60 : n;
  if (!(sec > 0)) throw new Error(`--round: must be positive, got "${value}"`);
  return sec;
}

/** One exposure: `1/1000`, `0.004`, `4ms`, `250us`, `2s`. Bare numbers are seconds. */
export function parseExposure(value: string, field = '--exposures'): number {
  const v = value.trim();
  let sec: number;
  const frac = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(v);
  const unit = /^(\d+(?:\.\d+)?(?:e-?\d+)?)\s*(us|µs|ms|s)?$/i.exec(v);
  if (frac) sec = Number(frac[1]) / Number(frac[2]);
  else if (unit) {
    const u = (unit[2] ?? 's').toLowerCase();
    sec = Number(unit[1]) * (u === 'ms' ? 1e-3 : u === 's' ? 1 : 1e-6);
  } else throw new Error(`${field}: cannot read exposure "${value}" (use 1/1000, 0.004, 4ms, 250us)`);
  if (!(sec > 0) || !Number.isFinite(sec)) throw new Error(`${field}: exposure must be positive, got "${value}"`);
  return sec;
}

export function parseExposureList(value: string, field = '--exposures'): number[] {
  const list = value.split(',').filter((s) => s.trim() !== '').map((s) => parseExposure(s, field));
  if (list.length === 0) throw new Error(`${field}: empty list`);
  return list;
}

/** `YYYYmmddHHMMSS` of a date in UTC. */
export function formatStamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Floor a time to a multiple of `roundS` seconds (UTC epoch based, like pandas' dt.floor). */
/**
 * Nearest multiple of the window, ties to the even multiple: pandas' `Series.dt.round`, which is how
 * asi_core groups a bracket's frames (12:00:14 and 12:00:16 with a 30 s window go to 12:00:00 and
 * 12:00:30; 12:00:15 to 12:00:00 and 12:00:45 to 12:01:00).
 */
export function roundTime(d: Date, roundS: number): Date {
  const ms = roundS * 1000;
  const q = d.getTime() / ms;
  const lo = Math.floor(q);
  const frac = q - lo;
  const k = frac > 0.5 || (frac === 0.5 && lo % 2 !== 0) ? lo + 1 : lo;
  return new Date(k * ms);
}

export type Grouping = 'round' | 'floor';

export function groupTime(d: Date, roundS: number, grouping: Grouping): Date {
  return grouping === 'round' ? roundTime(d, roundS) : floorTime(d, roundS);
}

export function floorTime(d: Date, roundS: number): Date {
  const ms = roundS * 1000;
  return new Date(Math.floor(d.getTime() / ms) * ms);
}

/** Human exposure: 1/1000 s, 4 ms, 2.5 s. */
export function formatExposure(s: number): string {
  if (s >= 1) return `${+s.toFixed(3)} s`;
  const inv = 1 / s;
  if (Math.abs(inv - Math.round(inv)) < 1e-6 * inv) return `1/${Math.round(inv)} s`;
  return `${+(s * 1000).toFixed(3)} ms`;
}
