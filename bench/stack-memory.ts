// Peak RSS of a live stack of 10 frames vs 100 frames of the same size (it must not grow with
// the number of frames). Runs bench/stack-perframe.ts under /usr/bin/time -v for each count.
//   npx tsx bench/stack-memory.ts [--width 1024 --height 768] [--method sigma] [--no-malloc-tune]
// Runs with MALLOC_MMAP_THRESHOLD_=131072 as systemd/skyrig.service does (large buffers mmap'd and
// returned to the OS); --no-malloc-tune measures glibc's defaults, whose heap fragments under the
// per-frame preview/plot encodes (RSS creeps up ~15 % over the first 40 frames, then stays).
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { width: { type: 'string', default: '1024' }, height: { type: 'string', default: '768' }, method: { type: 'string', default: 'sigma' }, 'no-malloc-tune': { type: 'boolean', default: false } } });
const env = a['no-malloc-tune'] ? process.env : { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' };
const dir = resolve('bench/out/stack-mem');
const script = resolve(import.meta.dirname, 'stack-perframe.ts');
const common = ['--import', 'tsx', script, '--dir', dir, '--width', a.width!, '--height', a.height!, '--frames', '100', '--method', a.method!, '--stack-only'];
// Generate the 100 frames once (outside the measurement).
execFileSync(process.execPath, [...common, '--number', '1'], { stdio: 'ignore' });
const peak: Record<number, number> = {};
for (const n of [10, 100]) {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, ...common, '--number', String(n)], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  if (r.status !== 0) throw new Error(`bench failed: ${r.stderr.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  peak[n] = Number(m![1]) / 1024;
  const line = /per frame: (.*)/.exec(r.stdout)?.[1];
  console.log(`${n} frames ${a.width}×${a.height} (${a.method}${a['no-malloc-tune'] ? ', glibc malloc defaults' : ', MALLOC_MMAP_THRESHOLD_=131072'}): peak RSS ${peak[n]!.toFixed(0)} MB; ${line}`);
}
console.log(`peak RSS 100 vs 10 frames: ${((peak[100]! / peak[10]! - 1) * 100).toFixed(1)} %`);
