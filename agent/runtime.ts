// Assembles a running agent from a config: run log, MQTT link + command router, drivers, job runners,
// sd_notify. `skyrig run` and `skyrig demo` both start exactly this.
import { mkdir } from 'node:fs/promises';
import sharp from 'sharp';
import { createDriverContext } from '../drivers/context.js';
import type { GpioChip } from '../drivers/types.js';
import * as registry from '../drivers/registry.js';
import type { Config, JobKind } from './config/schema.js';
import { resolvePaths, type ResolvedPaths } from './config/load.js';
import type { Logger } from './log.js';
import { Agent } from './daemon.js';
import { createDeviceFactory, type DriverRegistry } from './devices.js';
import { SqliteRunLog } from './runlog/sqlite.js';
import { lockDataDir } from './storage/pidlock.js';
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

/** The data dir, or a one-line error naming the config field (and, read-only, the systemd fix). */
async function makeDataDir(dir: string, field: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EROFS' ? ' (read-only file system: under systemd, add it to ReadWritePaths= in the unit)' : code === 'EACCES' || code === 'EPERM' ? ' (no permission for the user the agent runs as)' : '';
    throw new Error(`${field}: cannot create ${dir}: ${code ?? (err as Error).message}${hint}`);
  }
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  // libvips' operation cache keeps decoded frames alive between jobs; months of uptime want flat memory.
  sharp.cache(false);
  const { config } = o;
  const paths = resolvePaths(config, o.baseDir);
  await makeDataDir(paths.dataDir, 'paths.data_dir');
  await makeDataDir(paths.stateDir, 'paths.data_dir');
  const unlock = await lockDataDir(paths.dataDir);
  try {
    return await startLocked(o, paths, unlock);
  } catch (err) {
    await unlock();
    throw err;
  }
}

async function startLocked(o: RuntimeOptions, paths: ResolvedPaths, unlock: () => Promise<void>): Promise<Runtime> {
  const { config, log } = o;
  const runlog = new SqliteRunLog(paths.database);
  const notifier = o.notifier ?? createNotifier(o.env ?? process.env, (err) => log.warn('sd_notify', { error: err }));

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
