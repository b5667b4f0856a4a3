// The dark library as a DarkProvider: picks the master for a frame from the dark_masters table and
// opens a row calibrator over its FITS file (one row in memory, read in step with the frame's rows).
//   same size and channels, gain (or ISO) exact, temperature within ±window (both unknown also fits);
//   exposure exact → subtract the master as it is;
//   else the dark whose exposure is nearest in ratio, scaled: D' = B + (D − B)·t_light/t_dark, which
//   needs a bias master of the same size and gain; none of these → null (the frame goes uncalibrated).
import { readFile } from 'node:fs/promises';
import type { DarkMasterRow } from '../runlog/sqlite.js';
import { badPixelsByRow, fixBadPixelsInRow, subtractDarkRow } from '../../pipeline/calib/rows.js';
import { openMasterRows, type MasterRows } from './master-rows.js';
import type { DarkMatch, DarkProvider, DarkQuery, RowCalibrator } from './types.js';

export const DEFAULT_TEMPERATURE_WINDOW_C = 3;

export interface DarkStore {
  darkMasters(): DarkMasterRow[];
}

export interface DarkSelection {
  dark: DarkMasterRow;
  /** The bias master kept under a scaled dark (null for an exact match). */
  bias: DarkMasterRow | null;
  scale: number;
}

const sameSetting = (m: DarkMasterRow, q: DarkQuery): boolean => {
  if (q.gain !== null && q.gain !== undefined) return m.gain !== null && Math.abs(m.gain - q.gain) < 1e-9;
  if (q.iso !== null && q.iso !== undefined) return m.iso !== null && Math.abs(m.iso - q.iso) < 1e-9;
  return m.gain === null && m.iso === null;
};

const tempDistance = (m: DarkMasterRow, q: DarkQuery): number => (m.temperatureC === null || q.temperatureC === null ? 0 : Math.abs(m.temperatureC - q.temperatureC));

function tempFits(m: DarkMasterRow, q: DarkQuery, windowC: number): boolean {
  if (m.temperatureC === null || q.temperatureC === null) return m.temperatureC === q.temperatureC;
  return Math.abs(m.temperatureC - q.temperatureC) <= windowC + 1e-9;
}

/** Exposures that differ by less than 0.1 % are the same (shutter-speed tables round, e.g. 1/3 s). */
const sameExposure = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(a, b);

/** Pure choice of master(s) for a frame; newest wins ties. */
export function selectDark(masters: readonly DarkMasterRow[], q: DarkQuery, windowC = DEFAULT_TEMPERATURE_WINDOW_C): DarkSelection | null {
  const fits = masters.filter((m) => m.width === q.width && m.height === q.height && m.channels === q.channels && sameSetting(m, q));
  const darks = fits.filter((m) => m.kind === 'dark' && tempFits(m, q, windowC));
  const byTempThenNewest = (a: DarkMasterRow, b: DarkMasterRow) => tempDistance(a, q) - tempDistance(b, q) || b.createdAt.localeCompare(a.createdAt) || b.id - a.id;
  const exact = darks.filter((m) => sameExposure(m.exposureS, q.exposureS)).sort(byTempThenNewest);
  if (exact.length) return { dark: exact[0]!, bias: null, scale: 1 };
  const biases = fits.filter((m) => m.kind === 'bias').sort(byTempThenNewest);
  if (!biases.length || !(q.exposureS > 0)) return null;
  const ratio = (m: DarkMasterRow) => Math.abs(Math.log(q.exposureS / m.exposureS));
  const scaled = darks.filter((m) => m.exposureS > 0).sort((a, b) => ratio(a) - ratio(b) || byTempThenNewest(a, b));
  if (!scaled.length) return null;
  return { dark: scaled[0]!, bias: biases[0]!, scale: q.exposureS / scaled[0]!.exposureS };
}

function describe(sel: DarkSelection, now: Date): string {
  const d = sel.dark;
  const set = d.gain !== null ? `gain ${d.gain}` : d.iso !== null ? `ISO ${d.iso}` : 'default gain';
  const temp = d.temperatureC === null ? 'temperature unknown' : `${d.temperatureC.toFixed(1)} °C`;
  const ageH = (now.getTime() - Date.parse(d.createdAt)) / 3.6e6;
  const age = ageH < 48 ? `${ageH.toFixed(1)} h old` : `${(ageH / 24).toFixed(0)} d old`;
  const scaled = sel.scale === 1 ? 'exact' : `scaled ×${sel.scale.toPrecision(3)} over bias #${sel.bias!.id}`;
  return `dark #${d.id} ${d.exposureS} s ${set} ${temp} (${d.frameCount} frames, ${age}), ${scaled}`;
}

interface BadPixelFile {
  width: number;
  height: number;
  pixels: [number, number][];
}

async function readBadPixels(path: string | null, width: number, height: number): Promise<Map<number, Uint32Array>> {
  if (!path) return new Map();
  let parsed: BadPixelFile;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as BadPixelFile;
  } catch (err) {
    throw new Error(`${path}: cannot read the bad-pixel map: ${(err as Error).message}`, { cause: err });
  }
  if (parsed.width !== width || parsed.height !== height || !Array.isArray(parsed.pixels)) {
    throw new Error(`${path}: bad-pixel map is for ${parsed.width}×${parsed.height}, the master is ${width}×${height}`);
  }
  return badPixelsByRow(parsed.pixels.map(([x, y]) => ({ x, y })));
}

/** Row calibrator over the chosen master(s): frame row − (scaled) master row, then bad pixels fixed. */
export async function openDarkCalibrator(sel: DarkSelection): Promise<RowCalibrator> {
  const d = sel.dark;
  const bad = await readBadPixels(d.badPixelsPath, d.width, d.height);
  const dark = await openMasterRows(d.path, d);
  let bias: MasterRows | null = null;
  try {
    if (sel.bias) bias = await openMasterRows(sel.bias.path, d);
  } catch (err) {
    await dark.close();
    throw err;
  }
  const step = d.bayer ? 2 : 1;
  return {
    apply(row: Float32Array, y: number, channels: number): void {
      if (channels !== d.channels || row.length !== d.width * channels) {
        throw new Error(`${d.path}: master is ${d.width}×${d.channels}, frame row has ${row.length / channels}×${channels}`);
      }
      subtractDarkRow(row, dark.row(y), bias ? bias.row(y) : null, sel.scale);
      const xs = bad.get(y);
      if (xs) fixBadPixelsInRow(row, d.width, channels, xs, step);
    },
    async close(): Promise<void> {
      await dark.close();
      await bias?.close();
    },
  };
}

export interface DarkLibraryOptions {
  temperatureWindowC?: number;
  now?: () => Date;
}

export class DarkLibrary implements DarkProvider {
  constructor(
    private readonly store: DarkStore,
    private readonly opts: DarkLibraryOptions = {},
  ) {}

  async match(q: DarkQuery): Promise<DarkMatch | null> {
    const sel = selectDark(this.store.darkMasters(), q, this.opts.temperatureWindowC ?? DEFAULT_TEMPERATURE_WINDOW_C);
    if (!sel) return null;
    return {
      masterPath: sel.dark.path,
      exposureS: sel.dark.exposureS,
      gain: sel.dark.gain,
      temperatureC: sel.dark.temperatureC,
      scale: sel.scale,
      describe: describe(sel, (this.opts.now ?? (() => new Date()))()),
      open: () => openDarkCalibrator(sel),
    };
  }
}
