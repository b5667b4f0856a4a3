// A soak: the agent on a busy schedule (capture every 1 s, HDR every 5 s, retention every 10 s) while
// its RSS and open file descriptors are sampled. npm test: 20 s, fds flat and RSS bounded; the long
// mode (`npm run test:reliability`) 3 min, and bench/soak.ts for hours.
import test from 'ava';
import { recordEachTest } from './lib/summary.js';
import { join } from 'node:path';
import { BUG_LINES, soak, soakConfig, table, writeYaml } from './lib/rig.js';
import { tempDir } from '../helpers/tmp.js';

const LONG = process.env.SKYRIG_RELIABILITY === 'long';
const DURATION_MS = LONG ? 180_000 : 20_000;

recordEachTest(test);

test(`soak ${DURATION_MS / 1000} s: open fds do not grow, RSS stays bounded, runs keep coming`, async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  const config = await writeYaml(join(dir, 'config.yaml'), soakConfig(data));
  const { samples, agent, exit } = await soak(data, config, DURATION_MS, LONG ? 10_000 : 2000);
  t.is(exit.code, 0);
  t.notRegex(agent.output(), BUG_LINES);
  t.true(samples.length >= 5, `${samples.length} samples`);
  const settled = samples.slice(Math.floor(samples.length / 3)); // after start-up and the first runs
  const fds = settled.map((s) => s.fds);
  // A leak raises the floor; a sample taken while a job's decoders and encoders run (3 pipes each)
  // only spikes. So: the late floor may not rise above the early one, and spikes stay one job's worth.
  const half = Math.floor(fds.length / 2);
  const early = Math.min(...fds.slice(0, half));
  const late = Math.min(...fds.slice(half));
  t.true(late - early <= 3, `open fds floor rose ${early} → ${late} (${fds.join(' ')})`);
  t.true(Math.max(...fds) - Math.min(...fds) <= 24, `open fds vary ${Math.min(...fds)}..${Math.max(...fds)}`);
  const rss = samples.map((s) => s.rssMb);
  t.true(Math.max(...rss) < 400, `peak RSS ${Math.max(...rss)} MB`);
  t.true(samples.at(-1)!.okRuns > samples[0]!.okRuns + 5, 'runs kept coming');
  process.stdout.write(`\nsoak (${DURATION_MS / 1000} s):\n${table(samples.map((s) => ({ 't (s)': s.s, 'RSS (MB)': s.rssMb, 'open fds': s.fds, 'ok runs': s.okRuns, 'db (KB)': s.dbKb })))}\n`);
});
