// Summarise a V8 CPU profile (node --cpu-prof) into where the time went: self time grouped into
// decode / kernels / encode / file I/O / GC / idle (waiting on decoder processes or worker threads)
// / other, plus the top functions. Decoders that run as child processes (djpeg, pngtopam) are not in
// the profile: pass `--children-cpu S` (CPU seconds of waited-for children, from /usr/bin/time minus
// the process's own) to add them as "decode (child processes)".
//
//   npx tsx bench/profile-summary.ts FILE.cpuprofile [--cpu 12.5] [--children-cpu 3.2] [--top 15] [--json]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export type Category = 'decode' | 'kernels' | 'encode' | 'file I/O' | 'GC' | 'idle' | 'other';

/** Which bucket a function's self time belongs to, by its file (and a few V8/native names). */
export function categorise(f: CallFrame): Category {
  const url = f.url;
  const name = f.functionName;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (url.startsWith('wasm://') || /\/pipeline\/kernels\//.test(url)) return 'kernels';
  // merge.ts's own per-sample loops (exp, spool quantisation) and the kernels V8 inlines into them.
  if (/\/pipeline\/hdr\/(merge|merge-kernel|tonemap|stats|mertens|pyramid|weights|debevec)\.ts/.test(url)) return 'kernels';
  if (name === 'floatToPnm') return 'encode';
  if (/\/pipeline\/(focus|stack)\//.test(url) && !/io|source|writer/.test(url)) return 'kernels';
  if (/\/pipeline\/image\/(decoder-source|row-source|pnm|byte-queue|fits-rows|read|memory-source|png-rows|tiff-rows|bmp-rows|debayer)\.ts/.test(url) || /lean-source/.test(url)) return 'decode';
  if (/\/pipeline\/image\/(row-sink|encoder-sink|file-sink|fits-sink|radiance|tiff-f32|write|sink-check|png-sink)\.ts/.test(url) || /sharp/.test(url) || url === 'node:zlib') return 'encode';
  if (url === 'node:fs' || url.startsWith('node:internal/fs') || /^(writeSync|readSync|openSync|closeSync|write|read|writeBuffer|writeString)$/.test(name)) return 'file I/O';
  if (url.startsWith('node:internal/streams') || url.startsWith('node:net') || url.startsWith('node:internal/child_process') || url.startsWith('node:stream')) return 'decode';
  return 'other';
}

export interface Summary {
  totalS: number;
  byCategory: Record<Category, number>;
  top: { name: string; file: string; category: Category; s: number }[];
}

export function summarise(profile: CpuProfile, topN = 15): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to that sample's node.
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byCategory: Record<Category, number> = { decode: 0, kernels: 0, encode: 0, 'file I/O': 0, GC: 0, idle: 0, other: 0 };
  const byFn = new Map<string, { name: string; file: string; category: Category; s: number }>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const cat = categorise(n.callFrame);
    const s = us / 1e6;
    byCategory[cat] += s;
    total += s;
    const file = n.callFrame.url.replace(/^.*\/(pipeline|agent|lib|node_modules)\//, '$1/');
    const key = `${n.callFrame.functionName}@${file}`;
    const e = byFn.get(key) ?? { name: n.callFrame.functionName || '(anonymous)', file, category: cat, s: 0 };
    e.s += s;
    byFn.set(key, e);
  }
  const top = [...byFn.values()].sort((a, b) => b.s - a.s).slice(0, topN);
  return { totalS: total, byCategory, top };
}

/**
 * Samples are taken on a wall clock: on a busy machine a descheduled thread's time lands on whatever it
 * was running, so the shares are right but the seconds are wall. `ownCpuS` (the process's CPU seconds,
 * process.cpuUsage) turns the shares into CPU seconds.
 */
export function formatSummary(s: Summary, childrenCpuS = 0, ownCpuS = 0): string {
  const lines: string[] = [];
  const busy = s.totalS - s.byCategory.idle;
  lines.push(`profile: ${s.totalS.toFixed(2)} s sampled on the main thread, ${busy.toFixed(2)} s busy, ${s.byCategory.idle.toFixed(2)} s idle (waiting on decoders/workers)`);
  lines.push(`| part | sampled s | % of busy main thread |${ownCpuS > 0 ? ' ≈ CPU s |' : ''}`);
  lines.push(`|---|---|---|${ownCpuS > 0 ? '---|' : ''}`);
  for (const [k, v] of Object.entries(s.byCategory)) {
    if (k !== 'idle') lines.push(`| ${k} | ${v.toFixed(2)} | ${((100 * v) / busy).toFixed(1)} |${ownCpuS > 0 ? ` ${((ownCpuS * v) / busy).toFixed(2)} |` : ''}`);
  }
  if (childrenCpuS > 0) lines.push(`| decode (child processes, CPU) | — | — |${ownCpuS > 0 ? ` ${childrenCpuS.toFixed(2)} |` : ''}`);
  lines.push('', '| function | file | part | self s |', '|---|---|---|---|');
  for (const f of s.top) lines.push(`| ${f.name} | ${f.file} | ${f.category} | ${f.s.toFixed(2)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--children-cpu S] [--top N] [--json]');
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(arg('top') ?? 15));
  process.stdout.write((process.argv.includes('--json') ? JSON.stringify(s, null, 1) : formatSummary(s, Number(arg('children-cpu') ?? 0), Number(arg('cpu') ?? 0))) + '\n');
}
