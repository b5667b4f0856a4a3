// Small pure helpers over interleaved strips shared by row sources and sinks.
import type { ImageF32 } from './types.js';

/** Rec.709 luminance of `pixels` interleaved pixels with `channels` ≥ 3 (same weights as toGray). */
export function grayStrip(data: Float32Array, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let i = 0, s = 0; i < pixels; i++, s += channels) out[i] = 0.2126 * data[s]! + 0.7152 * data[s + 1]! + 0.0722 * data[s + 2]!;
  return out;
}

/** `into` when it can hold n samples (as a view of exactly n), else a fresh array. */
export function batchArray(n: number, into?: Float32Array): Float32Array {
  return into && into.length >= n ? into.subarray(0, n) : new Float32Array(n);
}

/** A row source over an image already in memory (fallback decoders, tests). */
export function sliceRows(data: Float32Array, width: number, channels: number, y0: number, rows: number): Float32Array {
  const rowLen = width * channels;
  return data.slice(y0 * rowLen, (y0 + rows) * rowLen);
}

/** Rec.709 luminance of a whole image (one channel out; a grey image is returned as it is). */
export function toGray(img: ImageF32): ImageF32 {
  if (img.channels === 1) return img;
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const c = img.channels;
  for (let i = 0; i < n; i++) out[i] = 0.2126 * img.data[i * c]! + 0.7152 * img.data[i * c + 1]! + 0.0722 * img.data[i * c + 2]!;
  return { width: img.width, height: img.height, channels: 1, bitDepth: img.bitDepth, data: out };
}
