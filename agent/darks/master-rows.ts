// A master FITS read one row at a time by positioned reads (any row, any order): the calibrator's
// apply() is synchronous, so the reads are too — one row of bytes and one row of floats in memory.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { bytesPerSample, decodeFitsSamples, readFitsHeader, type FitsHeader } from '../../pipeline/image/fits.js';

export interface MasterRows {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** Row y as interleaved normalised floats (the same buffer each call). */
  row(y: number): Float32Array;
  close(): Promise<void>;
}

export async function openMasterRows(path: string, expect: { width: number; height: number; channels: number }): Promise<MasterRows> {
  let h: FitsHeader;
  try {
    h = await readFitsHeader(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the master: ${(err as Error).message}`, { cause: err });
  }
  if (h.width !== expect.width || h.height !== expect.height || h.planes !== expect.channels) {
    throw new Error(`${path}: master is ${h.width}×${h.height}×${h.planes}, the library says ${expect.width}×${expect.height}×${expect.channels}`);
  }
  const fd = openSync(path, 'r');
  const bps = bytesPerSample(h.bitpix);
  const rowBytes = h.width * bps;
  const planeBytes = rowBytes * h.height;
  if (fstatSync(fd).size < h.dataOffset + planeBytes * h.planes) {
    closeSync(fd);
    throw new Error(`${path}: truncated master (${h.width}×${h.height}×${h.planes} needs ${h.dataOffset + planeBytes * h.planes} bytes)`);
  }
  const bytes = Buffer.alloc(rowBytes);
  const out = new Float32Array(h.width * h.planes);
  let closed = false;
  return {
    width: h.width,
    height: h.height,
    channels: h.planes,
    row(y: number): Float32Array {
      if (closed) throw new Error(`${path}: master is closed`);
      if (!(Number.isInteger(y) && y >= 0 && y < h.height)) throw new RangeError(`${path}: row ${y} outside 0..${h.height - 1}`);
      for (let p = 0; p < h.planes; p++) {
        const n = readSync(fd, bytes, 0, rowBytes, h.dataOffset + p * planeBytes + y * rowBytes);
        if (n < rowBytes) throw new Error(`${path}: short read at row ${y}`);
        decodeFitsSamples(h, bytes, out, p, h.planes, h.width);
      }
      return out;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}
