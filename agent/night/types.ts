// What the night session needs from the night products (pipeline/night) and the dark library
// (agent/darks), as structural interfaces: those modules' classes satisfy them, and tests can pass
// a stand-in. Kept to the agreed contracts (field for field).
import type { Logger } from '../../lib/log.js';

export interface RowCalibrator {
  apply(row: Float32Array, y: number, channels: number): void;
  close(): Promise<void>;
}

export interface NightFrameInput {
  path: string;
  timestamp: Date;
  exposureS: number;
  gain: number | null;
  /** Metered sky level, 0..1 of full scale. */
  skyLevel: number;
  stars?: number | null;
  calibrate?: RowCalibrator;
}

export interface NightSummary {
  keogram?: string;
  startrails?: string;
  timelapse?: string;
  frames: number;
  startrailsFrames: number;
  excluded: number;
  errors: string[];
  timelapseSeconds?: number;
}

export type LabelCorner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

export interface NightProductsConfig {
  station: string;
  keogram: { enabled: boolean; angle_deg: number; centre?: [number, number] | null; band_px?: number };
  startrails: { enabled: boolean; max_sky_level: number; min_stars?: number | null };
  timelapse: { enabled: boolean; fps: number; width: number; crf: number };
  labels: { enabled: boolean; corner: LabelCorner; scale: number };
}

export interface NightAddResult {
  keogramColumn: number | null;
  startrails: 'added' | 'excluded';
  reason?: string;
}

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
