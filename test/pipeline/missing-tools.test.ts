// A missing codec program is an error for one file, never a crash (issue 12 item 2). This file runs
// with PATH pointing at an empty folder, so djpeg, cjpeg, pngtopam, pnmtopng, tifftopnm, dcraw_emu
// and dcraw are all "not installed": JPEG/PNG/TIFF go whole through sharp within the budget (one
// warning per process), bigger frames and camera RAW fail with one line naming the apt package.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { liveDecoders, openDecoderSource } from '../../pipeline/image/decoder-source.js';
import { openEncoderSink } from '../../pipeline/image/encoder-sink.js';
import { commandOnPath } from '../../pipeline/image/commands.js';
import { readExifBlock } from '../../pipeline/image/exif.js';
import { setImageLimits } from '../../pipeline/image/limits.js';
import { readImage } from '../../pipeline/image/read.js';
import { DJPEG } from '../../pipeline/image/row-source.js';
import { openRowSink, openRowSource } from '../../pipeline/image/rows.js';
import { resetFallbackWarning, setFallbackWarning } from '../../pipeline/image/sharp-fallback.js';
import { openLeanRowSource, hasReadInto } from '../../pipeline/hdr/lean-source.js';
import { writeDng } from '../helpers/dng.js';
import { tempDir } from '../helpers/tmp.js';

const emptyBin = mkdtempSync(join(tmpdir(), 'skyrig-nobin-'));
const savedPath = process.env.PATH;
const warnings: string[] = [];

test.before(() => {
  process.env.PATH = emptyBin;
  setFallbackWarning((m) => warnings.push(m));
  resetFallbackWarning();
});
test.after.always(() => {
  process.env.PATH = savedPath;
  rmSync(emptyBin, { recursive: true, force: true });
});

// a textured frame, so a wrong row order or channel mix would show
async function frame(path: string, o: { width?: number; height?: number; png?: 'interlaced' | '16'; tiff?: boolean } = {}): Promise<void> {
  const w = o.width ?? 40;
  const h = o.height ?? 30;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i % 7) * 11) & 255;
  let s = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  if (o.png === '16') s = s.toColourspace('rgb16').png();
  else if (o.png) s = s.png({ progressive: true });
  else if (o.tiff) s = s.tiff({ compression: 'deflate' });
  else s = s.jpeg({ quality: 90 });
  await s.toFile(path);
}

const leftovers = async (dir: string) => (await readdir(dir)).filter((n) => n.includes('.tmp-'));

test.serial('the codec programs really are missing here', (t) => {
  for (const c of ['djpeg', 'cjpeg', 'pngtopam', 'pnmtopng', 'tifftopnm', 'dcraw_emu', 'dcraw', 'raw-identify']) t.is(commandOnPath(c), null, c);
});

test.serial('a decoder or encoder that is not installed rejects with one line, the process lives on', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'a.jpg');
  await frame(src);
  await t.throwsAsync(() => openDecoderSource(src, DJPEG(src)), { message: `${src}: djpeg not found (apt-get install -y libjpeg-turbo-progs)` });
  const out = join(dir, 'out.jpg');
  // the crash of issue 12: spawn cjpeg ENOENT used to be an unhandled 'error' event
  await t.throwsAsync(() => openEncoderSink(out, 4, 2, 3, { command: 'cjpeg', args: [], aptPackage: 'libjpeg-turbo-progs', bytesPerSample: 1 }), {
    message: `${out}: cjpeg not found (apt-get install -y libjpeg-turbo-progs)`,
  });
  t.deepEqual(await leftovers(dir), [], 'no temp file left by the failed write');
  t.is(liveDecoders.size, 0);
});

test.serial('JPEG, interlaced PNG and deflate TIFF decode through the sharp fallback, same values as sharp', async (t) => {
  const dir = await tempDir(t);
  for (const [name, o] of [['a.jpg', {}], ['b.png', { png: 'interlaced' }], ['c.tif', { tiff: true }], ['d.png', { png: '16' }]] as const) {
    const path = join(dir, name);
    await frame(path, o);
    const want = await readImage(path); // readImage decodes through sharp whatever is installed
    const src = await openRowSource(path);
    const got = new Float32Array(want.data.length);
    for (let b; (b = await src.readRows(7)); ) got.set(b.data, b.y0 * src.width * src.channels);
    await src.close();
    t.is(src.width, 40, name);
    t.is(src.channels, 3, name);
    t.deepEqual(got, want.data, name);
  }
  t.is(warnings.length, 1, warnings.join('\n'));
  t.regex(warnings[0]!, /image tools not installed: djpeg, cjpeg, pngtopam, pnmtopng, tifftopnm — .*no fixed-memory streaming.*apt-get install -y libjpeg-turbo-progs netpbm/);
});

test.serial('the HDR merge source falls back too, with raw codes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'a.jpg');
  await frame(path);
  const src = await openLeanRowSource(path, openRowSource);
  t.true(hasReadInto(src));
  if (!hasReadInto(src)) return;
  t.is(src.codeLevels, 256);
  const codes = await src.readRowsCodes(2);
  const want = await readImage(path);
  t.is(codes.length, 2 * 40 * 3);
  t.is(Math.fround(codes[5]! / 255), want.data[5]!);
  await src.close();
});

test.serial('JPEG and PNG products are encoded through sharp when cjpeg/pnmtopng are missing', async (t) => {
  const dir = await tempDir(t);
  const exifFrom = join(dir, 'exif.jpg');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } }).withExif({ IFD0: { Make: 'skyrig-test' } }).jpeg().toFile(exifFrom);
  const exif = (await readExifBlock(exifFrom))!;
  const w = 33;
  const h = 21;
  const data = new Float32Array(w * h * 3);
  // smooth ramps (JPEG keeps them), a different one per channel
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = c === 0 ? x / (w - 1) : c === 1 ? y / (h - 1) : (x + y) / (w + h - 2);
  for (const [name, format] of [['o.jpg', 'jpeg'], ['o8.png', 'png8'], ['o16.png', 'png16']] as const) {
    const path = join(dir, name);
    const sink = await openRowSink(path, { width: w, height: h, channels: 3, format, exif: format === 'jpeg' ? exif : undefined });
    for (let y = 0; y < h; y += 5) {
      const rows = Math.min(5, h - y);
      await sink.writeRows(data.subarray(y * w * 3, (y + rows) * w * 3), rows);
    }
    await sink.finish();
    const back = await readImage(path);
    t.is(back.width, w, name);
    t.is(back.bitDepth, format === 'png16' ? 16 : 8, name);
    let maxErr = 0;
    for (let i = 0; i < data.length; i++) maxErr = Math.max(maxErr, Math.abs(back.data[i]! - data[i]!));
    t.true(maxErr < (format === 'jpeg' ? 0.06 : format === 'png8' ? 0.5 / 255 + 1e-6 : 0.5 / 65535 + 1e-6), `${name}: max error ${maxErr}`);
    if (format === 'jpeg') t.regex((await readExifBlock(path))!.toString('latin1'), /skyrig-test/);
  }
  t.deepEqual(await leftovers(dir), []);
});

test.serial('over the fallback budget: one line naming the program and its package, no temp file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'big.jpg');
  await frame(path, { width: 400, height: 300 });
  const prev = setImageLimits({ fallbackMaxSamples: 100_000 });
  try {
    await t.throwsAsync(() => openRowSource(path), {
      message: `${path}: djpeg not found (apt-get install -y libjpeg-turbo-progs); without it frames are held whole, up to 0.1 M samples (images.fallback_megasamples), and this one is 400×300×3`,
    });
    const out = join(dir, 'out.png');
    await t.throwsAsync(() => openRowSink(out, { width: 400, height: 300, channels: 3 }), { message: /^.*out\.png: pnmtopng not found \(apt-get install -y netpbm\); without it/ });
    t.deepEqual(await leftovers(dir), []);
  } finally {
    setImageLimits(prev);
  }
});

test.serial('a sink aborted half-way or finished short leaves nothing behind', async (t) => {
  const dir = await tempDir(t);
  const a = await openRowSink(join(dir, 'a.jpg'), { width: 4, height: 4, channels: 1 });
  await a.writeRows(new Float32Array(8), 2);
  await a.abort();
  const b = await openRowSink(join(dir, 'b.jpg'), { width: 4, height: 4, channels: 1 });
  await b.writeRows(new Float32Array(8), 2);
  await t.throwsAsync(() => b.finish(), { message: /only 2 of 4 rows written/ });
  t.deepEqual(await readdir(dir), []);
});

test.serial('camera RAW without dcraw_emu or dcraw names LibRaw’s package', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'a.dng');
  await writeDng(path, new Uint16Array(16 * 12).fill(1000), 16, 12);
  await t.throwsAsync(() => readImage(path), { message: `${path}: dcraw_emu not found (apt-get install -y libraw-bin)` });
  t.is(liveDecoders.size, 0);
});
