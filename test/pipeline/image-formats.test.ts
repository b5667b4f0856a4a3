// Debayer, camera RAW (a synthetic DNG through dcraw_emu), EXIF exposure time, FITS BAYERPAT.
import test from 'ava';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { debayerImage, StripDebayer, shiftPattern, bayerPatternFromCards, type BayerPattern } from '../../pipeline/image/debayer.js';
import { readExif, readExifBlock, readExposureTime, parseTiffExif } from '../../pipeline/image/exif.js';
import { readImage } from '../../pipeline/image/read.js';
import { openRowSink, openRowSource } from '../../pipeline/image/rows.js';
import { writeFits } from '../../pipeline/image/fits.js';
import { createImage, type ImageF32 } from '../../pipeline/image/types.js';
import { tempDir } from '../helpers/tmp.js';
import { requireCommand } from '../helpers/system.js';

const SITES: Record<BayerPattern, number[]> = { RGGB: [0, 1, 1, 2], BGGR: [2, 1, 1, 0], GRBG: [1, 0, 2, 1], GBRG: [1, 2, 0, 1] };

/** Mosaic of a smooth RGB scene (linear in x and y per channel, so bilinear is exact inside). */
function mosaic(width: number, height: number, pattern: BayerPattern, scene: (x: number, y: number, c: number) => number): ImageF32 {
  const img = createImage(width, height, 1, 16);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data[y * width + x] = scene(x, y, SITES[pattern][((y & 1) << 1) | (x & 1)]!);
  return img;
}

const linear = (x: number, y: number, c: number) => 0.1 + 0.01 * x * (c + 1) + 0.005 * y * (3 - c);

for (const pattern of ['RGGB', 'BGGR', 'GRBG', 'GBRG'] as const) {
  test(`bilinear debayer recovers a linear scene exactly inside (${pattern}), strips match whole`, (t) => {
    const w = 24;
    const h = 18;
    const m = mosaic(w, h, pattern, linear);
    const rgb = debayerImage(m, pattern);
    t.is(rgb.channels, 3);
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        for (let c = 0; c < 3; c++) t.true(Math.abs(rgb.data[(y * w + x) * 3 + c]! - linear(x, y, c)) < 1e-5, `${x},${y},${c}`);
      }
    }
    // strips of uneven height give the same result as the whole image
    const deb = new StripDebayer(w, h, pattern);
    const out = new Float32Array(w * h * 3);
    let y = 0;
    for (const rows of [1, 5, 2, 7, 3]) {
      const r = deb.push(m.data.subarray(y * w, (y + rows) * w), rows);
      out.set(r.data, r.y0 * w * 3);
      y += rows;
    }
    const last = deb.finish();
    t.is(last.y0, h - 1);
    out.set(last.data, last.y0 * w * 3);
    t.deepEqual(Array.from(out), Array.from(rgb.data));
  });
}

test('Bayer pattern offsets and FITS cards', (t) => {
  t.is(shiftPattern('RGGB', 1, 0), 'GRBG');
  t.is(shiftPattern('RGGB', 0, 1), 'GBRG');
  t.is(shiftPattern('RGGB', 1, 1), 'BGGR');
  t.is(bayerPatternFromCards({ BAYERPAT: 'RGGB', XBAYROFF: 1 }), 'GRBG');
  t.is(bayerPatternFromCards({ BAYERPAT: 'NONE' }), null);
  t.is(bayerPatternFromCards({}), null);
});

test('FITS with BAYERPAT debayers in readImage and in the row source when asked', async (t) => {
  const dir = await tempDir(t);
  const w = 20;
  const h = 14;
  const m = mosaic(w, h, 'GBRG', linear);
  const p = join(dir, 'm.fits');
  await writeFits(p, m, { bitpix: -32, cards: { BAYERPAT: 'GBRG' } });
  const plain = await readImage(p);
  t.is(plain.channels, 1);
  const rgb = await readImage(p, { debayer: true });
  t.is(rgb.channels, 3);
  t.deepEqual(Array.from(rgb.data), Array.from(debayerImage(m, 'GBRG').data));
  const src = await openRowSource(p, { debayer: true });
  t.is(src.channels, 3);
  const got = new Float32Array(w * h * 3);
  let n = 0;
  for (let b = await src.readRows(4); b; b = await src.readRows(4)) {
    got.set(b.data, b.y0 * w * 3);
    n += b.rows;
  }
  await src.close();
  t.is(n, h);
  t.deepEqual(Array.from(got), Array.from(rgb.data));
  const gray = await openRowSource(p, { debayer: true, grayscale: true });
  t.is(gray.channels, 1);
  await gray.close();
});

test('EXIF ExposureTime from a JPEG (sharp block) and none from a PNG without EXIF', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'e.jpg');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: 'grey' } })
    .withExif({ IFD0: { Make: 'ZWO', Model: 'ASI178MC' }, IFD2: { ExposureTime: '1/250', FNumber: '28/10', ISOSpeedRatings: '400', DateTimeOriginal: '2026:01:02 03:04:05' } })
    .jpeg()
    .toFile(p);
  t.is(await readExposureTime(p), 0.004);
  t.deepEqual(await readExif(p), { make: 'ZWO', model: 'ASI178MC', exposureTime: 0.004, fNumber: 2.8, iso: 400, dateTimeOriginal: '2026:01:02 03:04:05' });
  const q = join(dir, 'n.png');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: 'grey' } }).png().toFile(q);
  t.is(await readExposureTime(q), null);
  const f = join(dir, 'f.fits');
  await writeFits(f, createImage(4, 4, 1, 16), { cards: { EXPTIME: 30 } });
  t.is(await readExposureTime(f), 30);
});

test('JPEG sink embeds the EXIF block of a source frame', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const first = join(dir, 'first.jpg');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: 'grey' } })
    .withExif({ IFD0: { Make: 'Canon', Model: 'EOS R' }, IFD2: { ExposureTime: '1/60' } })
    .jpeg()
    .toFile(first);
  const exif = await readExifBlock(first);
  t.truthy(exif);
  const out = join(dir, 'stack.jpg');
  const sink = await openRowSink(out, { width: 20, height: 10, channels: 3, exif: exif! });
  await sink.writeRows(new Float32Array(20 * 10 * 3).fill(0.5), 10);
  await sink.finish();
  t.like(await readExif(out), { make: 'Canon', model: 'EOS R' });
  t.is(await readExposureTime(out), 1 / 60);
  const img = await readImage(out);
  t.is(img.width, 20);
  t.true(Math.abs(img.data[0]! - 0.5) < 0.01);
  await t.throwsAsync(openRowSink(join(dir, 'bad.jpg'), { width: 2, height: 2, channels: 3, exif: Buffer.from('nope') }), { message: /bad\.jpg: exif must start/ });
});

// --- a minimal DNG (uncompressed 16-bit CFA) so the RAW path runs without shipping camera files ----

interface TiffTag { tag: number; type: number; values: number[] | string }

function buildTiff(ifd0: TiffTag[], exif: TiffTag[], pixels: Buffer, bigEndian = false): Buffer {
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

test('camera RAW (synthetic DNG) reads through dcraw_emu as 16-bit RGB; EXIF from the TIFF structure', async (t) => {
  requireCommand('dcraw_emu', 'libraw-bin');
  const dir = await tempDir(t);
  const w = 64;
  const h = 48;
  // flat grey scene at 40 % of white: every CFA site the same value
  const pixels = Buffer.alloc(w * h * 2);
  for (let i = 0; i < w * h; i++) pixels.writeUInt16LE(Math.round(0.4 * 65535), i * 2);
  const ifd0: TiffTag[] = [
    { tag: 254, type: 4, values: [0] },
    { tag: 256, type: 4, values: [w] },
    { tag: 257, type: 4, values: [h] },
    { tag: 258, type: 3, values: [16] },
    { tag: 259, type: 3, values: [1] },
    { tag: 262, type: 3, values: [32803] },
    { tag: 271, type: 2, values: 'Skyrig' },
    { tag: 272, type: 2, values: 'Synthetic DNG' },
    { tag: 273, type: 4, values: [0] },
    { tag: 277, type: 3, values: [1] },
    { tag: 278, type: 4, values: [h] },
    { tag: 279, type: 4, values: [w * h * 2] },
    { tag: 284, type: 3, values: [1] },
    { tag: 33421, type: 3, values: [2, 2] },
    { tag: 33422, type: 1, values: [0, 1, 1, 2] },
    { tag: 50706, type: 1, values: [1, 4, 0, 0] },
    { tag: 50708, type: 2, values: 'Skyrig Synthetic' },
    { tag: 50717, type: 4, values: [65535] },
    { tag: 50721, type: 10, values: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
    { tag: 50728, type: 5, values: [1, 1, 1] },
  ];
  const exif: TiffTag[] = [{ tag: 0x829a, type: 5, values: [0.5] }];
  const p = join(dir, 'frame.dng');
  await writeFile(p, buildTiff(ifd0, exif, pixels));
  t.is(await readExposureTime(p), 0.5);
  t.is((await readExif(p)).model, 'Synthetic DNG');
  const img = await readImage(p);
  t.is(img.channels, 3);
  t.is(img.bitDepth, 16);
  t.is(img.width, w);
  t.is(img.height, h);
  // linear output of a flat field: one value per channel, near 0.4 after camera WB (neutral here)
  const mean = [0, 0, 0];
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) mean[c]! += img.data[i * 3 + c]! / (w * h);
  for (const m of mean) t.true(m > 0.2 && m < 0.8, `channel mean ${m}`);
  const half = await readImage(p, { rawHalfSize: true });
  t.is(half.width, w / 2);
  t.is(half.height, h / 2);
  // big-endian TIFF structures parse too
  const be = buildTiff(ifd0, exif, pixels, true);
  t.is((await parseTiffExif(async (o, n) => be.subarray(o, o + n))).exposureTime, 0.5);
});

test('corrupt RAW is a one-line error naming the file', async (t) => {
  requireCommand('dcraw_emu', 'libraw-bin');
  const dir = await tempDir(t);
  const p = join(dir, 'bad.cr2');
  await writeFile(p, Buffer.alloc(5000, 7));
  const err = await t.throwsAsync(readImage(p));
  t.regex(err!.message, /bad\.cr2: dcraw_emu/);
  t.false(err!.message.includes('\n'));
});
