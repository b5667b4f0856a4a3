// The in-memory image every pipeline kernel works on: 32-bit float, interleaved channels,
// values normalised so 1.0 is the full scale of the source (255 for 8-bit, 65535 for 16-bit).
// `bitDepth` remembers the source depth so kernels that need codes (Debevec's g(z)) can recover them.

export interface ImageF32 {
  width: number;
  height: number;
  channels: number; // 1 (mono/mosaic) or 3 (RGB)
  bitDepth: 8 | 16 | 32;
  data: Float32Array; // length width*height*channels, row-major, interleaved
}

export function createImage(width: number, height: number, channels: number, bitDepth: 8 | 16 | 32 = 32): ImageF32 {
  return { width, height, channels, bitDepth, data: new Float32Array(width * height * channels) };
}

/** Header cards / metadata carried alongside an image (FITS keywords, EXIF fields). */
export type ImageMeta = Record<string, string | number | boolean>;

export { ImageFormatError } from '../../lib/format-error.js';
