// Peak RSS of a live stack of 10 frames vs 100 frames of the same size (it must not grow with
// the number of frames). Runs bench/stack-perframe.ts under /usr/bin/time -v for each count.
//   npx tsx bench/stack-memory.ts [--width 1024 --height 768] [--method sigma]
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { width: { type: 'string', default: '1024' }, height: { type: 'string', default: '768' }, method: { type: 'string', default: 'sigma' } } });
const dir = resolve('bench/out/stack-mem');
const script = resolve(import.meta.dirname, 'stack-perframe.ts');
const common = ['--import', 'tsx', script, '--dir', dir, '--width', a.width!, '--height', a.height!, '--frames', '100', '--method', a.method!, '--stack-only'];
// Generate the 100 frames once (outside the measurement).
execFileSync(process.execPath, [...common, '--number', '1'], { stdio: 'ignore' });
const peak: Record<number, number> = {};
for (const n of [10, 100]) {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, ...common, '--number', String(n)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bench failed: ${r.stderr.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  peak[n] = Number(m![1]) / 1024;
  const line = /per frame: (.*)/.exec(r.stdout)?.[1];
  console.log(`${n} frames ${a.width}×${a.height} (${a.method}): peak RSS ${peak[n]!.toFixed(0)} MB; ${line}`);
}
console.log(`peak RSS 100 vs 10 frames: ${((peak[100]! / peak[10]! - 1) * 100).toFixed(1)} %`);
