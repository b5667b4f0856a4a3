// Config file section `mqtt` (+ station, jobs) → MqttLinkOptions, so the daemon and the demo build the
// link the same way.
import type { Config } from '../config/schema.js';
import type { MqttLinkOptions } from './publisher.js';

/** Job kinds that never publish a preview image: no camera entity for them. */
export const KINDS_WITHOUT_IMAGE: ReadonlySet<string> = new Set(['autofocus']);

export interface LinkIdentity {
  swVersion?: string;
  model?: string;
}

export function mqttLinkOptionsFromConfig(config: Config, identity: LinkIdentity = {}): MqttLinkOptions {
  const m = config.mqtt;
  // Every job kind that makes a picture gets a camera entity; `capture` always exists (the HA "Capture
  // now" button). Autofocus only moves the focuser and never publishes an image.
  const imageKinds = [...new Set(['capture', ...config.jobs.map((j) => j.kind)])].filter((k) => !KINDS_WITHOUT_IMAGE.has(k));
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
    outboxMax: m.outbox_max,
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
