// Find exposure brackets in a folder tree (flat, or nested YYYY/MM/DD/HH): frames named
// `YYYYmmddHHMMSS_<EXPO>.<ext>` grouped by their timestamp floored to `round`; exposure from the
// name, an explicit list, or EXIF. A bracket that cannot be merged keeps its frames and an `error`
// naming why, so callers report it and go on with the others.
import { readdir } from 'node:fs/promises';
import { extname, join, relative, dirname } from 'node:path';
import { readExposureTime } from './exif.js';
import { IMAGE_EXTENSIONS, formatStamp, groupTime, parseFrameName, type ExpoUnit, type Grouping } from './names.js';

export interface BracketFrame {
  path: string;
  exposureS: number;
  timestamp: Date | null;
}

export interface Bracket {
  /** `<relDir>/<stamp>` — what messages name. */
  id: string;
  /** Floored timestamp `YYYYmmddHHMMSS` (or the first file's stem when names carry none). */
  stamp: string;
  /** Folder of the frames relative to the search root ('' for flat). */
  relDir: string;
  /** Sorted by exposure, shortest first. */
  frames: BracketFrame[];
  /** Why this bracket cannot be merged (single exposure, duplicate times, missing exposure). */
  error?: string;
}

export interface FindBracketsOptions {
  expoUnit?: ExpoUnit;
  /** Grouping window in seconds (default 30). */
  roundS?: number;
  /** `round` (default, asi_core: nearest window, ties to even) or `floor` (window start). */
  grouping?: Grouping;
  /** Explicit exposure list (seconds), assigned in file-name order within each bracket. */
  exposures?: number[];
  /** Read EXIF ExposureTime / FITS EXPTIME when the name has no exposure (default true). */
  exif?: boolean;
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`${dir}: cannot read folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()) && !/\.tmp-/.test(e.name)) out.push(p);
  }
}

/** Image files under `dir`, sorted by path. */
export async function listImages(dir: string): Promise<string[]> {
  const files: string[] = [];
  await walk(dir, files);
  return files.sort();
}

export async function findBrackets(dir: string, options: FindBracketsOptions = {}): Promise<Bracket[]> {
  const unit = options.expoUnit ?? 'us';
  const roundS = options.roundS ?? 30;
  const files = (await listImages(dir)).filter((f) => !/_hdr\.[a-z0-9]+$/i.test(f));
  const groups = new Map<string, { stamp: string; relDir: string; files: { path: string; ts: Date | null; expo: number | null }[] }>();
  const loose = new Map<string, { path: string; ts: Date | null; expo: number | null }[]>();
  for (const path of files) {
    const relDir = relative(dir, dirname(path));
    const parsed = parseFrameName(path.slice(dirname(path).length + 1), unit);
    if (!parsed) {
      const list = loose.get(relDir) ?? [];
      list.push({ path, ts: null, expo: null });
      loose.set(relDir, list);
      continue;
    }
    const stamp = formatStamp(groupTime(parsed.timestamp, roundS, options.grouping ?? 'round'));
    const key = `${relDir}\0${stamp}`;
    const g = groups.get(key) ?? { stamp, relDir, files: [] };
    g.files.push({ path, ts: parsed.timestamp, expo: parsed.exposureS });
    groups.set(key, g);
  }
  // Files without a timestamp: with an exposure list, consecutive files (name order) form brackets of
  // that length; otherwise a folder's loose files are one bracket timed by EXIF.
  for (const [relDir, list] of loose) {
    const size = options.exposures?.length ?? list.length;
    for (let i = 0; i < list.length; i += size) {
      const chunk = list.slice(i, i + size);
      const stem = chunk[0]!.path.slice(dirname(chunk[0]!.path).length + 1).replace(/\.[^.]+$/, '');
      groups.set(`${relDir}\0~${stem}`, { stamp: stem, relDir, files: chunk });
    }
  }
  const brackets: Bracket[] = [];
  for (const g of groups.values()) {
    const id = g.relDir ? `${g.relDir}/${g.stamp}` : g.stamp;
    const frames: BracketFrame[] = [];
    let error: string | undefined;
    if (options.exposures) {
      if (g.files.length !== options.exposures.length) error = `${id}: ${g.files.length} files but --exposures lists ${options.exposures.length}`;
      g.files.forEach((f, i) => frames.push({ path: f.path, timestamp: f.ts, exposureS: options.exposures![i] ?? NaN }));
    } else {
      for (const f of g.files) {
        let expo = f.expo;
        if (expo === null && options.exif !== false) expo = await readExposureTime(f.path).catch(() => null);
        if (expo === null) error ??= `${f.path}: no exposure time in the name or EXIF (use --exposures)`;
        frames.push({ path: f.path, timestamp: f.ts, exposureS: expo ?? NaN });
      }
    }
    frames.sort((a, b) => a.exposureS - b.exposureS || a.path.localeCompare(b.path));
    if (!error) error = bracketProblem(id, frames);
    brackets.push(error ? { id, stamp: g.stamp, relDir: g.relDir, frames, error } : { id, stamp: g.stamp, relDir: g.relDir, frames });
  }
  return brackets.sort((a, b) => a.id.localeCompare(b.id));
}

/** Why a set of frames is not a mergeable bracket, or undefined. */
export function bracketProblem(id: string, frames: BracketFrame[]): string | undefined {
  if (frames.length < 2) return `${id}: single exposure (${frames[0]?.path ?? 'no frames'}), a bracket needs at least 2`;
  for (let i = 1; i < frames.length; i++) {
    if (Math.abs(frames[i]!.exposureS - frames[i - 1]!.exposureS) <= 1e-9 * frames[i]!.exposureS)
      return `${id}: duplicate exposure time ${Number(frames[i]!.exposureS.toPrecision(6))} s (${frames[i - 1]!.path} and ${frames[i]!.path})`;
  }
  return undefined;
}
