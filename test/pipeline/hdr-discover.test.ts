import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { findBrackets, mergeBracket, type CameraResponse } from '../../pipeline/hdr/index.js';
import { readExposureTime } from '../../pipeline/hdr/exif.js';
import { writeFits } from '../../pipeline/image/fits.js';
import { readFits } from '../../pipeline/image/fits.js';
import { makeScene, renderFrame, cameraCurve } from '../../pipeline/hdr/synth.js';
import { tempDir } from '../helpers/tmp.js';

/** APP1 Exif segment holding IFD0 → ExifIFD → ExposureTime = num/den (big-endian TIFF). */
function exifSegment(num: number, den: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4 + 2 + 12 + 4 + 8);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8); // IFD0: one entry
  tiff.writeUInt16BE(0x8769, 10);
  tiff.writeUInt16BE(4, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt32BE(26, 18); // ExifIFD offset
  tiff.writeUInt32BE(0, 22);
  tiff.writeUInt16BE(1, 26);
  tiff.writeUInt16BE(0x829a, 28);
  tiff.writeUInt16BE(5, 30); // RATIONAL
  tiff.writeUInt32BE(1, 32);
  tiff.writeUInt32BE(44, 36);
  tiff.writeUInt32BE(0, 40);
  tiff.writeUInt32BE(num, 44);
  tiff.writeUInt32BE(den, 48);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

async function jpegWithExposure(path: string, codes: Uint8Array, w: number, h: number, num: number, den: number): Promise<void> {
  const jpg = await sharp(Buffer.from(codes), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  await writeFile(path, Buffer.concat([jpg.subarray(0, 2), exifSegment(num, den), jpg.subarray(2)]));
}

test('EXIF ExposureTime fills in names without an exposure; --exposures with fractions for loose names', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(40, 30);
  await mkdir(join(dir, 'a'));
  for (const [i, den] of [250, 60, 15].entries()) await jpegWithExposure(join(dir, 'a', `2025060112000${i}.jpg`), renderFrame(scene, 1 / den), 40, 30, 1, den);
  t.is(await readExposureTime(join(dir, 'a', '20250601120000.jpg')), 1 / 250);
  const [b] = await findBrackets(join(dir, 'a'));
  t.is(b!.error, undefined);
  t.deepEqual(b!.frames.map((f) => f.exposureS), [1 / 250, 1 / 60, 1 / 15]);

  await mkdir(join(dir, 'loose'));
  for (let i = 0; i < 6; i++) await sharp(Buffer.from(renderFrame(scene, 0.01)), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(join(dir, 'loose', `IMG_000${i}.png`));
  const loose = await findBrackets(join(dir, 'loose'), { exposures: [1 / 1000, 1 / 250, 1 / 60] });
  t.is(loose.length, 2);
  t.deepEqual(loose[0]!.frames.map((f) => f.exposureS), [1 / 1000, 1 / 250, 1 / 60]);
  t.is(loose[0]!.stamp, 'IMG_0000');
  const noExpo = await findBrackets(join(dir, 'loose'));
  t.regex(noExpo[0]!.error!, /no exposure time in the name or EXIF \(use --exposures\)/);
});

test('grouping by --round: rounded to the nearest window as asi_core (or floored); seconds and ms units', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(16, 12);
  const px = Buffer.from(renderFrame(scene, 0.01));
  for (const name of ['20250601120010_1.png', '20250601120020_4.png', '20250601120040_16.png', '20250601120050_64.png'])
    await sharp(px, { raw: { width: 16, height: 12, channels: 3 } }).png().toFile(join(dir, name));
  // Rounded: :10 → :00, :20 and :40 → :30, :50 → 01:00 (30 s); :10 :20 → 00, :40 :50 → 01 (1 min).
  const b30 = await findBrackets(dir, { roundS: 30, expoUnit: 'ms' });
  t.deepEqual(b30.map((b) => [b.stamp, b.frames.length]), [['20250601120000', 1], ['20250601120030', 2], ['20250601120100', 1]]);
  const b60 = await findBrackets(dir, { roundS: 60, expoUnit: 's' });
  t.deepEqual(b60.map((b) => [b.stamp, b.frames.map((f) => f.exposureS)]), [['20250601120000', [1, 4]], ['20250601120100', [16, 64]]]);
  // Floored (the window start): 30 s splits the minute in two, 1 min joins all four.
  const f30 = await findBrackets(dir, { roundS: 30, expoUnit: 'ms', grouping: 'floor' });
  t.deepEqual(f30.map((b) => [b.stamp, b.frames.length]), [['20250601120000', 2], ['20250601120030', 2]]);
  const f60 = await findBrackets(dir, { roundS: 60, expoUnit: 's', grouping: 'floor' });
  t.deepEqual(f60.map((b) => [b.stamp, b.frames.map((f) => f.exposureS)]), [['20250601120000', [1, 4, 16, 64]]]);
});

test('16-bit PNG and FITS brackets merge to the same radiance as 8-bit (fractional codes interpolated)', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(48, 32, { lnMin: 0, lnMax: 5 });
  const times = [1 / 128, 1 / 16, 1 / 2];
  const g = Float32Array.from({ length: 256 * 3 }, (_, i) => {
    // exact inverse of the synthetic camera curve (noise-free frames below)
    const z = Math.floor(i / 3);
    let lo = 0;
    let hi = 1;
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      if (cameraCurve(mid) * 255 < Math.max(0.5, z)) lo = mid;
      else hi = mid;
    }
    return Math.log(Math.max(1e-6, (lo + hi) / 2));
  });
  const response: CameraResponse = { channels: 3, g, metadata: {} };
  for (const kind of ['png16', 'fits']) await mkdir(join(dir, kind));
  for (const t0 of times) {
    const us = Math.round(t0 * 1e6);
    const v = new Float32Array(scene.radiance.length);
    for (let i = 0; i < v.length; i++) v[i] = cameraCurve(Math.min(1, scene.radiance[i]! * t0));
    const u16 = Uint16Array.from(v, (x) => Math.round(x * 65535));
    await sharp(u16, { raw: { width: 48, height: 32, channels: 3 } }).toColourspace('rgb16').png().toFile(join(dir, 'png16', `20250601120000_${us}.png`));
    await writeFits(join(dir, 'fits', `20250601120000_${us}.fits`), { width: 48, height: 32, channels: 3, bitDepth: 16, data: v }, { bitpix: 16 });
  }
  for (const kind of ['png16', 'fits']) {
    const [b] = await findBrackets(join(dir, kind));
    t.is(b!.error, undefined, kind);
    const r = await mergeBracket(b!.frames, join(dir, `${kind}-out`), { response, formats: ['fits'] });
    const img = (await readFits(r.outputs.fits!)).image;
    let s2 = 0;
    for (let i = 0; i < img.data.length; i++) s2 += (Math.log(img.data[i]!) - Math.log(scene.radiance[i]!)) ** 2;
    const rmse = Math.sqrt(s2 / img.data.length);
    t.true(rmse < 0.02, `${kind}: ln RMSE ${rmse}`);
  }
  t.true((await readFile(join(dir, 'fits-out.fits'))).length > 2880);
});
