// Focus map bench: RDF (3 scales) + KDE + the three PNGs of one big RGB frame, before (the plain-TS
// kernels, SKYRIG_NO_WASM=1) and after (the SIMD WebAssembly kernels at each thread count): CPU time
// (user + sys, encoder/decoder children included), wall time and peak RSS (GNU time), and the ratio of
// each run to the plain-TS one in the same run. The maps are checked to be byte-identical.
//   npx tsx bench/focus-map.ts [--size 6000x4000] [--dir /tmp/skyrig-focus-bench] [--downsample N] [--image FILE] [--threads 1,2,4]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
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
const stem = basename(image, extname(image));

function run(label: string, out: string, env: Record<string, string>, extra: string[]) {
  const text = execFileSync('bash', [join(root, 'bench/run-with-rss.sh'), 'node', '--import', 'tsx', join(root, 'agent/cli/main.ts'), 'focus', 'map', image, '--out', out, '--downsample', opt('downsample', '1'), ...extra], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const m = /peak RSS: ([\d.]+) MB\s+wall: ([\d:.]+)\s+cpu: ([\d.]+) s/.exec(text);
  if (!m) throw new Error(`no figures in: ${text}`);
  const wallS = m[2]!.split(':').map(Number).reduce((a, b) => a * 60 + b, 0);
  return { label, out, rssMb: Number(m[1]), wallS, cpuS: Number(m[3]) };
}

const before = run('plain-TS kernels (before)', join(base, 'map-js'), { SKYRIG_NO_WASM: '1' }, []);
const rows = [before];
for (const t of opt('threads', '1,2,4').split(',')) rows.push(run(`SIMD kernels, ${t} thread(s)`, join(base, `map-t${t}`), {}, ['--threads', t]));
const npy = (out: string) => ['filter_arrays', 'kde_arrays'].map((d) => readFileSync(join(out, d, `${stem}_${d === 'filter_arrays' ? 'filter' : 'kde'}.npy`)));
const ref = npy(before.out);
console.log(`focus map ${W}×${H} (${image}):`);
console.log('| run | CPU s | wall s | peak RSS MB | CPU / before | wall / before | maps equal |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const same = npy(r.out).every((b, i) => b.equals(ref[i]!));
  console.log(`| ${r.label} | ${r.cpuS.toFixed(1)} | ${r.wallS.toFixed(1)} | ${r.rssMb.toFixed(0)} | ${(r.cpuS / before.cpuS).toFixed(2)} | ${(r.wallS / before.wallS).toFixed(2)} | ${same ? 'yes' : 'NO'} |`);
}
