// One command message → validated arguments, or the error reply it deserves. Shared by the router
// (station side) and `skyrig mqtt send` (checks before sending, so typos fail on the spot).
import {
  COMMAND_NAMES,
  REQUEST_ID_FIELD,
  commandSchemas,
  describeIssues,
  isCommandName,
  type CommandArgs,
  type CommandName,
} from './schemas.js';

export type RequestId = string | number;

export type ParsedCommand =
  | { ok: true; name: CommandName; args: CommandArgs[CommandName]; id?: RequestId }
  | { ok: false; error: string; id?: RequestId };

export function parseCommand(name: string, payload: Buffer | string): ParsedCommand {
  const text = payload.toString().trim();
  let body: Record<string, unknown> = {};
  // An empty message counts as `{}`: handy from `mosquitto_pub -n`.
  if (text !== '') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `payload is not valid JSON: ${(err as Error).message}` };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, error: 'payload must be a JSON object' };
    }
    body = value as Record<string, unknown>;
  }
  const { [REQUEST_ID_FIELD]: rawId, ...rest } = body;
  if (rawId !== undefined && typeof rawId !== 'string' && typeof rawId !== 'number') {
    return { ok: false, error: `${REQUEST_ID_FIELD}: must be a string or a number` };
  }
  const id = rawId as RequestId | undefined;
  const fail = (error: string): ParsedCommand => (id === undefined ? { ok: false, error } : { ok: false, id, error });
  if (!isCommandName(name)) {
    return fail(`unknown command ${JSON.stringify(name)}; known commands: ${COMMAND_NAMES.join(', ')}`);
  }
  const checked = commandSchemas[name].safeParse(rest);
  if (!checked.success) return fail(`invalid ${name} payload: ${describeIssues(checked.error)}`);
  const args = checked.data as CommandArgs[CommandName];
  return id === undefined ? { ok: true, name, args } : { ok: true, name, args, id };
}
