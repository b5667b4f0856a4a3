// `skyrig run`: the daemon. SIGTERM/SIGINT: finish or abort the current frame, mark runs, publish
// offline, exit 0 within 10 s. A crash exits non-zero so systemd restarts it.
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createLogger, type LogLevel } from '../../log.js';
import { startRuntime } from '../../runtime.js';
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
      const onSignal = (signal: string) => (stopSignal ? stopSignal(signal) : (pending = signal));
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
      process.on('uncaughtException', (err) => {
        log.error('uncaught exception', { error: err, stack: err.stack });
        process.exit(70);
      });
      // Same for a rejected promise nobody awaited: one log line (stack as a field), exit for systemd.
      process.on('unhandledRejection', (reason) => {
        log.error('unhandled promise rejection', { error: reason instanceof Error ? reason : String(reason), stack: reason instanceof Error ? reason.stack : undefined });
        process.exit(70);
      });
      const rt = await startRuntime({ config, baseDir: dirname(resolve(path)), log });
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
      log.info('stopped');
    });
};
