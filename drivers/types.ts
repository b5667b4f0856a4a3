// Hardware interfaces. Every backend (INDI, gphoto2, GPIO rail, simulated rig) implements these,
// so jobs and pipelines never know which hardware they run on. Everything is async; failures are
// DeviceError with a code a caller can branch on.

export type FrameType = 'light' | 'dark' | 'flat' | 'bias';

export type DeviceErrorCode =
  | 'not-found' // nothing answers at the URL (unplugged, wrong name)
  | 'disconnected' // was there, went away mid-operation
  | 'timeout'
  | 'busy' // device refuses for now (PTP busy, USB claimed by another process)
  | 'alert' // device reported an error state (INDI Alert)
  | 'aborted'
  | 'invalid' // request outside what the device offers
  | 'limit' // focuser hit a limit switch or soft limit
  | 'io'; // local I/O (spool write, full disk)

export class DeviceError extends Error {
  readonly code: DeviceErrorCode;
  readonly device: string;
  constructor(code: DeviceErrorCode, device: string, message: string, options?: { cause?: unknown }) {
    super(`${device}: ${message}`, options);
    this.name = 'DeviceError';
    this.code = code;
    this.device = device;
  }
}

export interface Roi {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CaptureRequest {
  exposureS: number;
  gain?: number;
  offset?: number;
  iso?: number;
  binning?: number;
  roi?: Roi;
  frameType?: FrameType; // default 'light'
  /** Directory the frame file is written into (the spool). */
  outDir: string;
  /** File name without extension; the driver picks the extension from what the camera delivers. */
  fileStem: string;
  signal?: AbortSignal;
}

export type FrameFormat = 'fits' | 'jpeg' | 'png' | 'tiff' | 'raw';

export interface CapturedFrame {
  path: string;
  format: FrameFormat;
  width: number;
  height: number;
  channels: 1 | 3;
  bitDepth: 8 | 16 | 32;
  /** Bayer pattern when the file holds an un-debayered mosaic (e.g. 'RGGB'). */
  bayer?: string;
  exposureS: number;
  gain?: number;
  iso?: number;
  frameType: FrameType;
  timestamp: Date;
  /** Anything else the device reported: temperature, focuser position, header cards. */
  meta: Record<string, unknown>;
}

export interface CameraCapabilities {
  model: string;
  width: number;
  height: number;
  bitDepth: 8 | 16;
  color: boolean;
  bayer?: string;
  minExposureS: number;
  maxExposureS: number;
  gain?: { min: number; max: number };
  isoValues?: number[];
  /** Discrete shutter speeds the camera offers (s, ascending), where it has a ladder (DSLR); absent = continuous. */
  exposureValues?: number[];
  frameTypes: FrameType[];
  canAbort: boolean;
  hasCooler: boolean;
}

export interface Camera {
  readonly url: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  capabilities(): Promise<CameraCapabilities>;
  capture(request: CaptureRequest): Promise<CapturedFrame>;
  abort(): Promise<void>;
  /** Sensor temperature in °C, or null where not offered. */
  temperature(): Promise<number | null>;
}

export interface FocuserLimits {
  min: number;
  max: number;
}

export interface MoveOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface Focuser {
  readonly url: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  position(): Promise<number>;
  /** Move to an absolute position (steps); resolves with the position reached. */
  moveTo(position: number, options?: MoveOptions): Promise<number>;
  abort(): Promise<void>;
  limits(): Promise<FocuserLimits>;
  isMoving(): Promise<boolean>;
  temperature(): Promise<number | null>;
}

export type Edge = 'none' | 'rising' | 'falling' | 'both';
export type Direction = 'in' | 'out';

/** One GPIO line. Mirrors the parts of onoff's Gpio that the rail driver needs. */
export interface GpioLine {
  readonly line: number;
  write(value: 0 | 1): void;
  read(): 0 | 1;
  /** Called on edges of an input line configured with an edge. */
  watch(callback: (value: 0 | 1) => void): void;
  unwatchAll(): void;
  release(): void;
}

export interface GpioChip {
  open(line: number, direction: Direction, edge?: Edge): GpioLine;
}
