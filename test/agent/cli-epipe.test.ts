// `skyrig … | head -1`: output into a pipe the reader closed early ends quietly (exit 0, nothing on
// stderr), not with an unhandled EPIPE 'error' event and its stack trace (issue 12 item 6).
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { tempDir } from '../helpers/tmp.js';

function closedReader(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['bin/skyrig.js', ...args], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first line is written
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

test('skyrig --help into a closed pipe exits quietly', async (t) => {
  const r = await closedReader(['--help']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
});

test('skyrig runs into a closed pipe exits quietly', async (t) => {
  const dir = await tempDir(t);
  const db = join(dir, 'skyrig.db');
  const log = new SqliteRunLog(db);
  for (let i = 0; i < 50; i++) log.finishRun(log.beginRun('capture', {}, 'allsky'), 'ok');
  log.close();
  const r = await closedReader(['runs', '--db', db]);
  t.is(r.stderr, '');
  t.is(r.code, 0);
});
