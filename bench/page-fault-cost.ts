// What one first touch of a 4 KiB page costs on this machine: the anchors of the speed benches
// (OpenCV, enfuse, the seed stacker) allocate gigabytes and fault every page in, while skyrig's
// streaming pipelines stay near 100–450 MB, so a host whose page faults are dear (a nested or
// paravirtualised VM) moves every ratio. Print this beside a bench run to say which kind of host it was.
//   npx tsx bench/page-fault-cost.ts [--mib 1024] [--rounds 3]
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, rounds: { type: 'string', default: '3' } } });
const bytes = Math.max(1, Number(values.mib)) * 2 ** 20;
const rounds = Math.max(1, Number(values.rounds));

const perFault: number[] = [];
for (let r = 0; r < rounds; r++) {
  const before = process.resourceUsage();
  const t0 = performance.now();
  // allocUnsafeSlow: a fresh malloc of this size is a fresh mmap, untouched until the loop below
  // (the default transparent-huge-page mode, madvise, leaves it in 4 KiB pages).
  const block = Buffer.allocUnsafeSlow(bytes);
  for (let i = 0; i < bytes; i += 4096) block[i] = 1;
  const ms = performance.now() - t0;
  const after = process.resourceUsage();
  const faults = after.minorPageFault - before.minorPageFault;
  const cpuUs = after.userCPUTime - before.userCPUTime + (after.systemCPUTime - before.systemCPUTime);
  const sysUs = after.systemCPUTime - before.systemCPUTime;
  perFault.push(cpuUs / Math.max(1, faults));
  process.stdout.write(
    `round ${r + 1}: ${(bytes / 2 ** 20).toFixed(0)} MiB touched, ${faults} minor faults, ${ms.toFixed(0)} ms wall, ` +
      `${(cpuUs / 1000).toFixed(0)} ms CPU (${(sysUs / 1000).toFixed(0)} ms sys): ${(cpuUs / Math.max(1, faults)).toFixed(2)} µs a fault\n`,
  );
}
perFault.sort((a, b) => a - b);
const median = perFault[Math.floor(perFault.length / 2)]!;
process.stdout.write(`median ${median.toFixed(2)} µs a 4 KiB page fault — 1 GB of anchor memory costs ${((median * 262144) / 1e6).toFixed(2)} CPU s to fault in\n`);
