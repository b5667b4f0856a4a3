import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const env = { ...process.env, SKYRIG_FROM_SOURCE: '1' };

test('skyrig runs and status read the run log', async (t) => {
  const dir = await tempDir(t);
  const db = join(dir, 'r.db');
  const log = new SqliteRunLog(db);
  const a = log.beginRun('capture', { exposure_s: 3 }, 'night');
  log.addFrame(a, { path: '/x/1.fits', sizeBytes: 1, sha256: 'aa', exposureS: 3, width: 2, height: 2, timestamp: new Date() });
  log.addProduct(a, { kind: 'preview', path: '/x/p.jpg' });
  log.finishRun(a, 'ok', { metrics: { frames: 1 } });
  const b = log.beginRun('hdr', {});
  log.finishRun(b, 'failed', { error: 'run 2: 20260101000000_100.jpg and 20260101000000_200.jpg differ in size' });
  log.close();

  const text = await run('node', ['bin/skyrig.js', 'runs', '--db', db], { env });
  const lines = text.stdout.trim().split('\n');
  t.is(lines.length, 2);
  t.regex(lines[0]!, /^\s*2 .* hdr\s+failed .*differ in size/);
  t.regex(lines[1]!, /^\s+1 .* capture\s+ok .*frames\s+1\s+products\s+1/);

  const json = JSON.parse((await run('node', ['bin/skyrig.js', 'runs', '--db', db, '--json', '--last', '1'], { env })).stdout);
  t.is(json.length, 1);
  t.is(json[0].status, 'failed');

  const status = JSON.parse((await run('node', ['bin/skyrig.js', 'status', '--db', db, '--json'], { env })).stdout);
  t.deepEqual(status.totals, { runs: 2, frames: 1, products: 1, failed: 1 });
  t.is(status.last_failure.id, 2);

  const missing = await t.throwsAsync(run('node', ['bin/skyrig.js', 'runs', '--db', join(dir, 'none.db')], { env }));
  t.regex((missing as any).stderr, /none\.db: no run log yet/);
});
