// One line per event, journald-friendly: `level msg key=value ...` by default, JSON lines on request.
// No timestamps in text mode: journald adds its own.

import type { LogFields, Logger, LogLevel } from '../lib/log.js';

export type { LogFields, Logger, LogLevel } from '../lib/log.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
// sd-daemon(3) priority prefixes so journald records the level.
const SYSLOG_PREFIX: Record<LogLevel, string> = { debug: '<7>', info: '<6>', warn: '<4>', error: '<3>' };

export interface LoggerOptions {
  level?: LogLevel;
  json?: boolean;
  /** Prefix lines with <N> priorities (set when running under systemd). */
  syslogPrefix?: boolean;
  write?: (line: string) => void;
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return JSON.stringify(v);
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const all = { ...bound, ...fields };
    if (options.json) {
      const out: LogFields = { time: new Date().toISOString(), level, msg };
      for (const [k, v] of Object.entries(all)) out[k] = v instanceof Error ? v.message : v;
      write(JSON.stringify(out));
      return;
    }
    const kv = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(' ');
    const prefix = options.syslogPrefix ? SYSLOG_PREFIX[level] : '';
    write(`${prefix}${level} ${msg}${kv ? ' ' + kv : ''}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that keeps lines in memory: for tests. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level, write: (l) => lines.push(l) });
  return Object.assign(logger, { lines });
}
