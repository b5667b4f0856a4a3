// `skyrig mqtt send|discovery|forget`: talk to a station over MQTT, show what it announces to Home
// Assistant, or remove it from the broker and HA.
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig, resolvePaths } from '../../config/load.js';
import { sendCommand } from '../../mqtt/send.js';
import { forgetStation } from '../../mqtt/forget.js';
import { mqttLinkOptionsFromConfig } from '../../mqtt/config.js';
import { COMMAND_NAMES } from '../../commands/schemas.js';
import { buildDiscovery } from '../../homeassistant/discovery.js';
import { fileDiscoveryStore } from '../../homeassistant/published.js';

function positiveSeconds(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--timeout ${JSON.stringify(v)}: must be a positive number of seconds`);
  return n;
}

const configOption = (cmd: Command) =>
  cmd.option('-c, --config <path>', 'config file', process.env.SKYRIG_CONFIG ?? DEFAULT_CONFIG_PATH);

interface SendOpts {
  config: string;
  station?: string;
  url?: string;
  base?: string;
  username?: string;
  ca?: string;
  timeout: number;
  json?: boolean;
}

export function registerMqttCommands(program: Command): void {
  const mqttCmd = program.command('mqtt').description('MQTT tools: send commands, show Home Assistant discovery, forget a station');

  configOption(
    mqttCmd
      .command('send')
      .description(`send a command to a station and print its reply (commands: ${COMMAND_NAMES.join(', ')})`)
      .argument('<command>', 'command name')
      .argument('[payload]', 'JSON object, e.g. \'{"exposure_s": 10}\'', '')
      .option('--station <id>', 'station id (default: from the config file)')
      .option('--url <url>', 'broker URL (default: config, $SKYRIG_MQTT_URL, mqtt://127.0.0.1:1883)')
      .option('--base <topic>', 'base topic (default: config or skyrig)')
      .option('--username <name>', 'broker user (password from $SKYRIG_MQTT_PASSWORD)')
      .option('--ca <path>', 'CA certificate (PEM) for mqtts://')
      .option('--timeout <s>', 'seconds to wait for the reply', positiveSeconds, 10)
      .option('--json', 'print the reply as one JSON line'),
  ).action(async (name: string, payload: string, o: SendOpts) => {
    // With --station the config file is optional (sending to another station from a laptop).
    const cfg = o.station ? null : (await loadConfig(o.config)).config;
    const link = cfg ? mqttLinkOptionsFromConfig(cfg) : null;
    const station = o.station ?? link!.stationId;
    const reply = await sendCommand({
      url: o.url ?? link?.url ?? process.env.SKYRIG_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
      username: o.username ?? link?.username,
      password: link?.password ?? process.env.SKYRIG_MQTT_PASSWORD,
      tls: o.ca ? { ca: o.ca } : link?.tls,
      baseTopic: o.base ?? link?.baseTopic ?? 'skyrig',
      stationId: station,
      name,
      payload,
      timeoutMs: o.timeout * 1000,
    });
    if (o.json) process.stdout.write(JSON.stringify(reply) + '\n');
    else if (reply.ok) process.stdout.write(`ok${reply.result === undefined ? '' : ' ' + JSON.stringify(reply.result, null, 2)}\n`);
    if (!reply.ok) throw new Error(`${name} refused by station ${station}: ${reply.error}`);
  });

  configOption(
    mqttCmd.command('discovery').description('print the Home Assistant discovery configs this station publishes (topic, then JSON)'),
  ).action(async (o: { config: string }) => {
    const { config } = await loadConfig(o.config);
    const opts = mqttLinkOptionsFromConfig(config);
    const messages = buildDiscovery({ ...opts.discovery, baseTopic: opts.baseTopic, stationId: opts.stationId, stationName: opts.stationName });
    for (const m of messages) process.stdout.write(`${m.topic}\n${JSON.stringify(m.payload, null, 2)}\n\n`);
    process.stdout.write(`${messages.length} entities${opts.discovery.enabled ? '' : ' (discovery is off in the config: none are published)'}\n`);
  });

  configOption(
    mqttCmd
      .command('forget')
      .description('clear everything this station left retained on the broker and remove its Home Assistant entities (stop the agent first)'),
  ).action(async (o: { config: string }) => {
    const { config, path } = await loadConfig(o.config);
    const opts = mqttLinkOptionsFromConfig(config);
    const store = fileDiscoveryStore(join(resolvePaths(config, dirname(resolve(path))).stateDir, 'ha-discovery.json'));
    const recorded = await store.load().catch(() => [] as string[]);
    const current = buildDiscovery({ ...opts.discovery, baseTopic: opts.baseTopic, stationId: opts.stationId, stationName: opts.stationName }).map((m) => m.topic);
    const cleared = await forgetStation({ ...opts, discoveryTopics: [...recorded, ...current], discoveryPrefix: opts.discovery.prefix });
    await store.save([]).catch(() => {});
    process.stdout.write(`cleared ${cleared.length} retained topics of station ${opts.stationId} on ${opts.url.replace(/\/\/[^@/]*@/, '//')}\n`);
  });
}
