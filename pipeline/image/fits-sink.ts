// FITS by rows: the size is known up front, so the header goes first and each strip lands at its fixed
// offset in every plane (planes are stored one after another); the 2880-byte padding comes at finish.
import { FITS_BLOCK, bytesPerSample, encodeFitsHeader, encodeFitsRow } from './fits.js';
import { openAtomicRowSink } from './file-sink.js';
import { RowCounter } from './sink-check.js';
import type { RowSink } from './formats.js';
import type { ImageMeta } from './types.js';

export async function openFitsRowSink(path: string, width: number, height: number, channels: number, bitpix: 16 | -32, cards: ImageMeta = {}): Promise<RowSink> {
  const counter = new RowCounter(path, width, height, channels);
  const header = encodeFitsHeader(width, height, channels, bitpix, cards);
  const rowBytes = width * bytesPerSample(bitpix);
  const planeBytes = rowBytes * height;
  return openAtomicRowSink(counter, header, {
    async writeStrip(file, data, rows, y0) {
      const buf = Buffer.alloc(rows * rowBytes);
      for (let p = 0; p < channels; p++) {
        for (let r = 0; r < rows; r++) {
          encodeFitsRow(data, r * width * channels + p, channels, width, bitpix, buf.subarray(r * rowBytes, (r + 1) * rowBytes));
        }
        await file.write(buf, header.length + p * planeBytes + y0 * rowBytes);
      }
    },
    async beforeCommit(file) {
      const end = header.length + planeBytes * channels;
      const pad = (FITS_BLOCK - (end % FITS_BLOCK)) % FITS_BLOCK;
      if (pad) await file.write(Buffer.alloc(pad), end);
    },
  });
}
