import test from 'ava';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, loadConfig, parseConfigText } from '../../agent/config/load.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const base = `station: { id: s1 }\nsite: { latitude: 50, longitude: 5 }\ndevices:\n  cameras: { cam: { url: "sim://rig" } }\n`;

function errorOf(text: string): ConfigError {
  try {
    parseConfigText(text, 'c.yaml', {});
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

test('defaults fill in and durations parse', (t) => {
  const cfg = parseConfigText(base + `jobs:\n  - { name: a, kind: capture, every: 1h30m, params: { exposure_s: 2 } }\n`, 'c.yaml', {});
  t.is(cfg.jobs[0]!.every, 5_400_000);
  t.is(cfg.jobs[0]!.when, 'always');
  t.is(cfg.mqtt.base_topic, 'skyrig');
  t.is(cfg.retention.min_free_mb, 500);
  t.is(cfg.site.night_sun_altitude, -6);
});

test('errors name the field, the value and what is allowed', (t) => {
  t.regex(errorOf(base.replace('latitude: 50', 'latitude: 95')).message, /site\.latitude: 95 is out of range/);
  t.regex(errorOf(base + 'jobs:\n  - { name: a, kind: stack }\n').message, /jobs\[0\]\.kind: "stack" is not allowed \(allowed: "capture", "hdr", "livestack", "focusbracket", "autofocus"(, "[a-z]+")*\)/);
  t.regex(errorOf(base + 'jobs:\n  - { name: a, kind: capture, every: "5 parsecs" }\n').message, /jobs\[0\]\.every: "5 parsecs" — invalid duration/);
  t.regex(errorOf(base.replace('sim://rig', 'usb://cam')).message, /devices\.cameras\.cam\.url: "usb:\/\/cam" — device url must start with sim:\/\//);
  t.regex(errorOf(base + 'mqtt: { urll: x }\n').message, /mqtt: unknown field "urll"/);
  t.regex(errorOf('station: { name: x }\n').message, /station\.id: required/);
  t.regex(errorOf(base + 'jobs:\n  - { name: a, kind: autofocus }\n').message, /jobs\[0\]\.focuser: a autofocus job needs a focuser/);
  t.regex(errorOf(base + 'jobs:\n  - { name: a, kind: capture, camera: nope }\n').message, /jobs\[0\]\.camera: "nope" is not a configured camera \(have: cam\)/);
  t.regex(errorOf('station: [1\n').message, /c\.yaml: YAML syntax error at line/);
});

test('secrets come from the environment', (t) => {
  const cfg = parseConfigText(base, 'c.yaml', { SKYRIG_MQTT_PASSWORD: 'hunter2', SKYRIG_MQTT_URL: 'mqtt://10.0.0.2:1883' });
  t.is(cfg.mqtt.password, 'hunter2');
  t.is(cfg.mqtt.url, 'mqtt://10.0.0.2:1883');
});

test('missing file says how to fix it', async (t) => {
  const err = await t.throwsAsync(loadConfig('/nonexistent/skyrig.yaml'));
  t.regex(err!.message, /\/nonexistent\/skyrig\.yaml: file not found/);
});

test('the example config is valid', async (t) => {
  const { config } = await loadConfig('deploy/config.example.yaml', {});
  t.is(config.station.id, 'backyard');
  t.true(config.jobs.length >= 3);
});

test('skyrig config check exits 1 with a one-line field error, 0 when valid', async (t) => {
  const dir = await tempDir(t);
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, base + 'retention: { min_free_mb: -5 }\n');
  const err = await t.throwsAsync(run('node', ['bin/skyrig.js', 'config', 'check', '--config', bad], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1' } }));
  t.is((err as any).code, 1);
  t.regex((err as any).stderr, /bad\.yaml: retention\.min_free_mb: -5 is out of range/);
  t.is((err as any).stderr.trim().split('\n').length, 1);
  const good = join(dir, 'good.yaml');
  await writeFile(good, base);
  const ok = await run('node', ['bin/skyrig.js', 'config', 'check', '--config', good], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1' } });
  t.regex(ok.stdout, /good\.yaml: ok — station s1/);
});
