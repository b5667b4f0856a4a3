// Focus stacking bench: skyrig vs enfuse --hard-mask on the same synthetic RGB bracket: CPU time
// (user + sys, children included), wall time and peak RSS of each (GNU time), at the given frame
// counts and kernel thread counts, with the CPU and wall ratios to enfuse in the same run.
//   npx tsx bench/focus-stack.ts [--frames 5,20] [--size 6000x4000] [--dir /tmp/skyrig-focus-bench]
//     [--algorithm pyramid|depthmap] [--threads 1,2,4] [--kernels wasm|js] [--no-enfuse] [--extra "--no-align ..."]
//     [--cli tsx|dist] [--enfuse-first]
// --cli dist runs the CLI as installed (bin/skyrig.js → dist/, after `npm run build`); tsx (default)
// compiles the TypeScript sources at start (≈ 1 CPU s and ≈ 40 MB more). Each skyrig line also gives
// its bands and the bytes the frame spill wrote (SD-card wear).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBracket } from './focus-bracket-gen.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const frameCounts = opt('frames', '5,20').split(',').map(Number);
const [W, H] = opt('size', '6000x4000').split('x').map(Number) as [number, number];
const base = opt('dir', '/tmp/skyrig-focus-bench');
const algorithm = opt('algorithm', 'pyramid');
const withEnfuse = !args.includes('--no-enfuse');
const threadCounts = opt('threads', '').split(',').filter(Boolean);
const extra = opt('extra', '').split(' ').filter(Boolean);
// SKYRIG_NO_WASM=1 runs the plain-TS kernels (the "before" of the depth map).
const kernelEnv: Record<string, string> = opt('kernels', 'wasm') === 'js' ? { SKYRIG_NO_WASM: '1' } : {};
const cli = opt('cli', 'tsx');
if (cli !== 'tsx' && cli !== 'dist') throw new Error(`--cli: expected tsx or dist, got ${cli}`);
if (cli === 'dist' && !existsSync(join(root, 'dist/agent/cli/main.js'))) throw new Error('--cli dist: no dist/ here (run npm run build)');
const skyrigCmd = cli === 'dist' ? ['node', join(root, 'bin/skyrig.js')] : ['node', '--import', 'tsx', join(root, 'agent/cli/main.ts')];

// glibc raises its mmap threshold after big frees, then serves later big arrays from the heap where
// they fragment; a fixed threshold returns every freed pyramid to the OS (see docs/focus.md).
const mallocEnv: Record<string, string> = args.includes('--no-malloc-tune') ? {} : { MALLOC_MMAP_THRESHOLD_: '131072' };

function timed(cmd: string[], env: Record<string, string> = {}): { wallS: number; rssMb: number; cpuS: number; summary: string } {
  const r = spawnSync('bash', [join(root, 'bench/run-with-rss.sh'), ...cmd], { encoding: 'utf8', cwd: root, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const out = r.stdout ?? '';
  const m = /peak RSS: ([\d.]+) MB\s+wall: ([\d:.]+)\s+cpu: ([\d.]+) s\s+exit: 0/.exec(out);
  if (!m) throw new Error(`${cmd.join(' ')} failed: ${out}\n${(r.stderr ?? '').slice(-2000)}`);
  const parts = m[2]!.split(':').map(Number);
  const wallS = parts.reduce((a, b) => a * 60 + b, 0);
  // The CLI's closing line: bands, where the frames waited, bytes spilled.
  const summary = /focus stack: \d+ frames .*/.exec(r.stderr ?? '')?.[0] ?? '';
  return { wallS, rssMb: Number(m[1]), cpuS: Number(m[3]), summary };
}

for (const n of frameCounts) {
  const dir = join(base, `${W}x${H}-${n}`);
  if (!existsSync(dir) || readdirSync(dir).filter((f) => f.endsWith('.jpg')).length !== n) {
    console.log(`generating ${n} frames of ${W}×${H} in ${dir} ...`);
    await writeBracket(dir, n, W, H);
  }
  const frames = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(dir, f));
  const runs: { label: string; r: ReturnType<typeof timed> }[] = [];
  const enfuse = () => {
    const r = timed(['enfuse', '--hard-mask', '--exposure-weight=0', '--saturation-weight=0', '--contrast-weight=1', '-o', join(base, `enfuse-${n}.tif`), ...frames]);
    console.log(`enfuse --hard-mask: ${n} frames: CPU ${r.cpuS.toFixed(2)} s, wall ${r.wallS.toFixed(1)} s, peak RSS ${r.rssMb.toFixed(0)} MB`);
    return r;
  };
  // The anchor before or after the skyrig runs (the machine's load drifts: alternate between runs).
  const before = withEnfuse && args.includes('--enfuse-first') ? enfuse() : null;
  for (const t of threadCounts.length ? threadCounts : ['']) {
    const r = timed([...skyrigCmd, 'focus', 'stack', dir, '--out', join(base, `skyrig-${n}.jpg`), '--algorithm', algorithm, ...(t ? ['--threads', t] : []), ...extra], { ...mallocEnv, ...kernelEnv });
    const label = `skyrig ${algorithm}${t ? ` ${t} thread(s)` : ''}${kernelEnv.SKYRIG_NO_WASM ? ' (plain-TS kernels)' : ''} (${cli})`;
    runs.push({ label, r });
    console.log(`${label}: ${n} frames ${W}×${H}: CPU ${r.cpuS.toFixed(2)} s, wall ${r.wallS.toFixed(1)} s, peak RSS ${r.rssMb.toFixed(0)} MB — ${r.summary.replace(/^focus stack: /, '')}`);
  }
  const theirs = before ?? (withEnfuse ? enfuse() : null);
  if (theirs) {
    console.log(`| frames | run | CPU s | wall s | peak RSS MB | CPU ÷ enfuse | wall ÷ enfuse |\n|---|---|---|---|---|---|---|`);
    console.log(`| ${n} | enfuse --hard-mask | ${theirs.cpuS.toFixed(2)} | ${theirs.wallS.toFixed(1)} | ${theirs.rssMb.toFixed(0)} | 1 | 1 |`);
    for (const { label, r } of runs) console.log(`| ${n} | ${label} | ${r.cpuS.toFixed(2)} | ${r.wallS.toFixed(1)} | ${r.rssMb.toFixed(0)} | ${(r.cpuS / theirs.cpuS).toFixed(2)} | ${(r.wallS / theirs.wallS).toFixed(2)} |`);
  }
}
