// One agent per data dir: a live skyrig owning it refuses a second one naming its pid; a stale pid
// file (crash, SIGKILL, an unrelated process reusing the number after a reboot) is taken over.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockDataDir, PID_FILE } from '../../agent/storage/pidlock.js';
import { tempDir } from '../helpers/tmp.js';

function sleeper(arg: string) {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', arg], { stdio: 'ignore' });
  return child;
}

test('a running skyrig holds the data dir; once it is gone the lock is taken over and released', async (t) => {
  const dir = await tempDir(t);
  const other = sleeper('skyrig');
  t.teardown(() => other.kill('SIGKILL'));
  await writeFile(join(dir, PID_FILE), `${other.pid}\n`);
  const err = await t.throwsAsync(lockDataDir(dir));
  t.is(err!.message, `${dir}: another skyrig agent (pid ${other.pid}) is using this data dir; stop it first (systemctl stop skyrig) or give this one another paths.data_dir`);
  other.kill('SIGKILL');
  await new Promise((r) => other.once('exit', r));
  const release = await lockDataDir(dir);
  t.is((await readFile(join(dir, PID_FILE), 'utf8')).trim(), String(process.pid));
  await release();
  t.false(existsSync(join(dir, PID_FILE)));
});

test('a pid file naming an unrelated live process is stale', async (t) => {
  const dir = await tempDir(t);
  const unrelated = sleeper('something-else');
  t.teardown(() => unrelated.kill('SIGKILL'));
  await writeFile(join(dir, PID_FILE), `${unrelated.pid}\n`);
  const release = await lockDataDir(dir);
  t.is((await readFile(join(dir, PID_FILE), 'utf8')).trim(), String(process.pid));
  await release();
});
