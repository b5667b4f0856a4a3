// The HDR merge's decoder source read straight into a caller's buffer (readRowsCodesInto): the same
// codes as readRowsCodes, and the decoder's damage checks still turn a truncated frame into one line.
import test from 'ava';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { hasReadInto, openLeanRowSource } from '../../pipeline/hdr/lean-source.js';
import { openRowSource } from '../../pipeline/image/rows.js';
import { tempDir } from '../helpers/tmp.js';

const W = 48;
const H = 40;

async function frame(path: string, depth: 8 | 16): Promise<void> {
  const px = depth === 8 ? new Uint8Array(W * H * 3) : new Uint16Array(W * H * 3);
  for (let i = 0; i < px.length; i++) px[i] = depth === 8 ? (i * 37 + (i >> 7)) & 255 : (i * 2654435761) >>> 16;
  const img = sharp(Buffer.from(px.buffer), { raw: { width: W, height: H, channels: 3 } });
  if (path.endsWith('.jpg')) await img.jpeg({ quality: 95 }).toFile(path);
  else await img.toColourspace(depth === 16 ? 'rgb16' : 'srgb').png().toFile(path);
}

async function codesBoth(path: string, rows: number) {
  const a = await openLeanRowSource(path, openRowSource);
  const b = await openLeanRowSource(path, openRowSource);
  if (!hasReadInto(a) || !hasReadInto(b) || !b.readRowsCodesInto) throw new Error('not a pull decoder source');
  const plain: number[] = [];
  const into: number[] = [];
  const dst = a.codeLevels === 256 ? new Uint8Array(rows * W * 3 + 5) : new Uint16Array(rows * W * 3 + 5);
  for (let y = 0; y < H; y += rows) {
    const n = Math.min(rows, H - y);
    plain.push(...(await a.readRowsCodes(n)));
    const got = await b.readRowsCodesInto(n, dst);
    into.push(...dst.subarray(0, got));
  }
  await a.close();
  await b.close();
  return { plain, into, levels: a.codeLevels };
}

test('readRowsCodesInto hands out the codes readRowsCodes does (8-bit JPEG, 16-bit PNG)', async (t) => {
  const dir = await tempDir(t);
  for (const [name, depth, levels] of [['a.jpg', 8, 256], ['b.png', 16, 65536]] as const) {
    const path = join(dir, name);
    await frame(path, depth);
    const { plain, into, levels: got } = await codesBoth(path, 16);
    t.is(got, levels, name);
    t.is(into.length, W * H * 3, name);
    t.deepEqual(into, plain, name);
    t.true(new Set(into).size > 50, name);
  }
});

test('readRowsCodesInto: a wrong-width buffer and a truncated JPEG fail with one line naming the file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'c.jpg');
  await frame(path, 8);
  const src = await openLeanRowSource(path, openRowSource);
  if (!hasReadInto(src) || !src.readRowsCodesInto) return t.fail('not a pull decoder source');
  await t.throwsAsync(src.readRowsCodesInto(4, new Uint16Array(4 * W * 3)), { message: /c\.jpg.*8-bit codes asked for into a 16-bit buffer/ });
  await t.throwsAsync(src.readRowsCodesInto(4, new Uint8Array(10)), { message: /c\.jpg.*do not fit/ });
  await src.close();

  await truncate(path, 400);
  const cut = await openLeanRowSource(path, openRowSource).catch((err: Error) => err);
  if (cut instanceof Error) return t.fail(`the header should still decode: ${cut.message}`);
  {
    if (!hasReadInto(cut) || !cut.readRowsCodesInto) return t.fail('not a pull decoder source');
    const dst = new Uint8Array(H * W * 3);
    const err = await t.throwsAsync(async () => {
      for (let y = 0; y < H; y += 8) await cut.readRowsCodesInto!(8, dst);
    });
    t.regex(err!.message, /c\.jpg/);
    t.regex(err!.message, /premature|truncat|corrupt/i);
    t.notRegex(err!.message, /\n/);
    await cut.close();
  }
});
