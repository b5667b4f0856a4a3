// kill -9 of a real agent process in the middle of the night, at whatever point of a frame it lands,
// then a restart: the night goes on in the same products folder and every frame logged for the night
// has its keogram column — none lost, none doubled.
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { NightProducts } from '../../pipeline/night/products.js';
import { DEFAULT_NIGHT_CONFIG } from '../../pipeline/night/types.js';
import { silentLogger } from '../../lib/log.js';
import { tempDir } from '../helpers/tmp.js';

function child(dir: string, start: string, frames: number) {
  const proc = spawn(process.execPath, ['--import=tsx', 'test/helpers/allsky-child.ts', dir, start, String(frames)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const seen: { n: number; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    const count = (out.match(/^frame \d+ ok$/gm) ?? []).length;
    for (const w of [...seen]) {
      if (count < w.n) continue;
      seen.splice(seen.indexOf(w), 1);
      w.resolve();
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    exited,
    output: () => out,
    frames: (n: number) => new Promise<void>((resolve, reject) => {
      seen.push({ n, resolve });
      void exited.then(() => setTimeout(() => reject(new Error(`child exited before ${n} frames:\n${out}`)), 100));
    }),
  };
}

test('kill -9 mid-night, restart: the same night goes on and no keogram column is lost', async (t) => {
  const dir = await tempDir(t);
  const a = child(dir, '2026-03-20T21:00:00Z', 1000);
  t.teardown(() => a.proc.kill('SIGKILL'));
  await a.frames(5);
  // Land somewhere inside the next frame (capture, row, tag, products, preview).
  await new Promise((r) => setTimeout(r, 40 + Math.random() * 200));
  a.proc.kill('SIGKILL');
  t.is((await a.exited).signal, 'SIGKILL');

  const b = child(dir, '2026-03-20T23:00:00Z', 4);
  t.teardown(() => b.proc.kill('SIGKILL'));
  const exit = await b.exited;
  t.is(exit.code, 0, b.output());

  const log = new SqliteRunLog(join(dir, 'skyrig.db'), { readonly: true });
  t.teardown(() => log.close());
  t.is(log.integrityCheck(), 'ok');
  const rows = log.framesWithStat('night', '2026-03-20');
  t.true(rows.length >= 9, `${rows.length} night frames`);
  t.deepEqual(rows.map((f) => f.stats.keogram_column), rows.map((_, i) => i));
  // The night products hold exactly those frames (their own saved progress, as the next frame reopens it).
  const products = await NightProducts.open(join(dir, 'products', 'night', '2026-03-20'), DEFAULT_NIGHT_CONFIG, { log: silentLogger });
  t.is(products.framesAdded, rows.length);
  const keogram = await products.readKeogram();
  t.is(keogram.times.length, rows.length);
  t.deepEqual(keogram.times, rows.map((f) => Date.parse(f.capturedAt)));
  // A run the kill interrupted was marked aborted at the restart; no night run yet (still night).
  t.false(log.listRuns(100).some((r) => r.kind === 'night' || r.status === 'running'));
});
