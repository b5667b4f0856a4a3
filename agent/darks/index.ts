// The dark library: capture a grid of masters, list coverage, match a frame to its master.
export type { DarkMatch, DarkProvider, DarkQuery, RowCalibrator } from './types.js';
export { DarkLibrary, DEFAULT_TEMPERATURE_WINDOW_C, openDarkCalibrator, selectDark, type DarkLibraryOptions, type DarkSelection, type DarkStore } from './library.js';
export { captureDarkGrid, shutterRefusal, type DarkGridOptions, type DarkSetting, type TakenMaster } from './capture.js';
export { createGapReporter, gapLine, type GapReporter } from './gaps.js';
export { formatDarkList } from './list.js';
import { join } from 'node:path';
import { DarkLibrary, type DarkLibraryOptions, type DarkStore } from './library.js';
import type { DarkProvider } from './types.js';

/** Where masters live: `<data_dir>/darks`. */
export function darksDirOf(dataDir: string): string {
  return join(dataDir, 'darks');
}

/**
 * The library over a job's run log (the agent's SqliteRunLog has the dark_masters table); null for a run
 * log without it (test doubles), so a job can go on without darks.
 */
export function darkProviderOf(runlog: object, opts: DarkLibraryOptions = {}): DarkProvider | null {
  return typeof (runlog as Partial<DarkStore>).darkMasters === 'function' ? new DarkLibrary(runlog as DarkStore, opts) : null;
}
