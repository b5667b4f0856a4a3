// A daemon with only command-driven jobs stays up when the broker goes away or was never there
// (it used to exit with status 13 once nothing held the event loop), and no unhandled rejection or
// uncaught exception is logged on the way.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { spawnAgent, until, writeConfig } from '../helpers/agent-process.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/port.js';
import { tempDir } from '../helpers/tmp.js';

const BUG_LINES = /unhandled promise rejection|uncaught exception/;

async function commandOnlyConfig(dir: string, url: string): Promise<string> {
  return writeConfig(dir, {
    station: { id: 'alive' },
    paths: { data_dir: join(dir, 'data') },
    devices: { cameras: { cam: { url: 'sim://a?width=64&height=48' } } },
    jobs: [{ name: 'eaa', kind: 'livestack', params: { exposure_s: 1 } }],
    mqtt: { url, keepalive: 2 },
    retention: { min_free_mb: 0 },
  });
}

recordEachTest(test);

test('broker unreachable from the start: the agent keeps running past 10 s, SIGTERM exits 0', async (t) => {
  const dir = await tempDir(t);
  const agent = spawnAgent(t, ['run', '--config', await commandOnlyConfig(dir, `mqtt://127.0.0.1:${await freePort()}`)]);
  await agent.waitForLine(/agent ready/);
  const early = await Promise.race([agent.exited, new Promise((r) => setTimeout(() => r(null), 10_000))]);
  t.is(early, null, `exited on its own: ${JSON.stringify(early)}\n${agent.output()}`);
  agent.proc.kill('SIGTERM');
  t.is((await agent.exited).code, 0);
  t.notRegex(agent.output(), BUG_LINES);
});

test('broker stops and is frozen (SIGSTOP): then stopped: the agent keeps running', async (t) => {
  const dir = await tempDir(t);
  const broker = await startMosquitto(t);
  const agent = spawnAgent(t, ['run', '--config', await commandOnlyConfig(dir, broker.url)]);
  await agent.waitForLine(/agent ready/);
  await agent.waitForLine(/mqtt.*connected|connected.*mqtt/i, 10_000).catch(() => '');
  broker.process.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 6000));
  broker.process.kill('SIGCONT');
  await broker.stop();
  const early = await Promise.race([agent.exited, new Promise((r) => setTimeout(() => r(null), 6000))]);
  t.is(early, null, `exited on its own: ${JSON.stringify(early)}\n${agent.output()}`);
  agent.proc.kill('SIGTERM');
  t.is((await agent.exited).code, 0);
  t.notRegex(agent.output(), BUG_LINES);
});

test('broker stopped mid-schedule: captures go on (rows and files), the agent stays up', async (t) => {
  const dir = await tempDir(t);
  const broker = await startMosquitto(t);
  const data = join(dir, 'data');
  const config = await writeConfig(dir, {
    station: { id: 'sched' },
    paths: { data_dir: data },
    devices: { cameras: { cam: { url: 'sim://s?width=64&height=48' } } },
    jobs: [{ name: 'cap', kind: 'capture', every: '1s', params: { exposure_s: 0.01 } }],
    mqtt: { url: broker.url, keepalive: 2 },
    retention: { min_free_mb: 0 },
  });
  const agent = spawnAgent(t, ['run', '--config', config]);
  await agent.waitForLine(/agent ready/);
  await until(() => okRuns(data) >= 1, 30_000, 'a capture');
  await broker.stop();
  const atOutage = okRuns(data);
  await until(() => okRuns(data) >= atOutage + 3, 30_000, 'three captures with the broker gone');
  t.is(agent.proc.exitCode, null);
  agent.proc.kill('SIGTERM');
  t.is((await agent.exited).code, 0);
  t.notRegex(agent.output(), BUG_LINES);
});

function okRuns(data: string): number {
  if (!existsSync(join(data, 'skyrig.db'))) return 0;
  const db = new Database(join(data, 'skyrig.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM runs WHERE status = 'ok'`).get() as { n: number }).n;
  } catch {
    return 0; // created but not migrated yet
  } finally {
    db.close();
  }
}
