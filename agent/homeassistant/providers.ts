// Every group of Home Assistant entities the station announces, in order. A feature with entities of
// its own adds its provider here (one import, one list entry); discovery.ts needs no change.
import { coreEntities } from './core-entities.js';
import { allskyEntities } from './allsky-entities.js';
import { operationsEntities } from './operations-entities.js';
import type { EntityProvider } from './entity-builder.js';

export const ENTITY_PROVIDERS: readonly EntityProvider[] = [coreEntities, allskyEntities, operationsEntities];
