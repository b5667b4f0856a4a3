// Input limits and the sharp fallback's memory budget, process-wide. Defaults suit 100 MP sensors;
// the agent sets them from `images:` in its config, the CLI from SKYRIG_IMAGE_* variables (read
// once at load). Kept in one small module so every reader and writer checks the same figures.
import { ImageFormatError } from './types.js';

export interface ImageLimits {
  /** Largest frame accepted, in pixels (width × height), checked from the header before decoding. */
  maxPixels: number;
  /** Longest side accepted, in pixels. */
  maxSide: number;
  /**
   * Where a codec program is missing, frames up to this many samples (width × height × channels)
   * are decoded/encoded whole through sharp instead; larger ones fail naming the program.
   */
  fallbackMaxSamples: number;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxPixels: 200e6,
  maxSide: 30000,
  fallbackMaxSamples: 100e6,
});

function fromEnv(): ImageLimits {
  const num = (name: string, scale: number, dflt: number): number => {
    const v = process.env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`${name}=${v}: must be a positive number`);
    return n * scale;
  };
  return {
    maxPixels: num('SKYRIG_IMAGE_MAX_MP', 1e6, DEFAULT_IMAGE_LIMITS.maxPixels),
    maxSide: num('SKYRIG_IMAGE_MAX_SIDE', 1, DEFAULT_IMAGE_LIMITS.maxSide),
    fallbackMaxSamples: num('SKYRIG_IMAGE_FALLBACK_MSAMPLES', 1e6, DEFAULT_IMAGE_LIMITS.fallbackMaxSamples),
  };
}

let current: ImageLimits = fromEnv();

export function imageLimits(): Readonly<ImageLimits> {
  return current;
}

/** Replace some limits (the agent's config); returns the previous ones so tests can restore them. */
export function setImageLimits(next: Partial<ImageLimits>): ImageLimits {
  const prev = current;
  current = { ...current, ...next };
  return prev;
}

const mp = (px: number) => `${Number((px / 1e6).toPrecision(3))} MP`;

/** Refuse a frame whose header claims more than the limits allow, naming the file and its claim. */
export function checkImageSize(path: string, width: number, height: number): void {
  const { maxPixels, maxSide } = current;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ImageFormatError(path, `header claims ${width}×${height} pixels: not an image size`);
  }
  if (width > maxSide || height > maxSide || width * height > maxPixels) {
    throw new ImageFormatError(
      path,
      `header claims ${width}×${height} (${mp(width * height)}), over the input limit of ${mp(maxPixels)} and ${maxSide} px a side (images.max_megapixels / images.max_side)`,
    );
  }
}
