// What the hardware commands (capture, focuser, doctor) share: output streams, the optional config
// file and device names in it, the driver context, option parsing and Ctrl-C handling.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_CONFIG_PATH, loadConfig, resolvePaths, type LoadedConfig } from '../../config/load.js';
import { createLogger, type Logger } from '../../log.js';
import { createDriverContext, type DriverContext } from '../../../drivers/context.js';

export const CONFIG_HELP = `config file for device names and the agent's state/data dirs (default: $SKYRIG_CONFIG, else ${DEFAULT_CONFIG_PATH} if present)`;

export interface CommandIO {
  /** Results (file paths, positions): stdout. */
  out: (line: string) => void;
  /** Progress and notes: stderr. */
  err: NodeJS.WriteStream;
}

export const stdio = (): CommandIO => ({ out: (l) => process.stdout.write(l + '\n'), err: process.stderr });

export function defaultStateDir(): string {
  return process.env.SKYRIG_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'skyrig');
}

/**
 * The config file, when there is one: --config, else $SKYRIG_CONFIG, else /etc/skyrig/config.yaml if
 * it exists. Device commands work without one; with one, they share the agent's state directory
 * (so a rail moved from the CLI and by jobs keeps one position) and accept device names.
 */
export async function optionalConfig(path: string | undefined): Promise<LoadedConfig | null> {
  const chosen = path ?? process.env.SKYRIG_CONFIG ?? (presentOrHidden(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  return chosen ? loadConfig(chosen) : null;
}

/** The file exists, or a directory the user may not enter hides it (loading it then names the fix). */
function presentOrHidden(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES';
  }
}

export function configStateDir(loaded: LoadedConfig | null): string | undefined {
  return loaded ? resolvePaths(loaded.config, dirname(resolve(loaded.path))).stateDir : undefined;
}

/** A device URL, or the name of a device in the config (`--camera allsky`). */
export function resolveDevice(
  value: string,
  kind: 'camera' | 'focuser',
  loaded: LoadedConfig | null,
): { url: string; backlash?: number; approach?: 'in' | 'out' } {
  if (value.includes(':')) return { url: value };
  const devices = loaded?.config.devices;
  if (kind === 'camera') {
    const dev = devices?.cameras[value];
    if (dev) return { url: dev.url };
  } else {
    const dev = devices?.focusers[value];
    if (dev) return { url: dev.url, backlash: dev.backlash, approach: dev.approach };
  }
  const names = Object.keys((kind === 'camera' ? devices?.cameras : devices?.focusers) ?? {});
  throw new Error(
    `--${kind} ${value}: not a device URL${loaded ? ` and no ${kind} of that name in ${loaded.path}${names.length ? ` (${names.join(', ')})` : ''}` : ' (and no config file to look the name up in)'}`,
  );
}

export function parseNumberOption(option: string, raw: string | undefined, check: (v: number) => boolean, want: string, shown = raw): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || !check(v)) throw new Error(`${option}: expected ${want}, got "${shown}"`);
  return v;
}

/** "1/250" → "0.004" (shutter-speed style exposures); anything else unchanged. */
export function fraction(raw: string): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(raw);
  return m && Number(m[2]) > 0 ? String(Number(m[1]) / Number(m[2])) : raw;
}

export function contextFor(opts: { stateDir?: string; verbose?: boolean }, loaded: LoadedConfig | null, log?: Logger): DriverContext {
  return createDriverContext({
    log: log ?? createLogger({ level: opts.verbose ? 'debug' : 'warn' }),
    stateDir: resolve(opts.stateDir ?? configStateDir(loaded) ?? defaultStateDir()),
  });
}

/** Run `work` with SIGINT/SIGTERM turned into an abort instead of killing the process mid-move. */
export async function withInterrupt<T>(onInterrupt: () => void, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const handler = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    onInterrupt();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await work(ac.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}
