// Driver factories for indi://host[:port]/Device%20Name URLs. Cameras and focusers on the same server
// share one connection (ctx.shared).
import type { DriverContext } from '../context.js';
import type { Camera, Focuser } from '../types.js';
import { IndiCamera } from './camera.js';
import { IndiFocuser } from './focuser.js';
import { acquireClient, parseIndiUrl } from './shared.js';

export { IndiClient } from './client.js';
export type { IndiClientEvents, IndiClientOptions } from './client.js';
export { IndiCamera } from './camera.js';
export { IndiFocuser } from './focuser.js';
export { parseIndiUrl, DEFAULT_INDI_PORT } from './shared.js';
export type { SharedClientOptions } from './shared.js';

export function createIndiCamera(url: URL, ctx: DriverContext): Camera {
  const { host, port, device } = parseIndiUrl(url);
  return new IndiCamera(url.href, device, acquireClient(ctx, host, port), ctx.log.child({ camera: device }));
}

export function createIndiFocuser(url: URL, ctx: DriverContext): Focuser {
  const { host, port, device } = parseIndiUrl(url);
  return new IndiFocuser(url.href, device, acquireClient(ctx, host, port), ctx.log.child({ focuser: device }));
}
