// The agent's MQTT link: availability with a last will, retained state, run results, preview
// images, HA discovery and the command subscription. It never blocks the agent: with no broker it
// warns once per outage, keeps the latest retained values, queues results in a bounded outbox and
// delivers all of it on reconnect. The parts live in their own modules:
//   connection.ts (client + capped backoff), retained-state.ts, images.ts, outbox.ts,
//   discovery-sync.ts (HA configs + stale scan); this file wires them and routes incoming messages.
import { EventEmitter } from 'node:events';
import { buildDiscovery, haStatusTopic, type DiscoveryMessage } from '../homeassistant/discovery.js';
import { memoryDiscoveryStore } from '../homeassistant/published.js';
import { stationTopics, checkTopicId } from './topics.js';
import { redactUrl, type MqttTlsOptions } from './connect-options.js';
import { createConnection, withTimeout } from './connection.js';
import { createRetainedState } from './retained-state.js';
import { createRetainedImages } from './images.js';
import { createOutbox, memoryOutboxStore } from './outbox.js';
import { createDiscoverySync } from './discovery-sync.js';
import type { CommandMessage, MqttLink, MqttLinkDeps, MqttLinkOptions } from './link-types.js';

export { redactUrl, type MqttTlsOptions };
export type * from './link-types.js';

const ALLOWED_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:', 'tls:']);

/** Default outbox bound: a night of results at one a minute, a few hundred kB in SQLite. */
export const DEFAULT_OUTBOX_MAX = 1000;

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
  if (o.outboxMax !== undefined && !(Number.isInteger(o.outboxMax) && o.outboxMax >= 1)) {
    throw new Error(`mqtt.outboxMax ${o.outboxMax}: must be a whole number of at least 1`);
  }
  checkTopicId('stationId', o.stationId);
}

export function createMqttLink(options: MqttLinkOptions, deps: MqttLinkDeps): MqttLink {
  checkOptions(options);
  const log = deps.log.child({ component: 'mqtt' });
  const now = deps.now ?? (() => new Date());
  const topics = stationTopics(options.baseTopic, options.stationId);
  const d = options.discovery;
  const discoveryMessages: DiscoveryMessage[] = d.enabled
    ? buildDiscovery({
        prefix: d.prefix,
        baseTopic: options.baseTopic,
        stationId: options.stationId,
        stationName: options.stationName,
        model: d.model,
        swVersion: d.swVersion,
        supportUrl: d.supportUrl,
        imageKinds: d.imageKinds,
        jobs: d.jobs,
      })
    : [];
  const haStatus = d.enabled ? haStatusTopic(d.prefix) : null;

  const emitter = new EventEmitter();
  let commandsWanted = false;
  let closed: Promise<void> | null = null;

  const conn = createConnection(options, topics.availability, log, {
    onConnect() {
      conn.sendQuietly(topics.availability, 'online', 1, true);
      if (commandsWanted) void conn.subscribe(topics.commandFilter);
      if (haStatus) void conn.subscribe(haStatus);
      state.publishNow();
      images.republish();
      void discovery.run();
      void outbox.flush();
      emitter.emit('connected');
    },
    onDisconnect(reason) {
      state.disconnected();
      emitter.emit('disconnected', reason);
    },
    onMessage(topic, payload, packet) {
      if (discovery.onMessage(topic, payload, packet.retain)) return;
      if (haStatus && topic === haStatus) {
        if (payload.toString().trim() === 'online') {
          log.info('home assistant came online; republishing discovery');
          void discovery.run();
        }
        return;
      }
      const name = topics.parseCommand(topic);
      if (name === null) return;
      if (packet.retain) {
        // A retained command would run again on every reconnect: refuse it (and say how to remove it).
        log.warn('retained command ignored; clear it with an empty retained message', { topic: topic.slice(0, 200) });
        return;
      }
      emitter.emit('command', { name, topic, payload } satisfies CommandMessage);
    },
  });

  const state = createRetainedState(conn, topics.state, options.stateThrottleMs ?? 1000, now);
  const images = createRetainedImages(conn, topics, options.imageMaxBytes, log);
  const outbox = createOutbox({
    store: deps.outbox ?? memoryOutboxStore(),
    max: options.outboxMax ?? DEFAULT_OUTBOX_MAX,
    connected: () => conn.connected,
    send: (m) => conn.send(m.topic, m.payload, m.qos, false),
    log,
    onCounts: (c) => state.patch({ outbox_pending: c.pending, outbox_dropped: c.dropped }),
  });
  const discovery = createDiscoverySync(
    conn,
    {
      prefix: d.prefix,
      stationId: options.stationId,
      messages: discoveryMessages,
      store: deps.discoveryStore ?? memoryDiscoveryStore(),
      persistent: deps.discoveryStore !== undefined,
      scanMs: d.scanMs ?? 500,
    },
    log,
  );
  // Messages left from a previous run (SQLite outbox) show in the first state.
  const initial = outbox.counts();
  state.patch({ outbox_pending: initial.pending, outbox_dropped: initial.dropped });

  const link: MqttLink = {
    topics,
    get connected() {
      return conn.connected;
    },
    state: (patch) => state.patch(patch),
    currentState: () => state.current(),
    result(kind, payload) {
      outbox.publish({ topic: topics.run(kind), payload: JSON.stringify({ kind, time: now().toISOString(), ...payload }), qos: 1 });
    },
    image: (kind, jpeg) => images.publish(kind, jpeg),
    event(payload) {
      outbox.publish({ topic: topics.events, payload: JSON.stringify({ time: now().toISOString(), ...payload }), qos: 0 });
    },
    subscribeCommands() {
      if (commandsWanted) return;
      commandsWanted = true;
      if (conn.connected) void conn.subscribe(topics.commandFilter);
    },
    publishCommandResult(name, reply) {
      outbox.publish({ topic: topics.commandResult(name), payload: JSON.stringify(reply), qos: 1 });
    },
    jobPublisher(kind) {
      return {
        result: (payload) => link.result(kind, payload),
        image: (jpeg) => void link.image(kind, jpeg),
        state: (patch) => link.state(patch),
      };
    },
    republishDiscovery: () => (conn.connected ? discovery.run() : Promise.resolve()),
    outboxCounts: () => outbox.counts(),
    waitConnected(timeoutMs) {
      if (conn.connected) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          const why = conn.lastError ? ` (${conn.lastError})` : '';
          reject(new Error(`mqtt: not connected to ${conn.where} after ${timeoutMs} ms${why}`));
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
        conn.stopReconnecting();
        if (conn.connected) {
          // Let a running discovery sync finish: a short-lived agent (demo, CLI) must leave complete configs.
          await withTimeout(discovery.idle(), 2000).catch(() => {});
          // What is still queued stays in the store for the next start.
          await withTimeout(outbox.flush(), 2000).catch(() => {});
          if (state.dirty) state.publishNow();
          // `offline` is sent explicitly: a clean DISCONNECT suppresses the last will.
          await withTimeout(conn.send(topics.availability, 'offline', 1, true), 2000).catch((err: Error) =>
            log.debug('offline not acknowledged', { error: err }),
          );
        }
        await conn.end();
        emitter.removeAllListeners();
      })();
      return closed;
    },
  };
  return link;
}
