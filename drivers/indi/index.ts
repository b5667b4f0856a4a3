// Driver factories for indi://host[:port]/Device%20Name URLs. Cameras and focusers on the same server
// share one connection (ctx.shared).
import type { Logger } from '../../lib/log.js';
import type { DriverContext } from '../context.js';
import type { Camera, Focuser } from '../types.js';
import { IndiCamera } from './camera.js';
import { IndiClient } from './client.js';
import { IndiFocuser } from './focuser.js';
import { acquireClient, parseIndiUrl } from './shared.js';

export { IndiClient };
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

export interface IndiServerProbe {
  reachable: boolean;
  /** Devices the server announced (drivers running), sorted. */
  devices: string[];
  /** Round trip of a pingRequest, where the server answers it (INDI ≥ 1.9). */
  pingMs?: number;
  error?: string;
}

/**
 * Is an INDI server answering at host:port, and which devices does it run? For `skyrig doctor`:
 * one connection, no reconnects, closed again.
 */
export async function probeIndiServer(host: string, port: number, log: Logger, timeoutMs = 3000): Promise<IndiServerProbe> {
  const client = new IndiClient({ host, port, log, reconnect: false, connectTimeoutMs: timeoutMs, pingIntervalMs: 0 });
  try {
    await client.connect();
    const pingMs = await client.ping(timeoutMs).catch(() => undefined);
    // Drivers answer getProperties on their own time: wait until definitions stop arriving.
    const deadline = Date.now() + timeoutMs;
    let last = Date.now();
    const onDefine = () => (last = Date.now());
    client.on('define', onDefine);
    while (Date.now() - last < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    client.off('define', onDefine);
    return { reachable: true, devices: client.deviceNames().sort(), ...(pingMs !== undefined && { pingMs }) };
  } catch (err) {
    return { reachable: false, devices: [], error: (err as Error).message };
  } finally {
    await client.close();
  }
}
