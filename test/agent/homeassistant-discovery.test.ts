import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDiscovery, staleDiscoveryTopics, type DiscoveryOptions } from '../../agent/homeassistant/discovery.js';
import { fileDiscoveryStore } from '../../agent/homeassistant/published.js';
import { createMqttLink, type MqttLinkOptions } from '../../agent/mqtt/publisher.js';
import { memoryLogger } from '../../agent/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { retainedSnapshot, watch } from '../fixtures/mqtt-watch.js';

const facts: DiscoveryOptions = {
  prefix: 'homeassistant',
  baseTopic: 'skyrig',
  stationId: 'roof',
  stationName: 'Roof all-sky',
  model: 'skyrig all-sky',
  swVersion: '0.1.0',
  imageKinds: ['capture', 'livestack'],
  jobs: ['allsky'],
};

function linkOptions(url: string, over: Partial<MqttLinkOptions['discovery']> = {}): MqttLinkOptions {
  return {
    url,
    baseTopic: facts.baseTopic,
    stationId: facts.stationId,
    stationName: facts.stationName,
    keepaliveS: 5,
    imageMaxBytes: 65536,
    discovery: {
      enabled: true,
      prefix: facts.prefix,
      model: facts.model,
      swVersion: facts.swVersion,
      imageKinds: facts.imageKinds,
      jobs: facts.jobs,
      ...over,
    },
  };
}

const device = {
  identifiers: ['skyrig_roof'],
  name: 'Roof all-sky',
  model: 'skyrig all-sky',
  manufacturer: 'skyrig',
  sw_version: '0.1.0',
};
const common = {
  availability_topic: 'skyrig/roof/availability',
  payload_available: 'online',
  payload_not_available: 'offline',
  device,
  origin: { name: 'skyrig', sw_version: '0.1.0', support_url: 'https://github.com/skyrig/skyrig' },
};

const EXPECTED_TOPICS = [
  'homeassistant/binary_sensor/skyrig_roof_disk_full/config',
  'homeassistant/binary_sensor/skyrig_roof_night/config',
  'homeassistant/button/skyrig_roof_autofocus/config',
  'homeassistant/button/skyrig_roof_capture_now/config',
  'homeassistant/button/skyrig_roof_job_allsky/config',
  'homeassistant/button/skyrig_roof_livestack_start/config',
  'homeassistant/button/skyrig_roof_livestack_stop/config',
  'homeassistant/camera/skyrig_roof_image_capture/config',
  'homeassistant/camera/skyrig_roof_image_livestack/config',
  'homeassistant/sensor/skyrig_roof_activity/config',
  'homeassistant/sensor/skyrig_roof_cpu_temperature/config',
  'homeassistant/sensor/skyrig_roof_disk_free/config',
  'homeassistant/sensor/skyrig_roof_disk_free_gb/config',
  'homeassistant/sensor/skyrig_roof_disk_writes/config',
  'homeassistant/sensor/skyrig_roof_focus_position/config',
  'homeassistant/sensor/skyrig_roof_hdr_dynamic_range/config',
  'homeassistant/sensor/skyrig_roof_hdr_saturated/config',
  'homeassistant/sensor/skyrig_roof_hfr/config',
  'homeassistant/sensor/skyrig_roof_last_command/config',
  'homeassistant/sensor/skyrig_roof_last_exposure/config',
  'homeassistant/sensor/skyrig_roof_last_frame/config',
  'homeassistant/sensor/skyrig_roof_last_run/config',
  'homeassistant/sensor/skyrig_roof_last_run_status/config',
  'homeassistant/sensor/skyrig_roof_outbox_pending/config',
  'homeassistant/sensor/skyrig_roof_overruns/config',
  'homeassistant/sensor/skyrig_roof_sky_background/config',
  'homeassistant/sensor/skyrig_roof_stack_frames/config',
  'homeassistant/sensor/skyrig_roof_star_count/config',
  'homeassistant/sensor/skyrig_roof_star_signal/config',
  'homeassistant/sensor/skyrig_roof_sun_altitude/config',
];

// Written out by hand: these are the contract with Home Assistant.
const EXPECTED_PAYLOADS: Record<string, Record<string, unknown>> = {
  'homeassistant/binary_sensor/skyrig_roof_disk_full/config': {
    name: 'Disk full',
    unique_id: 'skyrig_roof_disk_full',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: "{% if value_json.disk_full is defined %}{{ 'ON' if value_json.disk_full else 'OFF' }}{% else %}None{% endif %}",
    payload_on: 'ON',
    payload_off: 'OFF',
    device_class: 'problem',
    entity_category: 'diagnostic',
  },
  'homeassistant/sensor/skyrig_roof_hfr/config': {
    name: 'HFR',
    unique_id: 'skyrig_roof_hfr',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.hfr_px | default(None) }}',
    unit_of_measurement: 'px',
    state_class: 'measurement',
    suggested_display_precision: 2,
    icon: 'mdi:blur',
  },
  'homeassistant/sensor/skyrig_roof_last_exposure/config': {
    name: 'Last exposure',
    unique_id: 'skyrig_roof_last_exposure',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.last_exposure_s | default(None) }}',
    unit_of_measurement: 's',
    device_class: 'duration',
    state_class: 'measurement',
    suggested_display_precision: 3,
  },
  'homeassistant/sensor/skyrig_roof_cpu_temperature/config': {
    name: 'CPU temperature',
    unique_id: 'skyrig_roof_cpu_temperature',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.cpu_temp_c | default(None) }}',
    unit_of_measurement: '°C',
    device_class: 'temperature',
    state_class: 'measurement',
    suggested_display_precision: 1,
    entity_category: 'diagnostic',
  },
  'homeassistant/sensor/skyrig_roof_disk_free_gb/config': {
    name: 'Disk free space',
    unique_id: 'skyrig_roof_disk_free_gb',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.disk_free_gb | default(None) }}',
    unit_of_measurement: 'GB',
    device_class: 'data_size',
    state_class: 'measurement',
    suggested_display_precision: 1,
    entity_category: 'diagnostic',
  },
  'homeassistant/sensor/skyrig_roof_last_run_status/config': {
    name: 'Last run status',
    unique_id: 'skyrig_roof_last_run_status',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.last_run_status | default(None) }}',
    device_class: 'enum',
    options: ['ok', 'failed', 'aborted'],
    icon: 'mdi:clipboard-check-outline',
  },
  'homeassistant/sensor/skyrig_roof_last_run/config': {
    name: 'Last run',
    unique_id: 'skyrig_roof_last_run',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.last_run_at | default(None) }}',
    device_class: 'timestamp',
  },
  'homeassistant/sensor/skyrig_roof_last_frame/config': {
    name: 'Last frame',
    unique_id: 'skyrig_roof_last_frame',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.last_frame_at | default(None) }}',
    device_class: 'timestamp',
  },
  'homeassistant/sensor/skyrig_roof_last_command/config': {
    name: 'Last command',
    unique_id: 'skyrig_roof_last_command',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: '{{ value_json.last_command | default(None) }}',
    icon: 'mdi:gesture-tap-button',
  },
  'homeassistant/binary_sensor/skyrig_roof_night/config': {
    name: 'Night',
    unique_id: 'skyrig_roof_night',
    ...common,
    state_topic: 'skyrig/roof/state',
    value_template: "{% if value_json.night is defined %}{{ 'ON' if value_json.night else 'OFF' }}{% else %}None{% endif %}",
    payload_on: 'ON',
    payload_off: 'OFF',
    icon: 'mdi:weather-night',
  },
  'homeassistant/camera/skyrig_roof_image_livestack/config': {
    name: 'Live stack preview',
    unique_id: 'skyrig_roof_image_livestack',
    ...common,
    topic: 'skyrig/roof/image/livestack',
  },
  'homeassistant/button/skyrig_roof_capture_now/config': {
    name: 'Capture now',
    unique_id: 'skyrig_roof_capture_now',
    ...common,
    command_topic: 'skyrig/roof/cmd/capture',
    payload_press: '{"request_id":"homeassistant"}',
    icon: 'mdi:camera-iris',
  },
  'homeassistant/button/skyrig_roof_livestack_stop/config': {
    name: 'Stop live stack',
    unique_id: 'skyrig_roof_livestack_stop',
    ...common,
    command_topic: 'skyrig/roof/cmd/livestack_stop',
    payload_press: '{"request_id":"homeassistant"}',
    icon: 'mdi:layers-off',
  },
  'homeassistant/button/skyrig_roof_job_allsky/config': {
    name: 'Run allsky',
    unique_id: 'skyrig_roof_job_allsky',
    ...common,
    command_topic: 'skyrig/roof/cmd/job',
    payload_press: '{"request_id":"homeassistant","name":"allsky"}',
    icon: 'mdi:play-circle-outline',
  },
};

test('discovery builder: stable unique ids, one device, availability on every entity', (t) => {
  const a = buildDiscovery(facts);
  const b = buildDiscovery({ ...facts, stationName: 'Renamed', swVersion: '0.2.0' });
  t.deepEqual(a.map((m) => m.topic).sort(), EXPECTED_TOPICS);
  t.deepEqual(a.map((m) => m.uniqueId), b.map((m) => m.uniqueId), 'renaming or upgrading keeps the ids');
  t.is(new Set(a.map((m) => m.uniqueId)).size, a.length);
  for (const m of a) {
    t.is(m.topic, `homeassistant/${m.component}/${m.uniqueId}/config`);
    t.is(m.payload.unique_id, m.uniqueId);
    t.is(m.payload.availability_topic, 'skyrig/roof/availability');
    t.deepEqual(m.payload.device, device);
  }
  for (const [topic, payload] of Object.entries(EXPECTED_PAYLOADS)) {
    t.deepEqual(a.find((m) => m.topic === topic)?.payload, payload, topic);
  }
  t.throws(() => buildDiscovery({ ...facts, jobs: ['bad name'] }), { message: /^discovery\.jobs "bad name" is not allowed/ });
});

test('stale topics: previously published, not published now', (t) => {
  const now = buildDiscovery({ ...facts, jobs: [] });
  t.deepEqual(
    staleDiscoveryTopics(['homeassistant/button/skyrig_roof_job_allsky/config', 'homeassistant/sensor/skyrig_roof_hfr/config'], now),
    ['homeassistant/button/skyrig_roof_job_allsky/config'],
  );
  t.deepEqual(staleDiscoveryTopics([], now), []);
});

test('discovery configs are retained on the broker exactly as specified', async (t) => {
  const broker = await startMosquitto(t);
  const link = createMqttLink(linkOptions(broker.url), { log: memoryLogger() });
  t.teardown(() => link.close());
  await link.waitConnected(5000);
  await link.republishDiscovery();

  const retained = await retainedSnapshot(t, broker.url, ['homeassistant/#']);
  t.deepEqual([...retained.keys()].sort(), EXPECTED_TOPICS);
  for (const [topic, payload] of Object.entries(EXPECTED_PAYLOADS)) {
    t.deepEqual(JSON.parse(retained.get(topic)!.text), payload, topic);
  }
  const all = buildDiscovery(facts);
  for (const m of all) t.deepEqual(JSON.parse(retained.get(m.topic)!.text), m.payload);
});

test('home assistant publishing online on homeassistant/status triggers a republish', async (t) => {
  const broker = await startMosquitto(t);
  const log = memoryLogger();
  const link = createMqttLink(linkOptions(broker.url), { log });
  t.teardown(() => link.close());
  await link.waitConnected(5000);
  await link.republishDiscovery();

  // HA lost its retained config (e.g. broker without persistence restarted): delete one.
  const w = await watch(t, broker.url, ['homeassistant/+/+/config']);
  await w.publish('homeassistant/sensor/skyrig_roof_hfr/config', '', { retain: true });
  await w.waitFor((m) => m.topic === 'homeassistant/sensor/skyrig_roof_hfr/config' && m.payload.length === 0);
  w.messages.length = 0;

  await w.publish('homeassistant/status', 'offline');
  await new Promise((r) => setTimeout(r, 200));
  t.is(w.messages.length, 0, 'HA going offline publishes nothing');
  await w.publish('homeassistant/status', 'online');
  await w.waitFor(() => w.messages.length >= EXPECTED_TOPICS.length, 5000, 'all configs again');
  t.deepEqual([...new Set(w.messages.map((m) => m.topic))].sort(), EXPECTED_TOPICS);

  const retained = await retainedSnapshot(t, broker.url, ['homeassistant/sensor/skyrig_roof_hfr/config']);
  t.deepEqual(JSON.parse(retained.get('homeassistant/sensor/skyrig_roof_hfr/config')!.text), EXPECTED_PAYLOADS['homeassistant/sensor/skyrig_roof_hfr/config']);
  t.true(log.lines.some((l) => l.includes('home assistant came online')));
});

test('entities removed from the configuration are cleared with an empty retained payload', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const storePath = join(dir, 'state', 'ha-discovery.json');

  const first = createMqttLink(linkOptions(broker.url, { jobs: ['allsky', 'meteors'] }), {
    log: memoryLogger(),
    discoveryStore: fileDiscoveryStore(storePath),
  });
  await first.waitConnected(5000);
  await first.republishDiscovery();
  await first.close();
  const meteors = 'homeassistant/button/skyrig_roof_job_meteors/config';
  const livestackCam = 'homeassistant/camera/skyrig_roof_image_livestack/config';
  let retained = await retainedSnapshot(t, broker.url, ['homeassistant/#']);
  t.true(retained.has(meteors) && retained.has(livestackCam));
  t.true(JSON.parse(await readFile(storePath, 'utf8')).topics.includes(meteors));

  // Next start: a job and a preview kind are gone from the configuration.
  const w = await watch(t, broker.url, [meteors, livestackCam]);
  await w.waitFor((m) => m.topic === meteors && m.retain);
  w.messages.length = 0;
  const log = memoryLogger();
  const second = createMqttLink(linkOptions(broker.url, { jobs: ['allsky'], imageKinds: ['capture'] }), {
    log,
    discoveryStore: fileDiscoveryStore(storePath),
  });
  t.teardown(() => second.close());
  await second.waitConnected(5000);
  await second.republishDiscovery();

  await w.waitFor((m) => m.topic === meteors && m.payload.length === 0, 3000, 'meteors button cleared');
  await w.waitFor((m) => m.topic === livestackCam && m.payload.length === 0, 3000, 'livestack camera cleared');
  retained = await retainedSnapshot(t, broker.url, ['homeassistant/#']);
  t.false(retained.has(meteors));
  t.false(retained.has(livestackCam));
  t.true(retained.has('homeassistant/button/skyrig_roof_job_allsky/config'));
  const stored: string[] = JSON.parse(await readFile(storePath, 'utf8')).topics;
  t.deepEqual([...stored].sort(), EXPECTED_TOPICS.filter((x) => x !== livestackCam));
  t.true(log.lines.some((l) => l.startsWith('info home assistant entities removed') && l.includes('count=2')));
  await second.close();

  // Discovery switched off: everything this station announced is removed from HA.
  const third = createMqttLink(linkOptions(broker.url, { enabled: false }), { log, discoveryStore: fileDiscoveryStore(storePath) });
  t.teardown(() => third.close());
  await third.waitConnected(5000);
  await third.republishDiscovery();
  retained = await retainedSnapshot(t, broker.url, ['homeassistant/#']);
  t.is(retained.size, 0, [...retained.keys()].join(', '));
  t.deepEqual(JSON.parse(await readFile(storePath, 'utf8')).topics, []);
});

test('an unreadable discovery record is a warning, not a failure', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const storePath = join(dir, 'ha-discovery.json');
  await writeFile(storePath, '{ truncated');
  const log = memoryLogger();
  const link = createMqttLink(linkOptions(broker.url), { log, discoveryStore: fileDiscoveryStore(storePath) });
  t.teardown(() => link.close());
  await link.waitConnected(5000);
  await link.republishDiscovery();
  const warned = log.lines.filter((l) => l.startsWith('warn '));
  t.true(warned.some((l) => l.includes('discovery record unreadable') && l.includes('not valid JSON')), warned.join('\n'));
  // Rewritten with the current set.
  t.is(JSON.parse(await readFile(storePath, 'utf8')).topics.length, EXPECTED_TOPICS.length);
});

test('close() right after connecting still leaves the complete discovery set retained', async (t) => {
  const broker = await startMosquitto(t);
  const link = createMqttLink(linkOptions(broker.url), { log: memoryLogger() });
  await link.waitConnected(5000);
  await link.close();
  const retained = await retainedSnapshot(t, broker.url, ['homeassistant/#', 'skyrig/roof/availability']);
  t.is(retained.get('skyrig/roof/availability')?.text, 'offline');
  t.deepEqual([...retained.keys()].filter((k) => k.startsWith('homeassistant/')).sort(), EXPECTED_TOPICS);
});
