// Backend over the npm `gphoto2` binding (node-gphoto2, built against libgphoto2-dev). Loaded
// lazily: only a gphoto2:// URL pulls the native module in. The binding can list, read and set
// config, capture and download; it cannot time a bulb exposure (no event wait), so the camera
// logic sends those to the command line.
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { ConfigWidget, DetectedCamera, Gphoto2Backend, Gphoto2Session } from './backend.js';
import { gphotoErrorFromCode } from './errors.js';

/** The parts of node-gphoto2's Camera the backend uses. Callbacks get a libgphoto2 code on failure. */
export interface BindingCamera {
  model: string;
  port: string;
  getConfig(simplify: boolean, cb: (er: number | undefined, settings: unknown) => void): void;
  setConfigValue(key: string, value: string | number, cb: (er?: number) => void): void;
  takePicture(opts: { download?: boolean; keep?: boolean; targetPath?: string }, cb: (er: number | undefined, result?: string) => void): void;
  downloadPicture(opts: { cameraPath: string; targetPath: string }, cb: (er: number | undefined, tmpPath?: string) => void): void;
}

export interface BindingGPhoto2 {
  list(cb: (cameras: BindingCamera[]) => void): void;
  setLogLevel?(level: number): void;
}

export interface GphotoBindingModule {
  GPhoto2: new () => BindingGPhoto2;
}

// Variable specifier: gphoto2 is an optionalDependency with a native part.
const GPHOTO2 = 'gphoto2';

export async function loadGphoto2Binding(): Promise<GphotoBindingModule> {
  const mod = (await import(GPHOTO2)) as GphotoBindingModule & { default?: GphotoBindingModule };
  const m = mod.default ?? mod;
  if (typeof m.GPhoto2 !== 'function') throw new Error('the gphoto2 module has no GPhoto2 class');
  return m;
}

function call<T>(op: string, fn: (cb: (er: number | undefined, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((er, v) => {
      if (typeof er === 'number' && er < 0) reject(gphotoErrorFromCode(er, op));
      else if (er !== undefined && er !== null && typeof er !== 'number') reject(new Error(`${op}: ${String(er)}`));
      else resolve(v as T);
    });
  });
}

/** Flatten the binding's nested (simplified) config tree into widgets keyed by name. */
export function flattenConfig(tree: unknown, into = new Map<string, ConfigWidget>()): Map<string, ConfigWidget> {
  if (!tree || typeof tree !== 'object') return into;
  for (const [name, node] of Object.entries(tree as Record<string, unknown>)) {
    if (!node || typeof node !== 'object') continue;
    const w = node as { label?: unknown; type?: unknown; value?: unknown; choices?: unknown; children?: unknown };
    if (typeof w.label === 'string' && 'type' in w && !('children' in w)) {
      const value = typeof w.value === 'string' || typeof w.value === 'number' ? w.value : w.value instanceof Date ? w.value.getTime() / 1000 : null;
      into.set(name, {
        name,
        label: w.label,
        type: String(w.type ?? ''),
        value,
        choices: Array.isArray(w.choices) ? w.choices.map(String) : undefined,
      });
    } else {
      flattenConfig('children' in w ? w.children : node, into);
    }
  }
  return into;
}

// node-gphoto2 has no close(): a camera lets go of the USB device (gp_camera_exit) only when its
// object is garbage-collected. To hand the device to the command line we drop our references and
// collect, when the process runs with --expose-gc (never via v8.setFlagsFromString at run time:
// that crashed the binding here). Without it, the CLI's claim retries may still find it held.
async function collectGarbage(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return true;
}

// A GPhoto2 instance must never be collected: its destructor frees a libuv async handle it
// never closed (use-after-free in the event loop). One per binding module, kept for the process.
const instances = new Map<GphotoBindingModule, BindingGPhoto2>();

export function bindingBackend(mod: GphotoBindingModule): Gphoto2Backend {
  const instance = () => {
    let g = instances.get(mod);
    if (!g) instances.set(mod, (g = new mod.GPhoto2()));
    return g;
  };
  const listRaw = () => new Promise<BindingCamera[]>((resolve) => instance().list((cams) => resolve(cams)));

  return {
    kind: 'binding',
    async list() {
      return (await listRaw()).map((c) => ({ model: c.model, port: c.port }));
    },
    async open(wanted: DetectedCamera): Promise<Gphoto2Session> {
      let cam: BindingCamera | null = (await listRaw()).find((c) => c.port === wanted.port) ?? null;
      if (!cam) throw gphotoErrorFromCode(-52, `open ${wanted.port}`);
      const use = () => {
        if (!cam) throw new Error(`gphoto2 session for ${wanted.port} is closed`);
        return cam;
      };
      let released = false;
      return {
        camera: { model: cam.model, port: cam.port },
        get released() {
          return released;
        },
        async getConfig(names) {
          const tree = await call<unknown>('get config', (cb) => use().getConfig(true, cb));
          const all = flattenConfig(tree);
          return new Map(names.filter((n) => all.has(n)).map((n) => [n, all.get(n)!]));
        },
        async setConfig(name, value) {
          await call<void>(`set ${name}=${value}`, (cb) => use().setConfigValue(name, value, (er) => cb(er)));
        },
        async capture(targetStem) {
          const cameraPath = await call<string>('capture', (cb) => use().takePicture({ download: false }, cb));
          const ext = extname(cameraPath).toLowerCase() || '.jpg';
          // The binding mkstemp()s targetPath: a hidden temp name in the spool, renamed when complete.
          const template = join(dirname(targetStem), `.${basename(targetStem)}.XXXXXX`);
          const tmp = await call<string>('download', (cb) => use().downloadPicture({ cameraPath, targetPath: template }, cb));
          const final = `${targetStem}${ext}`;
          try {
            await rename(tmp, final);
          } catch (err) {
            await unlink(tmp).catch(() => {});
            throw err;
          }
          return final;
        },
        async close() {
          cam = null;
          released = await collectGarbage();
        },
      };
    },
  };
}
