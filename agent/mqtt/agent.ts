// The daemon's one call: config → MQTT link (availability, state, discovery with its record in the
// state dir) + command router forwarding to the agent. Null when `mqtt.enabled` is false.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AgentPublisher } from '../publisher.js';
import { createCommandRouter, dispatchHandlers, type CommandDispatch, type CommandRouter } from '../commands/router.js';
import { fileDiscoveryStore } from '../homeassistant/published.js';
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
}

export function startAgentMqtt(config: Config, deps: AgentMqttDeps): AgentMqtt | null {
  if (!config.mqtt.enabled) return null;
  const link = createMqttLink(mqttLinkOptionsFromConfig(config, { swVersion: deps.swVersion }), {
    log: deps.log,
    now: deps.now,
    discoveryStore: fileDiscoveryStore(join(deps.stateDir, 'ha-discovery.json')),
  });
  const router = createCommandRouter(dispatchHandlers(deps.dispatch), { link, log: deps.log });
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
