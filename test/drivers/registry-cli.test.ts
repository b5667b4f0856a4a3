// The device commands as a user runs them: real `skyrig` processes on this machine, which has no
// camera and no GPIO.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCaptureOptions } from '../../agent/cli/commands/devices.js';
import { tempDir } from '../helpers/tmp.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function skyrig(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(root, 'bin', 'skyrig.js'), ...args], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

test('skyrig doctor exits 0 on a machine with no hardware and says so', async (t) => {
  const state = await tempDir(t);
  const r = await skyrig(['doctor', '--state-dir', state, '--data-dir', state]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /no camera, GPIO or INDI device visible on this machine/);
  t.regex(r.stdout, /\[ ok \] cameras \(gphoto2\)/);
  const j = await skyrig(['doctor', '--json', '--state-dir', state, '--data-dir', state]);
  const report = JSON.parse(j.stdout) as { ok: boolean; hardware: boolean; checks: { name: string; level: string }[] };
  t.true(report.ok);
  t.false(report.hardware);
  t.true(report.checks.some((c) => c.name === 'disk' && c.level === 'ok'));
});

test('skyrig doctor fails (exit 1) when an INDI server it was told about is not there', async (t) => {
  const state = await tempDir(t);
  const r = await skyrig(['doctor', '--indi', '127.0.0.1:1', '--state-dir', state, '--data-dir', state]);
  t.is(r.code, 1);
  t.regex(r.stdout, /\[FAIL\] indi server +INDI server 127\.0\.0\.1:1 not reachable/);
  t.regex(r.stdout, /fix: start it: indiserver/);
});

test('skyrig capture with no camera plugged in fails in one line and writes nothing', async (t) => {
  const out = await tempDir(t);
  const r = await skyrig(['capture', '--camera', 'gphoto2://', '--exposure', '0.01', '--out', out, '--state-dir', out]);
  t.is(r.code, 1);
  t.is(r.stderr.trim().split('\n').filter((l) => l.startsWith('skyrig:')).length, 1);
  t.regex(r.stderr, /skyrig: gphoto2:\/\/: no camera found by libgphoto2/);
  t.deepEqual(await readdir(out), []);
});

test('skyrig focuser on a gpio-rail without GPIO says what is missing', async (t) => {
  const state = await tempDir(t);
  const r = await skyrig(['focuser', '--focuser', 'gpio-rail://?step=17&dir=27', '--status', '--state-dir', state]);
  t.is(r.code, 1);
  t.regex(r.stderr, /skyrig: GPIO: \/sys\/class\/gpio is not accessible/);
});

test('capture option errors name the option', (t) => {
  t.throws(() => parseCaptureOptions({ camera: 'sim://', exposure: 'abc', out: '/tmp/x' }), { message: '--exposure: expected seconds > 0 (like 30, 0.004 or 1/250), got "abc"' });
  t.is(parseCaptureOptions({ camera: 'sim://', exposure: '1/250', out: '/tmp/x' }).exposure, 0.004);
  t.throws(() => parseCaptureOptions({ camera: 'sim://', exposure: '1/0', out: '/tmp/x' }), { message: /got "1\/0"/ });
  t.throws(() => parseCaptureOptions({ camera: 'sim://', exposure: '1', count: '0', out: '/tmp/x' }), { message: /--count: expected a whole number ≥ 1/ });
  t.throws(() => parseCaptureOptions({ camera: 'sim://', exposure: '1', out: '/tmp/x', frameType: 'sky' }), { message: /--frame-type: expected one of light, dark, flat, bias/ });
  t.throws(() => parseCaptureOptions({ exposure: '1', out: '/tmp/x' }), { message: /--camera: a device URL is required/ });
  const o = parseCaptureOptions({ camera: 'gphoto2://', exposure: '2.5', iso: '800', count: '3', out: '/tmp/x' });
  t.deepEqual([o.exposure, o.iso, o.count, o.frameType], [2.5, 800, 3, 'light']);
});

test('runCapture writes --count frames from a sim:// camera and prints each path', async (t) => {
  const { runCapture } = await import('../../agent/cli/commands/devices.js');
  const { createDriverContext } = await import('../../drivers/context.js');
  const { memoryLogger } = await import('../../agent/log.js');
  const out = await tempDir(t);
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: out });
  const printed: string[] = [];
  const frames = await runCapture(parseCaptureOptions({ camera: 'sim://clirig?seed=1', exposure: '0.5', count: '2', frameType: 'dark', out: join(out, 'spool') }), ctx, {
    out: (l) => printed.push(l),
    err: process.stderr,
  });
  t.is(frames.length, 2);
  t.deepEqual(printed, frames.map((f) => f.path));
  t.deepEqual((await readdir(join(out, 'spool'))).sort(), frames.map((f) => f.path.split('/').pop()).sort());
  t.true(frames.every((f) => f.frameType === 'dark' && /\/dark_\d{8}T\d{6}Z_000[12]\.\w+$/.test(f.path)));
});

async function writeConfig(dir: string, extra = ''): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const path = join(dir, 'config.yaml');
  await writeFile(
    path,
    `station:\n  id: test-rig\npaths:\n  data_dir: ${join(dir, 'data')}\ndevices:\n  cameras:\n    allsky:\n      url: sim://cfgrig?seed=2\n` +
      `    ccd:\n      url: indi://127.0.0.1:1/CCD%20Simulator\n  focusers:\n    rail:\n      url: sim://cfgrig\n      backlash: 15\n      approach: out\n` +
      `mqtt:\n  url: mqtt://127.0.0.1:1\n${extra}`,
  );
  return path;
}

test('device names from the config: capture --camera allsky uses its URL and the config\'s state dir', async (t) => {
  const dir = await tempDir(t);
  const cfg = await writeConfig(dir);
  const r = await skyrig(['capture', '--camera', 'allsky', '-c', cfg, '--exposure', '0.2', '--out', join(dir, 'out')]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /out\/light_\d{8}T\d{6}Z_0001\.\w+\n$/);
  const bad = await skyrig(['capture', '--camera', 'nosuch', '-c', cfg, '--exposure', '1', '--out', join(dir, 'out')]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /skyrig: --camera nosuch: not a device URL and no camera of that name in .*config\.yaml \(allsky, ccd\)/);
});

test('doctor with a config checks its INDI servers and broker and the config\'s data dir', async (t) => {
  const { runDoctor } = await import('../../agent/cli/commands/devices.js');
  const dir = await tempDir(t);
  const cfg = await writeConfig(dir);
  const report = await runDoctor({ config: cfg });
  const by = (name: string) => report.checks.filter((c) => c.name === name);
  t.false(report.ok);
  t.is(by('config')[0].level, 'ok');
  t.regex(by('config')[0].message, /2 camera\(s\), 1 focuser\(s\)/);
  t.is(by('indi server')[0].level, 'fail');
  t.regex(by('indi server')[0].message, /127\.0\.0\.1:1 not reachable/);
  t.is(by('mqtt broker')[0].level, 'fail');
  t.is(by('disk')[0].level, 'ok');
  t.true(by('disk')[0].message.startsWith(`${join(dir, 'data')} (not created yet; on ${dir})`), by('disk')[0].message);
  const broken = join(dir, 'broken.yaml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(broken, 'station: [');
  const r2 = await runDoctor({ config: broken, stateDir: dir, dataDir: dir });
  t.is(r2.checks.find((c) => c.name === 'config')?.level, 'fail');
});
