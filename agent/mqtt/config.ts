// Config file section `mqtt` (+ station, jobs) → MqttLinkOptions, so the daemon and the demo build the
// link the same way.
import type { Config } from '../config/schema.js';
import type { MqttLinkOptions } from './publisher.js';

export interface LinkIdentity {
  swVersion?: string;
  model?: string;
}

export function mqttLinkOptionsFromConfig(config: Config, identity: LinkIdentity = {}): MqttLinkOptions {
  const m = config.mqtt;
  // Every job kind may publish a preview; `capture` always exists (the HA "Capture now" button).
  const imageKinds = [...new Set(['capture', ...config.jobs.map((j) => j.kind)])];
  return {
    url: m.url,
    username: m.username,
    password: m.password, // loadConfig already applied SKYRIG_MQTT_PASSWORD
    tls: m.tls ? { ca: m.tls.ca, cert: m.tls.cert, key: m.tls.key, rejectUnauthorized: m.tls.reject_unauthorized } : undefined,
    baseTopic: m.base_topic,
    stationId: config.station.id,
    stationName: config.station.name ?? config.station.id,
    keepaliveS: m.keepalive,
    imageMaxBytes: m.image_max_bytes,
    discovery: {
      enabled: m.discovery,
      prefix: m.discovery_prefix,
      model: identity.model,
      swVersion: identity.swVersion,
      imageKinds,
      jobs: config.jobs.map((j) => j.name),
    },
  };
}
