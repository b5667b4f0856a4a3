// Remove a station from the broker and from Home Assistant: clear every retained message under
// `<base>/<station>/` and every discovery config it announced. For decommissioning or renaming a
// station; run it while the agent is stopped (a running agent republishes on its next connect).
import mqtt from 'mqtt';
import { brokerClientOptions, redactUrl, type BrokerOptions } from './connect-options.js';
import { stationTopics } from './topics.js';
import { ownsDiscoveryConfig } from '../homeassistant/discovery.js';

export interface ForgetOptions extends BrokerOptions {
  baseTopic: string;
  stationId: string;
  /** Discovery config topics to clear (current set plus the recorded one). */
  discoveryTopics: string[];
  /** HA discovery prefix: our own retained configs found under it are cleared too (even unrecorded ones). */
  discoveryPrefix?: string;
  /** How long to collect retained messages after subscribing. */
  settleMs?: number;
}

/** Clears and returns the topics that held retained messages (plus the discovery topics given). */
export async function forgetStation(o: ForgetOptions): Promise<string[]> {
  const topics = stationTopics(o.baseTopic, o.stationId);
  let client;
  try {
    client = await mqtt.connectAsync(o.url, { ...brokerClientOptions(o), reconnectPeriod: 0, connectTimeout: 10000 });
  } catch (err) {
    throw new Error(`cannot connect to ${redactUrl(o.url)}: ${(err as Error).message}`);
  }
  try {
    const found = new Set<string>();
    const prefix = o.discoveryPrefix;
    client.on('message', (topic, payload, packet) => {
      if (!packet.retain || payload.length === 0) return;
      if (topic.startsWith(`${topics.root}/`)) found.add(topic);
      else if (prefix && ownsDiscoveryConfig(o.stationId, prefix, topic, payload)) found.add(topic);
    });
    // Our own namespace, and in the discovery prefix only configs naming our device: other devices' topics
    // are never touched.
    const filters = [`${topics.root}/#`, ...(prefix ? [`${prefix}/+/+/config`] : [])];
    await client.subscribeAsync(filters, { qos: 1 });
    await new Promise((r) => setTimeout(r, o.settleMs ?? 500));
    await client.unsubscribeAsync(filters);
    const clear = [...new Set([...found, ...o.discoveryTopics])].sort();
    await Promise.all(clear.map((t) => client.publishAsync(t, '', { qos: 1, retain: true })));
    return clear;
  } finally {
    await client.endAsync();
  }
}
