// Device URL → driver instance. Each backend is imported only when a URL names it, so native
// modules (gphoto2, onoff) never load on a machine that does not use them.
import type { DriverContext } from './context.js';
import { withBacklash } from './backlash.js';
import { parseRailUrl } from './gpio-rail/config.js';
import { parseRpicamUrl } from './rpicam/options.js';
import type { Camera, Focuser } from './types.js';

export type DeviceScheme = 'sim' | 'indi' | 'gphoto2' | 'gpio-rail' | 'rpicam';

export interface DeviceUrl {
  scheme: DeviceScheme;
  /** Normalised URL handed to the backend factory (gphoto2 ports move into ?port=). */
  url: URL;
  /** What the user wrote. */
  text: string;
}

const CAMERA_SCHEMES: DeviceScheme[] = ['sim', 'indi', 'gphoto2', 'rpicam'];
const FOCUSER_SCHEMES: DeviceScheme[] = ['sim', 'indi', 'gpio-rail'];
const EXAMPLES: Record<DeviceScheme, string> = {
  sim: 'sim://[rig]?scene=sky|day',
  indi: 'indi://host[:7624]/Device%20Name',
  gphoto2: 'gphoto2:// (first camera) or gphoto2://usb:001,004',
  'gpio-rail': 'gpio-rail://?step=17&dir=27[&enable=22&limit=23…]',
  rpicam: 'rpicam://[index][?raw=1&tuning=…&bin=…]',
};
const allowed = (schemes: DeviceScheme[]) => schemes.map((s) => EXAMPLES[s]).join(', ');

export function parseDeviceUrl(text: string): DeviceUrl {
  const raw = text.trim();
  const bad = (why: string) => new Error(`device URL "${text}": ${why}`);
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/.exec(raw);
  if (!m) throw bad(`not a URL; expected one of ${allowed(['sim', 'indi', 'gphoto2', 'gpio-rail', 'rpicam'])}`);
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  switch (scheme) {
    case 'sim':
      return { scheme, url: new URL(`sim:${rest.startsWith('//') ? rest : '//' + rest}`), text };
    case 'indi': {
      let url: URL;
      try {
        url = new URL(`indi:${rest}`);
      } catch {
        throw bad(`cannot parse; expected ${EXAMPLES.indi}`);
      }
      if (!url.hostname) throw bad(`no INDI server host; expected ${EXAMPLES.indi}`);
      if (url.port && !(Number(url.port) > 0 && Number(url.port) < 65536)) throw bad(`port ${url.port} out of range`);
      return { scheme, url, text };
    }
    case 'gphoto2': {
      // gphoto2 ports (usb:001,004) are not valid URL hosts: carry them as ?port=.
      const body = rest.startsWith('//') ? rest.slice(2) : rest;
      const q = body.indexOf('?');
      const port = decodeURIComponent(q < 0 ? body : body.slice(0, q));
      const url = new URL(`gphoto2://${q < 0 ? '' : body.slice(q)}`);
      if (port) {
        if (!/^(usb|ptpip|ip|serial|disk):/.test(port)) {
          throw bad(`"${port}" is not a gphoto2 port (like usb:001,004 from gphoto2 --auto-detect); expected ${EXAMPLES.gphoto2}`);
        }
        url.searchParams.set('port', port);
      }
      return { scheme, url, text };
    }
    case 'gpio-rail': {
      let url: URL;
      try {
        url = new URL(`gpio-rail:${rest}`);
      } catch {
        throw bad(`cannot parse; expected ${EXAMPLES['gpio-rail']}`);
      }
      const pure = stripBacklash(url).url;
      try {
        parseRailUrl(pure);
      } catch (err) {
        throw bad((err as Error).message.replace(/^gpio-rail URL \S+: /, ''));
      }
      return { scheme, url, text };
    }
    case 'rpicam': {
      const url = new URL(`rpicam:${rest.startsWith('//') ? rest : '//' + rest}`);
      try {
        parseRpicamUrl(url);
      } catch (err) {
        throw bad((err as Error).message.replace(/^rpicam URL \S+: /, ''));
      }
      return { scheme, url, text };
    }
    default:
      throw bad(`unknown scheme "${scheme}:"; expected one of ${allowed(['sim', 'indi', 'gphoto2', 'gpio-rail', 'rpicam'])}`);
  }
}

// Backends written by others are imported through variable specifiers typed by these small
// interfaces, so this file compiles whether or not they exist on the branch yet.
interface SimModule {
  createSimCamera(url: URL, ctx: DriverContext): Camera | Promise<Camera>;
  createSimFocuser(url: URL, ctx: DriverContext): Focuser | Promise<Focuser>;
}
interface IndiModule {
  createIndiCamera(url: URL, ctx: DriverContext): Camera | Promise<Camera>;
  createIndiFocuser(url: URL, ctx: DriverContext): Focuser | Promise<Focuser>;
}
const SIM_MODULE = '../hardware-mocks/index.js';
const INDI_MODULE = './indi/index.js';

async function loadBackend<T>(specifier: string, what: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    throw new Error(`${what} support could not be loaded (${specifier}): ${(err as Error).message}`);
  }
}

function requireRole(dev: DeviceUrl, role: 'camera' | 'focuser'): void {
  const schemes = role === 'camera' ? CAMERA_SCHEMES : FOCUSER_SCHEMES;
  if (!schemes.includes(dev.scheme)) {
    throw new Error(`device URL "${dev.text}": ${dev.scheme}:// is not a ${role}; ${role}s are ${allowed(schemes)}`);
  }
}

/** Parse a device URL and check it can play `role`, without opening anything (config validation). */
export function checkDeviceUrl(text: string, role: 'camera' | 'focuser'): DeviceUrl {
  const dev = parseDeviceUrl(text);
  requireRole(dev, role);
  if (role === 'focuser') {
    const split = stripBacklash(dev.url);
    if (split.steps !== null && (!Number.isInteger(split.steps) || split.steps < 0)) throw new Error(`device URL "${text}": backlash must be a whole number of steps ≥ 0`);
    if (split.approach !== null && split.approach !== 'in' && split.approach !== 'out') throw new Error(`device URL "${text}": approach must be in or out`);
  }
  return dev;
}

export async function createCamera(text: string, ctx: DriverContext): Promise<Camera> {
  const dev = parseDeviceUrl(text);
  requireRole(dev, 'camera');
  switch (dev.scheme) {
    case 'sim':
      return (await loadBackend<SimModule>(SIM_MODULE, 'sim://')).createSimCamera(dev.url, ctx);
    case 'indi':
      return (await loadBackend<IndiModule>(INDI_MODULE, 'indi://')).createIndiCamera(dev.url, ctx);
    case 'rpicam': {
      const { createRpicamCamera } = await import('./rpicam/index.js');
      return createRpicamCamera(dev.url, ctx);
    }
    default: {
      const { createGphoto2Camera } = await import('./gphoto2/index.js');
      return createGphoto2Camera(dev.url, ctx);
    }
  }
}

export interface FocuserOptions {
  /** Backlash overshoot in steps; overrides ?backlash= in the URL. 0 turns it off. */
  backlashSteps?: number;
  /** Direction of the final approach; overrides ?approach=. Default 'out'. */
  approach?: 'in' | 'out';
}

/** Split the registry's own query parameters (backlash, approach) from the backend's. */
function stripBacklash(url: URL): { url: URL; steps: number | null; approach: string | null } {
  const copy = new URL(url.href);
  const steps = copy.searchParams.get('backlash');
  const approach = copy.searchParams.get('approach');
  copy.searchParams.delete('backlash');
  copy.searchParams.delete('approach');
  return { url: copy, steps: steps === null ? null : Number(steps), approach };
}

export async function createFocuser(text: string, ctx: DriverContext, options: FocuserOptions = {}): Promise<Focuser> {
  const dev = parseDeviceUrl(text);
  requireRole(dev, 'focuser');
  const split = stripBacklash(dev.url);
  const steps = options.backlashSteps ?? split.steps ?? 0;
  const approach = options.approach ?? split.approach ?? 'out';
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`device URL "${text}": backlash must be a whole number of steps ≥ 0`);
  if (approach !== 'in' && approach !== 'out') throw new Error(`device URL "${text}": approach must be in or out`);
  let focuser: Focuser;
  switch (dev.scheme) {
    case 'sim':
      focuser = await (await loadBackend<SimModule>(SIM_MODULE, 'sim://')).createSimFocuser(split.url, ctx);
      break;
    case 'indi':
      focuser = await (await loadBackend<IndiModule>(INDI_MODULE, 'indi://')).createIndiFocuser(split.url, ctx);
      break;
    default: {
      const { createGpioRail } = await import('./gpio-rail/index.js');
      focuser = await createGpioRail(split.url, ctx);
    }
  }
  return steps > 0 ? withBacklash(focuser, { steps, approach }) : focuser;
}
