// `skyrig focuser`: move a focuser or read its state. runFocuser takes its own DriverContext so tests
// can call it directly; the commander action only parses options and prints.
import { Option, type Command } from 'commander';
import type { DriverContext } from '../../../drivers/context.js';
import { createFocuser } from '../../../drivers/registry.js';
import { CONFIG_HELP, contextFor, optionalConfig, parseNumberOption, resolveDevice, stdio, withInterrupt, type CommandIO } from './device-common.js';

export type FocuserAction = { kind: 'to'; position: number } | { kind: 'by'; delta: number } | { kind: 'abort' } | { kind: 'status' } | { kind: 'home' };

export interface FocuserOptions {
  focuser: string;
  action: FocuserAction;
  backlash?: number;
  approach?: 'in' | 'out';
  timeoutS?: number;
}

export function parseFocuserOptions(raw: Record<string, string | boolean | undefined>): FocuserOptions {
  if (typeof raw.focuser !== 'string' || !raw.focuser) throw new Error('--focuser: a device URL is required (sim://, indi://host/Device, gpio-rail://?step=…&dir=…)');
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const actions: FocuserAction[] = [];
  const to = parseNumberOption('--to', str('to'), Number.isFinite, 'a position');
  const by = parseNumberOption('--by', str('by'), Number.isFinite, 'a number of steps');
  if (to !== undefined) actions.push({ kind: 'to', position: to });
  if (by !== undefined) actions.push({ kind: 'by', delta: by });
  if (raw.abort) actions.push({ kind: 'abort' });
  if (raw.status) actions.push({ kind: 'status' });
  if (raw.home) actions.push({ kind: 'home' });
  if (actions.length !== 1) throw new Error('focuser: give exactly one of --to P, --by D, --abort, --status, --home');
  const approach = str('approach');
  if (approach !== undefined && approach !== 'in' && approach !== 'out') throw new Error(`--approach: expected in or out, got "${approach}"`);
  return {
    focuser: raw.focuser,
    action: actions[0],
    backlash: parseNumberOption('--backlash', str('backlash'), (v) => Number.isInteger(v) && v >= 0, 'a whole number of steps ≥ 0'),
    approach: approach as 'in' | 'out' | undefined,
    timeoutS: parseNumberOption('--timeout', str('timeout'), (v) => v > 0, 'seconds > 0'),
  };
}

export interface FocuserStatus {
  position: number;
  min: number;
  max: number;
  moving: boolean;
  temperature: number | null;
}

export async function runFocuser(opts: FocuserOptions, ctx: DriverContext, io: CommandIO = stdio(), signal?: AbortSignal): Promise<FocuserStatus> {
  const focuser = await createFocuser(opts.focuser, ctx, { backlashSteps: opts.backlash, approach: opts.approach });
  const status = async (): Promise<FocuserStatus> => {
    const [position, limits, moving, temperature] = await Promise.all([focuser.position(), focuser.limits(), focuser.isMoving(), focuser.temperature()]);
    return { position, min: limits.min, max: limits.max, moving, temperature };
  };
  const timeoutMs = opts.timeoutS ? opts.timeoutS * 1000 : undefined;
  try {
    const a = opts.action;
    // A gpio-rail is aborted through the process moving it (which waits until that one has let go),
    // before this one opens the lines.
    const railAbort = a.kind === 'abort' && opts.focuser.trim().toLowerCase().startsWith('gpio-rail:');
    if (railAbort) await focuser.abort();
    await focuser.connect();
    if (a.kind === 'abort') {
      if (!railAbort) await focuser.abort();
    } else if (a.kind === 'to' || a.kind === 'by') {
      const target = a.kind === 'to' ? a.position : (await focuser.position()) + a.delta;
      await focuser.moveTo(target, { signal, timeoutMs });
    } else if (a.kind === 'home') {
      const inner = ('inner' in focuser ? (focuser as { inner: unknown }).inner : focuser) as { home?: (o: object) => Promise<number> };
      if (typeof inner.home !== 'function') throw new Error(`${opts.focuser}: this focuser has no homing (only gpio-rail with a limit switch)`);
      await inner.home({ signal, timeoutMs });
    }
    const s = await status();
    // A gpio-rail also knows whether it is homed and where it is in mm.
    const rail = ('inner' in focuser ? (focuser as { inner: unknown }).inner : focuser) as { isHomed?: () => boolean; positionMm?: () => number | null };
    const extra = typeof rail.isHomed === 'function' ? ` homed=${rail.isHomed()}${rail.positionMm?.() != null ? ` mm=${rail.positionMm()!.toFixed(3)}` : ''}` : '';
    io.out(`position=${s.position} min=${s.min} max=${s.max} moving=${s.moving} temperature=${s.temperature ?? 'n/a'}${extra}`);
    return s;
  } finally {
    await focuser.disconnect().catch(() => {});
  }
}

export function registerFocuserCommand(program: Command): void {
  program
    .command('focuser')
    .description('Move a focuser or read its state')
    .requiredOption('--focuser <url|name>', 'focuser URL (sim://, indi://host:7624/Device, gpio-rail://?step=17&dir=27[&enable=22&limit=23…]) or a focuser name from the config')
    .option('--to <position>', 'move to an absolute position (steps)')
    .option('--by <steps>', 'move by a relative number of steps')
    .option('--abort', 'stop a move in progress (also one started by another skyrig process)')
    .option('--status', 'print position, limits, moving, temperature')
    .option('--home', 'home a gpio-rail on its limit switch')
    .option('--backlash <steps>', 'backlash overshoot in steps (every move ends from the same direction; default: the config\'s)')
    .addOption(new Option('--approach <dir>', 'direction of the final approach').choices(['in', 'out']))
    .option('--timeout <seconds>', 'give up (and stop) a move after this long')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state-dir <dir>', 'driver state directory, where a gpio-rail keeps its position (default: the config\'s, else ~/.local/state/skyrig)')
    .option('--verbose', 'driver debug logging')
    .action(async (raw: Record<string, string | boolean | undefined>) => {
      const loaded = await optionalConfig(raw.config as string | undefined);
      const dev = typeof raw.focuser === 'string' ? resolveDevice(raw.focuser, 'focuser', loaded) : null;
      const opts = parseFocuserOptions({ ...raw, focuser: dev?.url });
      opts.backlash ??= dev?.backlash;
      opts.approach ??= dev?.approach;
      const ctx = contextFor({ stateDir: raw.stateDir as string | undefined, verbose: raw.verbose === true }, loaded);
      await withInterrupt(
        () => process.stderr.write('skyrig: stopping the focuser\n'),
        (signal) => runFocuser(opts, ctx, stdio(), signal),
      );
    });
}
