// Encoders fed by the pipe thread (RowSinkOptions.threaded, pipeline/image/pipe-thread.ts): the same
// file as through node's stream, strips handed over from shared memory without a copy, and a sink
// that is aborted or whose encoder dies leaves no process, temp file or FIFO end behind.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { liveDecoders } from '../../pipeline/image/children.js';
import { commandOnPath } from '../../pipeline/image/commands.js';
import { hasReadInto, openLeanRowSource } from '../../pipeline/hdr/lean-source.js';
import { openEncoderSink } from '../../pipeline/image/encoder-sink.js';
import { openFifoPair, closeFifoPair, pipeThread } from '../../pipeline/image/pipe-thread.js';
import { openRowSink, openRowSource } from '../../pipeline/image/rows.js';
import { tempDir } from '../helpers/tmp.js';
import { requireCommand } from '../helpers/system.js';

const W = 64;
const H = 48;
const openFds = () => readdirSync('/proc/self/fd').length;

function pixels(): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 5) * 11) & 255;
  return px;
}

// Serial: they count this process's decoders and descriptors. The first starts the pipe thread (whose
// own descriptors stay) before anything is counted.
test.serial('a threaded JPEG sink writes the same file as the stream one, from shared and plain strips', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const px = pixels();
  // Warm the pipe thread up (a whole image through it), and let its start-up settle.
  const warm = await openRowSink(join(dir, 'warm.jpg'), { width: W, height: H, channels: 3, threaded: true });
  await warm.writeRows(new Float32Array(W * H * 3), H);
  await warm.finish();
  await new Promise((r) => setTimeout(r, 100));
  const fds = openFds();
  const write = async (name: string, threaded: boolean, shared: boolean) => {
    const sink = await openRowSink(join(dir, name), { width: W, height: H, channels: 3, threaded });
    // Strips of 10 rows (the last short), each in a fresh buffer as the tone-map pass's byte slots are.
    for (let y = 0; y < H; y += 10) {
      const rows = Math.min(10, H - y);
      const strip = new Uint8Array(shared ? new SharedArrayBuffer(rows * W * 3) : new ArrayBuffer(rows * W * 3));
      strip.set(px.subarray(y * W * 3, (y + rows) * W * 3));
      await sink.writeEncoded!(strip, rows);
    }
    await sink.finish();
    return readFile(join(dir, name));
  };
  const plain = await write('stream.jpg', false, false);
  t.true(plain.length > 1000);
  t.deepEqual(await write('thread-shared.jpg', true, true), plain);
  t.deepEqual(await write('thread-plain.jpg', true, false), plain);
  // writeRows (floats, converted here) through the thread too.
  const sink = await openRowSink(join(dir, 'rows.jpg'), { width: W, height: H, channels: 3, threaded: true });
  await sink.writeRows(Float32Array.from(px, (v) => v / 255), H);
  await sink.finish();
  t.deepEqual(await readFile(join(dir, 'rows.jpg')), plain);
  t.is(liveDecoders.size, 0);
  t.is(openFds(), fds);
});

test.serial('a threaded sink: abort kills the encoder and keeps the old file; an encoder that dies is one line naming the file', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const p = join(dir, 'keep.jpg');
  await writeFile(p, 'old');
  const fds = openFds();
  const sink = await openRowSink(p, { width: W, height: H, channels: 3, threaded: true });
  await sink.writeRows(new Float32Array(W * 10 * 3).fill(0.5), 10);
  t.is(liveDecoders.size, 1);
  await sink.abort();
  t.is(liveDecoders.size, 0);
  t.deepEqual(await readdir(dir), ['keep.jpg']);
  t.is(await readFile(p, 'utf8'), 'old');
  t.is(openFds(), fds);

  // An "encoder" that reads 100 bytes and fails: the writes after it break the pipe (EPIPE, not a crash).
  const dying = await openEncoderSink(join(dir, 'dead.jpg'), W, H, 3, { command: 'sh', args: ['-c', 'head -c 100 >/dev/null; echo "bad input" >&2; exit 3'], aptPackage: 'dash', bytesPerSample: 1 }, { threaded: true });
  const err = await t.throwsAsync(async () => {
    for (let y = 0; y < H; y += 8) await dying.writeEncoded!(new Uint8Array(new SharedArrayBuffer(8 * W * 3)), 8);
    await dying.finish();
  });
  t.regex(err!.message, /dead\.jpg: sh failed: bad input/);
  t.notRegex(err!.message, /\n/);
  t.is(liveDecoders.size, 0);
  t.deepEqual((await readdir(dir)).sort(), ['keep.jpg']);
  t.is(openFds(), fds);
});

test.serial('the pipe thread writes more than a pipe holds to a slow reader, and reads at a file offset', async (t) => {
  const fifo = openFifoPair();
  if (!fifo) return t.fail('no FIFO (mkfifo missing?)');
  const thread = pipeThread();
  const n = 1 << 20; // sixteen 64 KiB pipes' worth
  const out = new Uint8Array(new SharedArrayBuffer(n));
  for (let i = 0; i < n; i++) out[i] = (i * 7) & 255;
  const into = new Uint8Array(new SharedArrayBuffer(n));
  // One thread serves both in order: the write fills the pipe, so read in slices from this thread.
  const writing = thread.write(fifo.writeFd, out, n);
  const { readSync } = await import('node:fs');
  let got = 0;
  while (got < n) {
    await new Promise((r) => setTimeout(r, 1));
    got += readSync(fifo.readFd, into, got, Math.min(65536, n - got), null);
  }
  t.is(await writing, n);
  t.deepEqual(into, out);
  closeFifoPair(fifo);

  const dir = await tempDir(t);
  const file = join(dir, 'spool');
  await writeFile(file, Buffer.from(out));
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(file, 'r');
  const part = new Uint8Array(new SharedArrayBuffer(1000));
  t.is(await thread.read(fd, part, 1000, 5000), 1000);
  t.deepEqual(part, out.subarray(5000, 6000));
  // Past the end: fewer bytes, no error.
  t.is(await thread.read(fd, part, 1000, n - 10), 10);
  closeSync(fd);
  await t.throwsAsync(thread.read(fd, new Uint8Array(8), 8), { message: /SharedArrayBuffer/ });
});

test.serial('without mkfifo the threaded sources and sinks fall back to streams; without perl the FIFOs keep their size', async (t) => {
  requireCommand('djpeg', 'libjpeg-turbo-progs');
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const input = join(dir, 'in.jpg');
  const px = pixels();
  const sink = await openRowSink(input, { width: W, height: H, channels: 3 });
  await sink.writeEncoded!(px, H);
  await sink.finish();
  // In this process (FIFOs and perl): the reference.
  const src = await openLeanRowSource(input, openRowSource, true);
  if (!hasReadInto(src) || !src.readRowsCodesInto) return t.fail('not a pull decoder source');
  const codes = new Uint8Array(new SharedArrayBuffer(W * H * 3));
  await src.readRowsCodesInto(H, codes);
  await src.close();
  const sum = codes.reduce((a, c) => a + c, 0);
  for (const [name, tools] of [['no mkfifo, no perl', ['djpeg', 'cjpeg']], ['mkfifo, no perl', ['djpeg', 'cjpeg', 'mkfifo']]] as const) {
    const bin = join(dir, name.replace(/\W+/g, '-'));
    await mkdir(bin);
    for (const tool of tools) await symlink(commandOnPath(tool)!, join(bin, tool));
    const out = join(dir, `${bin.split('/').pop()}.jpg`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'pipe-fallback-child.ts'), input, out], { encoding: 'utf8', env: { ...process.env, PATH: bin } });
    t.is(run.status, 0, `${name}: ${run.stderr}`);
    const r = JSON.parse(run.stdout.trim()) as { fifo: boolean; got: number; sum: number; jpegBytes: number };
    t.is(r.fifo, (tools as readonly string[]).includes('mkfifo'), name);
    t.is(r.got, W * H * 3, name);
    t.is(r.sum, sum, `${name}: the same codes`);
    t.true(r.jpegBytes > 500, name);
  }
});
