// FITS by rows: the data unit is a fixed layout once the header is parsed, so a strip is one positioned
// read per plane (NAXIS3 planes: the same rows of each plane, interleaved on the way out).
import { open } from 'node:fs/promises';
import { bytesPerSample, decodeFitsSamples, readFitsHeader } from './fits.js';
import { ImageFormatError } from './types.js';
import type { RowBatch, RowSource } from './formats.js';
import { batchArray, grayStrip } from './strip.js';

export async function openFitsRowSource(path: string, opts: { grayscale?: boolean } = {}): Promise<RowSource> {
  const h = await readFitsHeader(path);
  const bps = bytesPerSample(h.bitpix);
  const rowBytes = h.width * bps;
  const planeBytes = rowBytes * h.height;
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.size < h.dataOffset + planeBytes * h.planes) {
      throw new ImageFormatError(path, `truncated FITS data (${st.size} bytes, need ${h.dataOffset + planeBytes * h.planes})`);
    }
  } catch (err) {
    await fh.close();
    throw err;
  }
  const planes = h.planes;
  const gray = !!opts.grayscale && planes >= 3;
  let y = 0;
  let closed = false;
  let buf = Buffer.alloc(0);
  return {
    path,
    width: h.width,
    height: h.height,
    channels: gray ? 1 : planes,
    bitDepth: h.bitpix === 8 ? 8 : h.bitpix === 16 ? 16 : 32,
    meta: h.cards,
    async readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null> {
      if (closed) throw new ImageFormatError(path, 'row source is closed');
      if (y >= h.height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), h.height - y));
      const n = rows * rowBytes;
      if (buf.length < n) buf = Buffer.alloc(n);
      // grey output is computed from the planes, so `into` only serves the plain case
      const data = gray ? new Float32Array(rows * h.width * planes) : batchArray(rows * h.width * planes, into);
      for (let p = 0; p < planes; p++) {
        const { bytesRead } = await fh.read(buf, 0, n, h.dataOffset + p * planeBytes + y * rowBytes);
        if (bytesRead < n) throw new ImageFormatError(path, `truncated FITS data at row ${y}`);
        decodeFitsSamples(h, buf, data, p, planes, rows * h.width);
      }
      const batch = { y0: y, rows, data: gray ? grayStrip(data, rows * h.width, planes) : data };
      y += rows;
      return batch;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}
