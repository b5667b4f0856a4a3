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

test('systemd-analyze security scores the unit at most 2.0 (offline, as written)', async (t) => {
  const bin = requireCommand('systemd-analyze', 'systemd');
  // Exit code 1 only when --threshold is exceeded; the score is on the last line either way.
  const { stdout } = await run(bin, ['security', '--offline=yes', '--no-pager', 'systemd/skyrig.service']).catch((err: { stdout: string }) => err);
  const m = /Overall exposure level for skyrig\.service: (\d+\.\d)/.exec(stdout);
  t.truthy(m, stdout.slice(-300));
  t.true(Number(m![1]) <= 2.0, `exposure ${m![1]} > 2.0`);
  // The settings the score rests on, each checked by name (a dropped one must fail here first).
  for (const item of ['CapabilityBoundingSet=~CAP_SYS_ADMIN', 'SystemCallArchitectures=', 'SystemCallFilter=~@mount', 'ProtectKernelLogs=', 'RemoveIPC=', 'RestrictNamespaces=~user', 'LockPersonality=', 'AmbientCapabilities=']) {
    t.regex(stdout, new RegExp(`^(✓|\\+) ${item.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'), item); // ✓, or + outside UTF-8 locales
  }
});

test('the unit waits for network time (a Pi has no RTC)', async (t) => {
  const unit = await readFile('systemd/skyrig.service', 'utf8');
  t.regex(unit, /^Wants=.*\btime-sync\.target\b/m);
  t.regex(unit, /^After=.*\btime-sync\.target\b/m);
  const script = await readFile('deploy/install.sh', 'utf8');
  t.regex(script, /systemctl enable systemd-time-wait-sync\.service/);
});

test('install.sh and deps.sh are valid bash', async (t) => {
  await run('bash', ['-n', 'deploy/install.sh']);
  await run('bash', ['-n', 'deploy/deps.sh']);
  t.pass();
});
