// `skyrig runs --last` with a value that is not a count: one line naming the option (it used to be
// SQLite's "datatype mismatch").
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const env = { ...process.env, SKYRIG_FROM_SOURCE: '1' };

test('skyrig runs --last abc names the option', async (t) => {
  const db = join(await tempDir(t), 'r.db');
  const log = new SqliteRunLog(db);
  log.finishRun(log.beginRun('capture', {}), 'ok', { metrics: {} });
  log.close();
  const err = await t.throwsAsync(run('node', ['bin/skyrig.js', 'runs', '--db', db, '--last', 'abc'], { env })) as Error & { stderr: string; code: number };
  t.is(err.code, 1);
  t.is(err.stderr.trim(), 'skyrig: --last: expected a whole number ≥ 1, got "abc"');
  const ok = await run('node', ['bin/skyrig.js', 'runs', '--db', db, '-n', '1'], { env });
  t.regex(ok.stdout, /^\s+1 .* capture\s+ok/);
});
