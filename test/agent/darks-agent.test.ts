// The darks job inside the agent: run by command, masters in <data_dir>/darks and the run log's
// library, visible to `skyrig darks list --config`; a DSLR darks job without `covered` is refused at
// config check, naming the field.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ConfigError, validateConfig } from '../../agent/config/load.js';
import type { ConfigInput } from '../../agent/config/schema.js';
import { memoryLogger } from '../../agent/log.js';
import { RecordingPublisher } from '../../agent/publisher.js';
import { startRuntime } from '../../agent/runtime.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const env = { ...process.env, SKYRIG_FROM_SOURCE: '1' };

test('the agent runs a darks job by command; skyrig darks list --config shows its masters', async (t) => {
  const dir = await tempDir(t);
  const input: ConfigInput = {
    station: { id: 'dk' },
    paths: { data_dir: dir },
    devices: { cameras: { sky: { url: 'sim://d?width=64&height=48&seed=2&hot_pixels=10&start=2026-01-10T20:00:00Z' }, dslr: { url: 'gphoto2://' } } },
    jobs: [
      { name: 'darks', kind: 'darks', camera: 'sky', params: { exposures: [5, 10], gains: [2], count: 3 } },
    ],
    mqtt: { enabled: false },
    retention: { min_free_mb: 1 },
  };
  const config = validateConfig(input);
  const publisher = new RecordingPublisher();
  const rt = await startRuntime({ config, baseDir: dir, log: memoryLogger('info'), alsoPublishTo: publisher });
  t.teardown(() => rt.shutdown());
  const reply = await rt.agent.command('job', { name: 'darks' });
  t.true(reply.ok, reply.error);
  const runId = reply.result!.run_id as number;
  t.is(rt.runlog.framesOf(runId).length, 9);
  const masters = rt.runlog.darkMasters();
  t.deepEqual(masters.map((m) => [m.kind, m.exposureS, m.gain, m.runId]).sort(), [['bias', 0, 2, runId], ['dark', 10, 2, runId], ['dark', 5, 2, runId]].sort());
  for (const m of masters) {
    t.true(m.path.startsWith(join(dir, 'darks') + '/'), m.path);
    t.true(existsSync(m.path));
  }

  // A DSLR darks job: refused when the config is checked, accepted once the lens is said to be capped.
  const dslrJob = (params: Record<string, unknown>) => ({ ...input, jobs: [{ name: 'dslr-darks', kind: 'darks' as const, camera: 'dslr', params: { exposures: [30], isos: [800], ...params } }] });
  const err = t.throws(() => validateConfig(dslrJob({}), 'c.yaml'));
  t.true(err instanceof ConfigError);
  t.is(err!.message, 'c.yaml: jobs[0].params.covered: gphoto2:// cannot close a shutter for darks — set covered: true when the lens is capped or a cover closes');
  t.notThrows(() => validateConfig(dslrJob({ covered: true })));

  const cfgPath = join(dir, 'config.yaml');
  await writeFile(cfgPath, stringify(input));
  const list = await run('node', ['bin/skyrig.js', 'darks', 'list', '--config', cfgPath], { env });
  t.regex(list.stdout, /dark\s+10 s\s+gain 2\s+13\.0\s+64×48\s+3\s+\d+\s/);
  t.regex(list.stdout, /3 masters: 2 exposures × 1 gain settings, 13\.0\.\.13\.0 °C\n$/);
});
