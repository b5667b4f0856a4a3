// Every topic skyrig publishes or listens to, built in one place so the publisher, the command
// router, the HA discovery payloads and the docs can never disagree.

/** MQTT topic level that is safe in topics and HA unique ids (no wildcards, no separators). */
const TOPIC_ID = /^[A-Za-z0-9_-]+$/;
/** A base topic may have several levels (`home/skyrig`), but no wildcards, empty levels or leading `$`. */
const BASE_TOPIC = /^(?!\$)[^#+/]+(\/[^#+/]+)*$/;

export interface StationTopics {
  /** `<base>/<station>` */
  root: string;
  availability: string;
  state: string;
  events: string;
  run(kind: string): string;
  image(kind: string): string;
  command(name: string): string;
  commandResult(name: string): string;
  /** Subscription filter for every command topic, at any depth: `<base>/<station>/cmd/#` (our own
   *  `/result` replies arrive too and are told apart by parseCommand). */
  commandFilter: string;
  /** Command name if `topic` is a command topic of this station (not a `/result`), else null. The
   *  name may be empty (`…/cmd/`, `…/cmd`) or span levels (`…/cmd/a/b`): such messages still get an
   *  error reply, so every command topic answers. */
  parseCommand(topic: string): string | null;
}

/** Throws a one-line error naming `field` when `value` cannot be a single topic level. */
export function checkTopicId(field: string, value: string): string {
  if (!TOPIC_ID.test(value)) {
    throw new Error(`${field} ${JSON.stringify(value)} is not allowed: use letters, digits, '_' and '-' only`);
  }
  return value;
}

export function checkBaseTopic(field: string, value: string): string {
  if (!BASE_TOPIC.test(value)) {
    throw new Error(
      `${field} ${JSON.stringify(value)} is not allowed: no '+', '#', empty levels or leading '$'`,
    );
  }
  return value;
}

export function stationTopics(baseTopic: string, stationId: string): StationTopics {
  checkBaseTopic('mqtt.baseTopic', baseTopic);
  checkTopicId('stationId', stationId);
  const root = `${baseTopic}/${stationId}`;
  const level = (field: string, v: string) => checkTopicId(field, v);
  const cmdPrefix = `${root}/cmd/`;
  return {
    root,
    availability: `${root}/availability`,
    state: `${root}/state`,
    events: `${root}/events`,
    run: (kind) => `${root}/run/${level('run kind', kind)}`,
    image: (kind) => `${root}/image/${level('image kind', kind)}`,
    command: (name) => `${cmdPrefix}${level('command name', name)}`,
    // Not validated: replies go to whatever name arrived (even an unknown one) so the sender hears back.
    commandResult: (name) => `${cmdPrefix}${name}/result`,
    commandFilter: `${cmdPrefix}#`,
    parseCommand(topic) {
      if (topic === `${root}/cmd`) return ''; // `cmd/#` matches its parent level too
      if (!topic.startsWith(cmdPrefix)) return null;
      const name = topic.slice(cmdPrefix.length);
      // A reply (ours or anyone's): `cmd/<name>/result`, including `cmd//result` for the empty name.
      return name.endsWith('/result') ? null : name;
    },
  };
}
