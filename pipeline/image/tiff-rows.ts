// Native row source for uncompressed, chunky, strip-organised TIFF (8/16-bit unsigned, 32-bit float;
// grey or RGB, alpha dropped): rows are positioned reads at strip offsets. This covers our own float
// TIFF products (which tifftopnm cannot read) and avoids tifftopnm mapping the whole file. Compressed,
// tiled, planar or exotic TIFFs go to `tifftopnm -byrow`.
import { open, type FileHandle } from 'node:fs/promises';
import { ImageFormatError } from './types.js';
import type { RowBatch, RowSource } from './formats.js';
import { batchArray, grayStrip } from './strip.js';

export interface TiffLayout {
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  /** 1 unsigned int, 3 IEEE float. */
  sampleFormat: number;
  compression: number;
  photometric: number;
  planar: number;
  tiled: boolean;
  rowsPerStrip: number;
  stripOffsets: number[];
  littleEndian: boolean;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8 };

export async function readTiffLayoutOf(path: string): Promise<TiffLayout> {
  const fh = await open(path, 'r');
  try {
    return await readTiffLayout(fh, path);
  } finally {
    await fh.close();
  }
}

export async function readTiffLayout(fh: FileHandle, path: string): Promise<TiffLayout> {
  const read = async (o: number, n: number) => {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, o);
    if (bytesRead < n) throw new ImageFormatError(path, 'truncated TIFF header');
    return b;
  };
  const head = await read(0, 8);
  const le = head.toString('latin1', 0, 2) === 'II';
  if (!le && head.toString('latin1', 0, 2) !== 'MM') throw new ImageFormatError(path, 'not a TIFF file');
  if ((le ? head.readUInt16LE(2) : head.readUInt16BE(2)) !== 42) throw new ImageFormatError(path, 'unsupported TIFF (BigTIFF or not TIFF)');
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const ifd = u32(head, 4);
  const n = u16(await read(ifd, 2), 0);
  const entries = await read(ifd + 2, n * 12);
  const tags = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const e = i * 12;
    const tag = u16(entries, e);
    const type = u16(entries, e + 2);
    const count = u32(entries, e + 4);
    if (type !== 3 && type !== 4) continue; // only SHORT/LONG tags matter here
    const size = TYPE_SIZE[type]! * count;
    if (count > 1 << 20) continue;
    const buf = size <= 4 ? entries.subarray(e + 8, e + 12) : await read(u32(entries, e + 8), size);
    const vals: number[] = [];
    for (let k = 0; k < count; k++) vals.push(type === 3 ? u16(buf, k * 2) : u32(buf, k * 4));
    tags.set(tag, vals);
  }
  const one = (t: number, d: number) => tags.get(t)?.[0] ?? d;
  const height = one(257, 0);
  return {
    width: one(256, 0),
    height,
    samplesPerPixel: one(277, 1),
    bitsPerSample: one(258, 1),
    sampleFormat: one(339, 1),
    compression: one(259, 1),
    photometric: one(262, 1),
    planar: one(284, 1),
    tiled: tags.has(322),
    rowsPerStrip: Math.min(one(278, height), height),
    stripOffsets: tags.get(273) ?? [],
    littleEndian: le,
  };
}

export function tiffStreamable(t: TiffLayout): boolean {
  const depthOk = (t.bitsPerSample === 8 || t.bitsPerSample === 16) ? t.sampleFormat === 1 : t.bitsPerSample === 32 && t.sampleFormat === 3;
  return (
    !t.tiled && t.compression === 1 && t.planar === 1 && depthOk && (t.photometric === 1 || t.photometric === 2) &&
    t.samplesPerPixel >= 1 && t.samplesPerPixel <= 4 && t.width > 0 && t.height > 0 &&
    t.stripOffsets.length === Math.ceil(t.height / t.rowsPerStrip)
  );
}

/**
 * LogLuv (SGILog) TIFF, what OpenCV writes for float32 by default: libvips decodes it with visibly
 * different colours from libtiff/OpenCV (measured: RGB 0.5/0.25/2.0 came back 0.31/0.29/2.18), so it
 * is refused rather than read wrong.
 */
export function assertNotLogLuv(t: TiffLayout, path: string): void {
  if (t.compression === 34676 || t.compression === 34677 || t.photometric === 32844 || t.photometric === 32845) {
    throw new ImageFormatError(path, 'LogLuv (SGILog) TIFF is not supported; write float TIFF uncompressed (OpenCV: [cv2.IMWRITE_TIFF_COMPRESSION, 1])');
  }
}

/** What tifftopnm reads correctly: 8/16-bit unsigned samples (any compression, tiles, planes). */
export function tifftopnmReadable(t: TiffLayout): boolean {
  return (t.bitsPerSample === 8 || t.bitsPerSample === 16) && t.sampleFormat === 1 && t.compression !== 34676 && t.compression !== 34677;
}

/**
 * Native row source when the layout allows; otherwise null with the layout, so the caller can pick
 * tifftopnm (integer samples) or a whole decode through sharp (float/LogLuv/signed).
 */
export async function openTiffRowSource(path: string, opts: { grayscale?: boolean } = {}): Promise<RowSource | TiffLayout> {
  const fh = await open(path, 'r');
  let t: TiffLayout;
  try {
    t = await readTiffLayout(fh, path);
  } catch (err) {
    await fh.close();
    throw err;
  }
  if (!tiffStreamable(t)) {
    await fh.close();
    assertNotLogLuv(t, path);
    return t;
  }
  const spp = t.samplesPerPixel;
  const bytes = t.bitsPerSample / 8;
  const rowBytes = t.width * spp * bytes;
  const colour = t.photometric === 2 && spp >= 3;
  const keep = colour ? 3 : 1; // alpha / extra samples dropped
  const channels = opts.grayscale ? 1 : keep;
  const size = (await fh.stat()).size;
  const lastStrip = t.stripOffsets.length - 1;
  const lastRows = t.height - lastStrip * t.rowsPerStrip;
  if (t.stripOffsets[lastStrip]! + lastRows * rowBytes > size) {
    await fh.close();
    throw new ImageFormatError(path, `truncated TIFF data (${size} bytes)`);
  }
  let y = 0;
  let closed = false;
  let buf = Buffer.alloc(0);
  return {
    path,
    width: t.width,
    height: t.height,
    channels,
    bitDepth: t.bitsPerSample === 32 ? 32 : (t.bitsPerSample as 8 | 16),
    meta: {},
    async readRows(maxRows: number, into?: Float32Array): Promise<RowBatch | null> {
      if (y >= t.height) return null;
      if (closed) throw new ImageFormatError(path, 'row source is closed');
      const rows = Math.max(1, Math.min(Math.floor(maxRows), t.height - y));
      if (buf.length < rows * rowBytes) buf = Buffer.alloc(rows * rowBytes);
      // rows of one strip are contiguous: one read per strip touched
      for (let r = 0; r < rows; ) {
        const yy = y + r;
        const strip = Math.floor(yy / t.rowsPerStrip);
        const inStrip = yy - strip * t.rowsPerStrip;
        const k = Math.min(rows - r, t.rowsPerStrip - inStrip);
        const { bytesRead } = await fh.read(buf, r * rowBytes, k * rowBytes, t.stripOffsets[strip]! + inStrip * rowBytes);
        if (bytesRead < k * rowBytes) throw new ImageFormatError(path, `truncated TIFF data at row ${yy}`);
        r += k;
      }
      const px = rows * t.width;
      let data: Float32Array = opts.grayscale && keep === 3 ? new Float32Array(px * keep) : batchArray(px * keep, into);
      const view = new DataView(buf.buffer, buf.byteOffset, rows * rowBytes);
      const le = t.littleEndian;
      for (let p = 0; p < px; p++) {
        for (let c = 0; c < keep; c++) {
          const o = (p * spp + c) * bytes;
          data[p * keep + c] = bytes === 1 ? buf[o]! / 255 : bytes === 2 ? view.getUint16(o, le) / 65535 : view.getFloat32(o, le);
        }
      }
      if (opts.grayscale && keep === 3) data = grayStrip(data, px, 3);
      y += rows;
      return { y0: y - rows, rows, data };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}
