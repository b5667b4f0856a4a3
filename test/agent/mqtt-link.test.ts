import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { createMqttLink, type MqttLinkOptions } from '../../agent/mqtt/publisher.js';
import { mqttLinkOptionsFromConfig } from '../../agent/mqtt/config.js';
import { startAgentMqtt } from '../../agent/mqtt/agent.js';
import { validateConfig } from '../../agent/config/load.js';
import { memoryLogger } from '../../agent/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { requireCommand } from '../helpers/system.js';
import { freePort, waitForPort } from '../helpers/port.js';
import { tempDir } from '../helpers/tmp.js';
import { retainedSnapshot, watch } from '../fixtures/mqtt-watch.js';
import type { ExecutionContext } from 'ava';

function options(url: string, over: Partial<MqttLinkOptions> = {}): MqttLinkOptions {
  return {
    url,
    baseTopic: 'skyrig',
    stationId: 'st1',
    stationName: 'Station One',
    keepaliveS: 5,
    imageMaxBytes: 65536,
    discovery: { enabled: false, prefix: 'homeassistant' },
    stateThrottleMs: 0,
    ...over,
  };
}

const warnings = (lines: string[]) => lines.filter((l) => l.startsWith('warn '));

/** mosquitto on a given port (the shared helper picks its own), for broker-restart tests. */
async function mosquittoOn(t: ExecutionContext, port: number) {
  const bin = requireCommand('mosquitto', 'mosquitto');
  const dir = await tempDir(t, 'skyrig-mosq-');
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
  t.teardown(stop);
  await waitForPort(port);
  return { url: `mqtt://127.0.0.1:${port}`, stop };
}

test('availability online and merged state are retained; close() publishes offline', async (t) => {
  const broker = await startMosquitto(t);
  const log = memoryLogger();
  const link = createMqttLink(options(broker.url), { log, now: () => new Date('2026-01-02T03:04:05Z') });
  await link.waitConnected(5000);
  link.state({ activity: 'idle', night: true });
  link.state({ hfr_px: 2.5, activity: 'capturing' });
  await new Promise((r) => setTimeout(r, 200));

  const retained = await retainedSnapshot(t, broker.url, ['skyrig/st1/#']);
  t.is(retained.get('skyrig/st1/availability')?.text, 'online');
  t.deepEqual(JSON.parse(retained.get('skyrig/st1/state')!.text), {
    activity: 'capturing',
    night: true,
    hfr_px: 2.5,
    // The outbox counts are always in the state (HA's "Queued messages"; nothing queued here).
    outbox_pending: 0,
    outbox_dropped: 0,
    updated_at: '2026-01-02T03:04:05.000Z',
  });

  await link.close();
  const after = await retainedSnapshot(t, broker.url, ['skyrig/st1/availability']);
  t.is(after.get('skyrig/st1/availability')?.text, 'offline');
  t.deepEqual(warnings(log.lines), []);
});

test('last will: SIGKILL of the publishing process flips availability to offline within 1.5 x keepalive', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, ['skyrig/kid/availability']);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/mqtt-child.ts', broker.url, 'kid', '2'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
  });
  await w.waitFor((m) => m.text === 'online', 15000, 'online from the child');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await w.waitFor((m) => m.text === 'offline', 4000, 'offline from the last will');
  const elapsed = Date.now() - killedAt;
  t.true(elapsed <= 3000 + 300, `offline after ${elapsed} ms`);
  // And it is retained for anyone who looks later.
  const retained = await retainedSnapshot(t, broker.url, ['skyrig/kid/availability']);
  t.is(retained.get('skyrig/kid/availability')?.text, 'offline');
});

test('no broker: one warning, no throw; connects when a broker appears and republishes retained state and image', async (t) => {
  const port = await freePort();
  const log = memoryLogger();
  const link = createMqttLink(options(`mqtt://127.0.0.1:${port}`, { reconnectMinMs: 100, reconnectMaxMs: 300 }), { log });
  t.teardown(() => link.close());
  link.state({ activity: 'offline work', star_count: 42 });
  link.result('capture', { ok: true }); // dropped, not queued
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#204060' } }).jpeg().toBuffer();
  t.true(await link.image('capture', jpeg));
  await new Promise((r) => setTimeout(r, 1200)); // several reconnect attempts
  const warned = warnings(log.lines);
  t.is(warned.length, 1, warned.join('\n'));
  t.regex(warned[0], /mqtt broker unreachable; retrying with backoff/);
  t.false(link.connected);

  const broker = await mosquittoOn(t, port);
  await link.waitConnected(5000);
  await new Promise((r) => setTimeout(r, 200));
  let retained = await retainedSnapshot(t, broker.url, ['skyrig/st1/#']);
  t.is(retained.get('skyrig/st1/availability')?.text, 'online');
  t.like(JSON.parse(retained.get('skyrig/st1/state')!.text), { activity: 'offline work', star_count: 42 });
  t.deepEqual(retained.get('skyrig/st1/image/capture')?.payload, jpeg);
  t.false([...retained.keys()].some((k) => k.includes('/run/')));

  // Broker restart (no persistence): everything retained is gone until the link republishes it.
  await broker.stop();
  await new Promise((r) => setTimeout(r, 300));
  link.state({ star_count: 43 });
  const broker2 = await mosquittoOn(t, port);
  await link.waitConnected(5000);
  await new Promise((r) => setTimeout(r, 200));
  retained = await retainedSnapshot(t, broker2.url, ['skyrig/st1/#']);
  t.is(retained.get('skyrig/st1/availability')?.text, 'online');
  t.like(JSON.parse(retained.get('skyrig/st1/state')!.text), { star_count: 43 });
  t.deepEqual(retained.get('skyrig/st1/image/capture')?.payload, jpeg);
  t.is(warnings(log.lines).length, 2, 'one warning per outage');
});

test('state patches are coalesced within the throttle interval', async (t) => {
  const broker = await startMosquitto(t);
  const link = createMqttLink(options(broker.url, { stateThrottleMs: 400 }), { log: memoryLogger() });
  t.teardown(() => link.close());
  await link.waitConnected(5000);
  await new Promise((r) => setTimeout(r, 500));
  const w = await watch(t, broker.url, ['skyrig/st1/state']);
  await w.waitFor(() => true, 2000, 'retained state'); // the retained copy on subscribe
  w.messages.length = 0;
  for (let i = 0; i < 20; i++) link.state({ focus_position: 1000 + i });
  await new Promise((r) => setTimeout(r, 900));
  t.true(w.messages.length <= 2 && w.messages.length >= 1, `${w.messages.length} publications`);
  t.is(JSON.parse(w.messages.at(-1)!.text).focus_position, 1019);
});

test('run results go out with QoS 1 and are not retained', async (t) => {
  const broker = await startMosquitto(t);
  const link = createMqttLink(options(broker.url), { log: memoryLogger(), now: () => new Date('2026-01-01T00:00:00Z') });
  t.teardown(() => link.close());
  await link.waitConnected(5000);
  const w = await watch(t, broker.url, ['skyrig/st1/run/#']);
  link.jobPublisher('hdr').result({ run_id: 7, status: 'ok', frames: 5 });
  const m = await w.waitFor((x) => x.topic === 'skyrig/st1/run/hdr');
  t.false(m.retain);
  t.deepEqual(JSON.parse(m.text), { kind: 'hdr', time: '2026-01-01T00:00:00.000Z', run_id: 7, status: 'ok', frames: 5 });
  const retained = await retainedSnapshot(t, broker.url, ['skyrig/st1/run/#']);
  t.is(retained.size, 0);
});

async function noiseJpeg(width: number, height: number, quality: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  let s = 12345;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = s >>> 24;
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

test('preview images above the cap are re-encoded smaller; impossible ones and garbage are skipped with a warning', async (t) => {
  const broker = await startMosquitto(t);
  const log = memoryLogger();
  const cap = 40_000;
  const link = createMqttLink(options(broker.url, { imageMaxBytes: cap }), { log });
  t.teardown(() => link.close());
  await link.waitConnected(5000);

  const big = await noiseJpeg(480, 320, 95);
  t.true(big.length > cap, `fixture ${big.length} bytes`);
  t.true(await link.image('livestack', big));
  const small = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  t.true(await link.image('capture', small));
  await new Promise((r) => setTimeout(r, 200));
  const retained = await retainedSnapshot(t, broker.url, ['skyrig/st1/image/#']);
  const sent = retained.get('skyrig/st1/image/livestack')!.payload;
  t.true(sent.length <= cap, `${sent.length} bytes`);
  const meta = await sharp(sent).metadata();
  t.is(meta.format, 'jpeg');
  t.true(meta.width! < 480 && meta.width! >= 64);
  t.is(Math.round((meta.width! / meta.height!) * 10), 15, 'aspect ratio kept');
  t.deepEqual(retained.get('skyrig/st1/image/capture')!.payload, small, 'under the cap: sent as is');
  t.true(log.lines.some((l) => l.startsWith('info preview image re-encoded')));

  const tight = createMqttLink(options(broker.url, { stationId: 'st2', imageMaxBytes: 1024 }), { log });
  t.teardown(() => tight.close());
  t.false(await tight.image('capture', await noiseJpeg(256, 256, 90)));
  t.false(await link.image('capture', Buffer.from('not a jpeg at all')));
  t.is(warnings(log.lines).filter((l) => l.includes('preview image skipped')).length, 2);
  // The earlier good image is still the retained one.
  const again = await retainedSnapshot(t, broker.url, ['skyrig/st1/image/capture']);
  t.deepEqual(again.get('skyrig/st1/image/capture')!.payload, small);
});

test('bad options fail with one line naming the option', (t) => {
  const log = memoryLogger();
  t.throws(() => createMqttLink(options('localhost:1883'), { log }), { message: /^mqtt\.url "localhost:1883": protocol localhost: not allowed/ });
  t.throws(() => createMqttLink(options('not a url'), { log }), { message: /^mqtt\.url "not a url" is not a URL/ });
  t.throws(() => createMqttLink(options('mqtt://127.0.0.1:1', { stationId: 'my station' }), { log }), {
    message: /^stationId "my station" is not allowed/,
  });
  t.throws(() => createMqttLink(options('mqtts://127.0.0.1:1', { tls: { ca: '/nonexistent/ca.pem' } }), { log }), {
    message: /^mqtt\.tls\.ca: cannot read \/nonexistent\/ca\.pem: ENOENT$/,
  });
  t.throws(() => createMqttLink(options('mqtt://127.0.0.1:1', { keepaliveS: 0 }), { log }), { message: /^mqtt\.keepaliveS 0/ });
});

test('link options from the config file: station, topics, discovery buttons per job, camera per job kind', (t) => {
  const config = validateConfig({
    station: { id: 'roof', name: 'Roof all-sky' },
    devices: { cameras: { sky: { url: 'sim://roof?scene=sky' } } },
    jobs: [
      { name: 'allsky', kind: 'capture', every: '2m' },
      { name: 'dawn-hdr', kind: 'hdr' },
    ],
    mqtt: { url: 'mqtts://broker:8883', username: 'u', password: 'p', base_topic: 'obs/skyrig', keepalive: 20, tls: { ca: '/etc/skyrig/ca.pem' } },
  });
  t.deepEqual(mqttLinkOptionsFromConfig(config, { swVersion: '0.1.0' }), {
    url: 'mqtts://broker:8883',
    username: 'u',
    password: 'p',
    tls: { ca: '/etc/skyrig/ca.pem', cert: undefined, key: undefined, rejectUnauthorized: true },
    baseTopic: 'obs/skyrig',
    stationId: 'roof',
    stationName: 'Roof all-sky',
    keepaliveS: 20,
    imageMaxBytes: 256 * 1024,
    outboxMax: 1000,
    discovery: { enabled: true, prefix: 'homeassistant', model: undefined, swVersion: '0.1.0', imageKinds: ['capture', 'hdr'], jobs: ['allsky', 'dawn-hdr'] },
  });
});

test('startAgentMqtt: one call from config gives a connected link, discovery record in the state dir, commands to dispatch', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const config = validateConfig({
    station: { id: 'yard', name: 'Yard' },
    devices: { cameras: { sky: { url: 'sim://yard?scene=sky' } } },
    jobs: [{ name: 'allsky', kind: 'capture', every: '2m' }],
    mqtt: { url: broker.url },
  });
  const dispatched: unknown[] = [];
  const mqttSide = startAgentMqtt(config, {
    log: memoryLogger(),
    stateDir: join(dir, 'state'),
    swVersion: '0.1.0',
    dispatch: async (name, args) => {
      dispatched.push([name, args]);
      return { ok: true, result: { run_id: 9 } };
    },
  });
  t.truthy(mqttSide);
  await mqttSide!.link.waitConnected(5000);
  await mqttSide!.link.republishDiscovery();
  const record = JSON.parse(await readFile(join(dir, 'state', 'ha-discovery.json'), 'utf8'));
  t.true(record.topics.includes('homeassistant/button/skyrig_yard_job_allsky/config'));

  const w = await watch(t, broker.url, ['skyrig/yard/cmd/+/result']);
  await w.publish('skyrig/yard/cmd/job', '{"name":"allsky","request_id":7}');
  const reply = await w.waitFor((m) => m.topic === 'skyrig/yard/cmd/job/result');
  t.deepEqual(JSON.parse(reply.text), { ok: true, id: 7, result: { run_id: 9 } });
  t.deepEqual(dispatched, [['job', { name: 'allsky' }]]);

  await mqttSide!.close();
  const after = await retainedSnapshot(t, broker.url, ['skyrig/yard/availability']);
  t.is(after.get('skyrig/yard/availability')?.text, 'offline');
  t.is(startAgentMqtt(validateConfig({ station: { id: 'x' }, mqtt: { enabled: false } }), {
    log: memoryLogger(), stateDir: dir, dispatch: async () => ({ ok: true }),
  }), null);
});
