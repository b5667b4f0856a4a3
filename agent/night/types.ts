// What the night session needs from the night products (pipeline/night) and the dark library
// (agent/darks): their contract types, and the products as a structural interface that
// NightProducts satisfies and tests can stand in for.
import type { Logger } from '../../lib/log.js';

export type { AddResult as NightAddResult, LabelCorner, NightFrameInput, NightProductsConfig, NightSummary, RowCalibrator } from '../../pipeline/night/types.js';
import type { AddResult as NightAddResult, NightFrameInput, NightProductsConfig, NightSummary } from '../../pipeline/night/types.js';

/** The night's products, built frame by frame; progress on disk after every add (resumes on open). */
export interface NightProductsHandle {
  readonly framesAdded: number;
  add(frame: NightFrameInput): Promise<NightAddResult>;
  renderPreview(frame: NightFrameInput, width: number): Promise<Buffer>;
  finish(frames: NightFrameInput[], opts?: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<NightSummary>;
}

export type OpenNightProducts = (dir: string, config: NightProductsConfig, deps: { log: Logger; ffmpegPath?: string }) => Promise<NightProductsHandle>;

// The dark library's side of the contract lives with it.
export type { DarkMatch, DarkProvider, DarkQuery } from '../darks/types.js';
