// Send one command to a station and wait for its reply: the client side of `cmd/<name>`, used by
// `skyrig mqtt send` from an SSH session or a script.
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions } from 'mqtt';
import { parseCommand } from '../commands/parse.js';
import type { CommandReply } from '../commands/router.js';
import { REQUEST_ID_FIELD } from '../commands/schemas.js';
import { brokerClientOptions, redactUrl, type MqttTlsOptions } from './connect-options.js';
import { stationTopics } from './topics.js';

export interface SendCommandOptions {
  url: string;
  username?: string;
  password?: string;
  tls?: MqttTlsOptions;
  baseTopic: string;
  stationId: string;
  name: string;
  /** JSON object text (may be empty). */
  payload: string;
  timeoutMs: number;
}

/** Validates locally, publishes with a request_id, resolves with the station's reply. Throws one-line errors. */
export async function sendCommand(o: SendCommandOptions): Promise<CommandReply> {
  const parsed = parseCommand(o.name, o.payload);
  if (!parsed.ok) throw new Error(parsed.error);
  const topics = stationTopics(o.baseTopic, o.stationId);
  const id = parsed.id ?? `cli-${randomBytes(4).toString('hex')}`;
  const body = { ...(o.payload.trim() ? (JSON.parse(o.payload) as Record<string, unknown>) : {}), [REQUEST_ID_FIELD]: id };

  const clientOptions: IClientOptions = {
    ...brokerClientOptions(o, 'tls'),
    reconnectPeriod: 0,
    connectTimeout: Math.min(o.timeoutMs, 10000),
  };
  let client;
  try {
    client = await mqtt.connectAsync(o.url, clientOptions);
  } catch (err) {
    throw new Error(`cannot connect to ${redactUrl(o.url)}: ${(err as Error).message}`);
  }
  try {
    const resultTopic = topics.commandResult(o.name);
    const reply = new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no reply on ${resultTopic} within ${o.timeoutMs / 1000} s (is station "${o.stationId}" online?)`)),
        o.timeoutMs,
      );
      client.on('message', (topic, payload) => {
        if (topic !== resultTopic) return;
        let r: CommandReply;
        try {
          r = JSON.parse(payload.toString()) as CommandReply;
        } catch {
          return;
        }
        if (r.id !== id) return; // someone else's reply
        clearTimeout(timer);
        resolve(r);
      });
    });
    await client.subscribeAsync(resultTopic, { qos: 1 });
    await client.publishAsync(topics.command(o.name), JSON.stringify(body), { qos: 1 });
    return await reply;
  } finally {
    await client.endAsync(true);
  }
}
