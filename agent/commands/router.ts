// Command dispatch: parse, validate, call the handler, reply on `cmd/<name>/result`.
// Anything wrong with a command is answered with an error reply and never reaches a handler.
import type { Logger } from '../log.js';
import type { CommandMessage } from '../mqtt/link-types.js';
import { clip, parseCommand, type RequestId } from './parse.js';
import { COMMAND_NAMES, type CommandArgs, type CommandName } from './schemas.js';

export interface CommandMeta {
  /** `request_id` from the payload, when given. */
  requestId?: RequestId;
}

export type CommandHandler<K extends CommandName> = (args: CommandArgs[K], meta: CommandMeta) => unknown;
/** A station handles the commands it has handlers for; others are answered "not available". */
export type CommandHandlers = { [K in CommandName]?: CommandHandler<K> };

export interface CommandReply {
  ok: boolean;
  id?: RequestId;
  error?: string;
  result?: unknown;
}

/** What the router needs from the MQTT link (MqttLink fits). */
export interface CommandTransport {
  subscribeCommands(): void;
  on(event: 'command', listener: (message: CommandMessage) => void): () => void;
  publishCommandResult(name: string, reply: Record<string, unknown>): void;
  /** Where the outcome of each MQTT command is shown (`last_command` in the retained state, for HA). */
  state?(patch: Record<string, unknown>): void;
}

export interface CommandRouterDeps {
  link: CommandTransport;
  log: Logger;
  /** Command payloads above this are refused unread (default DEFAULT_MAX_PAYLOAD_BYTES). */
  maxPayloadBytes?: number;
  now?: () => Date;
}

/** Error texts can quote sender input (zod names unknown keys): bounded in replies and logs. */
const MAX_ERROR_CHARS = 300;
/** A command name is a topic level of up to 64 KiB: logged and shown cut. */
const MAX_NAME_CHARS = 64;

export interface CommandRouter {
  /** Run one command as if it had arrived on MQTT (without publishing the reply). */
  handle(name: string, payload: Buffer | string): Promise<CommandReply>;
  /** Stop listening (the MQTT subscription stays until the link closes). */
  close(): void;
}

export function createCommandRouter(handlers: CommandHandlers, deps: CommandRouterDeps): CommandRouter {
  const log = deps.log.child({ component: 'commands' });

  // One log line per command, written by whoever delivered it: rejected (bad payload, unknown
  // command: the sender's problem, info) or failed (the station's: warn) or done.
  type Outcome = { reply: CommandReply; stage: 'done' | 'rejected' | 'failed' };

  async function dispatch(name: string, payload: Buffer | string): Promise<Outcome> {
    const parsed = parseCommand(name, payload, { maxPayloadBytes: deps.maxPayloadBytes });
    const id = parsed.id;
    const withId = ({ ok, error, ...rest }: Omit<CommandReply, 'id'>): CommandReply => {
      const bounded = error === undefined ? {} : { error: clip(error, MAX_ERROR_CHARS) };
      return id === undefined ? { ok, ...bounded, ...rest } : { ok, id, ...bounded, ...rest };
    };
    if (!parsed.ok) return { stage: 'rejected', reply: withId({ ok: false, error: parsed.error }) };
    const handler = handlers[parsed.name] as CommandHandler<CommandName> | undefined;
    if (!handler) return { stage: 'rejected', reply: withId({ ok: false, error: `command ${JSON.stringify(name)} is not available on this station` }) };
    try {
      const result = await handler(parsed.args as never, id === undefined ? {} : { requestId: id });
      return { stage: 'done', reply: withId(result === undefined ? { ok: true } : { ok: true, result }) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const result = err instanceof CommandFailed ? err.result : undefined;
      return { stage: 'failed', reply: withId(result === undefined ? { ok: false, error: message } : { ok: false, error: message, result }) };
    }
  }

  const handle = async (name: string, payload: Buffer | string): Promise<CommandReply> => (await dispatch(name, payload)).reply;

  const off = deps.link.on('command', (message) => {
    void dispatch(message.name, message.payload).then(({ reply, stage }) => {
      const command = clip(message.name, MAX_NAME_CHARS);
      const fields = { command, id: reply.id, error: reply.error };
      if (stage === 'done') log.info('command done', { command, id: reply.id });
      else if (stage === 'rejected') log.info('command rejected', fields);
      else log.warn('command failed', fields);
      deps.link.publishCommandResult(message.name, reply as unknown as Record<string, unknown>);
      // Feedback a dashboard shows after a button press (HA buttons have no state of their own).
      const label = command || '(empty)';
      deps.link.state?.({
        last_command: clip(reply.ok ? `${label}: ok` : `${label} failed: ${reply.error ?? 'error'}`, 250),
        last_command_at: (deps.now?.() ?? new Date()).toISOString(),
      });
    }).catch((err: unknown) => log.warn('command reply not sent', { command: clip(message.name, MAX_NAME_CHARS), error: err as Error }));
  });
  deps.link.subscribeCommands();

  return { handle, close: off };
}

/** Thrown by a handler to fail with details (e.g. the run id of a failed run) in the reply's `result`. */
export class CommandFailed extends Error {
  constructor(
    message: string,
    readonly result?: unknown,
  ) {
    super(message);
    this.name = 'CommandFailed';
  }
}

/** A single dispatch function in the `{ok, error?, result?}` style (e.g. Agent.command). */
export type CommandDispatch = (name: CommandName, args: Record<string, unknown>) => Promise<{ ok: boolean; error?: string; result?: unknown }>;

/** Handlers for every command, forwarding validated arguments to `dispatch`; `ok: false` becomes an error reply. */
export function dispatchHandlers(dispatch: CommandDispatch): CommandHandlers {
  const forward = (name: CommandName) => async (args: unknown) => {
    const r = await dispatch(name, args as Record<string, unknown>);
    if (!r.ok) throw new CommandFailed(r.error ?? `${name} failed`, r.result);
    return r.result;
  };
  const handlers: Record<string, unknown> = {};
  for (const name of COMMAND_NAMES) handlers[name] = forward(name);
  return handlers as CommandHandlers;
}
