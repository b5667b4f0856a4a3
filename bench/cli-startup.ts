// What a `skyrig` command pays before its first pixel: CPU (user + sys), wall time and peak RSS of
// `node bin/skyrig.js <command> --help` (the compiled CLI, `npm run build` first), the median of a
// few runs each, with glibc's mmap threshold set as bin/skyrig.js sets it for the image commands (so
// no re-run of itself is measured). --before DIR: the same commands through another checkout's CLI
// (built), side by side.
//   npx tsx bench/cli-startup.ts [--runs 5] [--commands "hdr merge,stack run,focus stack,runs,run"] [--before DIR]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    commands: { type: 'string', default: 'hdr merge,stack run,focus stack,night build,runs,run,--version' },
    before: { type: 'string' },
  },
});
const runs = Math.max(1, Number(values.runs));
const commands = values.commands.split(',').map((c) => c.trim().split(/\s+/).filter(Boolean));
const roots: Array<[string, string]> = [];
if (values.before) roots.push(['before', resolve(values.before)]);
roots.push(['this checkout', resolve(import.meta.dirname, '..')]);
for (const [, root] of roots) {
  if (!existsSync(join(root, 'dist', 'agent', 'cli', 'main.js'))) throw new Error(`${root}: no dist/ — run \`npm run build\` there first`);
}

interface Figures {
  cpuS: number;
  wallS: number;
  rssMB: number;
}

function once(root: string, args: string[]): Figures {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, join(root, 'bin', 'skyrig.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072', SKYRIG_FROM_SOURCE: '' },
  });
  if (r.error) throw new Error(`/usr/bin/time: ${r.error.message} (apt-get install -y time)`);
  if (r.status !== 0) throw new Error(`skyrig ${args.join(' ')} exited ${r.status}: ${r.stderr.split('\n')[0]}`);
  const num = (re: RegExp) => Number(re.exec(r.stderr)?.[1] ?? NaN);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  return {
    cpuS: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
    wallS: wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN,
    rssMB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`| command | checkout | CPU s | wall s | peak RSS MB |`);
console.log(`|---|---|---|---|---|`);
for (const command of commands) {
  const args = command[0]?.startsWith('-') ? command : [...command, '--help'];
  for (const [name, root] of roots) {
    const all = Array.from({ length: runs }, () => once(root, args));
    const f = { cpuS: median(all.map((a) => a.cpuS)), wallS: median(all.map((a) => a.wallS)), rssMB: median(all.map((a) => a.rssMB)) };
    console.log(`| skyrig ${args.join(' ')} | ${name} | ${f.cpuS.toFixed(2)} | ${f.wallS.toFixed(2)} | ${f.rssMB.toFixed(0)} |`);
  }
}
