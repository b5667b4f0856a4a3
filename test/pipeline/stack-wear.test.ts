// SD-card wear: checkpoints (master FITS + state) on a schedule, previews every frame, the
// journal that lets a killed stack re-read the frames taken after its last checkpoint, and the
// disk-write accounting helpers.
import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFits, writeFits } from '../../pipeline/image/fits.js';
import { LiveStacker } from '../../pipeline/stack/index.js';
import { fsTypeOf, readProcessWrites } from '../../pipeline/stack/disk-io.js';
import { makeCatalog, renderStarField } from '../../pipeline/stack/synth.js';
import { tempDir } from '../helpers/tmp.js';

const W = 160, H = 128;
const catalog = makeCatalog(23, 90, W, H);

async function frames(dir: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `f${String(i).padStart(2, '0')}.fits`);
    await writeFits(p, renderStarField({ width: W, height: H, catalog, seed: 40 + i, quantize: 16, transform: { dx: 1.2 * i, dy: -0.6 * i, rotDeg: 0.02 * i } }), { bitpix: 16, cards: { EXPTIME: 10 } });
    out.push(p);
  }
  return out;
}

const ncombine = async (p: string) => (await readFits(p)).header.cards.NCOMBINE;

test('checkpoints every N frames: master FITS and state then, preview every frame; a kill loses nothing', async (t) => {
  const dir = await tempDir(t);
  const files = await frames(dir, 8);
  const out = join(dir, 'out');
  const st = new LiveStacker({ outDir: out, methods: ['mean'], saveEveryFrames: 3, previewMaxSize: 64 });
  const previews: number[] = [];
  for (const f of files.slice(0, 7)) {
    await st.push(f);
    previews.push((await stat(join(out, 'stack.jpg')).catch(() => null))?.mtimeMs ?? NaN);
  }
  // Frames 1–2 are held (warm-up), frame 3 starts the stack: accepted frames 1..7, checkpoints after 3 and 6.
  t.is(st.count, 7);
  t.is(await ncombine(join(out, 'stack.fits')), 6, 'the master is the last checkpoint, not every frame');
  t.true(previews.slice(2).every(Number.isFinite), 'a preview after every stacked frame');
  t.is(st.bytesByKind.held ?? 0, 0, 'held frames from files are not spilled');
  t.true((st.bytesByKind.fits ?? 0) > 0 && (st.bytesByKind.state ?? 0) > 0);
  // Killed here (no finish): the state has 6 frames, the journal the 7th.
  const journal = await readFile(join(out, '.livestack', 'livestack.journal'), 'utf8');
  t.deepEqual(journal.trim().split('\n'), [files[6]]);
  const again = await LiveStacker.reload({ outDir: out, methods: ['mean'], saveEveryFrames: 3, previewMaxSize: 64 });
  t.is(again.count, 6);
  t.deepEqual(again.unsaved, [files[6]]);
  const replayed = await again.catchUp();
  t.is(replayed.length, 1);
  t.true(replayed[0]!.accepted);
  t.is(again.count, 7);
  await again.push(files[7]!);
  await again.finish();
  t.is(await ncombine(join(out, 'stack.fits')), 8);
  // The same stack as an uninterrupted run
  const ref = new LiveStacker({ outDir: join(dir, 'ref'), methods: ['mean'], previewMaxSize: 64 });
  for (const f of files) await ref.push(f);
  await ref.finish();
  const a = (await readFits(join(out, 'stack.fits'))).image.data, b = (await readFits(join(dir, 'ref', 'stack.fits'))).image.data;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === a[i]) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  t.true(maxDiff < 1e-6, `max difference ${maxDiff}`);
});

test('a kill during the warm-up: held frames are read again from their files on resume', async (t) => {
  const dir = await tempDir(t);
  const files = await frames(dir, 4);
  const out = join(dir, 'out');
  const st = new LiveStacker({ outDir: out, methods: ['mean'] });
  for (const f of files.slice(0, 3)) await st.push(f);
  t.is(st.count, 3);
  // Killed after the warm-up released its frames: the last state is the one saved while holding.
  const again = await LiveStacker.reload({ outDir: out, methods: ['mean'] });
  t.is(again.count, 0);
  t.is(again.heldCount, 2);
  t.deepEqual(again.unsaved, [files[2]]);
  await again.catchUp();
  t.is(again.count, 3);
  await again.push(files[3]!);
  await again.finish();
  t.is(await ncombine(join(out, 'stack.fits')), 4);
});

test('checkpoints also every T seconds, whichever comes first', async (t) => {
  const dir = await tempDir(t);
  const files = await frames(dir, 5);
  const out = join(dir, 'out');
  const st = new LiveStacker({ outDir: out, methods: ['mean'], saveEveryFrames: 100, saveEveryS: 0.001, warmup: 1 });
  for (const f of files) {
    await st.push(f);
    await new Promise((r) => setTimeout(r, 5));
    t.is(await ncombine(join(out, 'stack.fits')), st.count, 'a checkpoint after every frame');
  }
  const lazy = new LiveStacker({ outDir: join(dir, 'lazy'), methods: ['mean'], saveEveryFrames: 100, saveEveryS: 3600, warmup: 1 });
  for (const f of files) await lazy.push(f);
  await t.throwsAsync(stat(join(dir, 'lazy', 'stack.fits')), { code: 'ENOENT' });
  await lazy.finish();
  t.is(await ncombine(join(dir, 'lazy', 'stack.fits')), 5);
});

test('a run of refused frames still saves the state on time (the journal stays short)', async (t) => {
  const dir = await tempDir(t);
  const files = await frames(dir, 2);
  const black = join(dir, 'z-black.fits');
  await writeFits(black, renderStarField({ width: W, height: H, catalog: [], background: 0, noise: 0, seed: 1, quantize: 16 }), { bitpix: 16 });
  const out = join(dir, 'out');
  const st = new LiveStacker({ outDir: out, methods: ['mean'], saveEveryFrames: 100, saveEveryS: 0.05, warmup: 1 });
  await st.push(files[0]!); // checkpoint on time (the first frame: > 50 ms since the start)
  await st.push(files[1]!);
  await new Promise((r) => setTimeout(r, 80));
  const r = await st.push(black);
  t.is(r.code, 'black');
  t.is(await readFile(join(out, '.livestack', 'livestack.journal'), 'utf8'), '', 'state saved after the refused frame');
  const again = await LiveStacker.reload({ outDir: out, methods: ['mean'] });
  t.is(again.count, 2);
  t.true(again.hasProcessed(black));
  t.is(await ncombine(join(out, 'stack.fits')), 2, 'the master caught up with the state');
});

test('disk-write accounting: /proc/self/io counters and the filesystem of a folder', async (t) => {
  const dir = await tempDir(t);
  const io = join(dir, 'io');
  await writeFile(io, 'rchar: 1\nwchar: 2\nread_bytes: 0\nwrite_bytes: 8192\ncancelled_write_bytes: 4096\n');
  t.deepEqual(readProcessWrites(io), { written: 8192, cancelled: 4096, net: 4096 });
  t.is(readProcessWrites(join(dir, 'missing')), null);
  const mounts = join(dir, 'mounts');
  await writeFile(mounts, '/dev/root / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n/dev/sda1 /data ext4 rw 0 0\n');
  t.is(fsTypeOf('/run/skyrig/livestack', mounts), 'tmpfs');
  t.is(fsTypeOf('/data/stack', mounts), 'ext4');
  t.is(fsTypeOf('/runner/x', mounts), 'ext4', '/runner is not under /run');
  t.is(fsTypeOf('/dev/shm', mounts), 'tmpfs');
  // On Linux the real counters move when this process writes to a disk (not to a tmpfs /tmp)
  const before = readProcessWrites();
  if (before && !['tmpfs', 'ramfs'].includes(fsTypeOf(dir) ?? '')) {
    await writeFile(join(dir, 'blob'), Buffer.alloc(1 << 20, 1));
    t.true(readProcessWrites()!.written - before.written >= 1 << 20);
  }
});
