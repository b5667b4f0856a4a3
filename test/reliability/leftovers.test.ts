// Crash leftovers (temp files of a dead writer) are removed when the agent starts, and named in the
// log; a temp file of a live process and every real frame stay.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig } from '../../agent/config/load.js';
import { memoryLogger } from '../../agent/log.js';
import { startRuntime } from '../../agent/runtime.js';
import { tempDir } from '../helpers/tmp.js';

recordEachTest(test);

test('temp files of dead processes go at start, one log line per folder; live ones and frames stay', async (t) => {
  const dir = await tempDir(t);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has certainly exited
  const run = join(dir, 'spool', '2026-01-01', 'capture-000001');
  const inc = join(run, '.incoming');
  const prod = join(dir, 'products', '2026-01-01', 'hdr-000002');
  const state = join(dir, 'state', 'jobs', 'eaa');
  for (const d of [inc, prod, state]) await mkdir(d, { recursive: true });
  const gone = [
    join(prod, `hdr.jpg.tmp-${dead}-abc123`),
    join(state, `livestack.state.tmp-${dead}-x1y2z3`),
    join(inc, 'frame_001.fits.tmp'),
    join(inc, `frame_002.fits.tmp-${dead}-q`),
  ];
  const kept = [join(prod, `hdr.jpg.tmp-${process.pid}-inuse`), join(run, 'frame_000.fits'), join(state, 'livestack.state')];
  for (const f of [...gone, ...kept]) await writeFile(f, Buffer.alloc(1000));
  const old = new Date(Date.now() - 3600_000);
  await utimes(join(inc, 'frame_001.fits.tmp'), old, old);

  const config = validateConfig({ station: { id: 'left' }, paths: { data_dir: dir }, mqtt: { enabled: false }, retention: { min_free_mb: 0 } });
  const log = memoryLogger('info');
  const rt = await startRuntime({ config, baseDir: dir, log, env: {} });
  t.teardown(() => rt.shutdown());
  for (const f of gone) t.false(existsSync(f), `${f} still there`);
  for (const f of kept) t.true(existsSync(f), `${f} was removed`);
  const lines = log.lines.filter((l) => l.includes('removed crash leftovers'));
  t.is(lines.length, 3, lines.join('\n')); // products, state, .incoming
  t.true(lines.some((l) => l.includes(state) && l.includes('livestack.state.tmp-')));
});
