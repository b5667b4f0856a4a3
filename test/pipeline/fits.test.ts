import test from 'ava';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { readFits, writeFits } from '../../pipeline/image/fits.js';
import { readImage } from '../../pipeline/image/read.js';
import { writeImage } from '../../pipeline/image/write.js';
import { createImage } from '../../pipeline/image/types.js';
import { tempDir } from '../helpers/tmp.js';

test('FITS 16-bit round trip keeps values and cards', async (t) => {
  const dir = await tempDir(t);
  const img = createImage(7, 5, 1, 16);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 997) % 65536 / 65535;
  const p = join(dir, 'a.fits');
  await writeFits(p, img, { cards: { EXPTIME: 1.5, OBJECT: 'M 31', ISCOLOR: false } });
  const { image, header } = await readFits(p);
  t.is(header.bitpix, 16);
  t.is(header.cards.EXPTIME, 1.5);
  t.is(header.cards.OBJECT, 'M 31');
  t.is(header.cards.ISCOLOR, false);
  for (let i = 0; i < img.data.length; i++) t.true(Math.abs(image.data[i]! - img.data[i]!) < 1e-6);
});

test('FITS float RGB round trip as planes', async (t) => {
  const dir = await tempDir(t);
  const img = createImage(4, 3, 3, 32);
  for (let i = 0; i < img.data.length; i++) img.data[i] = i * 0.25 - 1;
  const p = join(dir, 'b.fits');
  await writeFits(p, img);
  const { image, header } = await readFits(p);
  t.is(header.planes, 3);
  t.deepEqual(Array.from(image.data), Array.from(img.data));
});

test('truncated FITS names the file', async (t) => {
  const dir = await tempDir(t);
  const img = createImage(64, 64, 1, 16);
  const p = join(dir, 'c.fits');
  await writeFits(p, img);
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(p);
  await writeFile(p, bytes.subarray(0, 4000));
  const err = await t.throwsAsync(readFits(p));
  t.regex(err!.message, /c\.fits: truncated/);
});

test('PNG 16-bit and JPEG through sharp', async (t) => {
  const dir = await tempDir(t);
  const img = createImage(16, 8, 3, 16);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i % 48) / 47;
  const png = join(dir, 'x.png');
  await writeImage(png, img, { depth: 16 });
  const back = await readImage(png);
  t.is(back.bitDepth, 16);
  t.is(back.channels, 3);
  for (let i = 0; i < img.data.length; i++) t.true(Math.abs(back.data[i]! - img.data[i]!) < 1 / 65535 + 1e-6);
  const jpg = join(dir, 'x.jpg');
  await writeImage(jpg, img);
  const j = await readImage(jpg);
  t.is(j.bitDepth, 8);
  await writeFile(jpg, (await import('node:fs')).readFileSync(jpg).subarray(0, 200));
  const err = await t.throwsAsync(readImage(jpg));
  t.regex(err!.message, /x\.jpg: cannot decode/);
});
