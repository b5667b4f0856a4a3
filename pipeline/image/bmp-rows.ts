// Windows BMP by rows (focus_response takes .bmp inputs; sharp has no BMP loader). Uncompressed
// BI_RGB 8-bit (palette), 24-bit and 32-bit, and BI_BITFIELDS 32-bit: the pixel array is a fixed layout,
// so a strip is one positioned read — bottom-up files (the usual kind) are read from the end backwards.
import { open } from 'node:fs/promises';
import { ImageFormatError } from './types.js';
import type { RowBatch, RowSource } from './rows.js';
import { batchArray, grayStrip } from './strip.js';

export interface BmpHeader {
  width: number;
  height: number;
  /** Rows stored bottom row first (positive height in the file). */
  bottomUp: boolean;
  bitCount: 8 | 24 | 32;
  dataOffset: number;
  /** Bytes per stored row (padded to 4). */
  stride: number;
  /** 8-bit: palette as RGB triplets; grey when every entry has r = g = b. */
  palette: Uint8Array | null;
  grayPalette: boolean;
}

/** Parse the file and info headers from the first bytes of a BMP; throws naming what is wrong. */
export function parseBmpHeader(head: Buffer, path: string): BmpHeader {
  if (head.length < 54 || head.toString('latin1', 0, 2) !== 'BM') throw new ImageFormatError(path, 'not a BMP file');
  const dataOffset = head.readUInt32LE(10);
  const infoSize = head.readUInt32LE(14);
  if (infoSize < 40) throw new ImageFormatError(path, `unsupported BMP header (${infoSize} bytes; OS/2 BMPs are not read)`);
  const width = head.readInt32LE(18);
  const rawHeight = head.readInt32LE(22);
  const bitCount = head.readUInt16LE(28);
  const compression = head.readUInt32LE(30);
  if (!(width > 0 && rawHeight !== 0)) throw new ImageFormatError(path, `bad BMP size ${width}×${rawHeight}`);
  if (bitCount !== 8 && bitCount !== 24 && bitCount !== 32) throw new ImageFormatError(path, `unsupported BMP depth ${bitCount} bits (8, 24 or 32)`);
  // 0 = BI_RGB; 3 = BI_BITFIELDS, read as BGRA when 32-bit (what every writer uses).
  if (!(compression === 0 || (compression === 3 && bitCount === 32))) throw new ImageFormatError(path, `compressed BMP (method ${compression}) is not supported`);
  const stride = Math.ceil((width * bitCount) / 32) * 4;
  let palette: Uint8Array | null = null;
  let grayPalette = false;
  if (bitCount === 8) {
    const colours = head.readUInt32LE(46) || 256;
    const at = 14 + infoSize;
    if (head.length < at + colours * 4) throw new ImageFormatError(path, 'truncated BMP palette');
    palette = new Uint8Array(256 * 3);
    grayPalette = true;
    for (let i = 0; i < colours; i++) {
      const b = head[at + i * 4]!, g = head[at + i * 4 + 1]!, r = head[at + i * 4 + 2]!;
      palette.set([r, g, b], i * 3);
      if (r !== g || g !== b) grayPalette = false;
    }
  }
  return { width, height: Math.abs(rawHeight), bottomUp: rawHeight > 0, bitCount, dataOffset, stride, palette, grayPalette };
}

/** Decode `rows` stored rows (top row first in `src`) into interleaved 0..1 samples. */
export function decodeBmpRows(h: BmpHeader, src: Uint8Array, rows: number, channels: number, out: Float32Array): void {
  const k = 1 / 255;
  for (let r = 0; r < rows; r++) {
    const row = r * h.stride;
    let o = r * h.width * channels;
    for (let x = 0; x < h.width; x++) {
      if (h.bitCount === 8) {
        const i = src[row + x]! * 3;
        if (channels === 1) out[o++] = h.palette![i]! * k;
        else {
          out[o++] = h.palette![i]! * k;
          out[o++] = h.palette![i + 1]! * k;
          out[o++] = h.palette![i + 2]! * k;
        }
      } else {
        const p = row + x * (h.bitCount / 8);
        out[o++] = src[p + 2]! * k; // stored B, G, R(, A)
        out[o++] = src[p + 1]! * k;
        out[o++] = src[p]! * k;
      }
    }
  }
}

export async function openBmpRowSource(path: string, opts: { grayscale?: boolean } = {}): Promise<RowSource> {
  const fh = await open(path, 'r');
  let h: BmpHeader;
  try {
    const head = Buffer.alloc(54 + 1024 + 84);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    h = parseBmpHeader(head.subarray(0, bytesRead), path);
    const need = h.dataOffset + h.stride * h.height;
    const { size } = await fh.stat();
    if (size < need) throw new ImageFormatError(path, `truncated BMP data (${size} bytes, need ${need})`);
  } catch (err) {
    await fh.close();
    throw err;
  }
  const native = h.bitCount === 8 && h.grayPalette ? 1 : 3;
  const gray = !!opts.grayscale && native === 3;
  let y = 0;
  let closed = false;
  let buf = Buffer.alloc(0);
  let flip = Buffer.alloc(0);
  return {
    path,
    width: h.width,
    height: h.height,
    channels: gray ? 1 : native,
    bitDepth: 8,
    meta: {},
    async readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null> {
      if (closed) throw new ImageFormatError(path, 'row source is closed');
      if (y >= h.height) return null;
      const rows = Math.max(1, Math.min(Math.floor(maxRows), h.height - y));
      const n = rows * h.stride;
      if (buf.length < n) buf = Buffer.alloc(n);
      // Image rows y..y+rows-1 are stored rows (H-1-y-rows+1)..(H-1-y) in a bottom-up file.
      const firstStored = h.bottomUp ? h.height - y - rows : y;
      const { bytesRead } = await fh.read(buf, 0, n, h.dataOffset + firstStored * h.stride);
      if (bytesRead < n) throw new ImageFormatError(path, `truncated BMP data at row ${y}`);
      let src: Uint8Array = buf;
      if (h.bottomUp) {
        if (flip.length < n) flip = Buffer.alloc(n);
        for (let r = 0; r < rows; r++) buf.copy(flip, r * h.stride, (rows - 1 - r) * h.stride, (rows - r) * h.stride);
        src = flip;
      }
      const data = gray ? new Float32Array(rows * h.width * 3) : batchArray(rows * h.width * native, into);
      decodeBmpRows(h, src, rows, native, data);
      const batch = { y0: y, rows, data: gray ? grayStrip(data, rows * h.width, 3) : data };
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
