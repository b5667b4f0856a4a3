// Exposure time from file metadata, for frames whose names carry none: EXIF ExposureTime (0x829A)
// from JPEG APP1 / TIFF IFDs, FITS EXPTIME/EXPOSURE cards. Reads only the first 256 KiB.
import { open } from 'node:fs/promises';
import { isFitsPath } from '../image/read.js';
import { readFitsHeader } from '../image/fits.js';
import { assertRegularFile } from '../image/formats.js';

const TAG_EXPOSURE_TIME = 0x829a;
const TAG_EXIF_IFD = 0x8769;

/** ExposureTime in seconds from a TIFF-structured EXIF block (starts with II*\0 or MM\0*), or null. */
export function exposureFromTiffBlock(b: Buffer): number | null {
  if (b.length < 8) return null;
  const le = b.toString('latin1', 0, 2) === 'II';
  if (!le && b.toString('latin1', 0, 2) !== 'MM') return null;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const seen = new Set<number>();
  const walk = (ifd: number): number | null => {
    if (ifd <= 0 || ifd + 2 > b.length || seen.has(ifd)) return null;
    seen.add(ifd);
    const n = u16(ifd);
    let exifIfd = 0;
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + i * 12;
      if (e + 12 > b.length) return null;
      const tag = u16(e);
      if (tag === TAG_EXPOSURE_TIME) {
        const off = u32(e + 8);
        if (off + 8 > b.length) return null;
        const num = u32(off);
        const den = u32(off + 4);
        return den > 0 && num > 0 ? num / den : null;
      }
      if (tag === TAG_EXIF_IFD) exifIfd = u32(e + 8);
    }
    return exifIfd ? walk(exifIfd) : null;
  };
  return walk(u32(4));
}

/** Scan JPEG markers for the APP1 Exif segment. */
export function exposureFromJpeg(b: Buffer): number | null {
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    const marker = b[p + 1]!;
    if (marker === 0xda || marker === 0xd9) return null;
    const len = b.readUInt16BE(p + 2);
    if (marker === 0xe1 && b.toString('latin1', p + 4, p + 10) === 'Exif\0\0') return exposureFromTiffBlock(b.subarray(p + 10, p + 2 + len));
    p += 2 + len;
  }
  return null;
}

export async function readExposureTime(path: string): Promise<number | null> {
  if (isFitsPath(path)) {
    try {
      const h = await readFitsHeader(path);
      for (const key of ['EXPTIME', 'EXPOSURE']) {
        const v = Number(h.cards[key]);
        if (v > 0) return v;
      }
    } catch {
      return null;
    }
    return null;
  }
  await assertRegularFile(path); // a FIFO would block open() forever
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(256 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const b = buf.subarray(0, bytesRead);
    return exposureFromJpeg(b) ?? exposureFromTiffBlock(b);
  } finally {
    await fh.close();
  }
}
