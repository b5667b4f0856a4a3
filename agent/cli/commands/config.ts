// `skyrig config check|show|path`
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DEFAULT_CONFIG_PATH, loadConfig, resolvePaths } from '../../config/load.js';
import { probeWritable } from '../../storage/probe.js';

export function configPathOption(cmd: Command): Command {
  return cmd.option('-c, --config <path>', 'config file', process.env.SKYRIG_CONFIG ?? DEFAULT_CONFIG_PATH);
}

/** What `config check` does: load, validate, probe the folders; the summary line, or throws one line. */
export async function checkConfigFile(file: string): Promise<string> {
  const { config: cfg, path } = await loadConfig(file);
  const paths = resolvePaths(cfg, dirname(resolve(path)));
  // The folders the agent writes: created and probed (bounded) as the daemon's start would.
  await probeWritable(paths.dataDir, 'paths.data_dir', { allowFull: true });
  if (cfg.paths.spool_dir) await probeWritable(paths.spoolDir, 'paths.spool_dir', { allowFull: true });
  if (cfg.paths.products_dir) await probeWritable(paths.productsDir, 'paths.products_dir', { allowFull: true });
  if (cfg.paths.database) await probeWritable(dirname(paths.database), 'paths.database', { allowFull: true });
  return (
    `${path}: ok — station ${cfg.station.id}, ${Object.keys(cfg.devices.cameras).length} camera(s), ${Object.keys(cfg.devices.focusers).length} focuser(s), ` +
    `${cfg.jobs.length} job(s), mqtt ${cfg.mqtt.enabled ? cfg.mqtt.url : 'off'}, data ${paths.dataDir}`
  );
}

export const registerConfigCommands = (program: Command): void => {
  const config = program.command('config').description('validate or show the configuration');
  configPathOption(config.command('check').description('validate the config file without starting; exit 1 naming each bad field')).action(async (o: { config: string }) => {
    process.stdout.write(`${await checkConfigFile(o.config)}\n`);
  });
  configPathOption(config.command('show').description('print the config with every default filled in (password hidden)')).action(async (o: { config: string }) => {
    const { config: cfg } = await loadConfig(o.config);
    const shown = { ...cfg, mqtt: { ...cfg.mqtt, password: cfg.mqtt.password ? '***' : undefined } };
    process.stdout.write(stringify(shown));
  });
};
