// The measured child of bench/hdr-merge.ts and bench/hdr-mertens.ts under --dist: one merge through
// the compiled pipeline in dist/ (what bin/skyrig.js runs), so the figure holds no tsx compiling.
//   node bench/hdr-child.mjs debevec DIR RESPONSE OUT | node bench/hdr-child.mjs mertens DIR OUT
// SKYRIG_BENCH_THREADS as in the benches: `js`, `N`, or `Ns` (Debevec without the decode overlap).
// Prints one JSON line: ms, kernels, threads, overlap, the node process's own CPU seconds.
import { join } from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';

const hdr = await import(new URL('../dist/pipeline/hdr/index.js', import.meta.url).href);
const [mode, dir, a, b] = process.argv.slice(2);
if (!((mode === 'mertens' && dir && a) || (mode === 'debevec' && dir && a && b))) {
  process.stderr.write('usage: node bench/hdr-child.mjs debevec DIR RESPONSE OUT | mertens DIR OUT\n');
  process.exit(2);
}
const variant = process.env.SKYRIG_BENCH_THREADS ?? '';
const threads = /^\d+s?$/.test(variant) ? { threads: parseInt(variant, 10), overlap: !variant.endsWith('s') } : {};
const kernels = variant === 'js' ? { kernels: 'js' } : {};
// As `skyrig hdr merge` does: the merge's pipe thread starts beside the discovery.
if (mode === 'debevec' && variant !== 'js') hdr.prestartMergeThreads();
const [bracket] = await hdr.findBrackets(dir);
const r =
  mode === 'mertens'
    ? await hdr.mergeBracket(bracket.frames, join(a, `skyrig_mertens${variant ? `_${variant}` : ''}`), { algorithm: 'mertens', formats: ['jpg'], ...threads, ...kernels })
    : await hdr.mergeBracket(bracket.frames, join(b, `skyrig_hdr${variant ? `_${variant}` : ''}`), { response: await hdr.loadResponse(a), formats: ['hdr', 'jpg'], ...threads, ...kernels });
const own = process.cpuUsage();
process.stdout.write(JSON.stringify({ ms: r.ms, lnE: r.lnE, saturated: r.saturatedFraction, kernels: r.kernels ?? 'js', threads: r.threads ?? 1, overlap: threads.overlap ?? true, ownCpuS: (own.user + own.system) / 1e6 }) + '\n');
