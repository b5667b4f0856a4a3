// The dark library's contract with the night pipeline: ask for the master that fits a frame, open a
// row calibrator that subtracts it row by row in step with the frame's rows.

/**
 * Calibrates one frame row in place (same shape as pipeline/night/types.ts RowCalibrator, defined here
 * until the night pipeline lands): rows of one frame in any order, `row` = width × channels samples.
 */
export interface RowCalibrator {
  apply(row: Float32Array, y: number, channels: number): void;
  close(): Promise<void>;
}

export interface DarkQuery {
  exposureS: number;
  gain: number | null;
  iso?: number | null;
  temperatureC: number | null;
  width: number;
  height: number;
  channels: number;
}

export interface DarkMatch {
  masterPath: string;
  /** Exposure, gain and temperature of the master dark. */
  exposureS: number;
  gain: number | null;
  temperatureC: number | null;
  /** Factor on the thermal part (dark − bias): t_light / t_dark; 1 for an exact match. */
  scale: number;
  /** One line for logs: which master, how old, how scaled. */
  describe: string;
  open(): Promise<RowCalibrator>;
}

export interface DarkProvider {
  match(q: DarkQuery): Promise<DarkMatch | null>;
}
