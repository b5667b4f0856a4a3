// The MQTT link's public shape: options, dependencies, events and the MqttLink interface. Kept apart
// from the implementation so the command router and the daemon depend on types only.
import type { Logger } from '../log.js';
import type { JobPublisher } from '../jobs/types.js';
import type { PublishedDiscoveryStore } from '../homeassistant/published.js';
import type { StationTopics } from './topics.js';
import type { MqttTlsOptions } from './connect-options.js';
import type { OutboxCounts, OutboxStore } from './outbox.js';

export interface MqttDiscoveryOptions {
  enabled: boolean;
  /** HA discovery prefix, normally `homeassistant`. */
  prefix: string;
  model?: string;
  swVersion?: string;
  /** Preview kinds that get a camera entity (default ['capture']). */
  imageKinds?: string[];
  /** Configured job names: one "Run <job>" button each. */
  jobs?: string[];
  /** `origin.support_url` (default DEFAULT_SUPPORT_URL). */
  supportUrl?: string;
  /** On the first connect, collect our own retained configs under `<prefix>/+/+/config` for this long
   *  to clear stale ones (default 500 ms after the SUBACK; 0 = rely on the local record only). */
  scanMs?: number;
}

export interface MqttLinkOptions {
  /** mqtt://, mqtts://, ws:// or wss:// */
  url: string;
  username?: string;
  /** The caller reads it from SKYRIG_MQTT_PASSWORD; never logged. */
  password?: string;
  tls?: MqttTlsOptions;
  baseTopic: string;
  stationId: string;
  stationName: string;
  clientId?: string;
  keepaliveS: number;
  /** Retained preview images above this are re-encoded smaller, or skipped. */
  imageMaxBytes: number;
  discovery: MqttDiscoveryOptions;
  /** Minimum interval between two `state` publications; patches in between are coalesced. Default 1000. */
  stateThrottleMs?: number;
  /** Results, events and replies kept while offline (oldest dropped beyond this). Default 1000. */
  outboxMax?: number;
  /** Reconnect backoff: first delay, doubling up to max (defaults 1000 / 5000 ms, so a returning broker
   *  is reached within ~6 s). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Give up one connection attempt after this long (default 10000 ms). */
  connectTimeoutMs?: number;
}

export interface MqttLinkDeps {
  log: Logger;
  now?: () => Date;
  /** Where the set of published HA discovery topics is remembered (default: in memory only). */
  discoveryStore?: PublishedDiscoveryStore;
  /** Where results, events and replies wait while offline (default: in memory; the agent uses SQLite). */
  outbox?: OutboxStore;
}

export interface CommandMessage {
  name: string;
  topic: string;
  payload: Buffer;
}

export interface MqttLinkEvents {
  connected: [];
  disconnected: [reason: string];
  command: [message: CommandMessage];
}

/** JSON-serialisable; HA sensors read scalars. */
export type StateValue = unknown;

export interface MqttLink {
  readonly topics: StationTopics;
  readonly connected: boolean;
  /** Merge fields into the retained `state` JSON; publications are throttled and coalesced. */
  state(patch: Record<string, StateValue | undefined>): void;
  /** The merged state as it will be (or was) published. */
  currentState(): Record<string, StateValue>;
  /** `run/<kind>` result, QoS 1, not retained; kept in the outbox while offline. */
  result(kind: string, payload: Record<string, unknown>): void;
  /** Latest preview for `image/<kind>`, retained, capped at imageMaxBytes. Resolves false when skipped. Never rejects. */
  image(kind: string, jpeg: Buffer): Promise<boolean>;
  /** Free-form event on `events`, QoS 0 (kept in the outbox while offline), not retained. */
  event(payload: Record<string, unknown>): void;
  /** Subscribe `<base>/<station>/cmd/#` (kept across reconnects); messages arrive as `command` events. */
  subscribeCommands(): void;
  /** Reply on `cmd/<name>/result`, QoS 1, not retained; kept in the outbox while offline. */
  publishCommandResult(name: string, reply: Record<string, unknown>): void;
  /** Adapter for JobContext.publish. */
  jobPublisher(kind: string): JobPublisher;
  /** Publish discovery again (also done on every connect and on HA's `online`). */
  republishDiscovery(): Promise<void>;
  /** Messages waiting in the outbox and dropped from it since start (also in `state`). */
  outboxCounts(): OutboxCounts;
  /** Resolves once the link is connected (or rejects after timeoutMs). */
  waitConnected(timeoutMs: number): Promise<void>;
  on<K extends keyof MqttLinkEvents>(event: K, listener: (...args: MqttLinkEvents[K]) => void): () => void;
  /** Finish a running discovery sync, publish `offline` (when connected) and disconnect; at most ~5 s. */
  close(): Promise<void>;
}

