// Row source over a whole decoded image. Used only for formats with no streaming decoder (WebP, GIF,
// AVIF… through sharp): memory is the full frame, which docs/image-io.md states.
import type { ImageF32, ImageMeta } from './types.js';
import { ImageFormatError } from './types.js';
import type { RowBatch, RowSource } from './formats.js';
import { sliceRows } from './strip.js';

export function memoryRowSource(path: string, image: ImageF32, meta: ImageMeta = {}): RowSource {
  let y = 0;
  let closed = false;
  let data: Float32Array | null = image.data;
  return {
    path,
    width: image.width,
    height: image.height,
    channels: image.channels,
    bitDepth: image.bitDepth,
    meta,
    async readRows(maxRows: number): Promise<RowBatch | null> {
      if (closed || !data) throw new ImageFormatError(path, 'row source is closed');
      if (y >= image.height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), image.height - y));
      const batch = { y0: y, rows, data: sliceRows(data, image.width, image.channels, y, rows) };
      y += rows;
      return batch;
    },
    async close(): Promise<void> {
      closed = true;
      data = null; // let the frame go even if the caller keeps the source object
    },
  };
}
