// The daemon's device cache: a device whose connect fails is disconnected (its driver lets go of
// what it opened) and forgotten, so the next job starts clean. Before, an INDI camera whose server
// was down leaked its client: it kept reconnecting, doubled BLOB writes after the server came back,
// and kept `skyrig run` alive past SIGTERM.
import test from 'ava';
import { memoryLogger } from '../../agent/log.js';
import { validateConfig } from '../../agent/config/load.js';
import { createDeviceFactory, type DriverRegistry } from '../../agent/devices.js';
import { createDriverContext } from '../../drivers/context.js';
import * as registry from '../../drivers/registry.js';
import type { Camera } from '../../drivers/types.js';
import { freePort } from '../helpers/port.js';
import { tempDir } from '../helpers/tmp.js';

test('a camera that fails to connect is disconnected and the next request makes a new one', async (t) => {
  const config = validateConfig({ station: { id: 'd' }, devices: { cameras: { cam: { url: 'sim://x' } } }, mqtt: { enabled: false } });
  const made: { connects: number; disconnects: number }[] = [];
  const fake: DriverRegistry = {
    async createCamera() {
      const rec = { connects: 0, disconnects: 0 };
      made.push(rec);
      return {
        async connect() {
          rec.connects++;
          if (made.length === 1) throw new Error('server down');
        },
        async disconnect() {
          rec.disconnects++;
        },
      } as unknown as Camera;
    },
    createFocuser: () => Promise.reject(new Error('none')),
  };
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: await tempDir(t) });
  const devices = createDeviceFactory(config, ctx, fake);
  await t.throwsAsync(devices.camera('cam'), { message: 'server down' });
  t.deepEqual(made, [{ connects: 1, disconnects: 1 }]);
  await devices.camera('cam');
  t.is(made.length, 2, 'a fresh driver instance after the failure');
  await devices.closeAll();
  t.deepEqual(made[1], { connects: 1, disconnects: 1 });
});

test('indi:// camera with no server: the failed connect leaves no INDI client behind', async (t) => {
  const port = await freePort();
  const config = validateConfig({ station: { id: 'd' }, devices: { cameras: { cam: { url: `indi://127.0.0.1:${port}/CCD%20Simulator` } } }, mqtt: { enabled: false } });
  const ctx = createDriverContext({ log: memoryLogger(), stateDir: await tempDir(t) });
  const devices = createDeviceFactory(config, ctx, registry);
  await t.throwsAsync(devices.camera('cam'), { message: /no INDI server answers/ });
  t.deepEqual([...ctx.shared.keys()].filter((k) => k.startsWith('indi-client:')), [], 'client released and closed');
});
