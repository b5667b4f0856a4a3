// The night products' contract with the agent (the `allsky` job) and the CLI (`skyrig night build`).
import type { Logger } from '../../lib/log.js';

/** Dark subtraction + bad pixels, applied to each decoded row before any product sees it. */
export interface RowCalibrator {
  /** Calibrate one row in place (`row` holds width*channels interleaved samples, 0..1 of full scale). */
  apply(row: Float32Array, y: number, channels: number): void;
  close(): Promise<void>;
}

export interface NightFrameInput {
  path: string;
  timestamp: Date;
  exposureS: number;
  gain: number | null;
  /** Median sky level 0..1 measured by the job; NaN = measure it while the frame streams by. */
  skyLevel: number;
  stars?: number | null;
  calibrate?: RowCalibrator;
}

export type LabelCorner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

export interface NightProductsConfig {
  station: string;
  keogram: { enabled: boolean; angle_deg: number; centre?: [number, number] | null; band_px?: number };
  /**
   * rewrite_every: the accumulator plane is rewritten on every Nth included frame; the frames between
   * append only the samples they raise to a journal (card wear, docs/allsky.md). 1 = every frame.
   */
  startrails: { enabled: boolean; max_sky_level: number; min_stars?: number | null; rewrite_every?: number };
  timelapse: { enabled: boolean; fps: number; width: number; crf: number };
  labels: { enabled: boolean; corner: LabelCorner; scale: number };
}

export interface NightProductsDeps {
  log: Logger;
  /** ffmpeg binary (default `ffmpeg` on PATH). */
  ffmpegPath?: string;
}

export interface AddResult {
  /** Index of the keogram column this frame became, or null (keogram off, frame skipped). */
  keogramColumn: number | null;
  startrails: 'added' | 'excluded';
  /** Why the frame was excluded from star trails or skipped altogether. */
  reason?: string;
  /** True when the frame could not be used at all (decode failure, other size, out of order). */
  skipped?: boolean;
  /** Skipped because its time is not later than the last frame added (a restart re-offering it). */
  alreadyAdded?: boolean;
  /** The sky level used for the star-trails rule (measured when the input gave NaN). */
  skyLevel: number;
  /** Bytes the star-trails update wrote (plane or journal segment). */
  startrailsBytes?: number;
}

export interface NightSummary {
  keogram?: string;
  startrails?: string;
  /** The exact running maximum as 16-bit FITS (for measurement; the JPEG is stretched for display). */
  startrailsFits?: string;
  timelapse?: string;
  frames: number;
  startrailsFrames: number;
  excluded: number;
  /** Frames the products could not use (decode failures, other size, out of order). */
  skipped: number;
  errors: string[];
  timelapseSeconds?: number;
  timelapseFrames?: number;
}

export const DEFAULT_NIGHT_CONFIG: NightProductsConfig = {
  station: 'skyrig',
  keogram: { enabled: true, angle_deg: 0, centre: null, band_px: 3 },
  startrails: { enabled: true, max_sky_level: 0.25, min_stars: null, rewrite_every: 50 },
  timelapse: { enabled: true, fps: 25, width: 1280, crf: 23 },
  labels: { enabled: true, corner: 'top-left', scale: 2 },
};
