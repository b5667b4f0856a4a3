// The HDR merge's decoder source read straight into a caller's buffer (readRowsCodesInto): the same
// codes as readRowsCodes, and the decoder's damage checks still turn a truncated frame into one line;
// the same through the pipe thread (threaded sources), with every decoder and FIFO end gone after.
import test, { type ExecutionContext } from 'ava';
import { readdirSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { hasReadInto, openLeanRowSource, type LeanRowSource } from '../../pipeline/hdr/lean-source.js';
import { liveDecoders } from '../../pipeline/image/children.js';
import { openRowSource, type RowSource } from '../../pipeline/image/rows.js';
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
  await expectTruncated(t, cut, new Uint8Array(H * W * 3));
});

/** Reading a truncated c.jpg through to the end fails with one line naming it; the source is closed after. */
async function expectTruncated(t: ExecutionContext, cut: RowSource, dst: Uint8Array): Promise<void> {
  if (!hasReadInto(cut) || !cut.readRowsCodesInto) return void t.fail('not a pull decoder source');
  const err = await t.throwsAsync(async () => {
    for (let y = 0; y < H; y += 8) await cut.readRowsCodesInto!(8, dst);
  });
  t.regex(err!.message, /c\.jpg/);
  t.regex(err!.message, /premature|truncat|corrupt/i);
  t.notRegex(err!.message, /\n/);
  await cut.close();
}

// The Debevec merge's sources: the decoder writes into a FIFO that the pipe thread drains straight
// into shared memory (pipeline/image/pipe-thread.ts).
// Serial, and counted after a first threaded read (the pipe thread's own descriptors stay).
const openFds = () => readdirSync('/proc/self/fd').length;
let warm: Promise<void> | null = null;
async function warmPipeThread(path: string): Promise<void> {
  warm ??= (async () => {
    const src = await openLeanRowSource(path, openRowSource, true);
    if (hasReadInto(src) && src.readRowsCodesInto) await src.readRowsCodesInto(1, new Uint8Array(new SharedArrayBuffer(W * 3)));
    await src.close();
  })();
  await warm;
}

test.serial('threaded sources: the pipe thread hands out the same codes, into shared and plain buffers', async (t) => {
  const dir = await tempDir(t);
  for (const [name, depth] of [['a.jpg', 8], ['b.png', 16]] as const) {
    const path = join(dir, name);
    await frame(path, depth);
    if (depth === 8) await warmPipeThread(path);
    const fdsBefore = openFds();
    const { plain } = await codesBoth(path, 16);
    for (const shared of [true, false]) {
      const src = await openLeanRowSource(path, openRowSource, true);
      if (!hasReadInto(src) || !src.readRowsCodesInto) return t.fail('not a pull decoder source');
      const n = 12 * W * 3;
      const buffer = shared ? new SharedArrayBuffer(n * (depth === 8 ? 1 : 2)) : new ArrayBuffer(n * (depth === 8 ? 1 : 2));
      const dst = depth === 8 ? new Uint8Array(buffer) : new Uint16Array(buffer);
      const got: number[] = [];
      // Uneven strips, the last one short.
      for (let y = 0; y < H; y += 12) got.push(...dst.subarray(0, await src.readRowsCodesInto(Math.min(12, H - y), dst)));
      t.deepEqual(got, plain, `${name}, ${shared ? 'shared' : 'plain'} buffer`);
      await src.close();
    }
    t.is(liveDecoders.size, 0, `${name}: no decoder left`);
    t.is(openFds(), fdsBefore, `${name}: every FIFO end closed`);
  }
});

test.serial('threaded sources: a truncated JPEG fails with one line naming the file; closing mid-stream ends the decoder and frees the FIFO', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'c.jpg');
  await frame(path, 8);
  await warmPipeThread(path);
  const fdsBefore = openFds();
  // Several open at once (a bracket), one closed after a few rows, the others read through.
  const sources = await Promise.all([0, 1, 2].map(() => openLeanRowSource(path, openRowSource, true)));
  const dst = new Uint8Array(new SharedArrayBuffer(H * W * 3));
  for (const src of sources) if (!hasReadInto(src) || !src.readRowsCodesInto) return t.fail('not a pull decoder source');
  await (sources[0] as LeanRowSource).readRowsCodesInto!(8, dst);
  await sources[0]!.close();
  for (const src of sources.slice(1)) t.is(await (src as LeanRowSource).readRowsCodesInto!(H, dst), H * W * 3);
  await Promise.all(sources.map((s) => s.close()));
  t.is(liveDecoders.size, 0);
  t.is(openFds(), fdsBefore);

  await truncate(path, 400);
  await expectTruncated(t, await openLeanRowSource(path, openRowSource, true), dst);
  t.is(liveDecoders.size, 0);
  t.is(openFds(), fdsBefore);
});
