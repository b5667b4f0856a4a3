// sd_notify(3) over the NOTIFY_SOCKET datagram socket (unix-dgram: Node has no AF_UNIX datagrams).
// Without NOTIFY_SOCKET (not under systemd) every call is a no-op.
import { createRequire } from 'node:module';

export interface Notifier {
  ready(): void;
  status(text: string): void;
  watchdog(): void;
  stopping(): void;
  /** Watchdog ping interval (half of WATCHDOG_USEC) or null when no watchdog is set for this process. */
  readonly watchdogIntervalMs: number | null;
  close(): void;
}

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  close(): void;
  on(event: 'error', cb: (err: Error) => void): void;
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env, onError: (err: Error) => void = () => {}): Notifier {
  let socketPath = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  const pidOk = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  const watchdogIntervalMs = usec > 0 && pidOk ? Math.max(500, Math.floor(usec / 2000)) : null;
  let sock: DgramSocket | null = null;
  if (socketPath) {
    if (socketPath.startsWith('@')) socketPath = '\0' + socketPath.slice(1); // abstract namespace
    try {
      const require = createRequire(import.meta.url);
      const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
      sock = unix.createSocket('unix_dgram');
      sock.on('error', onError);
    } catch (err) {
      onError(new Error(`sd_notify unavailable (unix-dgram did not load: ${(err as Error).message})`));
    }
  }
  const send = (msg: string) => {
    if (!sock || !socketPath) return;
    const buf = Buffer.from(msg);
    sock.send(buf, 0, buf.length, socketPath, (err) => err && onError(err));
  };
  return {
    ready: () => send('READY=1'),
    status: (text) => send(`STATUS=${text.replace(/\n/g, ' ').slice(0, 200)}`),
    watchdog: () => send('WATCHDOG=1'),
    stopping: () => send('STOPPING=1'),
    watchdogIntervalMs,
    close: () => sock?.close(),
  };
}
