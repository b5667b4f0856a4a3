// `skyrig demo` as a user runs it: exits 0 in time, leaves a run log whose frame rows point at files,
// and with --mqtt leaves discovery and availability retained on the broker.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { spawnAgent, until } from '../helpers/agent-process.js';

test('demo on the simulated rig with MQTT', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const started = Date.now();
  const demo = spawnAgent(t, ['demo', '--data-dir', join(dir, 'demo'), '--cycles', '1', '--mqtt', broker.url]);
  const exit = await demo.exited;
  const seconds = (Date.now() - started) / 1000;
  t.is(exit.code, 0, demo.output());
  t.true(seconds < 90, `demo took ${seconds} s`);
  t.regex(demo.output(), /skyrig demo: \d+ runs \(0 failed\)/);

  const log = new SqliteRunLog(join(dir, 'demo', 'skyrig.db'), { readonly: true });
  const runs = log.listRuns(100);
  t.true(runs.length >= 4, `${runs.length} runs`);
  t.deepEqual([...new Set(runs.map((r) => r.kind))].sort(), ['allsky', 'autofocus', 'capture', 'focusbracket', 'hdr', 'livestack', 'night']);
  for (const r of runs) {
    t.is(r.status, 'ok', `${r.kind}: ${r.error}`);
    for (const f of log.framesOf(r.id)) t.true(existsSync(f.path), f.path);
    for (const p of log.productsOf(r.id)) t.true(existsSync(p.path), p.path);
  }
  t.true(log.totals().frames >= 10);
  log.close();

  const client = await mqtt.connectAsync(broker.url);
  t.teardown(() => client.endAsync());
  const retained = new Map<string, string>();
  client.on('message', (topic, payload) => retained.set(topic, payload.toString()));
  await client.subscribeAsync(['homeassistant/#', 'skyrig/demo/#']);
  await until(() => retained.get('skyrig/demo/availability') === 'offline', 5000, 'availability offline after the demo');
  await until(() => retained.has('skyrig/demo/image/capture') && retained.has('homeassistant/sensor/skyrig_demo_star_count/config'), 5000, 'retained image and discovery');
  const configs = [...retained.keys()].filter((k) => k.startsWith('homeassistant/') && k.endsWith('/config'));
  t.true(configs.length >= 10, `${configs.length} discovery configs`);
  t.truthy(retained.get('homeassistant/sensor/skyrig_demo_star_count/config'));
  t.truthy(retained.get('skyrig/demo/image/capture'), [...retained.keys()].filter((k) => k.startsWith('skyrig/')).join(' '));
});
