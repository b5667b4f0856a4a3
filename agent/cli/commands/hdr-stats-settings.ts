// `skyrig hdr stats -i settings.yaml`: image_stats' settings file. Keys are the long option names in
// snake_case (input, out, normalise, roi, group_by, wl_units, …); an option given on the command line
// wins over the file.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { Roi, SeedSettings } from '../../../pipeline/hdr/index.js';

/** Option keys (commander camelCase) a settings file may set, with their snake_case file names. */
export const STATS_SETTING_KEYS: Record<string, string> = {
  input: 'input',
  out: 'out',
  max: 'max',
  normalise: 'normalise',
  camera: 'camera',
  lens: 'lens',
  label: 'label',
  nd: 'nd',
  scale: 'scale',
  units: 'units',
  settings: 'settings',
  roi: 'roi',
  groupBy: 'group_by',
  wlUnits: 'wl_units',
  expoUnit: 'expo_unit',
  round: 'round',
  grouping: 'grouping',
  exposures: 'exposures',
  maps: 'maps',
  quiet: 'quiet',
};

/** Read a settings YAML into option values (strings, as commander gives them; `settings` as JSON). */
export async function readSettingsDoc(path: string): Promise<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read settings YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path}: settings YAML must be a mapping of option names`);
  return doc as Record<string, unknown>;
}

/** Option values from the seed's own settings file (camera, lens, label, ND, roi, settings as its free text). */
export function seedOptionValues(s: SeedSettings): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.camera !== undefined) out.camera = s.camera;
  if (s.lens !== undefined) out.lens = s.lens;
  if (s.label !== undefined) out.label = s.label;
  if (s.nd !== undefined) out.nd = String(s.nd);
  if (s.roi) out.roi = s.roi.join(',');
  if (s.settings !== undefined) out.settings = JSON.stringify(s.settings);
  return out;
}

export async function readStatsSettings(path: string, parsed?: Record<string, unknown>): Promise<Record<string, string | boolean>> {
  const doc = parsed ?? (await readSettingsDoc(path));
  const byFile = new Map(Object.entries(STATS_SETTING_KEYS).map(([k, f]) => [f, k]));
  const out: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const opt = byFile.get(key) ?? byFile.get(key.replace(/-/g, '_'));
    if (!opt) throw new Error(`${path}: unknown setting "${key}" (expected one of ${[...byFile.keys()].join(', ')})`);
    if (opt === 'quiet') out[opt] = value === true;
    else if (opt === 'settings') out[opt] = JSON.stringify(value ?? {});
    else if (opt === 'roi' && Array.isArray(value)) out[opt] = value.join(',');
    else if (opt === 'roi' && value && typeof value === 'object') {
      const r = value as Record<string, unknown>;
      out[opt] = [r.x, r.y, r.width, r.height].join(',');
    } else if (opt === 'exposures' && Array.isArray(value)) out[opt] = value.join(',');
    else out[opt] = String(value);
  }
  return out;
}

/** `x,y,width,height` in pixels. */
export function parseRoi(value: string): Roi {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isInteger(v) || v < 0) || parts[2]! < 1 || parts[3]! < 1)
    throw new Error(`--roi: expected x,y,width,height in whole pixels (width, height ≥ 1), got "${value}"`);
  const [x, y, width, height] = parts as [number, number, number, number];
  return { x, y, width, height };
}
