// gphoto2:// → a Gphoto2Camera. The npm binding is loaded only here, on first use; when it is
// missing or fails to load, or with ?backend=cli, the gphoto2 command line does everything.
// URL: gphoto2:// (first camera) | gphoto2://?port=usb:001,004 (the registry moves
// gphoto2://usb:001,004 into ?port=) [&capturetarget=ram|card] [&imageformat=RAW] [&backend=binding|cli]
import type { DriverContext } from '../context.js';
import type { Gphoto2Backend } from './backend.js';
import { bindingBackend, loadGphoto2Binding } from './binding.js';
import { Gphoto2Camera } from './camera.js';
import { cliBackend } from './cli.js';
import { probeFrame } from './probe.js';

export { Gphoto2Camera } from './camera.js';
export type { Gphoto2Backend, Gphoto2Session, DetectedCamera, ConfigWidget } from './backend.js';

const PARAMS = new Set(['port', 'capturetarget', 'imageformat', 'backend']);

export async function createGphoto2Camera(url: URL, ctx: DriverContext): Promise<Gphoto2Camera> {
  const q = url.searchParams;
  for (const k of q.keys()) {
    if (!PARAMS.has(k)) throw new Error(`gphoto2 URL ${url.href}: unknown parameter "${k}" (known: ${[...PARAMS].join(', ')})`);
  }
  const target = q.get('capturetarget');
  if (target !== null && target !== 'ram' && target !== 'card') throw new Error(`gphoto2 URL ${url.href}: capturetarget must be ram or card`);
  const which = q.get('backend') ?? 'binding';
  if (which !== 'binding' && which !== 'cli') throw new Error(`gphoto2 URL ${url.href}: backend must be binding or cli`);
  const log = ctx.log.child({ device: 'gphoto2' });
  const cli = cliBackend();
  let backend: Gphoto2Backend = cli;
  if (which === 'binding') {
    try {
      backend = bindingBackend(await loadGphoto2Binding());
    } catch (err) {
      log.warn('gphoto2: the npm binding did not load; using the gphoto2 command line', { error: (err as Error).message });
    }
  }
  return new Gphoto2Camera(
    url.href,
    { port: q.get('port'), captureTarget: target as 'ram' | 'card' | null, imageFormat: q.get('imageformat') },
    { backend, fallback: backend === cli ? null : cli, log, probe: probeFrame },
  );
}
