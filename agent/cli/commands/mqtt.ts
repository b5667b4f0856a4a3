// `skyrig mqtt send <command> [json]`: talk to a station (this one or another) over MQTT.
import type { Command } from 'commander';
import { sendCommand } from '../../mqtt/send.js';
import { COMMAND_NAMES } from '../../commands/schemas.js';

function positiveSeconds(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--timeout ${JSON.stringify(v)}: must be a positive number of seconds`);
  return n;
}

export function registerMqttCommands(program: Command): void {
  const mqttCmd = program.command('mqtt').description('MQTT tools: send commands to a station');
  mqttCmd
    .command('send')
    .description(`send a command and print the station's reply (commands: ${COMMAND_NAMES.join(', ')})`)
    .argument('<command>', 'command name')
    .argument('[payload]', 'JSON object, e.g. \'{"exposure_s": 10}\'', '')
    .requiredOption('--station <id>', 'station id')
    .option('--url <url>', 'broker URL (default $SKYRIG_MQTT_URL or mqtt://127.0.0.1:1883)')
    .option('--base <topic>', 'base topic', 'skyrig')
    .option('--username <name>', 'broker user (password from $SKYRIG_MQTT_PASSWORD)')
    .option('--ca <path>', 'CA certificate (PEM) for mqtts://')
    .option('--timeout <s>', 'seconds to wait for the reply', positiveSeconds, 10)
    .option('--json', 'print the reply as one JSON line')
    .action(async (name: string, payload: string, opts: { station: string; url?: string; base: string; username?: string; ca?: string; timeout: number; json?: boolean }) => {
      const reply = await sendCommand({
        url: opts.url ?? process.env.SKYRIG_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
        username: opts.username,
        password: process.env.SKYRIG_MQTT_PASSWORD,
        tls: opts.ca ? { ca: opts.ca } : undefined,
        baseTopic: opts.base,
        stationId: opts.station,
        name,
        payload,
        timeoutMs: opts.timeout * 1000,
      });
      if (opts.json) process.stdout.write(JSON.stringify(reply) + '\n');
      else if (reply.ok) process.stdout.write(`ok${reply.result === undefined ? '' : ' ' + JSON.stringify(reply.result, null, 2)}\n`);
      if (!reply.ok) throw new Error(`${name} refused by station ${opts.station}: ${reply.error}`);
    });
}
