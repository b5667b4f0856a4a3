// allsky params are checked at config check with ranges; an all-sky station gets its Home Assistant
// entities (keogram and star-trails cameras, night and auto-exposure sensors) on the keys the job publishes.
import test from 'ava';
import { ConfigError, validateConfig } from '../../agent/config/load.js';
import { buildDiscovery } from '../../agent/homeassistant/discovery.js';
import { ALLSKY_STATE_KEYS } from '../../agent/homeassistant/allsky-entities.js';
import { parseAllskyParams } from '../../agent/jobs/allsky-params.js';

const issues = (params: Record<string, unknown>): string[] => {
  try {
    validateConfig({ station: { id: 'q' }, devices: { cameras: { sky: { url: 'sim://r' } } }, jobs: [{ name: 'sky', kind: 'allsky', every: '1m', params }], mqtt: { enabled: false } }, 'c.yaml');
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
};

test('allsky params: ranges, choices and typos fail config check naming the field', (t) => {
  t.deepEqual(issues({ target_night: 0.12, night_max_exposure_s: 20, timelapse_fps: 30, label_corner: 'bottom-right' }), []);
  t.deepEqual(issues({ damping: 1.5 }), ['jobs[0].params.damping: 1.5 is out of range 0.05..1 (fraction of the error corrected per frame)']);
  t.deepEqual(issues({ meter: 'spot' }), ['jobs[0].params.meter: "spot" is not allowed (allowed: circle, rect, full)']);
  t.deepEqual(issues({ night_min_gain: 300, night_max_gain: 100 }), ['jobs[0].params.night_min_gain: 300 is above night_max_gain 100']);
  t.regex(issues({ target: 0.2 })[0]!, /^jobs\[0\]\.params\.target: unknown allsky parameter \(did you mean target_day or target_night\?\)/);
  t.deepEqual(issues({ keogram: 'yes' }), ['jobs[0].params.keogram: "yes" is not true or false']);
  // The job reads the same table: defaults, and the same errors from a command payload.
  const p = parseAllskyParams({});
  t.is(p.targetNight, 0.15);
  t.is(p.meter, 'circle');
  t.is(p.timelapseFps, 25);
  t.throws(() => parseAllskyParams({ max_step_ev: 10 }), { message: /allsky job: params\.max_step_ev: 10 is out of range 0\.25\.\.6/ });
});

test('Home Assistant: an allsky job brings keogram/star-trails cameras and night/auto-exposure sensors', (t) => {
  const opts = { prefix: 'homeassistant', baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof' };
  const plain = buildDiscovery({ ...opts, imageKinds: ['capture'] });
  t.false(plain.some((m) => m.uniqueId.includes('keogram')));
  const msgs = buildDiscovery({ ...opts, imageKinds: ['capture', 'allsky'] });
  const byId = new Map(msgs.map((m) => [m.uniqueId, m]));
  t.is(byId.get('skyrig_roof_image_keogram')!.component, 'camera');
  t.is(byId.get('skyrig_roof_image_keogram')!.payload.topic, 'skyrig/roof/image/keogram');
  t.is(byId.get('skyrig_roof_image_startrails')!.payload.topic, 'skyrig/roof/image/startrails');
  t.is(byId.get('skyrig_roof_image_allsky')!.payload.topic, 'skyrig/roof/image/allsky');
  const clear = byId.get('skyrig_roof_night_clear_fraction')!;
  t.is(clear.topic, 'homeassistant/sensor/skyrig_roof_night_clear_fraction/config');
  t.is(clear.payload.state_topic, 'skyrig/roof/state');
  t.regex(clear.payload.value_template as string, /night_clear_fraction \* 100/);
  for (const key of ['night_darkest_sky', 'allsky_exposure', 'allsky_gain', 'allsky_sky_level', 'allsky_mode']) {
    const m = byId.get(`skyrig_roof_${key}`);
    t.truthy(m, key);
    t.is(m!.payload.availability_topic, 'skyrig/roof/availability');
  }
  t.regex(byId.get('skyrig_roof_allsky_exposure')!.payload.value_template as string, new RegExp(ALLSKY_STATE_KEYS.exposureS));
  // Unique ids stay unique.
  t.is(new Set(msgs.map((m) => m.uniqueId)).size, msgs.length);
});
