// Which discovery configs this station published last time, so entities dropped from the
// configuration are deleted in HA (empty retained payload) instead of lingering forever.
import { readFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic.js';
import type { Logger } from '../log.js';
import { staleDiscoveryTopics, type DiscoveryMessage } from './discovery.js';

export interface PublishedDiscoveryStore {
  /** Discovery config topics published before (empty when none known). */
  load(): Promise<string[]>;
  save(topics: string[]): Promise<void>;
}

/** A JSON file `{ "topics": [...] }`, written atomically (e.g. `<stateDir>/ha-discovery.json`). */
export function fileDiscoveryStore(path: string): PublishedDiscoveryStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new Error(`cannot read ${path}: ${(err as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`${path}: not valid JSON`);
      }
      const topics = (parsed as { topics?: unknown }).topics;
      if (!Array.isArray(topics) || !topics.every((t) => typeof t === 'string')) {
        throw new Error(`${path}: field "topics" must be a list of strings`);
      }
      return topics;
    },
    async save(topics) {
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, JSON.stringify({ topics }, null, 2) + '\n');
    },
  };
}

/** In-memory store: previously published set lives only as long as the process. */
export function memoryDiscoveryStore(initial: string[] = []): PublishedDiscoveryStore & { topics: string[] } {
  const store = {
    topics: [...initial],
    load: async () => [...store.topics],
    save: async (topics: string[]) => {
      store.topics = [...topics];
    },
  };
  return store;
}

export type PublishRetained = (topic: string, payload: string) => Promise<void>;

/**
 * Publish every config (retained), clear configs that disappeared since the last sync (from the record,
 * plus `foundOnBroker`: our own configs seen retained on the broker), then record the new set. The
 * record is written only after the broker acknowledged the clears, so a failed sync is retried in full
 * on the next connect.
 */
export async function syncDiscovery(
  messages: readonly DiscoveryMessage[],
  store: PublishedDiscoveryStore,
  publish: PublishRetained,
  log: Logger,
  foundOnBroker: readonly string[] = [],
): Promise<{ published: number; cleared: string[] }> {
  let previous: string[] = [];
  try {
    previous = await store.load();
  } catch (err) {
    log.warn('home assistant discovery record unreadable; stale entities will not be cleared', { error: err as Error });
  }
  await Promise.all(messages.map((m) => publish(m.topic, JSON.stringify(m.payload))));
  const cleared = staleDiscoveryTopics([...previous, ...foundOnBroker], messages);
  await Promise.all(cleared.map((t) => publish(t, '')));
  if (cleared.length) log.info('home assistant entities removed', { count: cleared.length });
  try {
    await store.save(messages.map((m) => m.topic));
  } catch (err) {
    log.warn('cannot record the published discovery set; entities removed later may linger in HA', { error: err as Error });
  }
  return { published: messages.length, cleared };
}
