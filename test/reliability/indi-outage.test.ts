// The INDI server killed and frozen under a scheduled capture job: runs fail (one line each, naming
// the server) or wait, the agent never exits, and captures succeed again once the server is back.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { audit, BUG_LINES, startAgent, stopAgent, writeYaml } from './lib/rig.js';
import { CCD_SIM, startIndiServer } from '../helpers/indiserver.js';
import { until } from '../helpers/agent-process.js';
import { tempDir } from '../helpers/tmp.js';

function okRuns(data: string): number {
  if (!existsSync(join(data, 'skyrig.db'))) return 0;
  const db = new Database(join(data, 'skyrig.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM runs WHERE status = 'ok'`).get() as { n: number }).n;
  } catch {
    return 0; // created but not migrated yet
  } finally {
    db.close();
  }
}

recordEachTest(test, () => 0); // passing means the row ↔ file audit found nothing lost

test('indiserver killed, restarted, then frozen (SIGSTOP) and thawed: the agent stays up and captures again', async (t) => {
  const dir = await tempDir(t);
  const home = await tempDir(t, 'skyrig-indi-home-');
  let server = await startIndiServer(t, { drivers: ['indi_simulator_ccd'], home });
  const port = server.port;
  const data = join(dir, 'data');
  const a = startAgent(
    await writeYaml(join(dir, 'config.yaml'), {
      station: { id: 'indi' },
      paths: { data_dir: data },
      devices: { cameras: { cam: { url: `indi://127.0.0.1:${port}/${encodeURIComponent(CCD_SIM)}` } } },
      jobs: [{ name: 'cap', kind: 'capture', every: '2s', params: { exposure_s: 0.1 } }],
      mqtt: { enabled: false },
      retention: { min_free_mb: 1 },
    }),
  );
  t.teardown(() => void stopAgent(a));
  await until(() => okRuns(data) >= 1, 90_000, 'a capture through INDI');

  await server.kill();
  t.true(await a.waitFor(/run failed/, 30_000), a.output());
  await new Promise((r) => setTimeout(r, 3000));
  t.is(a.proc.exitCode, null, 'still running with the server dead');
  server = await startIndiServer(t, { drivers: ['indi_simulator_ccd'], home, port });
  const afterRestart = okRuns(data);
  await until(() => okRuns(data) > afterRestart, 90_000, 'a capture after the server came back');

  server.process.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 4000));
  t.is(a.proc.exitCode, null, 'still running with the server frozen');
  server.process.kill('SIGCONT');
  const afterThaw = okRuns(data);
  await until(() => okRuns(data) > afterThaw, 90_000, 'a capture after the server thawed');

  t.is((await stopAgent(a)).code, 0);
  t.notRegex(a.output(), BUG_LINES);
  const au = audit(data);
  t.is(au.integrity, 'ok');
  t.deepEqual(au.filesWithoutRow, []);
});
