// kill -9 at random points of capture / HDR / live stack / focus bracket on the simulated rig: after
// every kill the database passes integrity_check and every frame file has its row; after every
// restart every row has its file again (.incoming recovered). npm test: one kill per kind; the long
// mode (SKYRIG_RELIABILITY=long, `npm run test:reliability`) six per kind and a summary table.
import test from 'ava';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { recordOutcome } from './lib/summary.js';
import { killRounds, rigConfig, seeded, table, writeYaml, type Kind, type KillStats } from './lib/rig.js';
import { tempDir } from '../helpers/tmp.js';

const LONG = process.env.SKYRIG_RELIABILITY === 'long';
const KILLS_PER_KIND = LONG ? 6 : 1;
const SEED = Number(process.env.SKYRIG_RELIABILITY_SEED ?? 20261203);
const KINDS: Kind[] = ['capture', 'hdr', 'livestack', 'focusbracket'];

const results: KillStats[] = [];

for (const [i, kind] of KINDS.entries()) {
  test.serial(`kill -9 during ${kind}: ${KILLS_PER_KIND} kill(s), no lost row or frame, database sound`, async (t) => {
    const dir = await tempDir(t);
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    const config = await writeYaml(join(dir, 'config.yaml'), rigConfig(data, kind));
    const s = await killRounds(data, config, kind, KILLS_PER_KIND, seeded(SEED + i));
    results.push(s);
    recordOutcome({ scenario: `kill -9 during ${kind}`, attempts: s.kills, failures: s.failures.length, lost: s.lostRows + s.lostFrames });
    t.deepEqual(s.failures, []);
    t.is(s.kills, KILLS_PER_KIND);
    t.true(s.frames > 0, 'frames were logged');
  });
}

test.after.always('summary', () => {
  if (!results.length) return;
  const rows = results.map((s) => ({ kind: s.kind, attempts: s.attempts, kills: s.kills, failures: s.failures.length, 'rows lost': s.lostRows, 'frames lost': s.lostFrames, 'frame rows': s.frames }));
  const total = rows.reduce((a, r) => ({ ...a, attempts: a.attempts + r.attempts, kills: a.kills + r.kills, failures: a.failures + r.failures, 'rows lost': a['rows lost'] + r['rows lost'], 'frames lost': a['frames lost'] + r['frames lost'], 'frame rows': a['frame rows'] + r['frame rows'] }), { kind: 'total', attempts: 0, kills: 0, failures: 0, 'rows lost': 0, 'frames lost': 0, 'frame rows': 0 });
  process.stdout.write(`\nkill -9 summary (seed ${SEED}):\n${table([...rows, total])}\n`);
});
