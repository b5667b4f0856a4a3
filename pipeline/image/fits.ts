// Minimal FITS (primary HDU) reader and writer: BITPIX 8/16/32/-32/-64, NAXIS 2 or 3 (planes),
// BZERO/BSCALE. Pure functions over bytes plus file helpers; rows can be read one at a time
// (fits-rows.ts) because the data layout is fixed once the header is parsed.
import { open, rename, unlink } from 'node:fs/promises';
import { FITS_BLOCK, readFitsHeader, type FitsHeader } from '../../lib/fits-header.js';
import { ImageFormatError, type ImageF32, type ImageMeta } from './types.js';

export { FITS_BLOCK, parseFitsHeader, readFitsHeader, type FitsHeader } from '../../lib/fits-header.js';

export function bytesPerSample(bitpix: number): number {
  return Math.abs(bitpix) / 8;
}

/** Full scale used to normalise integer data to 0..1. */
export function fitsFullScale(h: FitsHeader): number {
  if (h.bitpix === 8) return 255;
  if (h.bitpix === 16) return 65535;
  if (h.bitpix === 32) return h.bzero === 2147483648 ? 4294967295 : 2147483647;
  return 1; // float data is taken as already normalised
}

/** Decode `count` big-endian samples starting at `src[offset]` into `dst` as normalised floats. */
export function decodeFitsSamples(h: FitsHeader, src: Uint8Array, dst: Float32Array, dstOffset: number, dstStride: number, count: number): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const scale = h.bscale / fitsFullScale(h);
  const zero = h.bzero / fitsFullScale(h);
  const bps = bytesPerSample(h.bitpix);
  for (let i = 0, o = dstOffset; i < count; i++, o += dstStride) {
    const p = i * bps;
    let v: number;
    switch (h.bitpix) {
      case 8: v = src[p]!; break;
      case 16: v = view.getInt16(p, false); break;
      case 32: v = view.getInt32(p, false); break;
      case -32: v = view.getFloat32(p, false); break;
      default: v = view.getFloat64(p, false); break;
    }
    dst[o] = v * scale + zero;
  }
}

/** Read a whole FITS image into an interleaved ImageF32 (planes become channels). */
export async function readFits(path: string): Promise<{ image: ImageF32; header: FitsHeader }> {
  const h = await readFitsHeader(path);
  const bps = bytesPerSample(h.bitpix);
  const planeBytes = h.width * h.height * bps;
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.size < h.dataOffset + planeBytes * h.planes) {
      throw new ImageFormatError(path, `truncated FITS data (${st.size} bytes, need ${h.dataOffset + planeBytes * h.planes})`);
    }
    const channels = h.planes;
    const data = new Float32Array(h.width * h.height * channels);
    const rowBytes = h.width * bps;
    const rowBuf = Buffer.alloc(rowBytes);
    for (let p = 0; p < h.planes; p++) {
      for (let y = 0; y < h.height; y++) {
        await fh.read(rowBuf, 0, rowBytes, h.dataOffset + p * planeBytes + y * rowBytes);
        decodeFitsSamples(h, rowBuf, data, y * h.width * channels + p, channels, h.width);
      }
    }
    const bitDepth = h.bitpix === 8 ? 8 : h.bitpix === 16 ? 16 : 32;
    return { image: { width: h.width, height: h.height, channels, bitDepth, data }, header: h };
  } finally {
    await fh.close();
  }
}

function formatCard(key: string, value: string | number | boolean, comment?: string): string {
  let v: string;
  if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20);
  else if (typeof value === 'number') {
    const s = Number.isInteger(value) ? String(value) : value.toPrecision(12).replace(/\.?0+$/, '').replace(/\.?0+e/, 'e').toUpperCase();
    v = s.padStart(20);
  } else v = `'${value.replace(/'/g, "''").padEnd(8)}'`.padEnd(20);
  let card = `${key.toUpperCase().slice(0, 8).padEnd(8)}= ${v}`;
  if (comment) card += ` / ${comment}`;
  return card.slice(0, 80).padEnd(80);
}

export interface FitsWriteOptions {
  bitpix?: 8 | 16 | -32;
  cards?: ImageMeta;
}

export function encodeFitsHeader(width: number, height: number, planes: number, bitpix: 8 | 16 | -32, cards: ImageMeta = {}): Buffer {
  const lines = [
    `SIMPLE  = ${'T'.padStart(20)} / conforms to FITS standard`.padEnd(80),
    formatCard('BITPIX', bitpix),
    formatCard('NAXIS', planes > 1 ? 3 : 2),
    formatCard('NAXIS1', width),
    formatCard('NAXIS2', height),
  ];
  if (planes > 1) lines.push(formatCard('NAXIS3', planes));
  if (bitpix === 16) {
    lines.push(formatCard('BZERO', 32768), formatCard('BSCALE', 1));
  }
  const reserved = new Set(['SIMPLE', 'BITPIX', 'NAXIS', 'NAXIS1', 'NAXIS2', 'NAXIS3', 'BZERO', 'BSCALE', 'END']);
  for (const [k, v] of Object.entries(cards)) if (!reserved.has(k.toUpperCase())) lines.push(formatCard(k, v));
  lines.push('END'.padEnd(80));
  const text = lines.join('');
  const len = Math.ceil(text.length / FITS_BLOCK) * FITS_BLOCK;
  return Buffer.from(text.padEnd(len, ' '), 'latin1');
}

/** Encode one row of one plane from interleaved normalised floats. */
export function encodeFitsRow(src: Float32Array, offset: number, stride: number, width: number, bitpix: 8 | 16 | -32, out: Buffer): void {
  for (let x = 0, i = offset; x < width; x++, i += stride) {
    const v = src[i]!;
    if (bitpix === -32) out.writeFloatBE(v, x * 4);
    else if (bitpix === 16) out.writeInt16BE(Math.max(0, Math.min(65535, Math.round(v * 65535))) - 32768, x * 2);
    else out[x] = Math.max(0, Math.min(255, Math.round(v * 255)));
  }
}

/** Write an image as FITS through a temp file and rename, so no half-written file is ever seen. */
export async function writeFits(path: string, image: ImageF32, options: FitsWriteOptions = {}): Promise<void> {
  const bitpix = options.bitpix ?? (image.bitDepth === 8 ? 8 : image.bitDepth === 16 ? 16 : -32);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    const header = encodeFitsHeader(image.width, image.height, image.channels, bitpix, options.cards);
    await fh.write(header);
    const rowBytes = image.width * bytesPerSample(bitpix);
    // Batch rows into ~1 MB writes.
    const rowsPerChunk = Math.max(1, Math.floor((1 << 20) / rowBytes));
    const chunk = Buffer.alloc(rowsPerChunk * rowBytes);
    let written = 0;
    for (let p = 0; p < image.channels; p++) {
      let filled = 0;
      for (let y = 0; y < image.height; y++) {
        encodeFitsRow(image.data, y * image.width * image.channels + p, image.channels, image.width, bitpix, chunk.subarray(filled * rowBytes, (filled + 1) * rowBytes));
        filled++;
        if (filled === rowsPerChunk) {
          await fh.write(chunk, 0, filled * rowBytes);
          written += filled * rowBytes;
          filled = 0;
        }
      }
      if (filled) {
        await fh.write(chunk, 0, filled * rowBytes);
        written += filled * rowBytes;
      }
    }
    const pad = (FITS_BLOCK - (written % FITS_BLOCK)) % FITS_BLOCK;
    if (pad) await fh.write(Buffer.alloc(pad));
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}
