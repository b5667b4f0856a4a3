// The broker connection: MQTT.js client, our own capped reconnect backoff, one warning per outage,
// and `send` that refuses while offline (callers decide what to keep: latest state, outbox, nothing).
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import { brokerClientOptions, redactUrl } from './connect-options.js';
import type { MqttLinkOptions } from './link-types.js';

// Errors meaning "nothing answered" (as opposed to TLS or authentication refusals).
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/** Default longest wait between two attempts: with ±20 % jitter a returning broker is reached within 6 s. */
export const DEFAULT_RECONNECT_MAX_MS = 5000;

export interface ConnectionHooks {
  onConnect(): void;
  onDisconnect(reason: string): void;
  onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void;
}

export interface Connection {
  readonly connected: boolean;
  /** Redacted broker URL, for logs and errors. */
  readonly where: string;
  readonly lastError: string | null;
  /** QoS 1 resolves on the broker's PUBACK; rejects at once while offline. */
  send(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean): Promise<void>;
  /** `send` whose failure is only a debug line. */
  sendQuietly(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean): void;
  /** Resolves on the broker's SUBACK (or on failure, which is logged). */
  subscribe(filter: string): Promise<void>;
  unsubscribe(filter: string): Promise<void>;
  /** No more reconnects; the caller publishes `offline` before `end()`. */
  stopReconnecting(): void;
  end(): Promise<void>;
}

export function createConnection(options: MqttLinkOptions, topicsAvailability: string, log: Logger, hooks: ConnectionHooks): Connection {
  const backoffMin = options.reconnectMinMs ?? 1000;
  const backoffMax = options.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS;
  let connected = false;
  let closing = false;
  let outageWarned = false;
  let everConnected = false;
  let lastError: string | null = null;
  let lastErrorCode: string | undefined;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;

  const clientOptions: IClientOptions = {
    ...brokerClientOptions(options),
    clientId: options.clientId ?? `skyrig-${options.stationId}-${Math.random().toString(16).slice(2, 8)}`,
    keepalive: options.keepaliveS,
    clean: true,
    // Reconnection is ours (capped backoff below); MQTT.js would retry at a fixed period forever.
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs ?? 10000,
    // Never let MQTT.js queue while offline: we publish only when connected.
    queueQoSZero: false,
    will: { topic: topicsAvailability, payload: Buffer.from('offline'), qos: 1, retain: true },
  };

  const where = redactUrl(options.url);
  const client: MqttClient = mqtt.connect(options.url, clientOptions);

  const scheduleReconnect = () => {
    if (closing || reconnectTimer) return;
    const base = Math.min(backoffMax, backoffMin * 2 ** Math.min(attempt, 16));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    attempt++;
    log.debug('mqtt reconnect scheduled', { delay_ms: delay, attempt });
    // Not unref'd: an agent with only command-driven jobs has nothing else pending while the broker is away,
    // and Node would exit (status 13) under it. stopReconnecting() clears it.
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      if (!closing) client.reconnect();
    }, delay);
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
    hooks.onConnect();
  });

  client.on('error', (err: Error) => {
    lastErrorCode = (err as NodeJS.ErrnoException).code;
    lastError = err.message || lastErrorCode || String(err);
    log.debug('mqtt error', { error: lastError });
  });

  client.on('close', () => {
    const wasConnected = connected;
    connected = false;
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
    if (wasConnected) hooks.onDisconnect(reason);
    scheduleReconnect();
  });

  client.on('message', (topic, payload, packet) => hooks.onMessage(topic, payload, packet));

  const send = (topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      if (!connected) {
        reject(new Error('not connected'));
        return;
      }
      client.publish(topic, payload, { qos, retain }, (err) => (err ? reject(err) : resolve()));
    });

  return {
    get connected() {
      return connected;
    },
    where,
    get lastError() {
      return lastError;
    },
    send,
    sendQuietly(topic, payload, qos, retain) {
      send(topic, payload, qos, retain).catch((err: Error) => log.debug('publish failed', { topic, error: err }));
    },
    subscribe: (filter) =>
      new Promise((resolve) => {
        client.subscribe(filter, { qos: 1 }, (err) => {
          if (err && connected) log.warn('mqtt subscribe failed', { topic: filter, error: err });
          resolve();
        });
      }),
    unsubscribe: (filter) =>
      new Promise((resolve) => {
        client.unsubscribe(filter, () => resolve());
      }),
    stopReconnecting() {
      closing = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
    },
    async end() {
      await withTimeout(client.endAsync(false), 1000).catch(() => client.endAsync(true));
    },
  };
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
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
