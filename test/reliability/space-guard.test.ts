// The free-space guard: below retention.min_free_mb it frees space by priority (spooled frames of
// finished runs oldest first, then products oldest first; never a running run's files, the run log or
// a job's state), and refuses with one line naming the folder and how much to free. SQLITE_FULL on a
// real full tmpfs: the write is retried after freeing space.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryLogger } from '../../agent/log.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { DiskSpaceError, SpaceGuard } from '../../agent/storage/space-guard.js';
import { fillDisk, mountTmpfs } from '../helpers/tmpfs.js';
import { tempDir } from '../helpers/tmp.js';

async function seed(dir: string, runlog: SqliteRunLog) {
  const frames: string[] = [];
  const products: string[] = [];
  for (const [i, status] of (['ok', 'ok', 'running'] as const).entries()) {
    const run = runlog.beginRun('capture', {});
    const rdir = join(dir, 'spool', `run-${i}`);
    await mkdir(rdir, { recursive: true });
    for (let k = 0; k < 2; k++) {
      const p = join(rdir, `f${k}.fits`);
      await writeFile(p, Buffer.alloc(1000));
      runlog.addFrame(run, { path: p, sizeBytes: 1000, sha256: 'x', exposureS: 1, width: 1, height: 1, timestamp: new Date(Date.UTC(2026, 0, 1, i, k)) });
      frames.push(p);
    }
    const pp = join(dir, 'products', `p-${i}.jpg`);
    await mkdir(join(dir, 'products'), { recursive: true });
    await writeFile(pp, Buffer.alloc(1000));
    runlog.addProduct(run, { kind: 'preview', path: pp });
    products.push(pp);
    if (status !== 'running') runlog.finishRun(run, status);
  }
  return { frames, products };
}

recordEachTest(test, () => 0); // passing means the row ↔ file audit found nothing lost

test('frees frames of finished runs oldest first, then products; refuses naming folder and amount', async (t) => {
  const dir = await tempDir(t);
  const runlog = new SqliteRunLog(join(dir, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const { frames, products } = await seed(dir, runlog);
  const state = join(dir, 'state', 'livestack.state');
  await mkdir(join(dir, 'state'), { recursive: true });
  await writeFile(state, 'keep');
  // A fake file system: 10 MB free + 4 MB for each file deleted.
  const deletedCount = () => [...frames, ...products].filter((f) => !existsSync(f)).length;
  const log = memoryLogger('info');
  const guard = (needFiles: number) =>
    new SpaceGuard({
      minFreeMb: 10 + 4 * needFiles - 1,
      folders: [{ field: 'paths.data_dir', path: dir }],
      runlog,
      log,
      freeBytes: () => (10 + 4 * deletedCount()) * 1e6,
    });
  // Need 3 files' worth (target = min × 1.2 + 1): frames of the two finished runs go first, oldest first.
  await guard(2).ensure();
  t.false(existsSync(frames[0]!));
  t.false(existsSync(frames[1]!));
  t.true(existsSync(frames[4]!), 'the running run keeps its frames');
  t.true(existsSync(products[0]!), 'products wait until frames are gone');
  // Need more than all frames of finished runs: products go next, oldest first.
  await guard(5).ensure();
  t.true(frames.slice(0, 4).every((f) => !existsSync(f)));
  t.false(existsSync(products[0]!));
  t.true(existsSync(frames[4]!) && existsSync(frames[5]!));
  t.true(existsSync(state), 'job state is never deleted');
  t.true(existsSync(join(dir, 'skyrig.db')));
  // Impossible: one line naming the folder and how much to free.
  const err = await t.throwsAsync(guard(50).ensure(), { instanceOf: DiskSpaceError });
  t.regex(err!.message, new RegExp(`^${dir}: only \\d+ MB free, below retention\\.min_free_mb=209; free at least \\d+ MB there`));
  t.false(err!.message.includes('\n'));
  // Rows of deleted files are marked, so history stays.
  t.is(runlog.expiredFrames(new Date('9999-01-01')).length, 0);
});

test('SQLITE_FULL on a real full tmpfs: onFull frees space and the write is retried', async (t) => {
  const fs = await mountTmpfs(t, 8);
  const runlog = new SqliteRunLog(join(fs, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const big = join(fs, 'old-frame.fits');
  const run = runlog.beginRun('capture', {});
  await writeFile(big, Buffer.alloc(2e6));
  runlog.addFrame(run, { path: big, sizeBytes: 2e6, sha256: 'x', exposureS: 1, width: 1, height: 1, timestamp: new Date('2026-01-01') });
  runlog.finishRun(run, 'ok');
  const filler = fillDisk(fs);
  // Without a hook the error reaches the caller, with better-sqlite3's code.
  const payload = { blob: 'x'.repeat(200_000) };
  let code: string | undefined;
  try {
    runlog.addEvent('info', 'big', payload);
  } catch (err) {
    code = (err as { code?: string }).code;
  }
  t.is(code, 'SQLITE_FULL');
  const log = memoryLogger('info');
  const guard = new SpaceGuard({ minFreeMb: 1, folders: [{ field: 'paths.data_dir', path: fs }], runlog, log });
  let calls = 0;
  runlog.onFull = () => (calls++, guard.freeSync());
  t.notThrows(() => runlog.addEvent('info', 'big', payload));
  t.is(calls, 1);
  t.false(existsSync(big), 'the old frame made room');
  t.true(existsSync(filler), 'the other writer’s file is not ours to delete');
  t.is(runlog.integrityCheck(), 'ok');
  await rm(filler);
});
