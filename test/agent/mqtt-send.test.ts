import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadConfig, resolvePaths } from '../../agent/config/load.js';
import { startAgentMqtt } from '../../agent/mqtt/agent.js';
import { sendCommand } from '../../agent/mqtt/send.js';
import { tempDir } from '../helpers/tmp.js';
import { retainedSnapshot, watch } from '../fixtures/mqtt-watch.js';
import { createCommandRouter } from '../../agent/commands/router.js';
import { createMqttLink } from '../../agent/mqtt/publisher.js';
import { memoryLogger } from '../../agent/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';

const run = promisify(execFile);

async function skyrig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['bin/skyrig.js', ...args], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1' }, timeout: 20000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('skyrig mqtt send: reply printed, refusals exit 1 with one line, bad payloads fail before sending', async (t) => {
  const broker = await startMosquitto(t);
  const link = createMqttLink(
    { url: broker.url, baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof', keepaliveS: 5, imageMaxBytes: 65536,
      discovery: { enabled: false, prefix: 'homeassistant' } },
    { log: memoryLogger() },
  );
  t.teardown(() => link.close());
  const seen: unknown[] = [];
  createCommandRouter(
    {
      capture: (args) => {
        seen.push(args);
        return { run_id: 3 };
      },
      job: (args) => {
        throw new Error(`no job named "${args.name}"`);
      },
    },
    { link, log: memoryLogger() },
  );
  await link.waitConnected(5000);

  const ok = await skyrig(['mqtt', 'send', 'capture', '{"exposure_s": 4}', '--station', 'roof', '--url', broker.url, '--json']);
  t.is(ok.code, 0, ok.stderr);
  const reply = JSON.parse(ok.stdout);
  t.true(reply.ok);
  t.regex(reply.id, /^cli-[0-9a-f]{8}$/);
  t.deepEqual(reply.result, { run_id: 3 });
  t.deepEqual(seen, [{ exposure_s: 4 }]);

  const refused = await skyrig(['mqtt', 'send', 'job', '{"name":"x"}', '--station', 'roof', '--url', broker.url]);
  t.is(refused.code, 1);
  t.is(refused.stderr.trim(), 'skyrig: job refused by station roof: no job named "x"');

  // Library level (no process spawn): local validation and the no-reply timeout.
  const base = { url: broker.url, baseTopic: 'skyrig', timeoutMs: 500 };
  await t.throwsAsync(sendCommand({ ...base, stationId: 'roof', name: 'capture', payload: '{"exposure_s": "4"}' }), {
    message: /^invalid capture payload: exposure_s: /,
  });
  t.is(seen.length, 1);
  await t.throwsAsync(sendCommand({ ...base, stationId: 'nobody', name: 'status', payload: '' }), {
    message: 'no reply on skyrig/nobody/cmd/status/result within 0.5 s (is station "nobody" online?)',
  });
  await t.throwsAsync(sendCommand({ ...base, url: 'mqtt://127.0.0.1:1', stationId: 'roof', name: 'status', payload: '' }), {
    message: /^cannot connect to mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
  });
});

test('skyrig mqtt send/discovery/forget with the config file', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    [
      'station: { id: yard, name: Yard }',
      `paths: { data_dir: ${join(dir, 'data')} }`,
      'devices: { cameras: { sky: { url: "sim://yard?scene=sky" } } }',
      'jobs: [ { name: allsky, kind: capture, every: 2m } ]',
      `mqtt: { url: "${broker.url}" }`,
      '',
    ].join('\n'),
  );
  const config = (await loadConfig(configPath)).config;
  const mqttSide = startAgentMqtt(config, {
    log: memoryLogger(),
    stateDir: resolvePaths(config).stateDir,
    dispatch: async (name) => ({ ok: true, result: { got: name } }),
  })!;
  await mqttSide.link.waitConnected(5000);
  await mqttSide.link.republishDiscovery();
  await mqttSide.link.image('capture', await sharp({ create: { width: 16, height: 16, channels: 3, background: '#000' } }).jpeg().toBuffer());

  const sent = await skyrig(['mqtt', 'send', 'status', '-c', configPath, '--json']);
  t.is(sent.code, 0, sent.stderr);
  t.like(JSON.parse(sent.stdout), { ok: true, result: { got: 'status' } });

  const shown = await skyrig(['mqtt', 'discovery', '-c', configPath]);
  t.is(shown.code, 0, shown.stderr);
  t.true(shown.stdout.includes('homeassistant/button/skyrig_yard_job_allsky/config\n{\n'));
  t.regex(shown.stdout, /\n29 entities\n$/);

  await mqttSide.close();
  let retained = await retainedSnapshot(t, broker.url, ['skyrig/yard/#', 'homeassistant/#']);
  t.true(retained.size >= 21, `${retained.size} retained before forget`);
  // An entity of ours in no record (older version, lost state dir) and another device's entity.
  const legacy = 'homeassistant/sensor/skyrig_yard_legacy/config';
  const foreign = 'homeassistant/sensor/zigbee_0x1_temp/config';
  const w = await watch(t, broker.url, [legacy, foreign]);
  await w.publish(legacy, JSON.stringify({ name: 'old', device: { identifiers: ['skyrig_yard'] } }), { retain: true });
  await w.publish(foreign, JSON.stringify({ name: 'temp', device: { identifiers: ['zigbee_0x1'] } }), { retain: true });
  await w.close();
  const forgot = await skyrig(['mqtt', 'forget', '-c', configPath]);
  t.is(forgot.code, 0, forgot.stderr);
  t.regex(forgot.stdout, /^cleared \d+ retained topics of station yard on mqtt:\/\/127\.0\.0\.1:\d+\n$/);
  retained = await retainedSnapshot(t, broker.url, ['skyrig/yard/#', 'homeassistant/#']);
  t.deepEqual([...retained.keys()], [foreign]);
});
