// What a job runner gets from the agent and returns to it. The agent owns the run row,
// frame logging (file on disk + row before any processing), MQTT, and sd_notify status.
import type { Camera, CaptureRequest, CapturedFrame, Focuser } from '../../drivers/types.js';
import type { Logger } from '../log.js';
import type { Metrics, RunLog } from '../runlog/types.js';

export type CaptureOptions = Omit<CaptureRequest, 'outDir' | 'fileStem' | 'signal'> & {
  /** File name stem; default `<timestamp>_<exposure µs>`. */
  stem?: string;
  /** Rail position at capture time, recorded in the frame row. */
  focusPosition?: number;
};

export interface LoggedFrame {
  frame: CapturedFrame;
  frameId: number;
}

export interface JobPublisher {
  /** Result message on `<base>/<station>/run/<kind>` (QoS 1). */
  result(payload: Record<string, unknown>): void;
  /** Latest preview JPEG on `<base>/<station>/image/<kind>` (retained). */
  image(jpeg: Buffer): void;
  /** Merge fields into the retained `state` (sensors: hfr, star_count, focus_position, ...). */
  state(patch: Record<string, unknown>): void;
}

export interface JobContext {
  runId: number;
  kind: string;
  /** Job parameters from config or the command payload. */
  params: Record<string, unknown>;
  camera: Camera;
  focuser?: Focuser;
  /** Where this run's frames go (created by the agent). */
  spoolDir: string;
  /** Where this run's products go (created by the agent). */
  productsDir: string;
  /** Per-job state that outlives runs (live stack state for resume); created by the agent. */
  stateDir: string;
  /** The station's data directory (paths.data_dir): shared libraries such as <data_dir>/darks. */
  dataDir?: string;
  runlog: RunLog;
  log: Logger;
  /** Aborted on SIGTERM or a stop command; a job finishes or abandons its current frame and returns. */
  signal: AbortSignal;
  publish: JobPublisher;
  /** Human status line (sd_notify STATUS=, state.activity). */
  progress(status: string): void;
  /** Capture one frame into spoolDir and log its row (size, sha256) before returning. */
  capture(options: CaptureOptions): Promise<LoggedFrame>;
}

export interface JobResult {
  metrics: Metrics;
}

export type JobRunner = (ctx: JobContext) => Promise<JobResult>;
