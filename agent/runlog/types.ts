// The run log's contract: what jobs record. Implemented over SQLite in agent/runlog/sqlite.ts.

export type RunKind = 'capture' | 'hdr' | 'livestack' | 'focusbracket' | 'autofocus' | (string & {});
export type RunStatus = 'running' | 'ok' | 'failed' | 'aborted';
export type Metrics = Record<string, number | string | boolean | null>;

export interface FrameRecord {
  path: string;
  sizeBytes: number;
  sha256: string;
  exposureS: number;
  gain?: number | null;
  iso?: number | null;
  focusPosition?: number | null;
  frameType?: string;
  width: number;
  height: number;
  timestamp: Date;
  stats?: Metrics;
}

export interface FrameUpdate {
  stats?: Metrics;
  accepted?: boolean;
  reason?: string | null;
}

export interface ProductRecord {
  kind: string; // 'hdr-radiance', 'hdr-jpeg', 'stack-fits', 'stack-preview', 'focus-map', 'focus-stack', 'vcurve', ...
  path: string;
  metrics?: Metrics;
}

export interface RunRow {
  id: number;
  kind: RunKind;
  params: Record<string, unknown>;
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  error: string | null;
  metrics: Metrics;
  frameCount: number;
  productCount: number;
}

/** A frame row as queries return it. */
export interface LoggedFrameRow {
  id: number;
  runId: number;
  path: string;
  exposureS: number;
  gain: number | null;
  capturedAt: string;
  stats: Metrics;
}

export interface RunLog {
  beginRun(kind: RunKind, params: Record<string, unknown>): number;
  addFrame(runId: number, frame: FrameRecord): number;
  updateFrame(frameId: number, update: FrameUpdate): void;
  addProduct(runId: number, product: ProductRecord): number;
  addEvent(level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>, runId?: number): void;
  finishRun(runId: number, status: Exclude<RunStatus, 'running'>, result?: { error?: string; metrics?: Metrics }): void;
  /** Frames (not deleted) whose stats carry `key = value`, in capture order (the night's frames). */
  framesWithStat?(key: string, value: string | number): LoggedFrameRow[];
}
