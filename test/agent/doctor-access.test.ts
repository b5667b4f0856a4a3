// The README's `skyrig config check` and `skyrig status` for the login user of an installed station:
// the config (0640, group skyrig) and the run log (data dir 0750, files 0640 under UMask=0027) are
// readable through the group; without it the error is one line naming the file, the group and the
// fix. Run as root, the CLI is started as `nobody` with the file's group (staff here) or without it.
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { tempDir } from '../helpers/tmp.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const STAFF = 50; // Debian's `staff` group: any group the test user is not in would do

function skyrig(args: string[], ids: { uid: number; gid: number } | null): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, 'bin', 'skyrig.js'), ...args],
      { ...(ids ?? {}), cwd: '/', env: { ...process.env, HOME: '/tmp', SKYRIG_FROM_SOURCE: '1' }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

async function station(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const config = join(dir, 'config.yaml');
  const data = join(dir, 'data');
  await writeFile(config, `station: { id: t }\npaths: { data_dir: ${data} }\nmqtt: { enabled: false }\n`);
  await mkdir(data);
  const log = new SqliteRunLog(join(data, 'skyrig.db'));
  log.finishRun(log.beginRun('capture', {}, 'night'), 'ok');
  log.close();
  return { dir, config, data, db: join(data, 'skyrig.db') };
}

test('config check and status as a member of the group the files belong to (agent stopped)', async (t) => {
  if (!isRoot) return t.fail('needs root to start the CLI as another user (CI runs as root)');
  const s = await station(t);
  for (const [p, mode] of [[s.config, 0o640], [s.data, 0o750], [s.db, 0o640]] as const) {
    await chown(p, 0, STAFF);
    await chmod(p, mode);
  }
  const member = { uid: NOBODY, gid: STAFF };
  const check = await skyrig(['config', 'check', '--config', s.config], member);
  t.is(check.code, 0, check.stderr);
  t.regex(check.stdout, /config\.yaml: ok — station t/);
  const status = await skyrig(['status', '--config', s.config], member);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /^runs 1 \(failed 0\)/);
  const runs = await skyrig(['runs', '--config', s.config], member);
  t.regex(runs.stdout, /capture\s+ok/);
  await mkdir(join(s.data, 'state'), { mode: 0o750 });
  await chown(join(s.data, 'state'), 0, STAFF);
  const doctor = await skyrig(['doctor', '--config', s.config], member);
  t.is(doctor.code, 0, doctor.stdout + doctor.stderr);
  t.regex(doctor.stdout, /\[ ok \] config +.*config\.yaml: 0 camera\(s\)/);
  t.regex(doctor.stdout, /\[warn\] state dir +.*state belongs to root \(the agent keeps rail positions there\)/);
});

test('without the group: one line naming the file, its group and the fix', async (t) => {
  if (!isRoot) return t.fail('needs root to start the CLI as another user (CI runs as root)');
  const s = await station(t);
  await chown(s.config, 0, STAFF);
  await chmod(s.config, 0o640);
  const outsider = { uid: NOBODY, gid: NOBODY };
  const check = await skyrig(['config', 'check', '--config', s.config], outsider);
  t.is(check.code, 1);
  t.is(check.stderr.trim(), `skyrig: ${s.config}: permission denied (mode 0640, group staff); add yourself to group staff (sudo usermod -aG staff nobody, then log out and in) or run it with sudo`);

  await chmod(s.config, 0o644);
  await chown(s.db, 0, STAFF);
  await chmod(s.db, 0o600);
  const status = await skyrig(['status', '--config', s.config], outsider);
  t.is(status.code, 1);
  t.is(status.stderr.trim().split('\n').length, 1, status.stderr);
  t.regex(status.stderr, new RegExp(`^skyrig: ${s.db}: permission denied \\(mode 0600, group staff\\); add yourself to group staff`));

  // The data dir itself closed to others (0750): named as the reason, not "no run log yet".
  await chmod(s.db, 0o640);
  await chown(s.data, 0, STAFF);
  await chmod(s.data, 0o750);
  const closed = await skyrig(['status', '--config', s.config], outsider);
  t.is(closed.code, 1);
  t.is(closed.stderr.trim(), `skyrig: ${s.db}: permission denied (its directory mode 0750, group staff); add yourself to group staff (sudo usermod -aG staff nobody, then log out and in) or run it with sudo`);
});
