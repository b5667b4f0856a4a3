// Home Assistant discovery on the link: publish every config on connect and on HA's `online`, serialised;
// on the first sync, briefly subscribe `<prefix>/+/+/config` and collect the retained configs this
// station owns (as zigbee2mqtt does), so entities no longer produced are cleared even when the local
// record of published topics is lost.
import type { Logger } from '../log.js';
import { ownsDiscoveryConfig, type DiscoveryMessage } from '../homeassistant/discovery.js';
import { syncDiscovery, type PublishedDiscoveryStore } from '../homeassistant/published.js';
import { withTimeout, type Connection } from './connection.js';

export interface DiscoverySyncOptions {
  prefix: string;
  stationId: string;
  messages: readonly DiscoveryMessage[];
  store: PublishedDiscoveryStore;
  /** Was a store given by the caller (then a disabled discovery still clears what it announced before). */
  persistent: boolean;
  /** How long to collect retained configs after subscribing; 0 turns the broker scan off. */
  scanMs: number;
}

export interface DiscoverySync {
  run(): Promise<void>;
  /** The running sync (or a resolved promise). */
  idle(): Promise<void>;
  /** Feed broker messages; true when the message was a scanned discovery config. */
  onMessage(topic: string, payload: Buffer, retained: boolean): boolean;
}

export function createDiscoverySync(conn: Connection, o: DiscoverySyncOptions, log: Logger): DiscoverySync {
  let chain: Promise<void> = Promise.resolve();
  let scanned = false;
  let collecting: Set<string> | null = null;
  const filter = `${o.prefix}/+/+/config`;
  const topicStart = `${o.prefix}/`;

  const scan = async (): Promise<string[]> => {
    if (scanned || o.scanMs <= 0) return [];
    collecting = new Set();
    try {
      // Retained messages follow the SUBACK at once; the settle time covers a busy broker.
      // Bounded: a connection lost mid-scan must not stall every later sync queued behind this one.
      await withTimeout(conn.subscribe(filter), 5000).catch(() => {});
      await new Promise((r) => setTimeout(r, o.scanMs));
      await withTimeout(conn.unsubscribe(filter), 5000).catch(() => {});
      scanned = conn.connected;
      return [...collecting];
    } finally {
      collecting = null;
    }
  };

  const sync = async () => {
    const found = await scan();
    const r = await syncDiscovery(o.messages, o.store, (t, p) => conn.send(t, p, 1, true), log, found);
    log.debug('home assistant discovery published', { entities: r.published, found_on_broker: found.length });
  };

  return {
    run() {
      // Discovery off: still run once with an empty set when a store is given, so configs published while
      // it was on are cleared instead of leaving orphan entities in HA.
      if (!o.messages.length && !o.persistent) return Promise.resolve();
      // Serialised: a HA `online` arriving during a connect sync waits for it rather than interleaving.
      chain = chain.then(sync).catch((err: Error) => log.debug('home assistant discovery interrupted', { error: err }));
      return chain;
    },
    idle: () => chain,
    onMessage(topic, payload, retained) {
      if (!collecting || !topic.startsWith(topicStart) || !topic.endsWith('/config')) return false;
      if (retained && ownsDiscoveryConfig(o.stationId, o.prefix, topic, payload)) collecting.add(topic);
      return true;
    },
  };
}
