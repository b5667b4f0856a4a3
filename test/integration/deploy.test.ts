// What install.sh writes for a Pi: the unit with this machine's node and prefix still verifies; the
// unit leaves /sys writable for gpio-rail's sysfs GPIO and lets libcamera at its devices.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

test('install.sh renders the unit with the absolute node path and prefix, and it verifies', async (t) => {
  const analyze = requireCommand('systemd-analyze', 'systemd');
  const script = await readFile('deploy/install.sh', 'utf8');
  const sedLine = script.split('\n').find((l) => l.startsWith('sed ') && l.includes('skyrig.service'));
  t.truthy(sedLine, 'install.sh renders systemd/skyrig.service with sed');
  const dir = await tempDir(t);
  const out = join(dir, 'skyrig.service');
  const node = process.execPath;
  // Same command, written to a temp file instead of /etc/systemd/system.
  const cmd = sedLine!.replace('/etc/systemd/system/skyrig.service', out);
  await run('bash', ['-c', `set -e; SRC=$PWD; PREFIX=/opt/skyrig-test; NODE_BIN=${node}; ${cmd}`]);
  const unit = await readFile(out, 'utf8');
  t.true(unit.includes(`ExecStart=${node} /opt/skyrig-test/bin/skyrig.js run --config /etc/skyrig/config.yaml`), unit.split('\n').find((l) => l.startsWith('ExecStart')));
  // verify wants the ExecStart binary and script to exist: point the script at this checkout.
  await writeFile(out, unit.replace('/opt/skyrig-test/bin/skyrig.js', join(process.cwd(), 'bin/skyrig.js')));
  const { stdout, stderr } = await run(analyze, ['verify', out]);
  t.is((stdout + stderr).trim(), '');
});

test('install.sh refuses a per-user node, installs deps.sh --runtime and requires the native modules the service needs', async (t) => {
  const script = await readFile('deploy/install.sh', 'utf8');
  t.regex(script, /\/root\/\*\|\/home\/\*/);
  t.regex(script, /^required=\(better-sqlite3 sharp\)$/m);
  t.regex(script, /^\[ "\$HAVE_SYSTEMD" = 1 \] && required\+=\(unix-dgram\)$/m, 'sd_notify is required where systemd runs the service');
  t.regex(script, /--exclude=\.\/var /, 'only the top-level var/ is left out');
  t.regex(script, /"\$SRC\/deploy\/deps\.sh" --runtime/);
  t.regex(script, /mv "\$STAGE" "\$PREFIX"/, 'the new tree replaces the old one whole');
});

test('deps.sh lists every tool doctor knows about, in the runtime set', async (t) => {
  const { TOOLS } = await import('../../agent/cli/commands/doctor/tools.js');
  const { stdout: runtime } = await run('bash', ['deploy/deps.sh', '--runtime', '--list']);
  const { stdout: all } = await run('bash', ['deploy/deps.sh', '--test', '--list']);
  const pkgs = new Set(runtime.trim().split('\n'));
  for (const need of Object.values(TOOLS)) t.true(pkgs.has(need.apt), `${need.tool}: ${need.apt}`);
  for (const p of ['dcraw', 'libraw-bin', 'ffmpeg', 'indi-bin', 'gphoto2', 'libgphoto2-dev', 'g++', 'make', 'pkg-config']) t.true(pkgs.has(p), p);
  const test = new Set(all.trim().split('\n'));
  for (const p of [...pkgs, 'mosquitto', 'python3-numpy', 'python3-opencv', 'python3-h5py', 'enfuse', 'time', 'openssl']) t.true(test.has(p), `--test has ${p}`);
  const ci = await readFile('.ci/run', 'utf8');
  t.regex(ci, /^deploy\/deps\.sh --test$/m, '.ci/run installs the same set');
});

test('the unit keeps /sys writable for sysfs GPIO and allows libcamera devices', async (t) => {
  const unit = await readFile('systemd/skyrig.service', 'utf8');
  const rail = await readFile('drivers/gpio-rail/sysfs.ts', 'utf8');
  t.true(rail.includes("'/sys/class/gpio'"), 'gpio-rail still goes through sysfs');
  t.false(/^ProtectKernelTunables=(yes|true|on|1)\s*$/m.test(unit), 'ProtectKernelTunables=yes would make /sys read-only');
  for (const line of ['DeviceAllow=char-gpiochip rw', 'DeviceAllow=char-video4linux rw', 'DeviceAllow=char-media rw', 'DeviceAllow=char-dma_heap rw']) t.true(unit.includes(line), line);
});
