// Doctor's view of the config file: does it load, are its device URLs valid, which INDI servers it uses.
import { DEFAULT_CONFIG_PATH, type LoadedConfig } from '../../../config/load.js';
import type { DoctorCheck } from '../../../../drivers/gpio-rail/doctor.js';
import { parseDeviceUrl } from '../../../../drivers/registry.js';
import { optionalConfig } from '../device-common.js';

export async function configCheck(path: string | undefined): Promise<{ check: DoctorCheck; loaded: LoadedConfig | null }> {
  try {
    const loaded = await optionalConfig(path);
    if (!loaded) {
      return { loaded, check: { name: 'config', level: 'ok', message: `no config at ${DEFAULT_CONFIG_PATH} (checks use defaults; --config PATH)` } };
    }
    const d = loaded.config.devices;
    const bad: string[] = [];
    for (const [kind, set] of [['cameras', d.cameras], ['focusers', d.focusers]] as const) {
      for (const [name, dev] of Object.entries(set)) {
        try {
          parseDeviceUrl(dev.url);
        } catch (err) {
          bad.push(`devices.${kind}.${name}: ${(err as Error).message}`);
        }
      }
    }
    if (bad.length) return { loaded, check: { name: 'config', level: 'fail', message: bad.join('; '), fix: `fix the device URLs in ${loaded.path}` } };
    return {
      loaded,
      check: { name: 'config', level: 'ok', message: `${loaded.path}: ${Object.keys(d.cameras).length} camera(s), ${Object.keys(d.focusers).length} focuser(s)` },
    };
  } catch (err) {
    return { loaded: null, check: { name: 'config', level: 'fail', message: (err as Error).message, fix: 'skyrig config check --config PATH names each bad field' } };
  }
}

/** host:port of every indi:// device in the config. */
export function configIndiServers(loaded: LoadedConfig | null): string[] {
  if (!loaded) return [];
  const d = loaded.config.devices;
  const urls = [...Object.values(d.cameras), ...Object.values(d.focusers)].map((x) => x.url).filter((u) => u.startsWith('indi:'));
  const hosts = new Set<string>();
  for (const u of urls) {
    try {
      const parsed = parseDeviceUrl(u).url;
      hosts.add(`${parsed.hostname}:${parsed.port || 7624}`);
    } catch {
      // reported by the config check
    }
  }
  return [...hosts];
}
