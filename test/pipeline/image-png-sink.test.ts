// The in-process PNG writer (pipeline/image/png-sink.ts): grey, RGB and palette images in strips,
// every filter, from raw rows or pre-filtered scanlines, decode (sharp/libpng) to exactly the bytes
// written; a short or long image fails naming the file and leaves no file behind.
import test from 'ava';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { openPngSink, pngFilterRows, type PngFilter } from '../../pipeline/image/png-sink.js';
import { tempDir } from '../helpers/tmp.js';

const W = 97;
const H = 53;

function pixels(channels: number, seed: number): Uint8Array {
  const a = new Uint8Array(W * H * channels);
  for (let i = 0; i < a.length; i++) a[i] = (Math.imul(i, 2654435761 + seed) >>> 24) ^ ((i >> 5) & 0x3f);
  return a;
}

test('grey, RGB and palette PNGs in strips decode to the rows written, with every filter', async (t) => {
  const dir = await tempDir(t);
  const palette = Uint8Array.from({ length: 256 * 3 }, (_, i) => (i * 37) & 255);
  for (const kind of ['grey', 'rgb', 'palette'] as const) {
    const channels = kind === 'rgb' ? 3 : 1;
    const src = pixels(channels, kind.length);
    for (const filter of ['none', 'sub', 'up'] as PngFilter[]) {
      for (const scanlines of [false, true]) {
        const path = join(dir, `${kind}-${filter}-${scanlines}.png`);
        const sink = await openPngSink(path, { width: W, height: H, channels, filter, ...(kind === 'palette' ? { palette } : {}) });
        let prev: Uint8Array | null = null;
        for (let y = 0; y < H; y += 10) {
          const rows = Math.min(10, H - y);
          const strip = src.subarray(y * W * channels, (y + rows) * W * channels);
          if (scanlines) {
            const scan = new Uint8Array(rows * (W * channels + 1));
            pngFilterRows(strip, rows, W * channels, channels, filter, prev, scan);
            prev = strip.slice((rows - 1) * W * channels);
            await sink.writeScanlines(scan, rows);
          } else await sink.writeRows(strip, rows);
        }
        await sink.finish();
        const meta = await sharp(path).metadata();
        t.is(meta.channels, kind === 'grey' ? 1 : 3);
        t.is(meta.isPalette, kind === 'palette');
        // sharp hands grey out as RGB (v, v, v) and palette images expanded.
        const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
        t.is(info.width, W);
        t.is(info.height, H);
        const expected = Uint8Array.from({ length: W * H * 3 }, (_, i) => (kind === 'palette' ? palette[src[Math.floor(i / 3)]! * 3 + (i % 3)]! : kind === 'grey' ? src[Math.floor(i / 3)]! : src[i]!));
        t.true(Buffer.from(expected).equals(data), `${kind}, ${filter}, ${scanlines ? 'scanlines' : 'rows'}`);
      }
    }
  }
});

test('a PNG missing rows or given too many fails naming the file and leaves nothing behind', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'short.png');
  const sink = await openPngSink(path, { width: W, height: H, channels: 3 });
  await sink.writeRows(pixels(3, 1).subarray(0, 10 * W * 3), 10);
  await t.throwsAsync(sink.finish(), { message: /short\.png: only 10 of 53 rows written/ });
  t.false(existsSync(path));
  const long = join(dir, 'long.png');
  const sink2 = await openPngSink(long, { width: W, height: 4, channels: 1 });
  await t.throwsAsync(sink2.writeRows(pixels(1, 2), 5), { message: /long\.png: more rows than the declared height 4/ });
  const sink3 = await openPngSink(join(dir, 'gone.png'), { width: W, height: 4, channels: 1 });
  await sink3.writeRows(pixels(1, 2), 2);
  await sink3.abort();
  t.deepEqual(await readdir(dir), []);
  await t.throwsAsync(openPngSink(join(dir, 'p.png'), { width: W, height: 4, channels: 3, palette: new Uint8Array(6) }), { message: /p\.png: a palette/ });
});
