// The daemon's one call: config → MQTT link (availability, state, discovery with its record in the
// state dir) + command router forwarding to the agent. Null when `mqtt.enabled` is false.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AgentPublisher } from '../publisher.js';
import { createCommandRouter, dispatchHandlers, type CommandDispatch, type CommandRouter } from '../commands/router.js';
import { fileDiscoveryStore } from '../homeassistant/published.js';
import type { SqliteRunLog } from '../runlog/sqlite.js';
import { sqliteOutboxStore } from '../runlog/outbox-store.js';
import { lastKnownState } from '../runlog/last-state.js';
import { mqttLinkOptionsFromConfig } from './config.js';
import { createMqttLink, type MqttLink } from './publisher.js';

export interface AgentMqtt {
  link: MqttLink;
  /** The link as the daemon's AgentPublisher (state, result, image, close). */
  publisher: AgentPublisher;
  router: CommandRouter;
  /** Stop taking commands, publish `offline`, disconnect. */
  close(): Promise<void>;
}

export interface AgentMqttDeps {
  log: Logger;
  /** Where `ha-discovery.json` (the published discovery set) lives: ResolvedPaths.stateDir. */
  stateDir: string;
  /** Usually `(name, args) => agent.command(name, args)`. */
  dispatch: CommandDispatch;
  swVersion?: string;
  now?: () => Date;
  /** The run log: the retained state is rebuilt from it at start, and the outbox lives in it. */
  runlog?: SqliteRunLog;
}

export function startAgentMqtt(config: Config, deps: AgentMqttDeps): AgentMqtt | null {
  if (!config.mqtt.enabled) return null;
  const link = createMqttLink(mqttLinkOptionsFromConfig(config, { swVersion: deps.swVersion }), {
    log: deps.log,
    now: deps.now,
    discoveryStore: fileDiscoveryStore(join(deps.stateDir, 'ha-discovery.json')),
    outbox: deps.runlog ? sqliteOutboxStore(deps.runlog.db) : undefined,
  });
  if (deps.runlog) {
    // Before the first connect: the first retained state is whole (HFR, last run…), not `{updated_at}`.
    try {
      link.state(lastKnownState(deps.runlog.db));
    } catch (err) {
      deps.log.warn('cannot rebuild the mqtt state from the run log; sensors read unknown until the next run', { error: err as Error });
    }
  }
  const router = createCommandRouter(dispatchHandlers(deps.dispatch), {
    link,
    log: deps.log,
    maxPayloadBytes: config.mqtt.max_payload_bytes,
    now: deps.now,
  });
  return {
    link,
    publisher: link,
    router,
    async close() {
      router.close();
      await link.close();
    },
  };
}
