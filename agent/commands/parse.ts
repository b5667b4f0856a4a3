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

/** Longest `request_id` echoed back: a longer one is refused and its echo cut to this (no amplification). */
export const MAX_REQUEST_ID_CHARS = 128;
/** Default bound on a command payload; larger ones are refused before any parsing. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;

/** `s` cut to `max` characters with a visible ellipsis: for anything a sender controls that we echo or log. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

export interface ParseLimits {
  /** Payloads above this many bytes are refused unread (default DEFAULT_MAX_PAYLOAD_BYTES). */
  maxPayloadBytes?: number;
}

export type ParsedCommand =
  | { ok: true; name: CommandName; args: CommandArgs[CommandName]; id?: RequestId }
  | { ok: false; error: string; id?: RequestId };

export function parseCommand(name: string, payload: Buffer | string, limits: ParseLimits = {}): ParsedCommand {
  const max = limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (bytes > max) return { ok: false, error: `payload of ${bytes} bytes is over the limit of ${max} bytes (mqtt.max_payload_bytes); not read` };
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
  if (typeof rawId === 'string' && rawId.length > MAX_REQUEST_ID_CHARS) {
    return { ok: false, id: clip(rawId, MAX_REQUEST_ID_CHARS), error: `${REQUEST_ID_FIELD}: ${rawId.length} characters, at most ${MAX_REQUEST_ID_CHARS}` };
  }
  const id = rawId as RequestId | undefined;
  const fail = (error: string): ParsedCommand => (id === undefined ? { ok: false, error } : { ok: false, id, error });
  if (name === '') {
    return fail(`empty command name: publish to cmd/<name>, one of ${COMMAND_NAMES.join(', ')}`);
  }
  if (!isCommandName(name)) {
    return fail(`unknown command ${JSON.stringify(clip(name, 64))}; known commands: ${COMMAND_NAMES.join(', ')}`);
  }
  const checked = commandSchemas[name].safeParse(rest);
  if (!checked.success) return fail(`invalid ${name} payload: ${describeIssues(checked.error)}`);
  const args = checked.data as CommandArgs[CommandName];
  return id === undefined ? { ok: true, name, args } : { ok: true, name, args, id };
}
