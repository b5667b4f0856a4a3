// Focus map bench: RDF (3 scales) + KDE of one big RGB frame, wall time and peak RSS.
//   npx tsx bench/focus-map.ts [--size 6000x4000] [--dir /tmp/skyrig-focus-bench] [--downsample N] [--image FILE]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBracket } from './focus-bracket-gen.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const [W, H] = opt('size', '6000x4000').split('x').map(Number) as [number, number];
const base = opt('dir', '/tmp/skyrig-focus-bench');
const dir = join(base, `${W}x${H}-map`);
let image = opt('image', '');
if (!image) {
  if (!existsSync(join(dir, 'frame_001.jpg'))) await writeBracket(dir, 3, W, H);
  image = join(dir, 'frame_001.jpg');
}
const out = execFileSync('bash', [join(root, 'bench/run-with-rss.sh'), 'node', '--import', 'tsx', join(root, 'agent/cli/main.ts'), 'focus', 'map', image, '--out', join(base, 'map-out'), '--downsample', opt('downsample', '1')], { encoding: 'utf8', env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
console.log(`focus map ${W}×${H}:\n${out.trim()}`);
