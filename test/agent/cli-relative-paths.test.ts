// Relative paths in the config are relative to the config file for every command, as for
// `skyrig run`: `skyrig status`/`runs`/`config check` from another directory find the same run log.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const env = { ...process.env, SKYRIG_FROM_SOURCE: '1' };
const cli = resolve('bin/skyrig.js');

test('status, runs and config check resolve a relative data_dir against the config file', async (t) => {
  const dir = await tempDir(t);
  const etc = join(dir, 'etc');
  await mkdir(join(etc, 'data'), { recursive: true });
  await writeFile(join(etc, 'config.yaml'), 'station: { id: rel }\npaths: { data_dir: data }\nmqtt: { enabled: false }\n');
  const log = new SqliteRunLog(join(etc, 'data', 'skyrig.db'));
  log.finishRun(log.beginRun('capture', {}), 'ok', { metrics: {} });
  log.close();
  const elsewhere = { cwd: dir, env };
  const status = await run('node', [cli, 'status', '--config', join(etc, 'config.yaml')], elsewhere);
  t.regex(status.stdout, /^runs 1 \(failed 0\)/);
  const runs = await run('node', [cli, 'runs', '--config', join(etc, 'config.yaml')], elsewhere);
  t.regex(runs.stdout, /^\s+1 .* capture\s+ok/);
  const check = await run('node', [cli, 'config', 'check', '--config', join(etc, 'config.yaml')], elsewhere);
  t.true(check.stdout.trim().endsWith(`data ${join(etc, 'data')}`), check.stdout);
});
