// Assembles a running agent from a config: run log, MQTT link + command router, drivers, job runners,
// sd_notify. `skyrig run` and `skyrig demo` both start exactly this.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createDriverContext } from '../drivers/context.js';
import type { GpioChip } from '../drivers/types.js';
import * as registry from '../drivers/registry.js';
import type { Config, JobKind } from './config/schema.js';
import { resolvePaths, type ResolvedPaths } from './config/load.js';
import type { Logger } from './log.js';
import { Agent } from './daemon.js';
import { createDeviceFactory, type DriverRegistry } from './devices.js';
import { SqliteRunLog } from './runlog/sqlite.js';
import { createNotifier, type Notifier } from './sdnotify.js';
import { nullPublisher, teePublisher, type AgentPublisher } from './publisher.js';
import { createMqttLink, redactUrl, type MqttLink } from './mqtt/publisher.js';
import { fileDiscoveryStore } from './homeassistant/published.js';
import { createCommandRouter, type CommandHandlers, type CommandRouter } from './commands/index.js';
import type { JobRunner } from './jobs/types.js';
import { jobRunners } from './jobs/runners.js';

export const VERSION = '0.1.0';

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

function mqttPublisher(link: MqttLink): AgentPublisher {
  return {
    state: (p) => link.state(p),
    result: (k, p) => link.result(k, p),
    image: (k, j) => void link.image(k, j),
    close: () => link.close(),
  };
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const { config, log } = o;
  const paths = resolvePaths(config, o.baseDir);
  await mkdir(paths.dataDir, { recursive: true });
  await mkdir(paths.stateDir, { recursive: true });
  const runlog = new SqliteRunLog(paths.database);
  const notifier = o.notifier ?? createNotifier(o.env ?? process.env, (err) => log.warn('sd_notify', { error: err }));

  let link: MqttLink | null = null;
  let publisher: AgentPublisher = nullPublisher;
  if (config.mqtt.enabled) {
    const m = config.mqtt;
    link = createMqttLink(
      {
        url: m.url,
        username: m.username,
        password: m.password,
        tls: m.tls ? { ca: m.tls.ca, cert: m.tls.cert, key: m.tls.key, rejectUnauthorized: m.tls.reject_unauthorized } : undefined,
        baseTopic: m.base_topic,
        stationId: config.station.id,
        stationName: config.station.name ?? config.station.id,
        keepaliveS: m.keepalive,
        imageMaxBytes: m.image_max_bytes,
        discovery: {
          enabled: m.discovery,
          prefix: m.discovery_prefix,
          model: 'skyrig agent',
          swVersion: VERSION,
          imageKinds: [...new Set(['capture', ...config.jobs.map((j) => j.kind)])],
          jobs: config.jobs.map((j) => j.name),
        },
      },
      { log, discoveryStore: fileDiscoveryStore(join(paths.stateDir, 'ha-discovery.json')) },
    );
    publisher = mqttPublisher(link);
    log.info('mqtt', { url: redactUrl(m.url), base: `${m.base_topic}/${config.station.id}` });
  }
  if (o.alsoPublishTo) publisher = teePublisher(publisher, o.alsoPublishTo);

  const driverCtx = createDriverContext({ log: log.child({ component: 'driver' }), stateDir: paths.stateDir, gpioChip: o.gpioChip });
  const devices = createDeviceFactory(config, driverCtx, o.registry ?? registry);
  const agent = new Agent({ config, paths, runlog, publisher, notifier, log, devices, runners: o.runners ?? jobRunners });

  let router: CommandRouter | null = null;
  if (link) {
    const reply = async (name: string, payload: Record<string, unknown>) => {
      const r = await agent.command(name, payload);
      if (!r.ok) throw new Error(r.error ?? `${name} failed`);
      return r.result;
    };
    const handlers: CommandHandlers = {
      capture: (a) => reply('capture', a),
      hdr: (a) => reply('hdr', a),
      focusbracket: (a) => reply('focusbracket', a),
      autofocus: (a) => reply('autofocus', a),
      livestack_start: (a) => reply('livestack_start', a),
      livestack_stop: (a) => reply('livestack_stop', a),
      job: (a) => reply('job', a),
      status: (a) => reply('status', a),
    };
    router = createCommandRouter(handlers, { link, log });
  }

  await agent.start();
  let closing: Promise<void> | null = null;
  return {
    agent,
    runlog,
    paths,
    link,
    router,
    shutdown() {
      closing ??= (async () => {
        router?.close();
        await agent.stop();
        runlog.close();
        notifier.close();
      })();
      return closing;
    },
  };
}
