// Steps every INDI device driver shares: reach the server, see the device, switch CONNECTION on.
import { DeviceError } from '../types.js';
import type { IndiClient } from './client.js';

export interface ConnectOptions {
  signal?: AbortSignal;
  /** How long to wait for the device to appear on the server. */
  deviceTimeoutMs?: number;
  /** How long the driver may take to open the hardware. */
  connectTimeoutMs?: number;
}

export async function ensureDeviceConnected(client: IndiClient, device: string, options: ConnectOptions = {}): Promise<void> {
  await client.connect();
  const wait = { timeoutMs: options.deviceTimeoutMs ?? 5000, ...(options.signal && { signal: options.signal }) };
  await client.waitForDevice(device, wait);
  const conn = await client.waitForVector(device, 'CONNECTION', wait).catch((err: unknown) => {
    if (err instanceof DeviceError && err.code === 'timeout') throw new DeviceError('invalid', device, 'device has no CONNECTION property (not an INDI device driver?)');
    throw err;
  });
  if (conn.elements.get('CONNECT')?.value === true && conn.state !== 'Alert') return;
  await client.setVectorAndWait(
    device,
    'CONNECTION',
    { CONNECT: true, DISCONNECT: false },
    {
      timeoutMs: options.connectTimeoutMs ?? 30_000,
      ...(options.signal && { signal: options.signal }),
      accept: (v) => v.elements.get('CONNECT')?.value === true,
    },
  );
}
