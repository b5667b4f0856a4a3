// `skyrig run`: the daemon. SIGTERM/SIGINT: finish or abort the current frame, mark runs, publish
// offline, exit 0 within 10 s. A crash exits non-zero so systemd restarts it.
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createLogger, type LogLevel } from '../../log.js';
import { startRuntime } from '../../runtime.js';
import { installProcessGuards } from '../../process-guards.js';
import { configPathOption } from './config.js';

export const STOP_DEADLINE_MS = 9500;

export const registerRunCommand = (program: Command): void => {
  configPathOption(program.command('run').description('run the agent (what the systemd service starts)'))
    .option('--log-json', 'log JSON lines instead of text')
    .option('--log-level <level>', 'debug|info|warn|error')
    .action(async (o: { config: string; logJson?: boolean; logLevel?: LogLevel }) => {
      const { config, path } = await loadConfig(o.config);
      const log = createLogger({
        level: o.logLevel ?? config.log.level,
        json: o.logJson ?? config.log.json,
        syslogPrefix: !!process.env.JOURNAL_STREAM && !(o.logJson ?? config.log.json),
      });
      // Signal handlers go in before anything starts, so a SIGTERM during startup is honoured too.
      let stopSignal: ((signal: string) => void) | null = null;
      let pending: string | null = null;
      const startAbort = new AbortController();
      const onSignal = (signal: string) => {
        if (stopSignal) return stopSignal(signal);
        pending = signal;
        startAbort.abort(); // a start-up waiting for disk space gives up
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
      // Logged (one line) and recorded, never fatal: see agent/process-guards.ts.
      let recordEvent: ((message: string, data: Record<string, unknown>) => void) | null = null;
      installProcessGuards(log, () => recordEvent);
      // The daemon lives until a signal: its own timers are unref'd and the MQTT socket comes and goes,
      // so without this handle a command-only agent exits (status 13) once the broker is gone.
      const keepAlive = setInterval(() => {}, 3_600_000);
      const rt = await startRuntime({ config, baseDir: dirname(resolve(path)), log, abort: startAbort.signal }).catch((err: unknown) => {
        clearInterval(keepAlive);
        if (startAbort.signal.aborted) return null;
        throw err;
      });
      if (!rt) {
        log.info('stopped during start-up', { signal: pending });
        return;
      }
      recordEvent = (message, data) => rt.runlog.addEvent('error', message, data);
      await new Promise<void>((done) => {
        let stopping = false;
        stopSignal = (signal: string) => {
          if (stopping) return;
          stopping = true;
          log.info('stopping', { signal });
          setTimeout(() => {
            log.error('stop deadline passed; exiting');
            process.exit(1);
          }, STOP_DEADLINE_MS).unref();
          void rt.shutdown().then(done, (err) => {
            log.error('error while stopping', { error: err });
            done();
          });
        };
        if (pending) stopSignal(pending);
      });
      clearInterval(keepAlive);
      log.info('stopped');
    });
};
