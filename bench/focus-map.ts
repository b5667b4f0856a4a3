// Focus map bench: RDF (3 scales) + KDE + the three PNGs of one big RGB frame, before (the plain-TS
// kernels, SKYRIG_NO_WASM=1) and after (the SIMD WebAssembly kernels at each thread count): CPU time
// (user + sys, encoder/decoder children included), wall time and peak RSS (GNU time), and the ratio of
// each run to the plain-TS one in the same run. The maps are checked to be byte-identical and the
// three pictures pixel-identical (their files differ: the plain-TS path writes them through pnmtopng,
// the kernels' path deflates them in-process). --profile: each run also under `node --cpu-prof`,
// its main thread summarised by bench/profile-summary.ts (shares scaled to the run's CPU).
// --dist: both paths through the built CLI (`npm run build` first), `node bin/skyrig.js focus map`, as
// users and the agent run it — no TypeScript compiled at start-up (≈ 1.7 CPU s under tsx) and glibc's
// mmap threshold set as bin/skyrig.js does for the image commands.
//   npx tsx bench/focus-map.ts [--size 6000x4000] [--dir /tmp/skyrig-focus-bench] [--downsample N] [--image FILE] [--threads 1,2,4] [--no-before] [--profile] [--dist]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { writeBracket } from './focus-bracket-gen.js';
import { formatSummary, summarise } from './profile-summary.js';

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

const profile = args.includes('--profile');
const profiles: string[] = [];

function run(label: string, out: string, env: Record<string, string>, extra: string[]) {
  const profDir = join(out, '.profile');
  rmSync(profDir, { recursive: true, force: true });
  const prof = profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const cli = args.includes('--dist') ? [join(root, 'bin/skyrig.js')] : ['--import', 'tsx', join(root, 'agent/cli/main.ts')];
  const text = execFileSync('bash', [join(root, 'bench/run-with-rss.sh'), 'node', ...prof, ...cli, 'focus', 'map', image, '--out', out, '--downsample', opt('downsample', '1'), ...extra], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const m = /peak RSS: ([\d.]+) MB\s+wall: ([\d:.]+)\s+cpu: ([\d.]+) s/.exec(text);
  if (!m) throw new Error(`no figures in: ${text}`);
  const wallS = m[2]!.split(':').map(Number).reduce((a, b) => a * 60 + b, 0);
  const r = { label, out, rssMb: Number(m[1]), wallS, cpuS: Number(m[3]) };
  if (profile) {
    // The main thread's profile is the largest (tsx's loader thread writes a small one too).
    const main = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    profiles.push(`### ${label} (CPU ${r.cpuS.toFixed(1)} s, wall ${wallS.toFixed(1)} s)\n${formatSummary(summarise(JSON.parse(readFileSync(main, 'utf8')) as Parameters<typeof summarise>[0], 20))}`);
  }
  return r;
}

const runs: ReturnType<typeof run>[] = [];
if (!args.includes('--no-before')) runs.push(run('plain-TS kernels (before)', join(base, 'map-js'), { SKYRIG_NO_WASM: '1' }, []));
for (const t of opt('threads', '1,2,4').split(',')) runs.push(run(`SIMD kernels, ${t} thread(s)`, join(base, `map-t${t}`), {}, ['--threads', t]));
const before = runs[0]!;
const npy = (out: string) => ['filter_arrays', 'kde_arrays'].map((d) => readFileSync(join(out, d, `${stem}_${d === 'filter_arrays' ? 'filter' : 'kde'}.npy`)));
const pictures = (out: string) => Promise.all(['filter_vis/%_filter.png', 'kde_vis/%_kde.png', 'kde_vis/%_kde_overlay.png'].map((p) => sharp(join(out, p.replace('%', stem)), { limitInputPixels: false }).raw().toBuffer()));
const ref = npy(before.out);
const refPictures = await pictures(before.out);
console.log(`focus map ${W}×${H} (${image}):`);
console.log(`| run | CPU s | wall s | peak RSS MB | CPU / ${args.includes('--no-before') ? 'first' : 'before'} | wall / ${args.includes('--no-before') ? 'first' : 'before'} | maps equal | pictures equal |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of runs) {
  const same = npy(r.out).every((b, i) => b.equals(ref[i]!));
  const samePictures = (await pictures(r.out)).every((b, i) => b.equals(refPictures[i]!));
  console.log(`| ${r.label} | ${r.cpuS.toFixed(1)} | ${r.wallS.toFixed(1)} | ${r.rssMb.toFixed(0)} | ${(r.cpuS / before.cpuS).toFixed(2)} | ${(r.wallS / before.wallS).toFixed(2)} | ${same ? 'yes' : 'NO'} | ${samePictures ? 'yes' : 'NO'} |`);
}
for (const p of profiles) console.log(`\n${p}`);
