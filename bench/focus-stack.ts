// Focus stacking bench: skyrig (pyramid) vs enfuse --hard-mask on the same synthetic RGB bracket,
// wall time, CPU time (user + sys) and peak RSS of each (GNU time), at the given frame counts.
//   npx tsx bench/focus-stack.ts [--frames 5,20] [--size 6000x4000] [--dir /tmp/skyrig-focus-bench] [--algorithm pyramid|depthmap] [--no-enfuse]
//                                [--threads default|js|1|2|4,...]
// --threads: one skyrig run per entry — `js` the plain-TS kernels (SKYRIG_NO_WASM=1), a number the
// SIMD WebAssembly kernels on that many threads (--threads N), `default` the CLI's default.
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

// glibc raises its mmap threshold after big frees, then serves later big arrays from the heap where
// they fragment; a fixed threshold returns every freed pyramid to the OS (see docs/focus.md).
const mallocEnv: Record<string, string> = args.includes('--no-malloc-tune') ? {} : { MALLOC_MMAP_THRESHOLD_: '131072' };

const variants = opt('threads', 'default').split(',');

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
  const runs: Array<{ variant: string; r: ReturnType<typeof timed> }> = [];
  for (const v of variants) {
    const extra = /^\d+$/.test(v) ? ['--threads', v] : [];
    const env = v === 'js' ? { ...mallocEnv, SKYRIG_NO_WASM: '1' } : mallocEnv;
    const r = timed(['node', '--import', 'tsx', join(root, 'agent/cli/main.ts'), 'focus', 'stack', dir, '--out', join(base, `skyrig-${n}-${v}.jpg`), '--algorithm', algorithm, ...extra], env);
    runs.push({ variant: v, r });
    console.log(`skyrig ${algorithm} [${v}]: ${n} frames ${W}×${H}: ${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} s CPU, peak RSS ${r.rssMb.toFixed(0)} MB`);
  }
  if (withEnfuse) {
    const theirs = timed(['enfuse', '--hard-mask', '--exposure-weight=0', '--saturation-weight=0', '--contrast-weight=1', '-o', join(base, `enfuse-${n}.tif`), ...frames]);
    console.log(`enfuse --hard-mask: ${n} frames: ${theirs.wallS.toFixed(1)} s wall, ${theirs.cpuS.toFixed(1)} s CPU, peak RSS ${theirs.rssMb.toFixed(0)} MB`);
    for (const { variant, r } of runs) console.log(`  skyrig [${variant}] / enfuse: CPU ${(r.cpuS / theirs.cpuS).toFixed(2)}, wall ${(r.wallS / theirs.wallS).toFixed(2)}`);
  }
}
