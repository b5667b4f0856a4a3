// Config device names → connected driver instances, created on first use and dropped after a
// failure so the next job finds a camera that was unplugged and plugged back.
import type { Config } from './config/schema.js';
import type { DriverContext } from '../drivers/context.js';
import type { Camera, Focuser } from '../drivers/types.js';
import type { DeviceFactory } from './daemon.js';

export interface DriverRegistry {
  createCamera(url: string, ctx: DriverContext): Promise<Camera>;
  createFocuser(url: string, ctx: DriverContext, options?: { backlashSteps?: number; approach?: 'in' | 'out' }): Promise<Focuser>;
}

export function createDeviceFactory(config: Config, ctx: DriverContext, registry: DriverRegistry): DeviceFactory {
  const cameras = new Map<string, Promise<Camera>>();
  const focusers = new Map<string, Promise<Focuser>>();
  const open = <T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(cache: Map<string, Promise<T>>, name: string, make: () => Promise<T>): Promise<T> => {
    let p = cache.get(name);
    if (!p) {
      p = make().then(async (dev) => {
        try {
          await dev.connect();
        } catch (err) {
          // A device that never connected still holds what its driver opened (an INDI client that
          // would keep reconnecting, GPIO lines): let go, or it leaks and keeps the process alive.
          await dev.disconnect().catch(() => {});
          throw err;
        }
        return dev;
      });
      cache.set(name, p);
      p.catch(() => cache.delete(name));
    }
    return p;
  };
  return {
    camera(name) {
      const dev = config.devices.cameras[name];
      if (!dev) return Promise.reject(new Error(`devices.cameras.${name}: no such camera in the config`));
      return open(cameras, name, () => registry.createCamera(dev.url, ctx));
    },
    focuser(name) {
      const dev = config.devices.focusers[name];
      if (!dev) return Promise.reject(new Error(`devices.focusers.${name}: no such focuser in the config`));
      return open(focusers, name, () => registry.createFocuser(dev.url, ctx, { backlashSteps: dev.backlash, approach: dev.approach }));
    },
    async forget(name) {
      for (const cache of [cameras, focusers] as Map<string, Promise<Camera | Focuser>>[]) {
        const p = cache.get(name);
        cache.delete(name);
        if (p) await p.then((d) => d.disconnect()).catch(() => {});
      }
    },
    async closeAll() {
      const all = [...cameras.values(), ...focusers.values()] as Promise<Camera | Focuser>[];
      cameras.clear();
      focusers.clear();
      await Promise.all(all.map((p) => p.then((d) => d.disconnect()).catch(() => {})));
    },
  };
}
