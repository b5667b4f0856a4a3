// Home Assistant MQTT discovery payloads: pure functions from station facts to
// `<prefix>/<component>/<unique_id>/config` messages, built by the entity providers (providers.ts).
// The MQTT link decides when to send them.
import { checkBaseTopic } from '../mqtt/topics.js';
import { createEntityBuilder, deviceIdentifier, uniqueIdFor, type DiscoveryMessage, type DiscoveryOptions, type EntityProvider } from './entity-builder.js';
import { ENTITY_PROVIDERS } from './providers.js';

export {
  DEFAULT_SUPPORT_URL,
  deviceIdentifier,
  discoveryTopic,
  uniqueIdFor,
  type DiscoveryComponent,
  type DiscoveryMessage,
  type DiscoveryOptions,
  type EntityBuilder,
  type EntityProvider,
  type SensorSpec,
} from './entity-builder.js';
export { STATE_KEYS, RUN_STATUSES, kindWords } from './core-entities.js';

export function haStatusTopic(prefix: string): string {
  return `${prefix}/status`;
}

export function buildDiscovery(options: DiscoveryOptions, providers: readonly EntityProvider[] = ENTITY_PROVIDERS): DiscoveryMessage[] {
  checkBaseTopic('discovery.prefix', options.prefix);
  const { builder, messages } = createEntityBuilder(options);
  for (const provide of providers) provide(builder);
  return messages;
}

/** Discovery topics published before but not any more: to be cleared with an empty retained payload. */
export function staleDiscoveryTopics(previousTopics: readonly string[], current: readonly DiscoveryMessage[]): string[] {
  const now = new Set(current.map((m) => m.topic));
  return [...new Set(previousTopics)].filter((t) => !now.has(t));
}

/** Larger configs are not ours (ours are ~600 bytes); skipping them bounds the scan's work. */
const MAX_CONFIG_BYTES = 64 * 1024;

/**
 * Is this retained `<prefix>/<component>/<object_id>/config` one this station announced? The object id
 * must carry our unique-id prefix AND the payload name our device (so station `roof` never claims
 * `roof_2`'s entities). Abbreviated keys (`dev`, `ids`) are accepted too.
 */
export function ownsDiscoveryConfig(stationId: string, prefix: string, topic: string, payload: Buffer): boolean {
  if (!topic.startsWith(`${prefix}/`)) return false;
  const parts = topic.slice(prefix.length + 1).split('/');
  if (parts.length !== 3 || parts[2] !== 'config' || !parts[1]!.startsWith(uniqueIdFor(stationId, ''))) return false;
  if (payload.length === 0 || payload.length > MAX_CONFIG_BYTES) return false;
  try {
    const p = JSON.parse(payload.toString()) as Record<string, unknown>;
    const dev = (p.device ?? p.dev) as Record<string, unknown> | undefined;
    const ids = dev?.identifiers ?? dev?.ids;
    return (Array.isArray(ids) ? ids : [ids]).includes(deviceIdentifier(stationId));
  } catch {
    return false;
  }
}
