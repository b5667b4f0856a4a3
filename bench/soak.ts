// Soak the agent: `skyrig run` on the simulated rig with a busy schedule (capture every 1 s, HDR every
// 5 s, retention every 10 s), sampling RSS, open file descriptors, ok runs and the run log's size.
//   npx tsx bench/soak.ts [MINUTES=10] [SAMPLE_SECONDS=30]
// Prints a table over time and the growth from the first settled sample to the last.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUG_LINES, soak, soakConfig, table, writeYaml } from '../test/reliability/lib/rig.js';

const minutes = Number(process.argv[2] ?? 10);
const sampleS = Number(process.argv[3] ?? 30);
const dir = await mkdtemp(join(tmpdir(), 'skyrig-soak-'));
try {
  const data = join(dir, 'data');
  const config = await writeYaml(join(dir, 'config.yaml'), soakConfig(data));
  process.stdout.write(`soak: ${minutes} min, a sample every ${sampleS} s, data in ${data}\n`);
  const { samples, agent, exit } = await soak(data, config, minutes * 60_000, sampleS * 1000);
  process.stdout.write(`${table(samples.map((s) => ({ 't (s)': s.s, 'RSS (MB)': s.rssMb, 'open fds': s.fds, 'ok runs': s.okRuns, 'db (KB)': s.dbKb })))}\n`);
  const settled = samples.slice(Math.min(2, samples.length - 1));
  const first = settled[0]!;
  const last = settled.at(-1)!;
  process.stdout.write(
    `growth after start-up: RSS ${(last.rssMb - first.rssMb).toFixed(1)} MB, fds ${last.fds - first.fds}, ` +
      `${last.okRuns - first.okRuns} runs in ${last.s - first.s} s; exit ${exit.code ?? exit.signal}; ` +
      `unhandled errors: ${BUG_LINES.test(agent.output()) ? 'YES' : 'none'}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
