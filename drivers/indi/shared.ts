// One INDI connection per server, shared by every camera and focuser on it (ctx.shared), counted so
// the last user to disconnect closes it.
import type { DriverContext } from '../context.js';
import { DeviceError } from '../types.js';
import { IndiClient, type IndiClientOptions } from './client.js';

export const DEFAULT_INDI_PORT = 7624;

export interface IndiTarget {
  host: string;
  port: number;
  device: string;
}

/** indi://host[:port]/Device%20Name → host, port (7624 by default), device. */
export function parseIndiUrl(url: URL): IndiTarget {
  if (url.protocol !== 'indi:') throw new DeviceError('invalid', url.href, `not an indi:// URL`);
  const device = decodeURIComponent(url.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
  if (!device) throw new DeviceError('invalid', url.href, 'URL names no device: use indi://host:7624/Device%20Name');
  const port = url.port ? Number(url.port) : DEFAULT_INDI_PORT;
  const host = (url.hostname || 'localhost').replace(/^\[|\]$/g, '');
  return { host, port, device };
}

interface SharedEntry {
  client: IndiClient;
  refs: number;
}

export interface ClientLease {
  client: IndiClient;
  release(): Promise<void>;
}

/** Options tests (or config) may put in ctx.shared under 'indi-client-options' to tune timing. */
export type SharedClientOptions = Partial<Omit<IndiClientOptions, 'host' | 'port' | 'log'>>;

export function acquireClient(ctx: DriverContext, host: string, port: number): ClientLease {
  const key = `indi-client:${host}:${port}`;
  let entry = ctx.shared.get(key) as SharedEntry | undefined;
  if (!entry) {
    const extra = (ctx.shared.get('indi-client-options') as SharedClientOptions | undefined) ?? {};
    entry = { client: new IndiClient({ host, port, log: ctx.log, ...extra }), refs: 0 };
    ctx.shared.set(key, entry);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    client: e.client,
    async release() {
      if (released) return;
      released = true;
      e.refs--;
      if (e.refs === 0) {
        ctx.shared.delete(key);
        await e.client.close();
      }
    },
  };
}
