// Where a live-stack run's time goes, from a V8 CPU profile (node --cpu-prof) of `skyrig stack run`:
// every sample is charged to the stage whose function is on its stack — master dark (whatever runs
// under buildCalibration, its decodes included), then the innermost of load, calibrate, stars
// (detection, photometry, measures), align, warp, accumulate, preview, FITS, metrics, state — or GC,
// idle (waiting for workers/IO), set-up (module loading, CLI; everything else).
//
//   npx tsx bench/stack-profile.ts FILE.cpuprofile [--cpu S]   (S: the process's CPU seconds)
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export const STAGES = ['set-up', 'master dark', 'load', 'calibrate', 'stars', 'align', 'warp', 'accumulate', 'preview', 'FITS', 'metrics', 'state', 'GC', 'idle'] as const;
export type Stage = (typeof STAGES)[number];

// [stage, function name, file pattern]; the innermost match on a sample's stack wins (master dark: any).
const MARKERS: Array<[Stage, RegExp, RegExp]> = [
  ['load', /^(loadFrame|readFitsWhole|readFits16|load)$/, /calib\/load|kernels\/stack|stack\/livestack/],
  ['calibrate', /^(calibrate|prepare|debayerImage|fixPixels|findCosmetic|subtractDark)$/, /calib\/apply|stack\/livestack|image\/debayer|kernels\/stack/],
  ['stars', /^(detectForStack|detectStars|detectSmoothed|withApertureFlux|frameQuality|summarizeStars|toGray|estimateBackground|frameMax)$/, /stars\/|stack\/|image\/read|kernels\/stack/],
  ['align', /^(alignFrame|matchStars|matchReference|judgeSignal)$/, /stack\//],
  ['warp', /^(warpBilinear|warp)$/, /stack\/align\/warp|kernels\/stack/],
  ['accumulate', /^(accumulate|channelStats|push|warpSigma|pushExternal)$/, /stack\/(accumulate|methods)|kernels\/stack/],
  ['preview', /^(writePreview|autoStretch|autoStretchBytes|stretchPreview|encodePreview|encodePreviewJpeg|previewJpeg)$/, /stack\/|image\/write|kernels\/stack/],
  ['FITS', /^(writeMaster|writeMasters)$/, /stack\//],
  ['metrics', /^(writeMetrics|writeMetricsPlot)$/, /stack\//],
  ['state', /^(saveStackState|saveState|journal)$/, /stack\//],
  ['GC', /^(releaseGarbage)$/, /image\/gc/],
];
const MASTER = /^(buildCalibration|buildMaster|seedMasterDark|medianFromFits16|medianOfFits16)$/;

export interface StageSummary { totalS: number; byStage: Record<Stage, number>; top: Array<{ name: string; file: string; stage: Stage; s: number }> }

export function stageSummary(p: CpuProfile, topN = 15): StageSummary {
  const parent = new Map<number, ProfileNode>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const stageOf = new Map<number, Stage>();
  const classify = (id: number): Stage => {
    const cached = stageOf.get(id);
    if (cached) return cached;
    const leaf = byId.get(id)!;
    let stage: Stage | null = leaf.callFrame.functionName === '(garbage collector)' ? 'GC' : leaf.callFrame.functionName === '(idle)' ? 'idle' : null;
    let inner: Stage | null = null;
    for (let n: ProfileNode | undefined = leaf; n && !stage; n = parent.get(n.id)) {
      const { functionName: f, url } = n.callFrame;
      if (MASTER.test(f) && /calib\/master|stack\/seed|kernels\/stack/.test(url)) stage = 'master dark';
      else if (!inner) for (const [s, fn, file] of MARKERS) if (fn.test(f) && file.test(url)) { inner = s; break; }
    }
    stage ??= inner ?? 'set-up';
    stageOf.set(id, stage);
    return stage;
  };
  const byStage = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  const fns = new Map<string, { name: string; file: string; stage: Stage; s: number }>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    const s = (p.timeDeltas[i] ?? 0) / 1e6;
    const st = classify(id);
    byStage[st] += s;
    total += s;
    const n = byId.get(id)!;
    const file = n.callFrame.url.replace(/^.*\/(pipeline|agent|lib|node_modules|dist)\//, '$1/');
    const key = `${n.callFrame.functionName}@${file}@${st}`;
    const e = fns.get(key) ?? { name: n.callFrame.functionName || '(anonymous)', file, stage: st, s: 0 };
    e.s += s;
    fns.set(key, e);
  }
  return { totalS: total, byStage, top: [...fns.values()].sort((x, y) => y.s - x.s).slice(0, topN) };
}

/** Markdown: each stage's sampled seconds, share of the busy main thread and, with `cpuS`, ≈ CPU seconds. */
export function formatStages(s: StageSummary, cpuS = 0): string {
  const busy = s.totalS - s.byStage.idle;
  const out = [`main thread: ${s.totalS.toFixed(2)} s sampled, ${busy.toFixed(2)} s busy, ${s.byStage.idle.toFixed(2)} s idle`, '', `| stage | sampled s | share of busy |${cpuS ? ' ≈ CPU s |' : ''}`, `|---|---|---|${cpuS ? '---|' : ''}`];
  for (const st of STAGES) {
    if (st === 'idle') continue;
    const v = s.byStage[st];
    out.push(`| ${st} | ${v.toFixed(2)} | ${((100 * v) / busy).toFixed(1)} % |${cpuS ? ` ${((cpuS * v) / busy).toFixed(2)} |` : ''}`);
  }
  out.push('', '| function | file | stage | self s |', '|---|---|---|---|');
  for (const f of s.top) out.push(`| ${f.name} | ${f.file} | ${f.stage} | ${f.s.toFixed(2)} |`);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: stack-profile FILE.cpuprofile [--cpu S]');
  const i = process.argv.indexOf('--cpu');
  process.stdout.write(formatStages(stageSummary(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile), i > 0 ? Number(process.argv[i + 1]) : 0) + '\n');
}
