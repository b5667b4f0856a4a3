import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { requireCommand } from '../helpers/system.js';

const run = promisify(execFile);

test('systemd-analyze verify accepts the unit', async (t) => {
  const bin = requireCommand('systemd-analyze', 'systemd');
  const { stdout, stderr } = await run(bin, ['verify', 'systemd/skyrig.service']);
  t.is((stdout + stderr).trim(), '');
});

test('the unit is Type=notify with watchdog, restart and hardening', async (t) => {
  const unit = await readFile('systemd/skyrig.service', 'utf8');
  for (const line of ['Type=notify', 'WatchdogSec=60', 'Restart=on-failure', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/skyrig', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'SupplementaryGroups=gpio plugdev video']) {
    t.true(unit.includes(line), line);
  }
});

test('install.sh is valid bash', async (t) => {
  await run('bash', ['-n', 'deploy/install.sh']);
  t.pass();
});
