// `skyrig doctor`: what hardware is visible, what is missing, and how to fix it. runDoctor gathers the
// checks (each module here holds one kind); formatDoctor prints them; exit code 1 on any failure.
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { resolvePaths } from '../../../config/load.js';
import { gphoto2Checks } from '../../../../drivers/gphoto2/doctor.js';
import { boardModel, gpioChecks, type DoctorCheck } from '../../../../drivers/gpio-rail/doctor.js';
import { rpicamChecks } from '../../../../drivers/rpicam/doctor.js';
import { CONFIG_HELP, defaultStateDir } from '../device-common.js';
import { configCheck, configIndiServers } from './config.js';
import { diskCheck, groupChecks, stateDirCheck } from './host.js';
import { indiCheck, mqttCheck } from './network.js';
import { toolChecks } from './tools.js';

export interface DoctorOptions {
  indi?: string;
  mqtt?: string;
  dataDir?: string;
  stateDir?: string;
  /** Config file path; the default one is used when it exists. */
  config?: string;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  hardware: boolean;
  ok: boolean;
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const model = await boardModel();
  const platform: DoctorCheck = {
    name: 'board',
    level: 'ok',
    message: model ?? `not a Raspberry Pi (${process.platform} ${process.arch}, Node ${process.versions.node})`,
  };
  const { check: config, loaded } = await configCheck(opts.config);
  const paths = loaded ? resolvePaths(loaded.config, dirname(resolve(loaded.path))) : null;
  const indiTargets = opts.indi ? [opts.indi] : configIndiServers(loaded);
  const mqttUrl = opts.mqtt ?? (loaded?.config.mqtt.enabled ? loaded.config.mqtt.url : undefined);
  const groups = await groupChecks();
  const [cams, picams, gpio, indi, mqtt, disk, state] = await Promise.all([
    gphoto2Checks(),
    rpicamChecks(),
    gpioChecks(),
    indiTargets.length ? Promise.all(indiTargets.map((t) => indiCheck(t))) : indiCheck(undefined).then((c) => [c]),
    mqttCheck(mqttUrl),
    diskCheck(resolve(opts.dataDir ?? paths?.dataDir ?? process.env.SKYRIG_DATA_DIR ?? '.')),
    stateDirCheck(resolve(opts.stateDir ?? paths?.stateDir ?? defaultStateDir())),
  ]);
  const tools = toolChecks(loaded?.config ?? null);
  const checks = [platform, config, ...tools, ...cams, ...picams, ...gpio, ...indi, ...groups, mqtt, disk, state];
  const hardware = checks.some((c) => c.hardware);
  if (!hardware) {
    checks.push({ name: 'hardware', level: 'ok', message: 'no camera, GPIO or INDI device visible on this machine (sim:// needs none)' });
  }
  return { checks, hardware, ok: !checks.some((c) => c.level === 'fail') };
}

export function formatDoctor(report: DoctorReport): string {
  const tag = { ok: ' ok ', warn: 'warn', fail: 'FAIL' } as const;
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => `[${tag[c.level]}] ${c.name.padEnd(width)}  ${c.message}${c.fix ? `\n       ${' '.repeat(width)}  fix: ${c.fix}` : ''}`);
  const warns = report.checks.filter((c) => c.level === 'warn').length;
  const fails = report.checks.filter((c) => c.level === 'fail').length;
  lines.push(fails ? `${fails} failed, ${warns} warnings` : warns ? `ok with ${warns} warnings` : 'all ok');
  return lines.join('\n');
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('What hardware is visible, what is missing (groups, permissions, gvfs, INDI, broker, disk), and how to fix it')
    .option('--indi <host:port>', 'INDI server to check (default: the config\'s indi:// devices, else localhost:7624 as a hint only)')
    .option('--mqtt <url>', 'MQTT broker to check with a plain TCP connect (default: the config\'s)')
    .option('--data-dir <dir>', 'data directory whose free space matters (default: the config\'s, else $SKYRIG_DATA_DIR or .)')
    .option('--state-dir <dir>', 'driver state directory')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--json', 'machine-readable output')
    .action(async (raw: DoctorOptions & { json?: boolean }) => {
      const report = await runDoctor(raw);
      process.stdout.write((raw.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
      if (!report.ok) process.exitCode = 1;
    });
}
