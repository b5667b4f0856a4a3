// SIGKILL in the middle of a run: the database opens, integrity_check is ok, and every frame file in
// the spool has its row. Restarting recovers the run (aborted) and anything left in .incoming.
import test from 'ava';
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { tempDir } from '../helpers/tmp.js';
import { spawnAgent, until, writeConfig } from '../helpers/agent-process.js';

async function spoolFrames(spool: string): Promise<string[]> {
  const out: string[] = [];
  for (const day of await readdir(spool).catch(() => [] as string[])) {
    for (const run of await readdir(join(spool, day))) {
      for (const f of await readdir(join(spool, day, run), { withFileTypes: true })) if (f.isFile()) out.push(join(spool, day, run, f.name));
    }
  }
  return out;
}

function frameCount(db: string): number {
  if (!existsSync(db)) return 0;
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM frames').get() as { n: number }).n;
  } catch {
    return 0;
  } finally {
    d.close();
  }
}

test('SIGKILL mid-run loses no frame row and leaves a sound database; restart marks the run aborted', async (t) => {
  const dir = await tempDir(t);
  const config = await writeConfig(dir, {
    station: { id: 'crash' },
    paths: { data_dir: join(dir, 'data') },
    devices: { cameras: { cam: { url: 'sim://crash?scene=sky&width=160&height=120&realtime=1' } } },
    jobs: [{ name: 'burst', kind: 'capture', every: '1h', params: { exposure_s: 0.15, count: 200 } }],
    mqtt: { enabled: false },
    retention: { min_free_mb: 1 },
  });
  const db = join(dir, 'data', 'skyrig.db');
  const agent = spawnAgent(t, ['run', '--config', config]);
  await until(() => frameCount(db) >= 4, 30000, '4 frame rows');
  agent.proc.kill('SIGKILL');
  const { signal } = await agent.exited;
  t.is(signal, 'SIGKILL');

  const log = new SqliteRunLog(db);
  t.is(log.integrityCheck(), 'ok');
  const run = log.listRuns(1)[0]!;
  t.is(run.status, 'running');
  const rows = new Set(log.framesOf(run.id).map((f) => f.path));
  const files = await spoolFrames(join(dir, 'data', 'spool'));
  t.true(files.length >= 4);
  for (const f of files) t.true(rows.has(f), `${f} has no row`);
  log.close();

  // Restart: the interrupted run is marked aborted, .incoming is recovered, SIGTERM exits 0.
  const again = spawnAgent(t, ['run', '--config', config]);
  await again.waitForLine(/agent ready/);
  const after = new SqliteRunLog(db, { readonly: true });
  t.is(after.listRuns(10).find((r) => r.id === run.id)!.status, 'aborted');
  after.close();
  const t0 = Date.now();
  again.proc.kill('SIGTERM');
  const exit = await again.exited;
  t.is(exit.code, 0);
  t.true(Date.now() - t0 < 10000);
  const final = new SqliteRunLog(db, { readonly: true });
  t.is(final.integrityCheck(), 'ok');
  const allRows = new Set(final.listRuns(10).flatMap((r) => final.framesOf(r.id).map((f) => f.path)));
  for (const f of await spoolFrames(join(dir, 'data', 'spool'))) t.true(allRows.has(f), `${f} has no row after restart`);
  t.false(final.listRuns(10).some((r) => r.status === 'running'));
  final.close();
});
