// `npm run demo` twice into the same folder: the second summary counts its own runs only (and says how
// many the run log held before), and the command it prints to look at the run log works as printed.
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { spawnAgent } from '../helpers/agent-process.js';

function skyrig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['bin/skyrig.js', ...args], { env: { ...process.env, SKYRIG_FROM_SOURCE: '1' }, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

async function demo(t: Parameters<typeof spawnAgent>[0], dir: string): Promise<string> {
  const p = spawnAgent(t, ['demo', '--data-dir', dir, '--cycles', '1']);
  const exit = await p.exited;
  t.is(exit.code, 0, p.output());
  return p.output();
}

test('a demo re-run reports this run only and prints a runs command that finds its run log', async (t) => {
  const dir = join(await tempDir(t), 'demo');
  const first = await demo(t, dir);
  const n = Number(/skyrig demo: (\d+) runs \(0 failed\)/.exec(first)?.[1]);
  t.true(n >= 5, first);
  t.notRegex(first, /earlier run/);
  const second = await demo(t, dir);
  t.regex(second, new RegExp(`skyrig demo: ${n} runs \\(0 failed\\), \\d+ frames, \\d+ products in [\\d.]+ s \\(the run log also holds ${n} earlier runs\\)`));
  const listed = [...second.matchAll(/^ {2}run +(\d+) /gm)].map((m) => Number(m[1]));
  // The all-sky night's frames (a run each) are one line: `runs A–B allsky ×K`.
  const sky = /^ {2}runs (\d+)–(\d+) allsky ×(\d+)/m.exec(second);
  t.truthy(sky, second);
  t.true(Number(sky![1]) > n, 'the night of the second run only');
  t.is(listed.length + Number(sky![3]), n);
  t.true(listed.every((id) => id > n && id <= 2 * n), 'only the second run\'s rows');
  t.regex(second, /stack-metrics-plot +.*stack-frames\.png/, 'the live stack\'s per-frame plot is a product');

  const look = /^ {2}look {4}: (?:npx )?skyrig (runs --config \S+)/m.exec(second);
  t.truthy(look, second);
  const runs = await skyrig([...look![1].split(' '), '--last', '100']);
  t.is(runs.code, 0, runs.stderr);
  t.is(runs.stdout.trim().split('\n').length, 2 * n);
});
