// What an entity provider gets to announce Home Assistant entities: station facts, topics, the fields
// every entity carries, and `add`. Providers (core-entities.ts, and any feature's own file) are listed
// in providers.ts; discovery.ts runs them in order.
import { stationTopics, type StationTopics } from '../mqtt/topics.js';

export type DiscoveryComponent = 'sensor' | 'binary_sensor' | 'camera' | 'button' | 'event' | 'image';

/** Where people report problems; HA shows it on the device page (`origin.support_url`). */
export const DEFAULT_SUPPORT_URL = 'https://github.com/skyrig/skyrig';

export interface DiscoveryOptions {
  /** Discovery prefix HA listens on (default in HA: `homeassistant`). */
  prefix: string;
  baseTopic: string;
  stationId: string;
  stationName: string;
  model?: string;
  swVersion?: string;
  supportUrl?: string;
  /** Preview kinds that get a camera entity on `<base>/<station>/image/<kind>`; default ['capture']. */
  imageKinds?: string[];
  /** Configured job names; each gets a "Run <job>" button sending `cmd/job {"name": ...}`. */
  jobs?: string[];
}

export interface DiscoveryMessage {
  component: DiscoveryComponent;
  uniqueId: string;
  /** `<prefix>/<component>/<unique_id>/config` */
  topic: string;
  payload: Record<string, unknown>;
}

export interface SensorSpec {
  key: string;
  name: string;
  stateKey: string;
  unit?: string;
  deviceClass?: string;
  stateClass?: 'measurement';
  diagnostic?: boolean;
  icon?: string;
  precision?: number;
  /** For `deviceClass: 'enum'`: every value the state key takes. */
  options?: string[];
}

export interface EntityBuilder {
  readonly options: DiscoveryOptions;
  readonly topics: StationTopics;
  /** name, unique_id, availability, device and origin: what every entity carries. */
  common(key: string, name: string): Record<string, unknown>;
  add(component: DiscoveryComponent, key: string, payload: Record<string, unknown>): void;
  /** A sensor reading one key of the retained `state` JSON. */
  sensor(spec: SensorSpec): void;
}

/** Announces a group of entities. Must be pure: same options, same messages. */
export type EntityProvider = (b: EntityBuilder) => void;

export function deviceIdentifier(stationId: string): string {
  return `skyrig_${stationId}`;
}

export function uniqueIdFor(stationId: string, key: string): string {
  return `skyrig_${stationId}_${key}`;
}

export function discoveryTopic(prefix: string, component: DiscoveryComponent, uniqueId: string): string {
  return `${prefix}/${component}/${uniqueId}/config`;
}

/** Renders `None` when the key is absent so HA shows "unknown" instead of logging template errors. */
export function valueTemplate(stateKey: string): string {
  return `{{ value_json.${stateKey} | default(None) }}`;
}

export function createEntityBuilder(options: DiscoveryOptions): { builder: EntityBuilder; messages: DiscoveryMessage[] } {
  const topics = stationTopics(options.baseTopic, options.stationId);
  const station = options.stationId;
  const device: Record<string, unknown> = {
    identifiers: [deviceIdentifier(station)],
    name: options.stationName,
    model: options.model ?? 'skyrig station',
    manufacturer: 'skyrig',
  };
  if (options.swVersion) device.sw_version = options.swVersion;
  const origin: Record<string, unknown> = { name: 'skyrig' };
  if (options.swVersion) origin.sw_version = options.swVersion;
  origin.support_url = options.supportUrl ?? DEFAULT_SUPPORT_URL;

  const messages: DiscoveryMessage[] = [];
  const seen = new Set<string>();
  const builder: EntityBuilder = {
    options,
    topics,
    // HA marks the whole device unavailable from one topic.
    common: (key, name) => ({
      name,
      unique_id: uniqueIdFor(station, key),
      availability_topic: topics.availability,
      payload_available: 'online',
      payload_not_available: 'offline',
      device,
      origin,
    }),
    add(component, key, payload) {
      const uniqueId = uniqueIdFor(station, key);
      if (seen.has(uniqueId)) throw new Error(`home assistant discovery: duplicate entity key ${JSON.stringify(key)}`);
      seen.add(uniqueId);
      messages.push({ component, uniqueId, topic: discoveryTopic(options.prefix, component, uniqueId), payload });
    },
    sensor(s) {
      const p: Record<string, unknown> = {
        ...builder.common(s.key, s.name),
        state_topic: topics.state,
        value_template: valueTemplate(s.stateKey),
      };
      if (s.unit) p.unit_of_measurement = s.unit;
      if (s.deviceClass) p.device_class = s.deviceClass;
      if (s.options) p.options = s.options;
      if (s.stateClass) p.state_class = s.stateClass;
      if (s.precision !== undefined) p.suggested_display_precision = s.precision;
      if (s.diagnostic) p.entity_category = 'diagnostic';
      if (s.icon) p.icon = s.icon;
      builder.add('sensor', s.key, p);
    },
  };
  return { builder, messages };
}
