import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openBmpRowSource } from '../../pipeline/image/bmp-rows.js';
import { tempDir } from '../helpers/tmp.js';

/** A BMP written by the rule of the format (BITMAPINFOHEADER, rows padded to 4 bytes, BGR order). */
function bmp(width: number, height: number, bits: 8 | 24 | 32, pixel: (x: number, y: number) => [number, number, number], opts: { topDown?: boolean; gray?: boolean } = {}): Buffer {
  const stride = Math.ceil((width * bits) / 32) * 4;
  const paletteBytes = bits === 8 ? 256 * 4 : 0;
  const offset = 54 + paletteBytes;
  const out = Buffer.alloc(offset + stride * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(opts.topDown ? -height : height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bits, 28);
  if (bits === 8) for (let i = 0; i < 256; i++) out.writeUInt32LE(opts.gray ? i * 0x010101 : (i << 16) | ((255 - i) << 8) | (i >> 1), 54 + i * 4);
  for (let y = 0; y < height; y++) {
    const stored = opts.topDown ? y : height - 1 - y;
    const row = offset + stored * stride;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      if (bits === 8) out[row + x] = r; // palette index
      else {
        const p = row + x * (bits / 8);
        out[p] = b;
        out[p + 1] = g;
        out[p + 2] = r;
        if (bits === 32) out[p + 3] = 255;
      }
    }
  }
  return out;
}

async function readAll(path: string, grayscale = false) {
  const src = await openBmpRowSource(path, { grayscale });
  const rows: Float32Array[] = [];
  for (let b = await src.readRows(2); b; b = await src.readRows(2)) rows.push(b.data.slice());
  await src.close();
  return { src, data: Float32Array.from(rows.flatMap((r) => [...r])) };
}

test('BMP rows: bottom-up 24-bit with row padding, top-down 32-bit, grey and colour palettes', async (t) => {
  const dir = await tempDir(t);
  const px = (x: number, y: number): [number, number, number] => [(x * 37 + y) % 256, (y * 53) % 256, (x + y * 7) % 256];
  const W = 5, H = 3; // 5×3 bytes = 15 → rows padded to 16
  for (const [name, bits, topDown] of [['a.bmp', 24, false], ['b.bmp', 32, true]] as const) {
    await writeFile(join(dir, name), bmp(W, H, bits, px, { topDown }));
    const { src, data } = await readAll(join(dir, name));
    t.deepEqual([src.width, src.height, src.channels, src.bitDepth], [W, H, 3, 8]);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) t.is(Math.round(data[(y * W + x) * 3 + c]! * 255), px(x, y)[c]!, `${name} ${x},${y},${c}`);
  }
  await writeFile(join(dir, 'g.bmp'), bmp(W, H, 8, (x, y) => [x * 40 + y, 0, 0], { gray: true }));
  const g = await readAll(join(dir, 'g.bmp'));
  t.is(g.src.channels, 1);
  t.deepEqual([...g.data].map((v) => Math.round(v * 255)), [0, 40, 80, 120, 160, 1, 41, 81, 121, 161, 2, 42, 82, 122, 162]);
  await writeFile(join(dir, 'p.bmp'), bmp(2, 1, 8, (x) => [x * 100, 0, 0]));
  const p = await readAll(join(dir, 'p.bmp'));
  // palette entry i = (r i, g 255 − i, b i >> 1)
  t.deepEqual([...p.data].map((v) => Math.round(v * 255)), [0, 255, 0, 100, 155, 50]);
});

test('BMP: truncated and compressed files fail with one line naming the file', async (t) => {
  const dir = await tempDir(t);
  const whole = bmp(8, 8, 24, () => [1, 2, 3]);
  await writeFile(join(dir, 'cut.bmp'), whole.subarray(0, whole.length - 10));
  await t.throwsAsync(openBmpRowSource(join(dir, 'cut.bmp')), { message: /cut\.bmp: truncated BMP data/ });
  const rle = Buffer.from(whole);
  rle.writeUInt32LE(1, 30);
  await writeFile(join(dir, 'rle.bmp'), rle);
  await t.throwsAsync(openBmpRowSource(join(dir, 'rle.bmp')), { message: /rle\.bmp: compressed BMP \(method 1\)/ });
});
