// Home Assistant after an agent restart: the retained state is rebuilt from the run log and published
// whole before anything else runs; our own stale discovery configs found on the broker are cleared
// even with no local record; no camera for a job kind that never makes a picture.
import test from 'ava';
import { join } from 'node:path';
import { startAgentMqtt } from '../../agent/mqtt/agent.js';
import { mqttLinkOptionsFromConfig } from '../../agent/mqtt/config.js';
import { createMqttLink } from '../../agent/mqtt/publisher.js';
import { validateConfig } from '../../agent/config/load.js';
import { SqliteRunLog } from '../../agent/runlog/sqlite.js';
import { lastKnownState } from '../../agent/runlog/last-state.js';
import { buildDiscovery } from '../../agent/homeassistant/discovery.js';
import { memoryLogger } from '../../agent/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { retainedSnapshot, watch } from '../fixtures/mqtt-watch.js';

const frame = (over: Record<string, unknown> = {}) => ({
  path: '/tmp/x.fits', sizeBytes: 1, sha256: 'x', exposureS: 15, width: 8, height: 8, timestamp: new Date('2026-11-22T01:00:00Z'), ...over,
});

/** A run log as a night leaves it: captures with measured frames, an autofocus, a failed HDR last. */
async function nightLog(path: string) {
  let clock = Date.parse('2026-11-22T00:00:00Z');
  const log = new SqliteRunLog(path, { now: () => new Date((clock += 60_000)) });
  const cap = log.beginRun('capture', {});
  const f1 = log.addFrame(cap, frame({ focusPosition: 10000, timestamp: new Date('2026-11-22T00:01:30Z') }));
  log.updateFrame(f1, { stats: { stars: 790, hfr: 2.5, median: 0.03 } });
  log.finishRun(cap, 'ok');
  const af = log.beginRun('autofocus', {});
  log.addFrame(af, frame({ focusPosition: 9000, exposureS: 2, timestamp: new Date('2026-11-22T00:03:30Z') }));
  log.finishRun(af, 'ok', { metrics: { best_position: 10450, hfr: 2.2 } });
  const cap2 = log.beginRun('capture', {});
  const f2 = log.addFrame(cap2, frame({ exposureS: 20, timestamp: new Date('2026-11-22T00:05:30Z') }));
  log.updateFrame(f2, { stats: { stars: 812, hfr: 2.314, median: 0.0342 } });
  log.finishRun(cap2, 'ok');
  const hdr = log.beginRun('hdr', {});
  log.finishRun(hdr, 'failed', { error: 'djpeg not found' });
  return { log, hdr };
}

test('lastKnownState: last run, last frame, sky figures of the last measured frame, focuser position', async (t) => {
  const dir = await tempDir(t);
  const { log, hdr } = await nightLog(join(dir, 'skyrig.db'));
  t.teardown(() => log.close());
  const s = lastKnownState(log.db);
  t.deepEqual(s, {
    last_run_status: 'failed',
    last_run_kind: 'hdr',
    last_run_id: hdr,
    last_run_at: s.last_run_at,
    last_exposure_s: 20,
    last_frame_at: '2026-11-22T00:05:30.000Z',
    star_count: 812,
    hfr_px: 2.31,
    sky_background: 3.42,
    focus_position: 10450, // the autofocus result: no later frame says otherwise
  });
  t.regex(String(s.last_run_at), /^2026-11-22T00:\d\d:00\.000Z$/);
  const empty = new SqliteRunLog(join(dir, 'empty.db'));
  t.teardown(() => empty.close());
  t.deepEqual(lastKnownState(empty.db), {});
});

test('agent restart: the first retained state already holds last run status, HFR, stars, exposure and focus from SQLite', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  const { log: runlog } = await nightLog(join(dir, 'skyrig.db'));
  t.teardown(() => runlog.close());
  const w = await watch(t, broker.url, ['skyrig/yard/state']);
  const config = validateConfig({
    station: { id: 'yard', name: 'Yard' },
    devices: { cameras: { sky: { url: 'sim://yard?scene=sky' } } },
    jobs: [{ name: 'allsky', kind: 'capture', every: '2m' }],
    mqtt: { url: broker.url, discovery: false },
  });
  const m = startAgentMqtt(config, { log: memoryLogger(), stateDir: join(dir, 'state'), runlog, dispatch: async () => ({ ok: true }) });
  t.teardown(() => m!.close());
  const first = JSON.parse((await w.waitFor((x) => x.topic === 'skyrig/yard/state')).text);
  t.like(first, {
    last_run_status: 'failed', last_run_kind: 'hdr', last_exposure_s: 20, last_frame_at: '2026-11-22T00:05:30.000Z',
    star_count: 812, hfr_px: 2.31, sky_background: 3.42, focus_position: 10450, outbox_pending: 0, outbox_dropped: 0,
  });
  t.regex(first.last_run_at, /^2026-11-22T/);
  const retained = await retainedSnapshot(t, broker.url, ['skyrig/yard/state']);
  t.like(JSON.parse(retained.get('skyrig/yard/state')!.text), { last_run_status: 'failed', hfr_px: 2.31 });
});

test('stale entities of this station found on the broker are cleared; other stations and devices are left alone', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, ['homeassistant/#']);
  const config = (device: string, uid: string) => JSON.stringify({ name: 'x', unique_id: uid, state_topic: 's', device: { identifiers: [device] } });
  const ours = 'homeassistant/sensor/skyrig_roof_old_sensor/config';
  const oursAbbrev = 'homeassistant/camera/skyrig_roof_image_meteors/config';
  const sibling = 'homeassistant/sensor/skyrig_roof_2_hfr/config'; // station "roof_2": our prefix, not our device
  const foreign = 'homeassistant/sensor/zigbee_0x01_temperature/config';
  await w.publish(ours, config('skyrig_roof', 'skyrig_roof_old_sensor'), { retain: true });
  await w.publish(oursAbbrev, JSON.stringify({ name: 'm', uniq_id: 'skyrig_roof_image_meteors', t: 'x', dev: { ids: 'skyrig_roof' } }), { retain: true });
  await w.publish(sibling, config('skyrig_roof_2', 'skyrig_roof_2_hfr'), { retain: true });
  await w.publish(foreign, config('zigbee_0x01', 'zigbee_0x01_temperature'), { retain: true });

  const log = memoryLogger();
  // No discovery store: the local record is gone (new SD card, state dir wiped).
  const link = createMqttLink(
    { url: broker.url, baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof', keepaliveS: 5, imageMaxBytes: 65536,
      discovery: { enabled: true, prefix: 'homeassistant', imageKinds: ['capture'], scanMs: 300 } },
    { log },
  );
  t.teardown(() => link.close());
  await link.waitConnected(5000);
  await w.waitFor((m) => m.topic === ours && m.payload.length === 0, 5000, 'our stale sensor cleared');
  await w.waitFor((m) => m.topic === oursAbbrev && m.payload.length === 0, 5000, 'our stale camera (abbreviated keys) cleared');
  await link.republishDiscovery();
  const retained = await retainedSnapshot(t, broker.url, ['homeassistant/#']);
  t.false(retained.has(ours));
  t.false(retained.has(oursAbbrev));
  t.true(retained.has(sibling), 'station roof_2 keeps its entities');
  t.true(retained.has(foreign), 'other devices untouched');
  t.true(retained.has('homeassistant/sensor/skyrig_roof_hfr/config'));
  t.true(log.lines.some((l) => l.startsWith('info home assistant entities removed') && l.includes('count=2')));
});

test('no camera entity for autofocus (it never publishes a picture); names read as words', (t) => {
  const config = validateConfig({
    station: { id: 'rig' },
    devices: { cameras: { sky: { url: 'sim://rig' } }, focusers: { rail: { url: 'sim://r' } } },
    jobs: [
      { name: 'af', kind: 'autofocus' },
      { name: 'bracket', kind: 'focusbracket' },
      { name: 'dawn', kind: 'hdr' },
      { name: 'stack', kind: 'livestack' },
    ],
  });
  const o = mqttLinkOptionsFromConfig(config);
  t.deepEqual(o.discovery.imageKinds, ['capture', 'focusbracket', 'hdr', 'livestack']);
  const d = buildDiscovery({ prefix: 'homeassistant', baseTopic: 'skyrig', stationId: 'rig', stationName: 'Rig', imageKinds: o.discovery.imageKinds });
  t.deepEqual(
    d.filter((m) => m.component === 'camera').map((m) => m.payload.name),
    ['Capture preview', 'Focus bracket preview', 'HDR preview', 'Live stack preview'],
  );
  t.false(d.some((m) => m.uniqueId === 'skyrig_rig_image_autofocus'));
  const status = d.find((m) => m.uniqueId === 'skyrig_rig_last_run_status')!.payload;
  t.is(status.device_class, 'enum');
  t.deepEqual(status.options, ['ok', 'failed', 'aborted']);
  for (const key of ['last_run', 'last_frame']) t.is(d.find((m) => m.uniqueId === `skyrig_rig_${key}`)!.payload.device_class, 'timestamp');
  t.is((d[0]!.payload.origin as Record<string, unknown>).support_url, 'https://github.com/skyrig/skyrig');
});
