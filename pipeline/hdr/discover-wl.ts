// Brackets by wavelength (image_stats' monochromator sweeps): every frame whose name — or one of its
// folders — carries a wavelength token such as `550nm`, `0.55um` or `wl550` joins the bracket of that
// wavelength, whatever its timestamp. Exposure comes from the frame name (`…_<EXPO>…`) or EXIF/FITS.
import { basename, dirname, relative, sep } from 'node:path';
import { bracketProblem, listImages, type Bracket, type BracketFrame } from './discover.js';
import { readExposureTime } from './exif.js';
import { parseFrameName, type ExpoUnit } from './names.js';

export type WlUnits = 'nm' | 'um';

const WL_RE = /(?:^|[_\-. ])(?:wl)?(\d+(?:\.\d+)?)(nm|um|µm)(?=$|[_\-. ])|(?:^|[_\-. ])wl(\d+(?:\.\d+)?)(?=$|[_\-. ])/i;

/** Wavelength in `units` from a file or folder name, or null. A bare `wl550` is taken in `units`. */
export function parseWavelength(name: string, units: WlUnits = 'nm'): number | null {
  const m = WL_RE.exec(name);
  if (!m) return null;
  if (m[3] !== undefined) return Number(m[3]);
  const v = Number(m[1]);
  const given: WlUnits = m[2]!.toLowerCase() === 'nm' ? 'nm' : 'um';
  if (given === units) return v;
  return given === 'nm' ? v / 1000 : v * 1000;
}

export interface WavelengthOptions {
  expoUnit?: ExpoUnit;
  wlUnits?: WlUnits;
  exif?: boolean;
}

export async function findWavelengthBrackets(dir: string, o: WavelengthOptions = {}): Promise<Bracket[]> {
  const units = o.wlUnits ?? 'nm';
  const groups = new Map<number, BracketFrame[]>();
  for (const path of await listImages(dir)) {
    const name = basename(path);
    let wl = parseWavelength(name.replace(/\.[^.]+$/, ''), units);
    // Folder tokens, innermost first (`sweep/550nm/frame_0001.png`).
    const parts = relative(dir, dirname(path)).split(sep).filter(Boolean).reverse();
    for (const p of parts) wl ??= parseWavelength(p, units);
    if (wl === null) continue;
    let expo = parseFrameName(name, o.expoUnit ?? 'us')?.exposureS ?? null;
    if (expo === null && o.exif !== false) expo = await readExposureTime(path).catch(() => null);
    const list = groups.get(wl) ?? [];
    list.push({ path, exposureS: expo ?? NaN, timestamp: null });
    groups.set(wl, list);
  }
  const out: Bracket[] = [];
  for (const [wl, frames] of [...groups].sort((a, b) => a[0] - b[0])) {
    const stamp = `${Number(wl.toPrecision(8))}${units}`;
    frames.sort((a, b) => a.exposureS - b.exposureS || a.path.localeCompare(b.path));
    const missing = frames.find((f) => !Number.isFinite(f.exposureS));
    // Repeats at one exposure are what a temporal-noise fit wants, so only a missing exposure is an error.
    const error = missing ? `${stamp}: ${missing.path}: no exposure time in the name or EXIF` : frames.length < 2 ? bracketProblem(stamp, frames) : undefined;
    out.push({ id: stamp, stamp, relDir: '', frames, nomWl: wl, ...(error ? { error } : {}) });
  }
  return out;
}
