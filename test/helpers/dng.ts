// A minimal DNG writer (uncompressed 16-bit CFA in one strip) so the camera-RAW paths run through
// the real LibRaw/dcraw decoders without shipping camera files.
import { writeFile } from 'node:fs/promises';

export interface TiffTag { tag: number; type: number; values: number[] | string }

export function buildTiff(ifd0: TiffTag[], exif: TiffTag[], pixels: Buffer, bigEndian = false): Buffer {
  const size = (t: TiffTag) => (typeof t.values === 'string' ? t.values.length + 1 : t.values.length * ({ 1: 1, 3: 2, 4: 4, 5: 8, 10: 8 } as Record<number, number>)[t.type]!);
  const ifdLen = (n: number) => 2 + n * 12 + 4;
  // layout: header | ifd0 | exif ifd | out-of-line values | pixels
  const all = [...ifd0, ...exif];
  const exifAt = 8 + ifdLen(ifd0.length + 1);
  let extra = exifAt + ifdLen(exif.length);
  const where = new Map<TiffTag, number>();
  for (const t of all) if (size(t) > 4) { where.set(t, extra); extra += size(t) + (size(t) & 1); }
  const pixelsAt = extra;
  const buf = Buffer.alloc(pixelsAt + pixels.length);
  const u16 = (v: number, o: number) => (bigEndian ? buf.writeUInt16BE(v, o) : buf.writeUInt16LE(v, o));
  const u32 = (v: number, o: number) => (bigEndian ? buf.writeUInt32BE(v, o) : buf.writeUInt32LE(v, o));
  const i32 = (v: number, o: number) => (bigEndian ? buf.writeInt32BE(v, o) : buf.writeInt32LE(v, o));
  buf.write(bigEndian ? 'MM' : 'II', 0, 'latin1');
  u16(42, 2);
  u32(8, 4);
  const writeIfd = (at: number, tags: TiffTag[]) => {
    const sorted = [...tags].sort((a, b) => a.tag - b.tag);
    u16(sorted.length, at);
    sorted.forEach((t, i) => {
      const e = at + 2 + i * 12;
      u16(t.tag, e);
      u16(t.type, e + 2);
      u32(typeof t.values === 'string' ? t.values.length + 1 : t.values.length, e + 4);
      const base = where.get(t) ?? e + 8;
      if (where.has(t)) u32(base, e + 8);
      if (typeof t.values === 'string') buf.write(t.values, base, 'latin1');
      else t.values.forEach((v, k) => {
        if (t.type === 1) buf[base + k] = v;
        else if (t.type === 3) u16(v, base + 2 * k);
        else if (t.type === 4) u32(v, base + 4 * k);
        else if (t.type === 5) { u32(Math.round(v * 1e6), base + 8 * k); u32(1e6, base + 8 * k + 4); }
        else { i32(Math.round(v * 1e4), base + 8 * k); i32(1e4, base + 8 * k + 4); }
      });
    });
    u32(0, at + 2 + sorted.length * 12);
  };
  writeIfd(8, [...ifd0, { tag: 0x8769, type: 4, values: [exifAt] }]);
  writeIfd(exifAt, exif);
  pixels.copy(buf, pixelsAt);
  // patch StripOffsets now that the pixel offset is known
  const so = ifd0.find((t) => t.tag === 273)!;
  const idx = [...ifd0, { tag: 0x8769, type: 4, values: [] }].sort((a, b) => a.tag - b.tag).indexOf(so);
  u32(pixelsAt, 8 + 2 + idx * 12 + 8);
  return buf;
}


export interface DngOptions {
  /** CFA pattern of the 2×2 cell, colour indices 0=R 1=G 2=B (default RGGB). */
  cfa?: [number, number, number, number];
  exposureS?: number;
  iso?: number;
  model?: string;
  blackLevel?: number;
  whiteLevel?: number;
  /** EXIF DateTimeOriginal, "YYYY:MM:DD HH:MM:SS". */
  dateTime?: string;
}

/** The IFD0 and EXIF tags of a DNG holding a w×h 16-bit mosaic. */
export function dngTags(w: number, h: number, o: DngOptions = {}): { ifd0: TiffTag[]; exif: TiffTag[] } {
  const ifd0: TiffTag[] = [
    { tag: 254, type: 4, values: [0] },
    { tag: 256, type: 4, values: [w] },
    { tag: 257, type: 4, values: [h] },
    { tag: 258, type: 3, values: [16] },
    { tag: 259, type: 3, values: [1] },
    { tag: 262, type: 3, values: [32803] },
    { tag: 271, type: 2, values: 'Skyrig' },
    { tag: 272, type: 2, values: o.model ?? 'Synthetic DNG' },
    { tag: 273, type: 4, values: [0] },
    { tag: 277, type: 3, values: [1] },
    { tag: 278, type: 4, values: [h] },
    { tag: 279, type: 4, values: [w * h * 2] },
    { tag: 284, type: 3, values: [1] },
    { tag: 33421, type: 3, values: [2, 2] },
    { tag: 33422, type: 1, values: o.cfa ?? [0, 1, 1, 2] },
    { tag: 50706, type: 1, values: [1, 4, 0, 0] },
    { tag: 50708, type: 2, values: `Skyrig ${o.model ?? 'Synthetic'}` },
    { tag: 50717, type: 4, values: [o.whiteLevel ?? 65535] },
    { tag: 50721, type: 10, values: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
    { tag: 50728, type: 5, values: [1, 1, 1] },
  ];
  if (o.blackLevel) ifd0.push({ tag: 50714, type: 4, values: [o.blackLevel] });
  const exif: TiffTag[] = [{ tag: 0x829a, type: 5, values: [o.exposureS ?? 1] }];
  if (o.iso) exif.push({ tag: 0x8827, type: 3, values: [o.iso] });
  if (o.dateTime) exif.push({ tag: 0x9003, type: 2, values: o.dateTime });
  return { ifd0, exif };
}

/** Write a w×h mosaic (raw counts, row-major) as an uncompressed DNG. */
export async function writeDng(path: string, mosaic: Uint16Array, w: number, h: number, o: DngOptions = {}): Promise<void> {
  const px = Buffer.alloc(w * h * 2);
  for (let i = 0; i < w * h; i++) px.writeUInt16LE(mosaic[i]!, i * 2);
  const { ifd0, exif } = dngTags(w, h, o);
  await writeFile(path, buildTiff(ifd0, exif, px));
}
