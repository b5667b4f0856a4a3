import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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

  const bad = await skyrig(['mqtt', 'send', 'capture', '{"exposure_s": "4"}', '--station', 'roof', '--url', broker.url]);
  t.is(bad.code, 1);
  t.regex(bad.stderr.trim(), /^skyrig: invalid capture payload: exposure_s: /);
  t.is(seen.length, 1);

  const silent = await skyrig(['mqtt', 'send', 'status', '--station', 'nobody', '--url', broker.url, '--timeout', '0.5']);
  t.is(silent.code, 1);
  t.is(silent.stderr.trim(), 'skyrig: no reply on skyrig/nobody/cmd/status/result within 0.5 s (is station "nobody" online?)');
});
