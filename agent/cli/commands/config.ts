// `skyrig config check|show|path`
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DEFAULT_CONFIG_PATH, loadConfig, resolvePaths } from '../../config/load.js';
import { probeWritable } from '../../storage/probe.js';
import type { Config } from '../../config/schema.js';
import { checkFfmpeg } from '../../../pipeline/night/timelapse.js';

export function configPathOption(cmd: Command): Command {
  return cmd.option('-c, --config <path>', 'config file', process.env.SKYRIG_CONFIG ?? DEFAULT_CONFIG_PATH);
}

/** What `config check` does: load, validate, probe the folders; the summary line, or throws one line. */
export async function checkConfigFile(file: string): Promise<string> {
  const { config: cfg, path } = await loadConfig(file);
  const paths = resolvePaths(cfg, dirname(resolve(path)));
  // The folders the agent writes: created and probed (bounded) as the daemon's start would.
  const others: string[] = [];
  const probe = async (dir: string, field: string) => {
    try {
      await probeWritable(dir, field, { allowFull: true });
    } catch (err) {
      // The login user checking an installed station's config: the folder belongs to the service
      // user, who is the one that must write it (the agent probes it again at start).
      const owner = (err as { code?: string }).code === 'EACCES' ? await stat(dir).then((s) => s.uid, () => null) : null;
      if (owner === null || owner === process.getuid?.()) throw err;
      others.push(dir);
    }
  };
  await probe(paths.dataDir, 'paths.data_dir');
  if (cfg.paths.spool_dir) await probe(paths.spoolDir, 'paths.spool_dir');
  if (cfg.paths.products_dir) await probe(paths.productsDir, 'paths.products_dir');
  if (cfg.paths.database) await probe(dirname(paths.database), 'paths.database');
  await checkTimelapseTool(cfg.jobs);
  return (
    `${path}: ok — station ${cfg.station.id}, ${Object.keys(cfg.devices.cameras).length} camera(s), ${Object.keys(cfg.devices.focusers).length} focuser(s), ` +
    `${cfg.jobs.length} job(s), mqtt ${cfg.mqtt.enabled ? cfg.mqtt.url : 'off'}, data ${paths.dataDir}` +
    (others.length ? ` (${others.join(', ')}: another user's, not writable by you; the agent checks it at start)` : '')
  );
}

/**
 * An all-sky job that makes a timelapse needs ffmpeg: found missing here, not at dawn. The agent itself
 * still starts without it (the night then closes with the keogram and star trails only).
 */
async function checkTimelapseTool(jobs: Config['jobs']): Promise<void> {
  for (const [i, job] of jobs.entries()) {
    const p = job.params;
    if (job.kind !== 'allsky' || !job.enabled || p.products === false || p.timelapse === false) continue;
    const ffmpeg = typeof p.ffmpeg === 'string' ? p.ffmpeg : 'ffmpeg';
    await checkFfmpeg(ffmpeg).catch((err: Error) => {
      throw new Error(`jobs[${i}] (${job.name}): the timelapse needs ${err.message}; or set params.timelapse: false`);
    });
  }
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
