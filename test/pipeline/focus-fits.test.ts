// Focus tools on FITS brackets (what INDI cameras and the simulated rig's sky camera write).
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const env = { ...process.env, SKYRIG_FROM_SOURCE: '1' };

test('focus score and focus stack take FITS frames; the in-focus frame scores best', async (t) => {
  const dir = await tempDir(t);
  const frames = join(dir, 'frames');
  await run('node', ['bin/skyrig.js', 'sim', 'shoot', 'sim://ff?scene=sky&width=320&height=240&seed=5', '--out', frames, '--exposures', '2', '--positions', '850,1000,1150'], { env });
  const { stdout } = await run('node', ['bin/skyrig.js', 'focus', 'score', frames, '--json'], { env });
  const scores = JSON.parse(stdout) as { file: string; score: number }[];
  t.is(scores.length, 3);
  const best = scores.reduce((a, b) => (b.score > a.score ? b : a));
  t.regex(best.file, /pos1000\.fits$/);
  const out = join(dir, 'stack.png');
  await run('node', ['bin/skyrig.js', 'focus', 'stack', frames, '--out', out], { env });
  t.true(existsSync(out));
});
