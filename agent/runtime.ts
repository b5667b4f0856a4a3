// Assembles a running agent from a config: run log, MQTT link + command router, drivers, job runners,
// sd_notify. `skyrig run` and `skyrig demo` both start exactly this.
import { dirname } from 'node:path';
import { setImageLimits } from '../pipeline/image/limits.js';
import { setFallbackWarning } from '../pipeline/image/sharp-fallback.js';
import { createDriverContext } from '../drivers/context.js';
import type { GpioChip } from '../drivers/types.js';
import * as registry from '../drivers/registry.js';
import type { Config, JobKind } from './config/schema.js';
import { resolvePaths, type ResolvedPaths } from './config/load.js';
import type { Logger } from './log.js';
import { Agent } from './daemon.js';
import { createDeviceFactory, type DriverRegistry } from './devices.js';
import { isDiskFull, SqliteRunLog } from './runlog/sqlite.js';
import { removeLeftovers } from './storage/leftovers.js';
import { lockDataDir } from './storage/pidlock.js';
import { probeWritable } from './storage/probe.js';
import { createNotifier, type Notifier } from './sdnotify.js';
import { nullPublisher, teePublisher, type AgentPublisher } from './publisher.js';
import { redactUrl, type MqttLink } from './mqtt/publisher.js';
import { startAgentMqtt } from './mqtt/agent.js';
import type { CommandRouter } from './commands/index.js';
import type { JobRunner } from './jobs/types.js';
import { jobRunners } from './jobs/runners.js';

export { VERSION } from './version.js';
import { VERSION } from './version.js';

export interface RuntimeOptions {
  config: Config;
  /** Relative paths in the config resolve against this (the config file's folder). */
  baseDir: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  notifier?: Notifier;
  registry?: DriverRegistry;
  runners?: Partial<Record<JobKind, JobRunner>>;
  gpioChip?: GpioChip;
  /** Aborts a start-up that is waiting (disk full at start) when a stop signal arrives. */
  abort?: AbortSignal;
  /** Extra publisher (the demo records what it published). */
  alsoPublishTo?: AgentPublisher;
}

export interface Runtime {
  agent: Agent;
  runlog: SqliteRunLog;
  paths: ResolvedPaths;
  link: MqttLink | null;
  router: CommandRouter | null;
  shutdown(): Promise<void>;
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const { config } = o;
  // image bombs refused from the header; missing codec programs: one warning in the agent's log
  const img = config.images;
  setImageLimits({
    ...(img.max_megapixels !== undefined && { maxPixels: img.max_megapixels * 1e6 }),
    ...(img.max_side !== undefined && { maxSide: img.max_side }),
    ...(img.fallback_megasamples !== undefined && { fallbackMaxSamples: img.fallback_megasamples * 1e6 }),
  });
  setFallbackWarning((m) => o.log.warn(m));
  const paths = resolvePaths(config, o.baseDir);
  // Every folder the agent writes, created and probed with a deadline: one line naming the field,
  // never a hang. A full disk passes (the agent starts degraded and frees space).
  const probe = { allowFull: true };
  await probeWritable(paths.dataDir, 'paths.data_dir', probe);
  await probeWritable(paths.stateDir, 'paths.data_dir', probe);
  await probeWritable(paths.spoolDir, config.paths.spool_dir ? 'paths.spool_dir' : 'paths.data_dir', probe);
  await probeWritable(paths.productsDir, config.paths.products_dir ? 'paths.products_dir' : 'paths.data_dir', probe);
  await probeWritable(dirname(paths.database), config.paths.database ? 'paths.database' : 'paths.data_dir', probe);
  const unlock = await lockDataDir(paths.dataDir, process.pid, () => o.log.warn('disk full: data dir lock file not written; starting anyway', { dir: paths.dataDir }));
  try {
    return await startLocked(o, paths, unlock);
  } catch (err) {
    await unlock();
    throw err;
  }
}

/**
 * Open the run log; on a full disk (the journal, WAL or a migration cannot be written) wait degraded,
 * saying so once, removing crash leftovers and retrying every `retention.disk_check_every`, until
 * it opens or `o.abort` fires (a signal during start-up).
 */
async function openRunLog(paths: ResolvedPaths, o: RuntimeOptions, notifier: Notifier): Promise<SqliteRunLog> {
  let warned = false;
  for (;;) {
    try {
      const runlog = new SqliteRunLog(paths.database);
      if (warned) o.log.info('run log opened: disk space is back', { db: paths.database });
      return runlog;
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      if (!warned) {
        warned = true;
        o.log.warn('starting degraded: disk full, the run log cannot be opened; retrying until space returns', {
          db: paths.database,
          error: (err as Error).message,
          retry_s: o.config.retention.disk_check_every / 1000,
        });
        notifier.status(`degraded: disk full (${paths.dataDir}); waiting for space`);
      }
      await removeLeftovers([paths.spoolDir, paths.productsDir, paths.stateDir, paths.dataDir], o.log);
      await new Promise<void>((resolve, reject) => {
        if (o.abort?.aborted) return reject(new Error('stopped during start-up'));
        const t = setTimeout(resolve, o.config.retention.disk_check_every);
        o.abort?.addEventListener('abort', () => (clearTimeout(t), reject(new Error('stopped during start-up'))), { once: true });
      });
    }
  }
}

async function startLocked(o: RuntimeOptions, paths: ResolvedPaths, unlock: () => Promise<void>): Promise<Runtime> {
  const { config, log } = o;
  const notifier = o.notifier ?? createNotifier(o.env ?? process.env, (err) => log.warn('sd_notify', { error: err }));
  const runlog = await openRunLog(paths, o, notifier);

  // The agent exists before MQTT so commands can be dispatched to it; the publisher is late-bound.
  let agent: Agent | null = null;
  const mqtt = startAgentMqtt(config, {
    log,
    stateDir: paths.stateDir,
    swVersion: VERSION,
    runlog,
    dispatch: (name, args) => (agent ? agent.command(name, args) : Promise.resolve({ ok: false, error: 'agent is starting' })),
  });
  if (mqtt) log.info('mqtt', { url: redactUrl(config.mqtt.url), base: `${config.mqtt.base_topic}/${config.station.id}` });
  let publisher: AgentPublisher = mqtt?.publisher ?? nullPublisher;
  if (o.alsoPublishTo) publisher = teePublisher(publisher, o.alsoPublishTo);

  const driverCtx = createDriverContext({ log: log.child({ component: 'driver' }), stateDir: paths.stateDir, gpioChip: o.gpioChip });
  const devices = createDeviceFactory(config, driverCtx, o.registry ?? registry);
  agent = new Agent({ config, paths, runlog, publisher, notifier, log, devices, runners: o.runners ?? jobRunners });
  const started = agent;
  await started.start();
  let closing: Promise<void> | null = null;
  return {
    agent: started,
    runlog,
    paths,
    link: mqtt?.link ?? null,
    router: mqtt?.router ?? null,
    shutdown() {
      closing ??= (async () => {
        mqtt?.router.close();
        await started.stop();
        runlog.close();
        notifier.close();
        await unlock();
      })();
      return closing;
    },
  };
}
