// Image bombs and non-regular inputs (issue 10 item 6): refused from the header / a stat, at once,
// with one line naming the file, by every reader the CLI commands and the jobs use.
import test from 'ava';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkImageFile, jpegHeaderSize } from '../../pipeline/image/header-size.js';
import { setImageLimits } from '../../pipeline/image/limits.js';
import { readImage } from '../../pipeline/image/read.js';
import { openRowSource } from '../../pipeline/image/rows.js';
import { openLeanRowSource } from '../../pipeline/hdr/lean-source.js';
import { loadGrayPlane } from '../../pipeline/focus/plane.js';
import { frameInfo } from '../../pipeline/focus/frames.js';
import { loadFrame } from '../../pipeline/calib/load.js';
import { makeFifo, writeJpegBomb, writePngBomb } from '../helpers/bombs.js';
import { tempDir } from '../helpers/tmp.js';

type Reader = [string, (p: string) => Promise<unknown>];
const READERS: Reader[] = [
  ['checkImageFile', checkImageFile],
  ['openRowSource', openRowSource],
  ['readImage', readImage],
  ['openLeanRowSource (hdr merge)', (p) => openLeanRowSource(p, openRowSource)],
  ['loadGrayPlane (focus score)', loadGrayPlane],
  ['frameInfo (focus stack)', frameInfo],
  ['loadFrame (stack, calibration)', loadFrame],
];

async function refusedQuickly(t: import('ava').ExecutionContext, path: string, line: RegExp): Promise<void> {
  for (const [name, read] of READERS) {
    const t0 = performance.now();
    const err = await t.throwsAsync(() => read(path), undefined, name);
    const ms = performance.now() - t0;
    t.true(err!.message.startsWith(`${path}: `), `${name}: ${err!.message}`);
    t.regex(err!.message, line, name);
    t.false(err!.message.includes('\n'), `${name}: one line`);
    t.true(ms < 2000, `${name}: ${ms.toFixed(0)} ms`);
  }
}

test('a 65500×65500 JPEG bomb is refused from its header by every reader', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'bomb.jpg');
  const bytes = await writeJpegBomb(path);
  t.true(bytes < 16_000, `${bytes} bytes`);
  await refusedQuickly(t, path, /header claims 65500×65500 \(4290 MP\), over the input limit of 200 MP and 30000 px a side/);
});

test('a 20000×20000 PNG header over little data is refused (400 MP > 200 MP)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'bomb.png');
  await writePngBomb(path);
  await refusedQuickly(t, path, /header claims 20000×20000 \(400 MP\)/);
});

test('one side over the limit is refused even when the pixel count is small', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'strip.png');
  await writePngBomb(path, 40000, 2);
  await refusedQuickly(t, path, /header claims 40000×2/);
});

test('a FIFO among the inputs is refused by name without blocking', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'frame.jpg');
  makeFifo(path); // nobody ever writes to it: an open() would wait forever
  await refusedQuickly(t, path, /a FIFO, not a regular file: refused$/);
});

test('a device and a directory are refused by name', async (t) => {
  await t.throwsAsync(() => openRowSource('/dev/zero'), { message: '/dev/zero: a character device, not a regular file: refused' });
  const dir = await tempDir(t);
  const sub = join(dir, 'x.fits');
  await mkdir(sub);
  await t.throwsAsync(() => readImage(sub), { message: `${sub}: a directory, not a regular file: refused` });
});

// Serial: the limits are process-wide, and the other tests of this file assert the defaults.
test.serial('limits are configurable; frames within them decode as before', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'ok.png');
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toFile(path);
  const img = await readImage(path);
  t.is(img.width, 64);
  const prev = setImageLimits({ maxPixels: 3000 });
  try {
    await t.throwsAsync(() => openRowSource(path), { message: /header claims 64×48 \(0\.00307 MP\), over the input limit of 0\.003 MP/ });
  } finally {
    setImageLimits(prev);
  }
  const src = await openRowSource(path);
  t.is(src.height, 48);
  await src.close();
});

test('the JPEG header reader walks EXIF and other segments to the frame header', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'exif.jpg');
  await sharp({ create: { width: 321, height: 123, channels: 3, background: { r: 1, g: 2, b: 3 } } })
    .withExif({ IFD0: { Make: 'skyrig', ImageDescription: 'x'.repeat(2000) } })
    .jpeg({ progressive: true })
    .toFile(path);
  t.deepEqual(await jpegHeaderSize(path), { width: 321, height: 123, channels: 3 });
  const h = await checkImageFile(path);
  t.is(h.kind, 'jpeg');
});
