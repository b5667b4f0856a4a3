import test from 'ava';
import { join } from 'node:path';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { openRowSource, openRowSink, type RowSource } from '../../pipeline/image/rows.js';
import { liveDecoders } from '../../pipeline/image/decoder-source.js';
import { readImage } from '../../pipeline/image/read.js';
import { writeImage } from '../../pipeline/image/write.js';
import { writeFits, readFits } from '../../pipeline/image/fits.js';
import { createImage, type ImageF32 } from '../../pipeline/image/types.js';
import { tempDir } from '../helpers/tmp.js';
import { requireCommand } from '../helpers/system.js';

function synth(width: number, height: number, channels: number, bitDepth: 8 | 16 | 32 = 8): ImageF32 {
  const img = createImage(width, height, channels, bitDepth);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        img.data[(y * width + x) * channels + c] = (0.5 + 0.45 * Math.sin(x / 7 + c) * Math.cos(y / 5 - c)) ;
      }
    }
  }
  return img;
}

async function writeUncompressedTiff(p: string, img: ImageF32, depth: 8 | 16): Promise<void> {
  const sharp = (await import('sharp')).default;
  const raw = { width: img.width, height: img.height, channels: img.channels as 1 | 3 };
  const q = depth === 16 ? Uint16Array.from(img.data, (v) => Math.round(v * 65535)) : Uint8Array.from(img.data, (v) => Math.round(v * 255));
  let s = sharp(q, { raw });
  if (depth === 16) s = s.toColourspace(img.channels === 1 ? 'grey16' : 'rgb16');
  else if (img.channels === 1) s = s.toColourspace('b-w');
  await s.tiff({ compression: 'none' }).toFile(p);
}

async function drain(src: RowSource, step: number): Promise<Float32Array> {
  const out = new Float32Array(src.width * src.height * src.channels);
  let expectY = 0;
  for (;;) {
    const b = await src.readRows(step);
    if (!b) break;
    if (b.y0 !== expectY) throw new Error(`rows out of order: ${b.y0} != ${expectY}`);
    out.set(b.data, b.y0 * src.width * src.channels);
    expectY += b.rows;
  }
  if (expectY !== src.height) throw new Error(`got ${expectY} of ${src.height} rows`);
  await src.close();
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const cases: Array<{ name: string; ext: string; channels: number; depth?: 8 | 16; tol: number; cmd: [string, string]; raw?: boolean }> = [
  { name: 'JPEG RGB', ext: 'jpg', channels: 3, tol: 2 / 255, cmd: ['djpeg', 'libjpeg-turbo-progs'] },
  { name: 'JPEG mono', ext: 'jpg', channels: 1, tol: 2 / 255, cmd: ['djpeg', 'libjpeg-turbo-progs'] },
  { name: 'PNG8 RGB', ext: 'png', channels: 3, tol: 1e-6, cmd: ['pngtopam', 'netpbm'] },
  { name: 'PNG16 RGB', ext: 'png', channels: 3, depth: 16, tol: 1e-6, cmd: ['pngtopam', 'netpbm'] },
  { name: 'PNG16 mono', ext: 'png', channels: 1, depth: 16, tol: 1e-6, cmd: ['pngtopam', 'netpbm'] },
  { name: 'TIFF16 RGB', ext: 'tif', channels: 3, depth: 16, tol: 1e-6, cmd: ['tifftopnm', 'netpbm'] },
  { name: 'TIFF8 mono', ext: 'tif', channels: 1, depth: 8, tol: 1e-6, cmd: ['tifftopnm', 'netpbm'] },
  { name: 'TIFF8 RGB uncompressed (native)', ext: 'tif', channels: 3, depth: 8, tol: 1e-6, cmd: ['tifftopnm', 'netpbm'], raw: true },
  { name: 'TIFF16 mono uncompressed (native)', ext: 'tif', channels: 1, depth: 16, tol: 1e-6, cmd: ['tifftopnm', 'netpbm'], raw: true },
];

for (const c of cases) {
  test(`row source equals readImage: ${c.name}`, async (t) => {
    requireCommand(c.cmd[0], c.cmd[1]);
    const dir = await tempDir(t);
    const p = join(dir, `a.${c.ext}`);
    if (c.raw) await writeUncompressedTiff(p, synth(61, 37, c.channels), c.depth ?? 8);
    else await writeImage(p, synth(61, 37, c.channels, c.depth ?? 8), { depth: c.depth ?? 8, quality: 92 });
    const whole = await readImage(p);
    const src = await openRowSource(p);
    t.is(src.width, 61);
    t.is(src.height, 37);
    t.is(src.channels, whole.channels);
    t.is(src.bitDepth, c.depth ?? 8);
    const rows = await drain(src, 5);
    t.true(maxDiff(rows, whole.data) <= c.tol, `max diff ${maxDiff(rows, whole.data)}`);
    // decoding into a caller's buffer gives the same rows
    const again = await openRowSource(p);
    const into = new Float32Array(61 * 6 * again.channels);
    const viaInto = new Float32Array(rows.length);
    for (let b = await again.readRows(6, into); b; b = await again.readRows(6, into)) viaInto.set(b.data, b.y0 * 61 * again.channels);
    await again.close();
    t.deepEqual(Array.from(viaInto), Array.from(rows));
    const gsrc = await openRowSource(p, { grayscale: true });
    t.is(gsrc.channels, 1);
    const g = await drain(gsrc, 8);
    const wg = await readImage(p, { grayscale: true });
    t.true(maxDiff(g, wg.data) <= c.tol, `gray max diff ${maxDiff(g, wg.data)}`);
  });
}

for (const [name, channels, bitpix] of [['mono 16-bit', 1, 16], ['RGB float', 3, -32], ['RGB 8-bit', 3, 8]] as const) {
  test(`FITS row source equals readFits: ${name}`, async (t) => {
    const dir = await tempDir(t);
    const p = join(dir, 'a.fits');
    await writeFits(p, synth(33, 21, channels, 16), { bitpix, cards: { EXPTIME: 2 } });
    const whole = await readFits(p);
    const src = await openRowSource(p);
    t.is(src.channels, channels);
    t.is(src.meta.EXPTIME, 2);
    const rows = await drain(src, 4);
    t.deepEqual(Array.from(rows), Array.from(whole.image.data));
  });
}

// serial: liveDecoders is process-wide, concurrent tests would share it
test.serial('truncated JPEG is an error naming the file, not grey rows', async (t) => {
  requireCommand('djpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const p = join(dir, 'cut.jpg');
  await writeImage(p, synth(200, 150, 3), { quality: 95 });
  const bytes = await readFile(p);
  await writeFile(p, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const err = await t.throwsAsync(async () => {
    const src = await openRowSource(p);
    try {
      await drain(src, 16);
    } finally {
      await src.close();
    }
  });
  t.regex(err!.message, /cut\.jpg: djpeg: Premature end of JPEG file/);
  t.is(err!.name, 'ImageFormatError');
  t.is(liveDecoders.size, 0);
});

// serial: liveDecoders is process-wide, concurrent tests would share it
test.serial('truncated PNG is an error naming the file', async (t) => {
  requireCommand('pngtopam', 'netpbm');
  const dir = await tempDir(t);
  const p = join(dir, 'cut.png');
  await writeImage(p, synth(200, 150, 3, 16), { depth: 16 });
  const bytes = await readFile(p);
  await writeFile(p, bytes.subarray(0, Math.floor(bytes.length * 0.5)));
  const err = await t.throwsAsync(async () => {
    const src = await openRowSource(p);
    try {
      await drain(src, 16);
    } finally {
      await src.close();
    }
  });
  t.regex(err!.message, /^.*cut\.png: /);
  t.false(err!.message.includes('\n'));
  t.is(liveDecoders.size, 0);
});

// serial: liveDecoders is process-wide, concurrent tests would share it
test.serial('close() mid-stream kills the decoder; no child is left', async (t) => {
  requireCommand('djpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const p = join(dir, 'big.jpg');
  await writeImage(p, synth(800, 600, 3), { quality: 80 });
  const src = await openRowSource(p);
  const b = await src.readRows(3);
  t.is(b!.rows, 3);
  t.is(liveDecoders.size, 1);
  const [child] = [...liveDecoders];
  await src.close();
  t.is(liveDecoders.size, 0);
  t.true(child!.exitCode !== null || child!.signalCode !== null);
  await src.close(); // twice is fine
  await t.throwsAsync(src.readRows(1), { message: /row source is closed/ });
});

test('float TIFF and Radiance products read back through openRowSource', async (t) => {
  const dir = await tempDir(t);
  const img = synth(30, 20, 3);
  for (const [name, format, tol] of [['f.tif', 'tiff-f32', 0], ['r.hdr', 'hdr', 1 / 128]] as const) {
    const p = join(dir, name);
    const sink = await openRowSink(p, { width: 30, height: 20, channels: 3, format });
    await sink.writeRows(img.data, 20);
    await sink.finish();
    const src = await openRowSource(p);
    t.is(src.bitDepth, 32);
    const back = await drain(src, 7);
    t.true(maxDiff(back, img.data) <= tol, `${name}: ${maxDiff(back, img.data)}`);
  }
});

test('sink round trips: fits-f32, fits16, tiff-f32 (through sharp), png16, png8, jpeg', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  requireCommand('pnmtopng', 'netpbm');
  const dir = await tempDir(t);
  const img = synth(45, 31, 3);
  const write = async (name: string, format: Parameters<typeof openRowSink>[1]['format'], channels = 3, data = img.data) => {
    const p = join(dir, name);
    const sink = await openRowSink(p, { width: 45, height: 31, channels, format, quality: 95, cards: { OBJECT: 'x' } });
    for (let y = 0; y < 31; y += 7) {
      const rows = Math.min(7, 31 - y);
      await sink.writeRows(data.subarray(y * 45 * channels, (y + rows) * 45 * channels), rows);
    }
    await sink.finish();
    return p;
  };
  const f32 = await readFits(await write('a.fits', 'fits-f32'));
  t.deepEqual(Array.from(f32.image.data), Array.from(img.data));
  t.is(f32.header.cards.OBJECT, 'x');
  const f16 = await readFits(await write('b.fits', 'fits16'));
  t.true(maxDiff(f16.image.data, img.data) <= 0.5 / 65535 + 1e-7);
  const tif = await readImage(await write('c.tif', 'tiff-f32'));
  t.is(tif.channels, 3);
  t.true(maxDiff(tif.data, img.data) < 1e-6, `tiff diff ${maxDiff(tif.data, img.data)}`);
  const p16 = await readImage(await write('d.png', 'png16'));
  t.is(p16.bitDepth, 16);
  t.true(maxDiff(p16.data, img.data) <= 0.5 / 65535 + 1e-7);
  const p8 = await readImage(await write('e.png', 'png8'));
  t.is(p8.bitDepth, 8);
  t.true(maxDiff(p8.data, img.data) <= 0.5 / 255 + 1e-7);
  const j = await readImage(await write('f.jpg', 'jpeg'));
  t.true(maxDiff(j.data, img.data) < 0.06);
  t.deepEqual((await readdir(dir)).sort(), ['a.fits', 'b.fits', 'c.tif', 'd.png', 'e.png', 'f.jpg']);
});

// serial: liveDecoders is process-wide, concurrent tests would share it
test.serial('sink abort deletes the temp file, keeps the old file, and kills the encoder', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const p = join(dir, 'keep.jpg');
  await writeFile(p, 'old');
  const sink = await openRowSink(p, { width: 40, height: 40, channels: 3 });
  await sink.writeRows(new Float32Array(40 * 10 * 3).fill(0.5), 10);
  t.is(liveDecoders.size, 1);
  await sink.abort();
  t.is(liveDecoders.size, 0);
  t.deepEqual(await readdir(dir), ['keep.jpg']);
  t.is(await readFile(p, 'utf8'), 'old');
  for (const format of ['fits-f32', 'tiff-f32', 'hdr'] as const) {
    const s = await openRowSink(p, { width: 40, height: 40, channels: 3, format });
    await s.writeRows(new Float32Array(40 * 3 * 3), 3);
    await s.abort();
  }
  t.deepEqual(await readdir(dir), ['keep.jpg']);
});

test('closing a PNG source mid-stream returns promptly and frees the file', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'big.png');
  await writeImage(p, synth(900, 700, 3, 16), { depth: 16 });
  const src = await openRowSource(p);
  const b = await src.readRows(2);
  t.is(b!.rows, 2);
  const t0 = Date.now();
  await src.close();
  t.true(Date.now() - t0 < 2000);
  await t.throwsAsync(src.readRows(1), { message: /row source is closed/ });
});

test('sink refuses wrong strips and an incomplete image', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'x.fits');
  const sink = await openRowSink(p, { width: 10, height: 4, channels: 1 });
  await t.throwsAsync(sink.writeRows(new Float32Array(5), 1), { message: /x\.fits: writeRows got 5 samples for 1 rows of 10x1/ });
  await sink.writeRows(new Float32Array(30), 3);
  await t.throwsAsync(sink.finish(), { message: /x\.fits: only 3 of 4 rows written/ });
  t.deepEqual(await readdir(dir), []);
});

test('PNG variants stream natively or through pngtopam and equal readImage', async (t) => {
  requireCommand('pngtopam', 'netpbm');
  const sharp = (await import('sharp')).default;
  const dir = await tempDir(t);
  const w = 57;
  const h = 23;
  const rgba = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    rgba[i * 4] = (i * 7) & 255;
    rgba[i * 4 + 1] = (i * 13) & 255;
    rgba[i * 4 + 2] = (i >> 2) & 255;
    rgba[i * 4 + 3] = 128 + (i & 127);
  }
  const raw = { raw: { width: w, height: h, channels: 4 as const } };
  const variants: Record<string, (p: string) => Promise<unknown>> = {
    rgba: (p) => sharp(rgba, raw).png().toFile(p),
    palette: (p) => sharp(rgba, raw).removeAlpha().png({ palette: true, colours: 16 }).toFile(p),
    greyAlpha: (p) => sharp(rgba, raw).toColourspace('b-w').png().toFile(p),
    interlaced: (p) => sharp(rgba, raw).removeAlpha().png({ progressive: true }).toFile(p),
  };
  for (const [name, make] of Object.entries(variants)) {
    const p = join(dir, `${name}.png`);
    await make(p);
    const whole = await readImage(p);
    const src = await openRowSource(p);
    t.is(src.channels, whole.channels, name);
    const rows = await drain(src, 6);
    t.true(maxDiff(rows, whole.data) < 1e-6, `${name}: max diff ${maxDiff(rows, whole.data)}`);
  }
});

test('mono sinks (jpeg, png16) and writeImage for .hdr and float .tif', async (t) => {
  const dir = await tempDir(t);
  const mono = synth(40, 30, 1);
  for (const [name, format, tol] of [['m.jpg', 'jpeg', 0.05], ['m.png', 'png16', 1 / 65535]] as const) {
    const p = join(dir, name);
    const sink = await openRowSink(p, { width: 40, height: 30, channels: 1, format, quality: 95 });
    await sink.writeRows(mono.data, 30);
    await sink.finish();
    const back = await readImage(p);
    t.is(back.channels, 1, name);
    t.true(maxDiff(back.data, mono.data) <= tol, `${name}: ${maxDiff(back.data, mono.data)}`);
  }
  const hdrImg = synth(30, 20, 3);
  for (let i = 0; i < hdrImg.data.length; i++) hdrImg.data[i] = hdrImg.data[i]! * 50; // beyond 1: linear radiance
  await writeImage(join(dir, 'x.hdr'), hdrImg);
  const h = await readImage(join(dir, 'x.hdr'));
  t.is(h.bitDepth, 32);
  t.true(maxDiff(h.data, hdrImg.data) <= 50 / 128, `hdr ${maxDiff(h.data, hdrImg.data)}`);
  await writeImage(join(dir, 'x.tif'), hdrImg, { depth: 32 });
  const f = await readImage(join(dir, 'x.tif'));
  t.deepEqual(Array.from(f.data), Array.from(hdrImg.data));
});

test('truncated TIFF (uncompressed and deflate) is an error naming the file', async (t) => {
  requireCommand('tifftopnm', 'netpbm');
  const dir = await tempDir(t);
  const raw = join(dir, 'raw.tif');
  await writeUncompressedTiff(raw, synth(120, 90, 3), 16);
  const zip = join(dir, 'zip.tif');
  await writeImage(zip, synth(120, 90, 3, 16), { depth: 16 });
  for (const p of [raw, zip]) {
    const bytes = await readFile(p);
    // keep the header and IFD (libvips writes the IFD first for uncompressed, last for deflate)
    const cut = Buffer.concat([bytes.subarray(0, Math.floor(bytes.length * 0.6))]);
    await writeFile(p, cut);
    const err = await t.throwsAsync(async () => {
      const src = await openRowSource(p);
      try {
        await drain(src, 16);
      } finally {
        await src.close();
      }
    });
    t.regex(err!.message, new RegExp(`${p.split('/').pop()!.replace('.', '\\.')}: `));
    t.false(err!.message.includes('\n'));
  }
});

test('.hdr sink: writeEncodedParts (one writev from pieces, empty ones too) writes the bytes writeEncoded does', async (t) => {
  const dir = await tempDir(t);
  const width = 40;
  const height = 6;
  // Two strips of three rows; any bytes (the sink places them, it does not decode them).
  const strips = [0, 1].map((s) => Uint8Array.from({ length: 3 * 97 + s * 5 }, (_, i) => (i * 31 + s * 7) & 255));
  const whole = await openRowSink(join(dir, 'whole.hdr'), { width, height, channels: 3 });
  for (const bytes of strips) await whole.writeEncoded!(bytes, 3);
  await whole.finish();
  const parts = await openRowSink(join(dir, 'parts.hdr'), { width, height, channels: 3 });
  for (const bytes of strips) await parts.writeEncodedParts!([bytes.subarray(0, 10), bytes.subarray(10, 10), bytes.subarray(10, 200), bytes.subarray(200)], 3);
  await parts.finish();
  t.deepEqual(await readFile(join(dir, 'parts.hdr')), await readFile(join(dir, 'whole.hdr')));
  const over = await openRowSink(join(dir, 'over.hdr'), { width, height, channels: 3 });
  await over.writeEncodedParts!([strips[0]!], 3);
  await over.writeEncodedParts!([strips[1]!], 3);
  await t.throwsAsync(over.writeEncodedParts!([strips[1]!], 1), { message: /over\.hdr/ });
  t.deepEqual((await readdir(dir)).sort(), ['parts.hdr', 'whole.hdr']);
});
