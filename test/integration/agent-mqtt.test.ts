// The real `skyrig run` process against a real mosquitto: retained discovery and availability, a
// command round trip that produces run and frame rows, a malformed command, and the last will on SIGKILL.
import test from 'ava';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { buildDiscovery } from '../../agent/homeassistant/discovery.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { ExecutionContext } from 'ava';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort, waitForPort } from '../helpers/port.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { spawnAgent, until, writeConfig } from '../helpers/agent-process.js';

interface Observer {
  retained: Map<string, Buffer>;
  messages: { topic: string; payload: Buffer; retain: boolean }[];
  client: mqtt.MqttClient;
}

async function observe(url: string, topics: string[]): Promise<Observer> {
  const client = await mqtt.connectAsync(url, { clientId: `obs-${Math.random().toString(16).slice(2)}` });
  const o: Observer = { retained: new Map(), messages: [], client };
  client.on('message', (topic, payload, packet) => {
    o.messages.push({ topic, payload, retain: packet.retain });
    o.retained.set(topic, payload);
  });
  await client.subscribeAsync(topics, { qos: 1 });
  return o;
}

test('agent process: discovery and availability retained, commands answered, last will on SIGKILL', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const config = await writeConfig(dir, {
    station: { id: 'itest', name: 'Integration station' },
    paths: { data_dir: join(dir, 'data') },
    devices: { cameras: { cam: { url: 'sim://it?scene=sky&width=160&height=120' } } },
    jobs: [{ name: 'snap', kind: 'capture', params: { exposure_s: 1 } }],
    mqtt: { url: broker.url, keepalive: 2 },
    retention: { min_free_mb: 1 },
  });
  const agent = spawnAgent(t, ['run', '--config', config]);
  await agent.waitForLine(/agent ready/);
  const obs = await observe(broker.url, ['homeassistant/#', 'skyrig/itest/#']);
  t.teardown(() => obs.client.endAsync());

  // Discovery: exactly what the pure builder produces for this station, retained.
  const expected = buildDiscovery({
    prefix: 'homeassistant',
    baseTopic: 'skyrig',
    stationId: 'itest',
    stationName: 'Integration station',
    swVersion: '0.1.0',
    imageKinds: ['capture'],
    jobs: ['snap'],
  });
  await until(() => expected.every((m) => obs.retained.has(m.topic)), 10000, 'all discovery configs');
  for (const m of expected) t.deepEqual(JSON.parse(obs.retained.get(m.topic)!.toString()), m.payload, m.topic);
  // Retained: a client subscribing now gets every config with the retain flag (live copies seen by
  // `obs` while the agent was still publishing carry no flag, so they cannot tell).
  const late = await observe(broker.url, ['homeassistant/#']);
  t.teardown(() => late.client.endAsync());
  await until(() => late.messages.length >= expected.length, 5000, 'retained configs for a late subscriber');
  t.true(late.messages.every((m) => m.retain));
  await until(() => obs.retained.get('skyrig/itest/availability')?.toString() === 'online', 5000, 'online');
  // State is retained JSON, coalesced: wait for the status fields to arrive.
  const state = await until(() => {
    const s = obs.retained.get('skyrig/itest/state');
    const j = s ? JSON.parse(s.toString()) : null;
    return j?.station ? j : null;
  }, 5000, 'state with station');
  t.is(typeof state.night, 'boolean');
  t.is(typeof state.disk_free_pct, 'number');

  // Command round trip: capture → reply with the run id; the run log has the run and its frame.
  await obs.client.publishAsync('skyrig/itest/cmd/capture', JSON.stringify({ exposure_s: 2, request_id: 'r1' }), { qos: 1 });
  const reply = JSON.parse(
    (await until(() => obs.messages.find((m) => m.topic === 'skyrig/itest/cmd/capture/result')?.payload, 15000, 'capture reply')).toString(),
  );
  t.true(reply.ok, JSON.stringify(reply));
  t.is(reply.id, 'r1');
  const runId = reply.result.run_id as number;
  const log = new SqliteRunLog(join(dir, 'data', 'skyrig.db'), { readonly: true });
  const run = log.listRuns(10).find((r) => r.id === runId)!;
  t.is(run.status, 'ok');
  t.is(log.framesOf(runId).length, 1);
  t.is(log.framesOf(runId)[0]!.exposureS, 2);
  log.close();
  await until(() => obs.retained.get('skyrig/itest/image/capture'), 5000, 'preview image');
  t.is(obs.retained.get('skyrig/itest/image/capture')!.subarray(0, 2).toString('hex'), 'ffd8'); // JPEG
  t.truthy(obs.messages.find((m) => m.topic === 'skyrig/itest/run/capture'));

  // Malformed commands: error replies, nothing runs.
  const before = obs.messages.length;
  await obs.client.publishAsync('skyrig/itest/cmd/capture', '{"exposure_s": "long"}', { qos: 1 });
  await obs.client.publishAsync('skyrig/itest/cmd/capture', 'not json', { qos: 1 });
  const errors = await until(
    () => {
      const r = obs.messages.slice(before).filter((m) => m.topic === 'skyrig/itest/cmd/capture/result');
      return r.length >= 2 ? r : null;
    },
    10000,
    'two error replies',
  );
  for (const e of errors) t.false(JSON.parse(e.payload.toString()).ok);
  t.regex(JSON.parse(errors[0]!.payload.toString()).error, /exposure_s/);
  const log2 = new SqliteRunLog(join(dir, 'data', 'skyrig.db'), { readonly: true });
  t.is(log2.listRuns(10).length, 1);
  log2.close();

  // SIGKILL: the broker publishes the last will.
  agent.proc.kill('SIGKILL');
  await until(() => obs.retained.get('skyrig/itest/availability')?.toString() === 'offline', 10000, 'offline from last will');
  t.pass();
});

test('agent process: SIGTERM publishes offline and exits 0', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const config = await writeConfig(dir, {
    station: { id: 'term' },
    paths: { data_dir: join(dir, 'data') },
    devices: { cameras: { cam: { url: 'sim://t?scene=sky&width=160&height=120&realtime=1' } } },
    jobs: [{ name: 'long', kind: 'capture', every: '1h', params: { exposure_s: 30 } }],
    mqtt: { url: broker.url, keepalive: 30 },
    retention: { min_free_mb: 1 },
  });
  const agent = spawnAgent(t, ['run', '--config', config]);
  await agent.waitForLine(/run started/);
  const obs = await observe(broker.url, ['skyrig/term/availability']);
  t.teardown(() => obs.client.endAsync());
  await until(() => obs.retained.get('skyrig/term/availability')?.toString() === 'online', 5000, 'online');
  const t0 = Date.now();
  agent.proc.kill('SIGTERM');
  const exit = await agent.exited;
  t.is(exit.code, 0);
  t.true(Date.now() - t0 < 10000, `stopped in ${Date.now() - t0} ms`);
  await until(() => obs.retained.get('skyrig/term/availability')?.toString() === 'offline', 3000, 'offline');
  const log = new SqliteRunLog(join(dir, 'data', 'skyrig.db'), { readonly: true });
  t.is(log.listRuns(1)[0]!.status, 'aborted'); // the 30 s exposure was aborted, not waited for
  log.close();
});

test.serial('agent process restarted against a broker that forgot everything: the first state already carries the last run from SQLite', async (t) => {
  const dir = await tempDir(t);
  const configFor = (url: string) =>
    writeConfig(dir, {
      station: { id: 'again' },
      paths: { data_dir: join(dir, 'data') },
      devices: { cameras: { cam: { url: 'sim://a?scene=sky&width=160&height=120' } } },
      jobs: [{ name: 'snap', kind: 'capture', params: { exposure_s: 1 } }],
      mqtt: { url, keepalive: 5, discovery: false },
      retention: { min_free_mb: 1 },
    });
  const first = await startMosquitto(t);
  const agent1 = spawnAgent(t, ['run', '--config', await configFor(first.url)]);
  await agent1.waitForLine(/agent ready/);
  const obs1 = await observe(first.url, ['skyrig/again/cmd/+/result']);
  t.teardown(() => obs1.client.endAsync());
  await until(() => obs1.client.connected, 5000, 'observer');
  await new Promise((r) => setTimeout(r, 300)); // the agent's command subscription
  await obs1.client.publishAsync('skyrig/again/cmd/capture', JSON.stringify({ exposure_s: 3 }), { qos: 1 });
  const reply = JSON.parse((await until(() => obs1.messages.find((m) => m.topic.endsWith('/capture/result'))?.payload, 15000, 'capture reply')).toString());
  t.true(reply.ok, JSON.stringify(reply));
  agent1.proc.kill('SIGTERM');
  t.is((await agent1.exited).code, 0);
  await first.stop();

  // A new broker (no retained state at all), the same data dir.
  const second = await startMosquitto(t);
  const obs2 = await observe(second.url, ['skyrig/again/state']);
  t.teardown(() => obs2.client.endAsync());
  const agent2 = spawnAgent(t, ['run', '--config', await configFor(second.url)]);
  t.teardown(() => void agent2.proc.kill('SIGTERM'));
  const state = JSON.parse((await until(() => obs2.messages.find((m) => m.topic === 'skyrig/again/state')?.payload, 15000, 'first state')).toString());
  t.like(state, { last_run_status: 'ok', last_run_kind: 'capture', last_run_id: reply.result.run_id, last_exposure_s: 3 });
  t.is(typeof state.star_count, 'number');
  t.regex(state.last_frame_at, /^\d{4}-\d\d-\d\dT/);
});

/** mosquitto on a port chosen before it starts (the agent is configured for it while nothing listens). */
async function mosquittoOn(t: ExecutionContext, port: number, dir: string) {
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn(requireCommand('mosquitto', 'mosquitto'), ['-c', conf], { stdio: 'ignore' });
  proc.on('error', () => {});
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
  });
  await waitForPort(port);
  return `mqtt://127.0.0.1:${port}`;
}

test.serial('agent process with only command-driven jobs outlives a missing broker, then answers commands when it appears', async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const config = await writeConfig(dir, {
    station: { id: 'cmdonly' },
    paths: { data_dir: join(dir, 'data') },
    devices: { cameras: { cam: { url: 'sim://c?scene=sky&width=160&height=120' } } },
    jobs: [{ name: 'snap', kind: 'capture', params: { exposure_s: 1 } }], // no `every`: runs on command only
    mqtt: { url: `mqtt://127.0.0.1:${port}`, discovery: false },
    retention: { min_free_mb: 1 },
  });
  const agent = spawnAgent(t, ['run', '--config', config]);
  await agent.waitForLine(/agent ready/);
  await new Promise((r) => setTimeout(r, 12_000)); // it used to exit with status 13 ~7 s in
  t.is(agent.proc.exitCode, null, agent.output());
  t.is(agent.output().split('\n').filter((l) => l.includes('broker unreachable')).length, 1, 'one warning for the outage');

  const url = await mosquittoOn(t, port, dir);
  const obs = await observe(url, ['skyrig/cmdonly/cmd/+/result', 'skyrig/cmdonly/availability']);
  t.teardown(() => obs.client.endAsync());
  await until(() => obs.retained.get('skyrig/cmdonly/availability')?.toString() === 'online', 10_000, 'online within 10 s of the broker');
  await new Promise((r) => setTimeout(r, 300)); // the command subscription
  await obs.client.publishAsync('skyrig/cmdonly/cmd/job', JSON.stringify({ name: 'snap', request_id: 'late' }), { qos: 1 });
  const reply = JSON.parse((await until(() => obs.messages.find((m) => m.topic === 'skyrig/cmdonly/cmd/job/result')?.payload, 15000, 'job reply')).toString());
  t.like(reply, { ok: true, id: 'late' });
  agent.proc.kill('SIGTERM');
  t.is((await agent.exited).code, 0);
});
