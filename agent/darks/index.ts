// The dark library: capture a grid of masters, list coverage, match a frame to its master.
export type { DarkMatch, DarkProvider, DarkQuery, RowCalibrator } from './types.js';
export { DarkLibrary, DEFAULT_TEMPERATURE_WINDOW_C, openDarkCalibrator, selectDark, type DarkLibraryOptions, type DarkSelection, type DarkStore } from './library.js';
export { captureDarkGrid, shutterRefusal, type DarkGridOptions, type DarkSetting, type TakenMaster } from './capture.js';
export { createGapReporter, gapLine, type GapReporter } from './gaps.js';
export { formatDarkList } from './list.js';
import { join } from 'node:path';

/** Where masters live: `<data_dir>/darks`. */
export function darksDirOf(dataDir: string): string {
  return join(dataDir, 'darks');
}
