// sd_notify over a real AF_UNIX datagram socket, as systemd provides it.
import test from 'ava';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createNotifier } from '../../agent/sdnotify.js';
import { tempDir } from '../helpers/tmp.js';

const require = createRequire(import.meta.url);

test('READY, STATUS, WATCHDOG and STOPPING reach the notify socket; the watchdog interval is half of WATCHDOG_USEC', async (t) => {
  const unix = require('unix-dgram') as any;
  const dir = await tempDir(t);
  const path = join(dir, 'notify.sock');
  const got: string[] = [];
  const server = unix.createSocket('unix_dgram', (buf: Buffer) => got.push(buf.toString()));
  server.bind(path);
  t.teardown(() => server.close());
  const n = createNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '20000000' });
  t.is(n.watchdogIntervalMs, 10000);
  n.ready();
  n.status('capture run 3');
  n.watchdog();
  n.stopping();
  const deadline = Date.now() + 3000;
  while (got.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  n.close();
  t.deepEqual(got, ['READY=1', 'STATUS=capture run 3', 'WATCHDOG=1', 'STOPPING=1']);
});

test('without NOTIFY_SOCKET every call is a no-op', (t) => {
  const n = createNotifier({});
  t.is(n.watchdogIntervalMs, null);
  n.ready();
  n.watchdog();
  n.close();
  t.pass();
});
