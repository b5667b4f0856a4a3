// Debayer, camera RAW (a synthetic DNG through dcraw_emu), EXIF exposure time, FITS BAYERPAT.
import test from 'ava';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { debayerImage, StripDebayer, shiftPattern, bayerPatternFromCards, type BayerPattern } from '../../pipeline/image/debayer.js';
import { readExif, readExifBlock, readExposureTime, parseTiffExif } from '../../pipeline/image/exif.js';
import { readImage } from '../../pipeline/image/read.js';
import { openRowSink, openRowSource } from '../../pipeline/image/rows.js';
import { writeFits } from '../../pipeline/image/fits.js';
import { createImage, type ImageF32 } from '../../pipeline/image/types.js';
import { tempDir } from '../helpers/tmp.js';
import { requireCommand } from '../helpers/system.js';
import { buildTiff, dngTags } from '../helpers/dng.js';

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

test('camera RAW (synthetic DNG) reads through dcraw_emu as 16-bit RGB; EXIF from the TIFF structure', async (t) => {
  requireCommand('dcraw_emu', 'libraw-bin');
  const dir = await tempDir(t);
  const w = 64;
  const h = 48;
  // flat grey scene at 40 % of white: every CFA site the same value
  const pixels = Buffer.alloc(w * h * 2);
  for (let i = 0; i < w * h; i++) pixels.writeUInt16LE(Math.round(0.4 * 65535), i * 2);
  const { ifd0, exif } = dngTags(w, h, { exposureS: 0.5 });
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

test("JPEG EXIF is read from the APP1 segment itself: the same block as sharp's metadata, none when absent or cut", async (t) => {
  // Real camera frames (focus-pcb) carry EXIF after other segments; expected.jpg has none.
  for (const name of ['pcb_001.jpg', 'pcb_002.jpg', 'expected.jpg']) {
    const p = join('..', 'shared', 'data', 'focus-pcb', name);
    const viaSharp = (await sharp(p).metadata()).exif ?? null;
    const direct = await readExifBlock(p);
    t.deepEqual(direct === null ? null : [...direct], viaSharp === null ? null : [...viaSharp], name);
  }
  const dir = await tempDir(t);
  // A JFIF APP0 and a non-EXIF APP1 (XMP-like) ahead of the EXIF one.
  const src = join(dir, 'src.jpg');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: 'grey' } })
    .withExif({ IFD0: { Make: 'ZWO' }, IFD2: { ExposureTime: '1/8' } })
    .jpeg()
    .toFile(src);
  const bytes = await readFile(src);
  const xmp = Buffer.concat([Buffer.from([0xff, 0xe1, 0x00, 0x0a]), Buffer.from('http:\0\0\0', 'latin1')]);
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const mixed = join(dir, 'mixed.jpg');
  await writeFile(mixed, Buffer.concat([bytes.subarray(0, 2), app0, xmp, bytes.subarray(2)]));
  t.is(await readExposureTime(mixed), 0.125);
  t.is((await readExif(mixed)).make, 'ZWO');
  // Cut inside the EXIF segment: no EXIF, no throw.
  const cut = join(dir, 'cut.jpg');
  await writeFile(cut, bytes.subarray(0, 30));
  t.deepEqual(await readExif(cut), {});
  t.is(await readExifBlock(cut), null);
});
