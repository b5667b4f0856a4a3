// The seed image_stats.py's settings YAML (s-bear/camera-spectral-calibration `util.Settings`):
//   camera, lens, settings, label, ND, roi [x, y, w, h], image_dir (relative to the YAML),
//   image_name ("DSC_{:04}.NEF", a Python format pattern), images {wavelength: [image numbers]},
// plus crop, dcraw, source_spectra and non_negative, which belong to its other scripts. Its stats
// read `image_dir/image_name.format(i)` with the suffix replaced by `.tiff` (the dcraw output) and
// take each exposure time from the TIFF's EXIF. This turns such a file into wavelength brackets.
import { access } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join } from 'node:path';
import { bracketProblem, type Bracket, type BracketFrame } from './discover.js';
import { readExposureTime } from './exif.js';

export interface SeedSettings {
  camera?: string;
  lens?: string;
  settings?: string;
  label?: string;
  nd?: number;
  /** [x, y, w, h] */
  roi?: [number, number, number, number];
  imageDir: string;
  imageName: string;
  images: Map<number, number[]>;
}

/** True when a parsed settings document is the seed's (it maps wavelengths to image numbers). */
export function isSeedSettings(doc: Record<string, unknown>): boolean {
  return typeof doc.images === 'object' && doc.images !== null && !Array.isArray(doc.images) && 'image_name' in doc;
}

/** Parse the seed's keys; `yamlPath` anchors a relative image_dir, as the seed does. */
export function parseSeedSettings(doc: Record<string, unknown>, yamlPath: string): SeedSettings {
  const where = (k: string) => `${yamlPath}: ${k}`;
  const str = (k: string): string | undefined => (doc[k] === undefined || doc[k] === null ? undefined : String(doc[k]));
  if (typeof doc.image_name !== 'string' || !doc.image_name.includes('{')) throw new Error(`${where('image_name')}: expected a pattern such as "DSC_{:04}.NEF"`);
  if (typeof doc.image_dir !== 'string') throw new Error(`${where('image_dir')}: expected the image folder`);
  const images = new Map<number, number[]>();
  for (const [k, v] of Object.entries(doc.images as Record<string, unknown>)) {
    const wl = Number(k);
    if (!Number.isFinite(wl)) throw new Error(`${where('images')}: "${k}" is not a wavelength`);
    const list = Array.isArray(v) ? v : [v];
    if (list.some((i) => !Number.isInteger(i))) throw new Error(`${where(`images: ${k}`)}: expected a list of image numbers`);
    images.set(wl, list as number[]);
  }
  let roi: SeedSettings['roi'];
  if (doc.roi !== undefined && doc.roi !== null) {
    const r = doc.roi as unknown[];
    if (!Array.isArray(r) || r.length !== 4 || r.some((v) => !Number.isInteger(v) || (v as number) < 0)) throw new Error(`${where('roi')}: expected [x, y, w, h] in whole pixels`);
    roi = r as [number, number, number, number];
  }
  const nd = doc.ND === undefined || doc.ND === null ? undefined : Number(doc.ND);
  if (nd !== undefined && !Number.isFinite(nd)) throw new Error(`${where('ND')}: expected a number, got ${String(doc.ND)}`);
  const base = dirname(yamlPath);
  const s: SeedSettings = { imageDir: isAbsolute(doc.image_dir) ? doc.image_dir : join(base, doc.image_dir), imageName: doc.image_name, images };
  for (const [key, field] of [['camera', 'camera'], ['lens', 'lens'], ['settings', 'settings'], ['label', 'label']] as const) {
    const v = str(key);
    if (v !== undefined) s[field] = v;
  }
  if (nd !== undefined) s.nd = nd;
  if (roi) s.roi = roi;
  return s;
}

/** Python's `pattern.format(i)` for the integer fields the seed's names use: {}, {:4}, {:04}, {:04d}, {0:d}. */
export function formatImageName(pattern: string, i: number): string {
  return pattern.replace(/\{(0?)(?::([^}]*))?\}/g, (_m, _pos: string, spec: string | undefined) => {
    const m = /^(0)?(\d+)?d?$/.exec(spec ?? '');
    if (!m) throw new Error(`image_name: format "{:${spec}}" is not supported (use {}, {:4} or {:04})`);
    const width = Number(m[2] ?? 0);
    return m[1] ? String(i).padStart(width, '0') : String(i).padStart(width, ' ');
  });
}

/** Path.with_suffix: the last suffix of the name replaced (or added). */
function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return (ext ? path.slice(0, -ext.length) : path) + suffix;
}

/** One bracket per wavelength, frames `image_dir/image_name.format(i)` as `.tiff`, exposure from EXIF. */
export async function seedBrackets(s: SeedSettings): Promise<Bracket[]> {
  const out: Bracket[] = [];
  for (const [wl, nums] of [...s.images].sort((a, b) => a[0] - b[0])) {
    const stamp = `${Number(wl.toPrecision(8))}nm`;
    const frames: BracketFrame[] = [];
    let error: string | undefined;
    for (const i of nums) {
      const path = withSuffix(join(s.imageDir, formatImageName(s.imageName, i)), '.tiff');
      const exists = await access(path).then(() => true, () => false);
      if (!exists) {
        error ??= `${stamp}: ${path}: no such image (image ${i} of the settings)`;
        continue;
      }
      const t = await readExposureTime(path).catch(() => null);
      if (t === null) error ??= `${stamp}: ${path}: no EXIF ExposureTime`;
      frames.push({ path, exposureS: t ?? NaN, timestamp: null });
    }
    frames.sort((a, b) => a.exposureS - b.exposureS || a.path.localeCompare(b.path));
    error ??= frames.length < 2 ? bracketProblem(stamp, frames) : undefined;
    out.push({ id: stamp, stamp, relDir: '', frames, nomWl: wl, ...(error ? { error } : {}) });
  }
  return out;
}
