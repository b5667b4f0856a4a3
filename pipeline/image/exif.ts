// The few EXIF fields bracket grouping and product metadata need (exposure time, aperture, ISO, date,
// camera), parsed from the TIFF-structured EXIF block ourselves. JPEG's APP1 segment and TIFF-based
// files (TIFF, DNG, CR2, NEF, ARW) are read directly by positioned reads; sharp hands PNG/WebP EXIF
// over as raw bytes.
import { open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { loadSharp } from '../../lib/sharp.js';
import { readFitsHeader } from './fits.js';
import { isFitsPath } from './formats.js';

export interface ExifInfo {
  /** Seconds. */
  exposureTime?: number;
  fNumber?: number;
  iso?: number;
  /** 'YYYY:MM:DD HH:MM:SS' as stored. */
  dateTimeOriginal?: string;
  make?: string;
  model?: string;
}

type ReadAt = (offset: number, length: number) => Promise<Buffer>;

const TAG = {
  make: 0x010f,
  model: 0x0110,
  exifIfd: 0x8769,
  exposureTime: 0x829a,
  fNumber: 0x829d,
  iso: 0x8827,
  dateTimeOriginal: 0x9003,
};

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8, 11: 4, 12: 8 };

interface Entry {
  type: number;
  count: number;
  value: Buffer; // the value bytes (inline or fetched)
}

async function readIfd(read: ReadAt, offset: number, le: boolean): Promise<Map<number, Entry>> {
  const out = new Map<number, Entry>();
  const countBuf = await read(offset, 2);
  if (countBuf.length < 2) return out;
  const n = le ? countBuf.readUInt16LE(0) : countBuf.readUInt16BE(0);
  if (n > 1000) return out; // not an IFD
  const entries = await read(offset + 2, n * 12);
  for (let i = 0; i + 12 <= entries.length; i += 12) {
    const tag = le ? entries.readUInt16LE(i) : entries.readUInt16BE(i);
    const type = le ? entries.readUInt16LE(i + 2) : entries.readUInt16BE(i + 2);
    const count = le ? entries.readUInt32LE(i + 4) : entries.readUInt32BE(i + 4);
    const size = (TYPE_SIZE[type] ?? 1) * count;
    if (size > 1 << 16) continue;
    let value: Buffer;
    if (size <= 4) value = entries.subarray(i + 8, i + 8 + size);
    else value = await read(le ? entries.readUInt32LE(i + 8) : entries.readUInt32BE(i + 8), size);
    out.set(tag, { type, count, value });
  }
  return out;
}

function num(e: Entry | undefined, le: boolean): number | undefined {
  if (!e || e.value.length === 0) return undefined;
  const v = e.value;
  switch (e.type) {
    case 3:
      return le ? v.readUInt16LE(0) : v.readUInt16BE(0);
    case 4:
      return le ? v.readUInt32LE(0) : v.readUInt32BE(0);
    case 5:
    case 10: {
      if (v.length < 8) return undefined;
      const signed = e.type === 10;
      const a = signed ? (le ? v.readInt32LE(0) : v.readInt32BE(0)) : le ? v.readUInt32LE(0) : v.readUInt32BE(0);
      const b = signed ? (le ? v.readInt32LE(4) : v.readInt32BE(4)) : le ? v.readUInt32LE(4) : v.readUInt32BE(4);
      return b === 0 ? undefined : a / b;
    }
    default:
      return undefined;
  }
}

function str(e: Entry | undefined): string | undefined {
  if (!e || e.type !== 2) return undefined;
  const s = e.value.toString('latin1').replace(/\0.*$/s, '').trim();
  return s || undefined;
}

/** Parse a TIFF-structured block (an EXIF payload or a whole TIFF-based file) through `read`. */
export async function parseTiffExif(read: ReadAt): Promise<ExifInfo> {
  const head = await read(0, 8);
  if (head.length < 8) return {};
  const order = head.subarray(0, 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return {};
  const le = order === 'II';
  const ifd0 = await readIfd(read, le ? head.readUInt32LE(4) : head.readUInt32BE(4), le);
  const info: ExifInfo = { make: str(ifd0.get(TAG.make)), model: str(ifd0.get(TAG.model)) };
  // some RAWs keep exposure in IFD0 too
  info.exposureTime = num(ifd0.get(TAG.exposureTime), le);
  const exifPtr = num(ifd0.get(TAG.exifIfd), le);
  if (exifPtr) {
    const exif = await readIfd(read, exifPtr, le);
    info.exposureTime = num(exif.get(TAG.exposureTime), le) ?? info.exposureTime;
    info.fNumber = num(exif.get(TAG.fNumber), le);
    info.iso = num(exif.get(TAG.iso), le);
    info.dateTimeOriginal = str(exif.get(TAG.dateTimeOriginal));
  }
  for (const k of Object.keys(info) as (keyof ExifInfo)[]) if (info[k] === undefined) delete info[k];
  return info;
}

/** EXIF from an in-memory block as sharp returns it ("Exif\0\0" + TIFF). */
export async function parseExifBlock(block: Buffer): Promise<ExifInfo> {
  const tiff = block.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? block.subarray(6) : block;
  return parseTiffExif(async (o, n) => tiff.subarray(o, o + n));
}

/** EXIF of an image file: TIFF-based files (TIFF, DNG, CR2, NEF, ARW…) and JPEG directly, others through sharp. */
export async function readExif(path: string): Promise<ExifInfo> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const sig = head.toString('latin1');
    if (sig === 'II*\0' || sig === 'MM\0*' || sig === 'IIRO' || sig === 'IIU\0') {
      return await parseTiffExif(async (o, n) => {
        const b = Buffer.alloc(n);
        const { bytesRead } = await fh.read(b, 0, n, o);
        return b.subarray(0, bytesRead);
      });
    }
    if (head[0] === 0xff && head[1] === 0xd8) {
      const block = await jpegExifSegment(fh);
      return block ? await parseExifBlock(block) : {};
    }
  } finally {
    await fh.close();
  }
  try {
    const sharp = await loadSharp();
    const meta = await sharp(path).metadata();
    return meta.exif ? await parseExifBlock(meta.exif) : {};
  } catch {
    return {}; // not an image sharp knows, so no EXIF: callers fall back to names or explicit lists
  }
}

/** The raw EXIF block of a JPEG/PNG/WebP/TIFF ("Exif\0\0" + TIFF), to copy into a product; null if none. */
export async function readExifBlock(path: string): Promise<Buffer | null> {
  try {
    const fh = await open(path, 'r');
    try {
      const head = Buffer.alloc(2);
      await fh.read(head, 0, 2, 0);
      if (head[0] === 0xff && head[1] === 0xd8) return await jpegExifSegment(fh);
    } finally {
      await fh.close();
    }
    const sharp = await loadSharp();
    const exif = (await sharp(path).metadata()).exif;
    if (!exif || exif.length === 0) return null;
    return exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif : Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exif]);
  } catch {
    return null;
  }
}

/**
 * A JPEG's APP1 "Exif\0\0" segment payload (as sharp's metadata().exif gives it), read from the
 * markers before the first scan; null when there is none. The header walk reads a few bytes per
 * segment, so the camera's EXIF costs no image decoding and no libvips start.
 */
async function jpegExifSegment(fh: FileHandle): Promise<Buffer | null> {
  const mark = Buffer.alloc(4);
  let pos = 2;
  for (;;) {
    const { bytesRead } = await fh.read(mark, 0, 4, pos);
    if (bytesRead < 4 || mark[0] !== 0xff) return null;
    const marker = mark[1]!;
    // Fill bytes before a marker.
    if (marker === 0xff) {
      pos += 1;
      continue;
    }
    // Start of scan, end of image, or a marker with no length: no EXIF ahead of the image data.
    if (marker === 0xda || marker === 0xd9 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) return null;
    const len = mark.readUInt16BE(2);
    if (len < 2) return null;
    if (marker === 0xe1 && len >= 8) {
      const payload = Buffer.alloc(len - 2);
      const got = (await fh.read(payload, 0, len - 2, pos + 4)).bytesRead;
      if (got === len - 2 && payload.subarray(0, 6).toString('latin1') === 'Exif\0\0') return payload;
    }
    pos += 2 + len;
  }
}

export function checkExifBlock(exif: Uint8Array, path: string): void {
  const b = Buffer.from(exif.buffer, exif.byteOffset, exif.byteLength);
  if (b.subarray(0, 6).toString('latin1') !== 'Exif\0\0') throw new Error(`${path}: exif must start with "Exif\\0\\0" (as sharp's metadata().exif)`);
  if (b.length + 2 > 0xffff) throw new Error(`${path}: exif block of ${b.length} bytes does not fit one APP1 segment`);
}

/**
 * Put an APP1 EXIF segment into a JPEG file: after SOI and a JFIF APP0 if there is one, replacing any
 * existing EXIF APP1. The file is small next to the frame it encodes, so it is rewritten whole.
 */
export async function insertJpegExif(path: string, exif: Uint8Array): Promise<void> {
  checkExifBlock(exif, path);
  const jpg = await readFile(path);
  if (jpg[0] !== 0xff || jpg[1] !== 0xd8) throw new Error(`${path}: not a JPEG file`);
  let pos = 2;
  const keep: Buffer[] = [];
  // walk the leading APPn segments: keep APP0 (JFIF) first, drop an old EXIF APP1
  const rest: Buffer[] = [];
  while (pos + 4 <= jpg.length && jpg[pos] === 0xff && jpg[pos + 1]! >= 0xe0 && jpg[pos + 1]! <= 0xef) {
    const len = jpg.readUInt16BE(pos + 2);
    const seg = jpg.subarray(pos, pos + 2 + len);
    const isExif = jpg[pos + 1] === 0xe1 && seg.subarray(4, 10).toString('latin1') === 'Exif\0\0';
    if (jpg[pos + 1] === 0xe0 && rest.length === 0) {
      keep.push(seg);
    } else if (!isExif) rest.push(seg);
    pos += 2 + len;
  }
  const app1 = Buffer.alloc(4);
  app1[0] = 0xff;
  app1[1] = 0xe1;
  app1.writeUInt16BE(exif.byteLength + 2, 2);
  await writeFile(path, Buffer.concat([jpg.subarray(0, 2), ...keep, app1, exif, ...rest, jpg.subarray(pos)]));
}

/** Exposure time in seconds from EXIF (FITS: EXPTIME or EXPOSURE card), or null when the file has none. */
export async function readExposureTime(path: string): Promise<number | null> {
  if (isFitsPath(path)) {
    const cards = (await readFitsHeader(path)).cards;
    const v = Number(cards.EXPTIME ?? cards.EXPOSURE);
    return Number.isFinite(v) && v > 0 ? v : null;
  }
  const t = (await readExif(path)).exposureTime;
  return t !== undefined && t > 0 ? t : null;
}
