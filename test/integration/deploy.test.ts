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

test('install.sh refuses a per-user node and checks the native modules the service needs', async (t) => {
  const script = await readFile('deploy/install.sh', 'utf8');
  t.regex(script, /\/root\/\*\|\/home\/\*/);
  t.regex(script, /for m in better-sqlite3 sharp unix-dgram; do/);
  t.regex(script, /--exclude=\.\/var /, 'only the top-level var/ is left out');
  t.regex(script, /\bdcraw\b/, 'dcraw (DSLR raw probing, raw calibration frames) is installed');
});

test('the unit keeps /sys writable for sysfs GPIO and allows libcamera devices', async (t) => {
  const unit = await readFile('systemd/skyrig.service', 'utf8');
  const rail = await readFile('drivers/gpio-rail/sysfs.ts', 'utf8');
  t.true(rail.includes("'/sys/class/gpio'"), 'gpio-rail still goes through sysfs');
  t.false(/^ProtectKernelTunables=(yes|true|on|1)\s*$/m.test(unit), 'ProtectKernelTunables=yes would make /sys read-only');
  for (const line of ['DeviceAllow=char-gpiochip rw', 'DeviceAllow=char-video4linux rw', 'DeviceAllow=char-media rw', 'DeviceAllow=char-dma_heap rw']) t.true(unit.includes(line), line);
});
