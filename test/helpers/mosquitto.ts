// A real mosquitto broker per test, on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { requireCommand } from './system.js';
import { freePort, waitForPort } from './port.js';
import { tempDir } from './tmp.js';

export interface Broker {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startMosquitto(t: ExecutionContext): Promise<Broker> {
  const bin = requireCommand('mosquitto', 'mosquitto');
  const port = await freePort();
  const dir = await tempDir(t, 'skyrig-mosq-');
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
  t.teardown(stop);
  try {
    await waitForPort(port);
  } catch (err) {
    throw new Error(`mosquitto did not start: ${stderr || (err as Error).message}`);
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, process: proc, stop };
}
