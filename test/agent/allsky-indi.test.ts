// The all-sky loop on a real INDI camera: indi_simulator_ccd behind indiserver, through the agent.
// Each run is one frame whose exposure the controller chose from the previous ones; every frame row
// carries the decision, and the camera's own limits bound it. Under CI a missing indiserver fails.
import test from 'ava';
import { existsSync } from 'node:fs';
import { validateConfig } from '../../agent/config/load.js';
import { memoryLogger } from '../../agent/log.js';
import { RecordingPublisher } from '../../agent/publisher.js';
import { startRuntime } from '../../agent/runtime.js';
import { CCD_SIM, startIndiServer } from '../helpers/indiserver.js';
import { tempDir } from '../helpers/tmp.js';

test('allsky on indi_simulator_ccd: frames logged with exposure, gain, sky level and mode; the exposure follows the controller', async (t) => {
  const server = await startIndiServer(t, { drivers: ['indi_simulator_ccd'] });
  const dir = await tempDir(t);
  const config = validateConfig({
    station: { id: 'roof' },
    // Whatever the wall clock, the site's sun decides day or night; both are valid outcomes here.
    site: { latitude: 52, longitude: 5 },
    paths: { data_dir: dir },
    devices: { cameras: { allsky: { url: `indi://127.0.0.1:${server.port}/${encodeURIComponent(CCD_SIM)}` } } },
    jobs: [
      {
        name: 'sky',
        kind: 'allsky',
        camera: 'allsky',
        // short exposures keep the test quick; a high target makes the first correction certain
        params: { initial_exposure_s: 0.05, day_max_exposure_s: 0.4, night_max_exposure_s: 0.4, target_day: 0.5, target_night: 0.5, products: false },
      },
    ],
    mqtt: { enabled: false },
    retention: { min_free_mb: 1 },
  });
  const publisher = new RecordingPublisher();
  const rt = await startRuntime({ config, baseDir: dir, log: memoryLogger('info'), alsoPublishTo: publisher });
  t.teardown(() => rt.shutdown());
  for (let i = 0; i < 4; i++) {
    const r = await rt.agent.command('job', { name: 'sky' });
    t.true(r.ok, r.error);
  }
  const runs = rt.runlog.listRuns(20).filter((r) => r.kind === 'allsky').reverse();
  t.is(runs.length, 4);
  const rows = runs.flatMap((r) => rt.runlog.framesOf(r.id));
  t.is(rows.length, 4);
  for (const f of rows) {
    t.true(existsSync(f.path), f.path);
    for (const k of ['exposure_s', 'gain', 'sky_level', 'mode', 'target']) t.not(f.stats[k], undefined, `frame ${f.id} has ${k}`);
    t.true(['day', 'night'].includes(f.stats.mode as string));
    t.true(f.exposureS > 0 && f.exposureS <= 0.4 + 1e-9, `exposure ${f.exposureS} within the configured limit`);
    t.true((f.stats.sky_level as number) >= 0 && (f.stats.sky_level as number) <= 1);
  }
  // The first frame is the configured start; after it each one is the controller's decision from the last.
  t.is(rows[0]!.exposureS, 0.05);
  t.true(rows.slice(1).every((f) => typeof f.stats.ae === 'string' && f.stats.ae !== 'initial'), rows.map((f) => f.stats.ae).join(','));
  const settings = new Set(rows.map((f) => `${f.exposureS}/${f.stats.gain}`));
  t.true(settings.size > 1 || rows.slice(1).every((f) => f.stats.ae === 'hold'), 'the controller adjusted or deliberately held');
  t.log(rows.map((f) => `${f.exposureS} s gain ${f.stats.gain} sky ${Number(f.stats.sky_level).toFixed(4)} ${f.stats.ae}`).join(' → '));
  // Published for dashboards.
  const state = Object.assign({}, ...publisher.states) as Record<string, unknown>;
  t.is(typeof state.allsky_exposure_s, 'number');
  t.true(state.allsky_mode === 'day' || state.allsky_mode === 'night');
});
