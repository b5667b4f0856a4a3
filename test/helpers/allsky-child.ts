// A real agent process (the runtime `skyrig run` starts, with the real night products) on the simulated
// all-sky rig for the kill -9 test: shoots `frames` allsky frames (ten minutes of sky each: the rig's time_step) through the agent, printing one line per frame, then exits.
// usage: node --import=tsx test/helpers/allsky-child.ts <data dir> <start ISO> <frames>
import { validateConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { startRuntime } from '../../agent/runtime.js';

const [dir, start, frames] = process.argv.slice(2) as [string, string, string];
const config = validateConfig({
  station: { id: 'sky' },
  site: { latitude: 45, longitude: 0, night_sun_altitude: -6 },
  paths: { data_dir: dir },
  devices: { cameras: { allsky: { url: `sim://night?lens=fisheye&lat=45&lon=0&start=${start}&scene=auto&width=160&height=120&seed=5&time_step=600` } } },
  jobs: [{ name: 'sky', kind: 'allsky', camera: 'allsky', params: { black_level: 1000, night_max_exposure_s: 10, preview_width: 96 } }],
  mqtt: { enabled: false },
  retention: { min_free_mb: 1, frames_days: 100000 },
});
const rt = await startRuntime({
  config,
  baseDir: dir,
  log: createLogger({ level: 'warn' }),
});
process.once('SIGTERM', () => void rt.shutdown().then(() => process.exit(0)));
for (let i = 0; i < Number(frames); i++) {
  const r = await rt.agent.command('job', { name: 'sky' });
  console.log(`frame ${i} ${r.ok ? 'ok' : r.error}`);
}
console.log('done');
await rt.shutdown();
