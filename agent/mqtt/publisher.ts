// The agent's MQTT link: availability with a last will, retained state, run results, preview
// images, HA discovery and the command subscription. It never blocks the agent: with no broker it
// warns once per outage, keeps only the latest retained values and republishes them on reconnect.
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { JobPublisher } from '../jobs/types.js';
import { buildDiscovery, haStatusTopic, type DiscoveryMessage } from '../homeassistant/discovery.js';
import { memoryDiscoveryStore, syncDiscovery, type PublishedDiscoveryStore } from '../homeassistant/published.js';
import { fitJpegToCap } from './image-cap.js';
import { stationTopics, checkTopicId, type StationTopics } from './topics.js';
import { brokerClientOptions, redactUrl, type MqttTlsOptions } from './connect-options.js';

export { redactUrl, type MqttTlsOptions };

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
  /** Reconnect backoff: first delay, doubling up to max (defaults 1000 / 60000 ms). */
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
  /** `run/<kind>` result, QoS 1, not retained; dropped while offline. */
  result(kind: string, payload: Record<string, unknown>): void;
  /** Latest preview for `image/<kind>`, retained, capped at imageMaxBytes. Resolves false when skipped. Never rejects. */
  image(kind: string, jpeg: Buffer): Promise<boolean>;
  /** Free-form event on `events`, QoS 0, not retained; dropped while offline. */
  event(payload: Record<string, unknown>): void;
  /** Subscribe `<base>/<station>/cmd/+` (kept across reconnects); messages arrive as `command` events. */
  subscribeCommands(): void;
  /** Reply on `cmd/<name>/result`, QoS 1, not retained; dropped while offline. */
  publishCommandResult(name: string, reply: Record<string, unknown>): void;
  /** Adapter for JobContext.publish. */
  jobPublisher(kind: string): JobPublisher;
  /** Publish discovery again (also done on every connect and on HA's `online`). */
  republishDiscovery(): Promise<void>;
  /** Resolves once the link is connected (or rejects after timeoutMs). */
  waitConnected(timeoutMs: number): Promise<void>;
  on<K extends keyof MqttLinkEvents>(event: K, listener: (...args: MqttLinkEvents[K]) => void): () => void;
  /** Finish a running discovery sync, publish `offline` (when connected) and disconnect; at most ~5 s. */
  close(): Promise<void>;
}

// Errors meaning "nothing answered" (as opposed to TLS or authentication refusals).
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

const ALLOWED_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:', 'tls:']);

function checkOptions(o: MqttLinkOptions): void {
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    throw new Error(`mqtt.url ${JSON.stringify(o.url)} is not a URL: use mqtt://host:1883 or mqtts://host:8883`);
  }
  if (!ALLOWED_PROTOCOLS.has(u.protocol)) {
    throw new Error(`mqtt.url ${JSON.stringify(redactUrl(o.url))}: protocol ${u.protocol} not allowed (mqtt:, mqtts:, ws:, wss:)`);
  }
  if (!(o.keepaliveS >= 1 && o.keepaliveS <= 65535)) throw new Error(`mqtt.keepaliveS ${o.keepaliveS}: must be 1..65535`);
  if (!(o.imageMaxBytes >= 1024)) throw new Error(`mqtt.imageMaxBytes ${o.imageMaxBytes}: must be at least 1024`);
  checkTopicId('stationId', o.stationId);
}

export function createMqttLink(options: MqttLinkOptions, deps: MqttLinkDeps): MqttLink {
  checkOptions(options);
  const log = deps.log.child({ component: 'mqtt' });
  const now = deps.now ?? (() => new Date());
  const topics = stationTopics(options.baseTopic, options.stationId);
  const throttleMs = options.stateThrottleMs ?? 1000;
  const backoffMin = options.reconnectMinMs ?? 1000;
  const backoffMax = options.reconnectMaxMs ?? 60000;
  const discoveryStore = deps.discoveryStore ?? memoryDiscoveryStore();
  const discoveryMessages: DiscoveryMessage[] = options.discovery.enabled
    ? buildDiscovery({
        prefix: options.discovery.prefix,
        baseTopic: options.baseTopic,
        stationId: options.stationId,
        stationName: options.stationName,
        model: options.discovery.model,
        swVersion: options.discovery.swVersion,
        imageKinds: options.discovery.imageKinds,
        jobs: options.discovery.jobs,
      })
    : [];
  const haStatus = options.discovery.enabled ? haStatusTopic(options.discovery.prefix) : null;

  const emitter = new EventEmitter();
  // The latest value of every retained topic we own, republished on each connect. Bounded:
  // one state object, one image per kind.
  const stateObj: Record<string, StateValue> = {};
  const images = new Map<string, Buffer>();
  let stateDirty = false;
  let lastStateAt = 0;
  let stateTimer: NodeJS.Timeout | null = null;

  let commandsWanted = false;
  let connected = false;
  /** close() was called: no more reconnects, no `online`. */
  let closing = false;
  let closed: Promise<void> | null = null;
  let outageWarned = false;
  let everConnected = false;
  let lastError: string | null = null;
  let lastErrorCode: string | undefined;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let discoveryChain: Promise<void> = Promise.resolve();

  const clientOptions: IClientOptions = {
    ...brokerClientOptions(options),
    clientId: options.clientId ?? `skyrig-${options.stationId}-${Math.random().toString(16).slice(2, 8)}`,
    keepalive: options.keepaliveS,
    clean: true,
    // Reconnection is ours (growing backoff below); MQTT.js would retry at a fixed period forever.
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs ?? 10000,
    // Never let MQTT.js queue while offline: we publish only when connected.
    queueQoSZero: false,
    will: { topic: topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
  };

  const where = redactUrl(options.url);
  const client: MqttClient = mqtt.connect(options.url, clientOptions);

  const send = (topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      if (!connected) {
        reject(new Error('not connected'));
        return;
      }
      client.publish(topic, payload, { qos, retain }, (err) => (err ? reject(err) : resolve()));
    });

  const sendQuietly = (topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean) => {
    send(topic, payload, qos, retain).catch((err: Error) => log.debug('publish failed', { topic, error: err }));
  };

  const publishState = () => {
    if (stateTimer) {
      clearTimeout(stateTimer);
      stateTimer = null;
    }
    if (!connected) return; // stays dirty; the next connect publishes it
    stateDirty = false;
    lastStateAt = Date.now();
    sendQuietly(topics.state, JSON.stringify({ ...stateObj, updated_at: now().toISOString() }), 1, true);
  };

  const scheduleState = () => {
    if (!connected || stateTimer) return;
    const wait = lastStateAt + throttleMs - Date.now();
    if (wait <= 0) {
      publishState();
      return;
    }
    stateTimer = setTimeout(publishState, wait);
    stateTimer.unref();
  };

  const runDiscovery = (): Promise<void> => {
    // Discovery off: still run once with an empty set when a store is given, so configs published while
    // it was on are cleared instead of leaving orphan entities in HA.
    if (!discoveryMessages.length && !deps.discoveryStore) return Promise.resolve();
    // Serialised: a HA `online` arriving during a connect sync waits for it rather than interleaving.
    discoveryChain = discoveryChain
      .then(() => syncDiscovery(discoveryMessages, discoveryStore, (t, p) => send(t, p, 1, true), log))
      .then(
        (r) => log.debug('home assistant discovery published', { entities: r.published }),
        (err: Error) => log.debug('home assistant discovery interrupted', { error: err }),
      );
    return discoveryChain;
  };

  const subscribe = (filter: string) => {
    client.subscribe(filter, { qos: 1 }, (err) => {
      if (err && connected) log.warn('mqtt subscribe failed', { topic: filter, error: err });
    });
  };

  const scheduleReconnect = () => {
    if (closing || reconnectTimer) return;
    const base = Math.min(backoffMax, backoffMin * 2 ** Math.min(attempt, 16));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    attempt++;
    log.debug('mqtt reconnect scheduled', { delay_ms: delay, attempt });
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      if (!closing) client.reconnect();
    }, delay);
    reconnectTimer.unref();
  };

  client.on('connect', () => {
    connected = true;
    if (closing) return;
    attempt = 0;
    lastError = null;
    lastErrorCode = undefined;
    if (outageWarned || !everConnected) log.info('mqtt connected', { url: where });
    outageWarned = false;
    everConnected = true;
    sendQuietly(topics.availability, 'online', 1, true);
    if (commandsWanted) subscribe(topics.commandFilter);
    if (haStatus) subscribe(haStatus);
    publishState();
    for (const [kind, jpeg] of images) sendQuietly(topics.image(kind), jpeg, 1, true);
    void runDiscovery();
    emitter.emit('connected');
  });

  client.on('error', (err: Error) => {
    lastErrorCode = (err as NodeJS.ErrnoException).code;
    lastError = err.message || lastErrorCode || String(err);
    log.debug('mqtt error', { error: lastError });
  });

  client.on('close', () => {
    const wasConnected = connected;
    connected = false;
    if (stateTimer) {
      clearTimeout(stateTimer);
      stateTimer = null;
      stateDirty = true;
    }
    if (closing) return;
    const reason = lastError ?? (wasConnected ? 'connection lost' : 'connection closed');
    if (!outageWarned) {
      // ONE line per outage; retries are debug-level so an unplugged broker does not flood the journal.
      outageWarned = true;
      const what = wasConnected
        ? 'mqtt connection lost'
        : lastErrorCode && NETWORK_ERRORS.has(lastErrorCode)
          ? 'mqtt broker unreachable'
          : 'mqtt connection failed';
      log.warn(`${what}; retrying with backoff, the agent keeps working`, { url: where, error: reason });
    }
    if (wasConnected) emitter.emit('disconnected', reason);
    scheduleReconnect();
  });

  client.on('message', (topic, payload, packet) => {
    if (haStatus && topic === haStatus) {
      if (payload.toString().trim() === 'online') {
        log.info('home assistant came online; republishing discovery');
        void runDiscovery();
      }
      return;
    }
    const name = topics.parseCommand(topic);
    if (name === null) return;
    if (packet.retain) {
      // A retained command would run again on every reconnect: refuse it (and say how to remove it).
      log.warn('retained command ignored; clear it with an empty retained message', { topic });
      return;
    }
    emitter.emit('command', { name, topic, payload } satisfies CommandMessage);
  });

  const link: MqttLink = {
    topics,
    get connected() {
      return connected;
    },
    state(patch) {
      let changed = false;
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined || stateObj[k] === v) continue;
        stateObj[k] = v;
        changed = true;
      }
      if (!changed) return;
      stateDirty = true;
      scheduleState();
    },
    currentState: () => ({ ...stateObj }),
    result(kind, payload) {
      const topic = topics.run(kind);
      if (!connected) {
        log.debug('mqtt offline; run result dropped', { topic });
        return;
      }
      sendQuietly(topic, JSON.stringify({ kind, time: now().toISOString(), ...payload }), 1, false);
    },
    async image(kind, jpeg) {
      let topic: string;
      try {
        topic = topics.image(kind);
        const fit = await fitJpegToCap(jpeg, options.imageMaxBytes);
        if (!fit) {
          log.warn('preview image skipped: cannot fit the size cap', { kind, bytes: jpeg.length, cap: options.imageMaxBytes });
          return false;
        }
        if (fit.reencoded) {
          log.info('preview image re-encoded to fit the size cap', {
            kind, bytes: jpeg.length, now_bytes: fit.jpeg.length, width: fit.width, height: fit.height,
          });
        }
        images.set(kind, fit.jpeg);
        if (connected) sendQuietly(topic, fit.jpeg, 1, true);
        return true;
      } catch (err) {
        log.warn('preview image skipped', { kind, error: err as Error });
        return false;
      }
    },
    event(payload) {
      if (connected) sendQuietly(topics.events, JSON.stringify({ time: now().toISOString(), ...payload }), 0, false);
    },
    subscribeCommands() {
      if (commandsWanted) return;
      commandsWanted = true;
      if (connected) subscribe(topics.commandFilter);
    },
    publishCommandResult(name, reply) {
      const topic = topics.commandResult(name);
      if (!connected) {
        log.debug('mqtt offline; command reply dropped', { topic });
        return;
      }
      sendQuietly(topic, JSON.stringify(reply), 1, false);
    },
    jobPublisher(kind) {
      return {
        result: (payload) => link.result(kind, payload),
        image: (jpeg) => void link.image(kind, jpeg),
        state: (patch) => link.state(patch),
      };
    },
    republishDiscovery: () => (connected ? runDiscovery() : Promise.resolve()),
    waitConnected(timeoutMs) {
      if (connected) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`mqtt: not connected to ${where} after ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`));
        }, timeoutMs);
        const off = link.on('connected', () => {
          clearTimeout(timer);
          off();
          resolve();
        });
      });
    },
    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void);
      return () => emitter.off(event, listener as (...args: unknown[]) => void);
    },
    close() {
      closed ??= (async () => {
        closing = true;
        if (reconnectTimer) clearTimeout(reconnectTimer);
        reconnectTimer = null;
        if (connected) {
          // Let a running discovery sync finish: a short-lived agent (demo, CLI) must leave complete configs.
          await withTimeout(discoveryChain, 2000).catch(() => {});
          if (stateDirty) publishState();
          // `offline` is sent explicitly: a clean DISCONNECT suppresses the last will.
          await withTimeout(send(topics.availability, 'offline', 1, true), 2000).catch((err: Error) =>
            log.debug('offline not acknowledged', { error: err }),
          );
        }
        await withTimeout(client.endAsync(false), 1000).catch(() => client.endAsync(true));
        emitter.removeAllListeners();
      })();
      return closed;
    },
  };
  return link;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
