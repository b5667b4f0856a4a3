// Command dispatch: parse, validate, call the handler, reply on `cmd/<name>/result`.
// Anything wrong with a command is answered with an error reply and never reaches a handler.
import type { Logger } from '../log.js';
import type { CommandMessage } from '../mqtt/publisher.js';
import {
  COMMAND_NAMES,
  REQUEST_ID_FIELD,
  commandSchemas,
  describeIssues,
  isCommandName,
  type CommandArgs,
  type CommandName,
} from './schemas.js';

export interface CommandMeta {
  /** `request_id` from the payload, when given. */
  requestId?: string | number;
}

export type CommandHandler<K extends CommandName> = (args: CommandArgs[K], meta: CommandMeta) => unknown;
/** A station handles the commands it has handlers for; others are answered "not available". */
export type CommandHandlers = { [K in CommandName]?: CommandHandler<K> };

export interface CommandReply {
  ok: boolean;
  id?: string | number;
  error?: string;
  result?: unknown;
}

/** What the router needs from the MQTT link (MqttLink fits). */
export interface CommandTransport {
  subscribeCommands(): void;
  on(event: 'command', listener: (message: CommandMessage) => void): () => void;
  publishCommandResult(name: string, reply: Record<string, unknown>): void;
}

export interface CommandRouterDeps {
  link: CommandTransport;
  log: Logger;
}

export interface CommandRouter {
  /** Run one command as if it had arrived on MQTT (without publishing the reply). */
  handle(name: string, payload: Buffer | string): Promise<CommandReply>;
  /** Stop listening (the MQTT subscription stays until the link closes). */
  close(): void;
}

type Parsed = { ok: true; body: Record<string, unknown> } | { ok: false; error: string };

function parseBody(payload: Buffer | string): Parsed {
  const text = payload.toString().trim();
  // An empty message counts as `{}`: handy from mosquitto_pub -n and HA buttons.
  if (text === '') return { ok: true, body: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `payload is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'payload must be a JSON object' };
  }
  return { ok: true, body: value as Record<string, unknown> };
}

export function createCommandRouter(handlers: CommandHandlers, deps: CommandRouterDeps): CommandRouter {
  const log = deps.log.child({ component: 'commands' });

  async function handle(name: string, payload: Buffer | string): Promise<CommandReply> {
    const parsed = parseBody(payload);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    const { [REQUEST_ID_FIELD]: rawId, ...body } = parsed.body;
    let id: string | number | undefined;
    if (rawId !== undefined) {
      if (typeof rawId !== 'string' && typeof rawId !== 'number') {
        return { ok: false, error: `${REQUEST_ID_FIELD}: must be a string or a number` };
      }
      id = rawId;
    }
    const withId = ({ ok, ...rest }: Omit<CommandReply, 'id'>): CommandReply =>
      id === undefined ? { ok, ...rest } : { ok, id, ...rest };
    if (!isCommandName(name)) {
      return withId({ ok: false, error: `unknown command ${JSON.stringify(name)}; known commands: ${COMMAND_NAMES.join(', ')}` });
    }
    const checked = commandSchemas[name].safeParse(body);
    if (!checked.success) {
      return withId({ ok: false, error: `invalid ${name} payload: ${describeIssues(checked.error)}` });
    }
    const handler = handlers[name] as CommandHandler<typeof name> | undefined;
    if (!handler) return withId({ ok: false, error: `command ${JSON.stringify(name)} is not available on this station` });
    try {
      const result = await handler(checked.data as never, id === undefined ? {} : { requestId: id });
      return withId(result === undefined ? { ok: true } : { ok: true, result });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.warn('command failed', { command: name, error: message });
      return withId({ ok: false, error: message });
    }
  }

  const off = deps.link.on('command', (message) => {
    void handle(message.name, message.payload).then((reply) => {
      if (reply.ok) log.info('command done', { command: message.name, id: reply.id });
      else log.info('command rejected', { command: message.name, id: reply.id, error: reply.error });
      deps.link.publishCommandResult(message.name, reply as unknown as Record<string, unknown>);
    });
  });
  deps.link.subscribeCommands();

  return { handle, close: off };
}
