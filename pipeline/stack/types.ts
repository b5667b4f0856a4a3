// The live stack's shared shapes: options, the per-frame result, the saved state. Its own module
// so the stacker and the pieces around it (metrics plot, products, state) import it, not each other.
import type { ImageF32, ImageMeta } from '../image/types.js';
import type { Calibration } from '../calib/apply.js';
import type { LoadedFrame } from '../calib/load.js';
import type { Star } from '../stars/detect.js';
import type { StackMethod } from './methods.js';
import type { FrameQuality, RejectionOptions } from './quality.js';

export type AlignMode = 'star' | 'ecc' | 'phase' | 'none';

export interface LiveStackOptions {
  outDir: string;
  outputName?: string;
  methods?: StackMethod[];
  kappa?: number;
  align?: AlignMode;
  model?: 'similarity' | 'affine';
  /** 'first' or the best of the first K frames. */
  reference?: 'first' | { best: number };
  /** Start a new stack when the field moved further than this (px). */
  restartOnDrift?: number;
  /**
   * Frames held at the start and judged against each other before the stack begins (default 3; 1 =
   * stack the first frame at once, unjudged). With `best:K` the larger of the two.
   */
  warmup?: number;
  /**
   * This many refused frames in a row for a conditions reason (sky, star signal, size, clouds, ISO/gain)
   * that agree with each other are the new normal: a new stack starts from them on (default 5, 0 = never).
   */
  relearnAfter?: number;
  calibration?: Calibration;
  rejection?: RejectionOptions;
  previewFormat?: 'jpg' | 'png';
  /** Longest side of the preview file (default 2048). */
  previewMaxSize?: number;
  /** Where the state file lives (default `<outDir>/.livestack`). */
  stateDir?: string;
  /** Exposure to assume for frames whose header has none. */
  defaultExposureS?: number;
  /**
   * Checkpoint — the master FITS of every method and the --reload state (every accumulator plane) —
   * every N accepted frames (default 10) or every `saveEveryS` seconds (default 600), whichever
   * comes first, and always at the end, when a stack is closed and when the warm-up releases its
   * frames. The preview and the metrics are written after every frame. Frames taken after the last
   * checkpoint are listed in a small journal beside the state and re-read from their files on resume
   * (`catchUp()`), so a crash loses no frame whose file still exists. SD-card wear: see docs/sd-wear.md.
   */
  saveEveryFrames?: number;
  saveEveryS?: number;
  /** Old name of saveEveryFrames. */
  stateEvery?: number;
  /** Write the master FITS after every accepted frame, not only at checkpoints (default false: SD wear). */
  mastersEveryFrame?: boolean;
  /** Every final frame result, including frames held back while the reference is chosen. */
  onResult?: (r: FrameResult) => void;
  /**
   * Threads for the per-pixel kernels (WASM SIMD: 16-bit FITS decode, dark subtraction, warp +
   * sigma clipping, on mono frames), including the caller's; default the cores. `kernels: 'js'`
   * (or SKYRIG_NO_WASM=1) keeps the plain-TS reference path.
   */
  threads?: number;
  kernels?: 'wasm' | 'js';
  /**
   * Encode and write each preview while the next frame is processed (push returns before the file
   * is there; finish/close wait for it). Default false: the preview is on disk when push returns.
   */
  previewInBackground?: boolean;
}

export interface FrameResult {
  seq: number;
  path: string;
  status: 'accepted' | 'rejected' | 'pending';
  accepted: boolean;
  reason: string | null;
  code: string | null;
  stars: number;
  hfr: number;
  fwhm: number;
  background: number;
  noise: number;
  /** Star signal against the reference (relFlux): 1 = as bright as the reference frame. */
  signal: number;
  shiftX: number;
  shiftY: number;
  shift: number;
  rotationDeg: number;
  residual: number;
  inliers: number;
  rejectedPixels: number;
  stackIndex: number;
  frameCount: number;
  exposureS: number;
  date: string | null;
  ms: Record<string, number>;
}

export interface PendingFrame {
  seq: number;
  path: string;
  /** The spilled calibrated frame; '' when the frame is read again from `path` (a file input: no spill, no card wear). */
  file: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16 | 32;
  q: FrameQuality;
  stars: Star[];
  exposureS: number;
  date: string | null;
  ms: Record<string, number>;
}

export interface SavedState {
  version: 1;
  methods: StackMethod[];
  kappa: number;
  align: AlignMode;
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16 | 32;
  frameCount: number;
  stackIndex: number;
  exposureTotal: number;
  dateBeg: string | null;
  dateEnd: string | null;
  seq: number;
  refStars: Star[] | null;
  refPath: string | null;
  history: FrameQuality[];
  records: FrameResult[];
  processed: string[];
  pending: PendingFrame[];
  refBackground?: number[] | null;
  refusedRun?: FrameQuality[];
  closeStack?: boolean;
  refClip?: number | null;
  smoothedDetection?: boolean | null;
}

export type PushInput = string | { image: ImageF32; name?: string; exposureS?: number; date?: Date; meta?: ImageMeta; bayer?: LoadedFrame['bayer'] };

