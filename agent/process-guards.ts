// Process-level handlers for the daemon: an uncaught exception or unhandled rejection is a bug, but a
// station nobody watches must keep its schedule. One log line (message + first stack frames), one
// event through `record` (the run log), and the process goes on. test/reliability asserts these
// lines never appear in a run through broker loss, INDI loss, a full disk or kill -9.
import type { Logger } from '../lib/log.js';

export const UNHANDLED_LINES = /unhandled promise rejection|uncaught exception/;

export function installProcessGuards(log: Logger, record: () => ((message: string, data: Record<string, unknown>) => void) | null): void {
  const survive = (what: string, reason: unknown) => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    log.error(what, { error: err.message, stack: err.stack?.split('\n').slice(1, 4).map((l) => l.trim()).join(' | ') });
    try {
      record()?.(`${what}: ${err.message}`, { stack: err.stack });
    } catch {
      // the run log itself may be what failed (disk full): the log line above is the record
    }
  };
  process.on('uncaughtException', (err) => survive('uncaught exception', err));
  process.on('unhandledRejection', (reason) => survive('unhandled promise rejection', reason));
}
