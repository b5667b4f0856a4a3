// Focus stacking bench: skyrig vs enfuse --hard-mask on the same synthetic RGB bracket: CPU time
// (user + sys, children included), wall time and peak RSS of each (GNU time), at the given frame
// counts and kernel thread counts, with the CPU and wall ratios to enfuse in the same run.
//   npx tsx bench/focus-stack.ts [--frames 5,20] [--size 6000x4000] [--dir /tmp/skyrig-focus-bench]
//     [--algorithm pyramid|depthmap] [--threads 1,2,4] [--kernels wasm|js] [--no-enfuse] [--extra "--no-align ..."]
import { execFileSync } from 'node:child_process';
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

// glibc raises its mmap threshold after big frees, then serves later big arrays from the heap where
// they fragment; a fixed threshold returns every freed pyramid to the OS (see docs/focus.md).
const mallocEnv: Record<string, string> = args.includes('--no-malloc-tune') ? {} : { MALLOC_MMAP_THRESHOLD_: '131072' };

function timed(cmd: string[], env: Record<string, string> = {}): { wallS: number; rssMb: number; cpuS: number } {
  const out = execFileSync('bash', [join(root, 'bench/run-with-rss.sh'), ...cmd], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const m = /peak RSS: ([\d.]+) MB\s+wall: ([\d:.]+)\s+cpu: ([\d.]+) s/.exec(out);
  if (!m) throw new Error(`no figures in: ${out}`);
  const parts = m[2]!.split(':').map(Number);
  const wallS = parts.reduce((a, b) => a * 60 + b, 0);
  return { wallS, rssMb: Number(m[1]), cpuS: Number(m[3]) };
}

for (const n of frameCounts) {
  const dir = join(base, `${W}x${H}-${n}`);
  if (!existsSync(dir) || readdirSync(dir).filter((f) => f.endsWith('.jpg')).length !== n) {
    console.log(`generating ${n} frames of ${W}×${H} in ${dir} ...`);
    await writeBracket(dir, n, W, H);
  }
  const frames = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(dir, f));
  const runs: { label: string; r: ReturnType<typeof timed> }[] = [];
  for (const t of threadCounts.length ? threadCounts : ['']) {
    const r = timed(['node', '--import', 'tsx', join(root, 'agent/cli/main.ts'), 'focus', 'stack', dir, '--out', join(base, `skyrig-${n}.jpg`), '--algorithm', algorithm, ...(t ? ['--threads', t] : []), ...extra], { ...mallocEnv, ...kernelEnv });
    const label = `skyrig ${algorithm}${t ? ` ${t} thread(s)` : ''}${kernelEnv.SKYRIG_NO_WASM ? ' (plain-TS kernels)' : ''}`;
    runs.push({ label, r });
    console.log(`${label}: ${n} frames ${W}×${H}: CPU ${r.cpuS.toFixed(1)} s, wall ${r.wallS.toFixed(1)} s, peak RSS ${r.rssMb.toFixed(0)} MB`);
  }
  if (withEnfuse) {
    const theirs = timed(['enfuse', '--hard-mask', '--exposure-weight=0', '--saturation-weight=0', '--contrast-weight=1', '-o', join(base, `enfuse-${n}.tif`), ...frames]);
    console.log(`enfuse --hard-mask: ${n} frames: CPU ${theirs.cpuS.toFixed(1)} s, wall ${theirs.wallS.toFixed(1)} s, peak RSS ${theirs.rssMb.toFixed(0)} MB`);
    for (const { label, r } of runs) console.log(`  ${label} / enfuse: CPU ${(r.cpuS / theirs.cpuS).toFixed(2)}, wall ${(r.wallS / theirs.wallS).toFixed(2)}`);
  }
}
