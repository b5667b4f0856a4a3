// Commands accepted on `<base>/<station>/cmd/<name>`: one zod schema each. Objects are strict so a
// misspelt field (`exposure` for `exposure_s`) is an error, not a silently ignored default.
import { z } from 'zod';

const exposureS = z.number().positive().max(3600);
const position = z.number().int();
const MAX_BRACKET = 1000;

const focusbracket = z
  .strictObject({
    positions: z.array(position).min(1).max(MAX_BRACKET).optional(),
    start: position.optional(),
    end: position.optional(),
    step: z.number().int().positive().optional(),
  })
  .superRefine((v, ctx) => {
    const range = [v.start, v.end, v.step].some((x) => x !== undefined);
    if (v.positions && range) {
      ctx.addIssue({ code: 'custom', path: ['positions'], message: 'give either positions or start/end/step, not both' });
      return;
    }
    if (!range) return;
    for (const k of ['start', 'end', 'step'] as const) {
      if (v[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'required with start/end/step' });
    }
    if (v.start !== undefined && v.end !== undefined && v.step !== undefined) {
      const n = Math.floor(Math.abs(v.end - v.start) / v.step) + 1;
      if (n > MAX_BRACKET) ctx.addIssue({ code: 'custom', path: ['step'], message: `gives ${n} positions, at most ${MAX_BRACKET}` });
    }
  });

export const commandSchemas = {
  /** Capture now: optional overrides of the capture job's exposure, frame count and gain. */
  capture: z.strictObject({
    exposure_s: exposureS.optional(),
    count: z.number().int().min(1).max(1000).optional(),
    gain: z.number().min(0).optional(),
  }),
  autofocus: z.strictObject({}),
  livestack_start: z.strictObject({}),
  livestack_stop: z.strictObject({}),
  /** HDR bracket; exposures default to the configured bracket. */
  hdr: z.strictObject({ exposures: z.array(exposureS).min(1).max(32).optional() }),
  /** Focus bracket over explicit positions or start..end by step; default: the configured bracket. */
  focusbracket,
  /** Run a configured job now. */
  job: z.strictObject({ name: z.string().min(1).max(100) }),
  status: z.strictObject({}),
} as const;

export type CommandName = keyof typeof commandSchemas;
export type CommandArgs = { [K in CommandName]: z.infer<(typeof commandSchemas)[K]> };
export const COMMAND_NAMES = Object.keys(commandSchemas) as CommandName[];

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commandSchemas, name);
}

/** Envelope field every command may carry; echoed as `id` in the reply. */
export const REQUEST_ID_FIELD = 'request_id';

/** `field: message; field2: message` from zod issues (root-level issues say `payload`). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}
