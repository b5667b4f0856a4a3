// Benchmark: Mertens exposure fusion of a 6000×4000 RGB JPEG bracket (N=3 and N=9) with skyrig's
// streaming fusion and with OpenCV's MergeMertens (imread ×N, process, imwrite JPEG), side by side in
// one run; CPU time (user + sys, decoder/encoder children included) and peak RSS from /usr/bin/time -v.
//
//   npx tsx bench/hdr-mertens.ts [--width 6000 --height 4000] [--n 3,9] [--threads js,1,2,4] [--profile] [--no-opencv] [--dist]
// --dist: the measured child runs the compiled pipeline in dist/ (as bin/skyrig.js does; `npm run
// build` first) through bench/hdr-child.mjs, instead of the sources through tsx (≈ 0.6 CPU s of
// compiling and module loading per run on the 2-core VM).
// Frames are generated once into bench/out/hdr/ (the same synthetic brackets as bench/hdr-merge.ts).
// --threads: one skyrig run per entry — `js` is the plain-TS kernels on one thread (the code before
// the WASM kernels), a number the SIMD WebAssembly kernels on that many threads. --profile: each run
// also under `node --cpu-prof`, summarised by bench/profile-summary.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findBrackets, mergeBracket } from '../pipeline/hdr/index.js';
import { makeScene, renderFrame } from '../pipeline/hdr/synth.js';
import { formatSummary, summarise } from './profile-summary.js';
import { assertDistFresh } from './dist-check.js';

const root = resolve(import.meta.dirname, '..');
const outRoot = join(root, 'bench', 'out', 'hdr');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};

function timesFor(n: number): number[] {
  // Two stops apart, centred on 1/64 s (as bench/hdr-merge.ts).
  return Array.from({ length: n }, (_, j) => Math.round((1 / 64) * Math.pow(4, j - (n - 1) / 2) * 1e6) / 1e6);
}

async function generate(dir: string, width: number, height: number, n: number): Promise<string[]> {
  const times = timesFor(n);
  const files = times.map((t) => join(dir, `20250601120000_${Math.round(t * 1e6)}.jpg`));
  if (files.every((f) => existsSync(f))) return files;
  await mkdir(dir, { recursive: true });
  // Loaded here only: the measured child (run) should not pay for sharp.
  const { default: sharp } = await import('sharp');
  const scene = makeScene(width, height, { lnMin: -1, lnMax: 9 });
  for (let j = 0; j < n; j++) {
    const codes = renderFrame(scene, times[j]!, { seed: 10 + j });
    await sharp(Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength), { raw: { width, height, channels: 3 }, limitInputPixels: false }).jpeg({ quality: 92 }).toFile(files[j]!);
  }
  return files;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { stdout: string; seconds: number; cpuS: number; rssMB: number } {
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const seconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr);
  return { stdout: r.stdout, seconds, cpuS: Number(user?.[1] ?? NaN) + Number(sys?.[1] ?? NaN), rssMB: rss ? Number(rss[1]) / 1024 : NaN };
}

async function runOne(dir: string, out: string): Promise<void> {
  // Child mode: one fusion, the thing /usr/bin/time measures.
  const [b] = await findBrackets(dir);
  const variant = process.env.SKYRIG_BENCH_THREADS ?? '';
  const threads = /^\d+$/.test(variant) ? { threads: Number(variant) } : {};
  const kernels = variant === 'js' ? { kernels: 'js' as const } : {};
  const r = await mergeBracket(b!.frames, join(out, `skyrig_mertens${variant ? `_${variant}` : ''}`), { algorithm: 'mertens', formats: ['jpg'], ...threads, ...kernels });
  const own = process.cpuUsage();
  process.stdout.write(JSON.stringify({ ms: r.ms, kernels: r.kernels ?? 'js', threads: r.threads ?? 1, ownCpuS: (own.user + own.system) / 1e6 }) + '\n');
}

/** Mean absolute difference (0..255) of two JPEGs of the same size. */
async function meanAbsDiff(a: string, b: string): Promise<number> {
  const { default: sharp } = await import('sharp');
  const [x, y] = await Promise.all([a, b].map((f) => sharp(f, { limitInputPixels: false }).raw().toBuffer()));
  let s = 0;
  for (let i = 0; i < x!.length; i++) s += Math.abs(x![i]! - y![i]!);
  return s / x!.length;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'run') return runOne(process.argv[3]!, process.argv[4]!);
  const width = Number(arg('width', '6000'));
  const height = Number(arg('height', '4000'));
  const ns = arg('n', '3,9').split(',').map(Number);
  const variants = arg('threads', 'js,1,2,4').split(',');
  const profile = process.argv.includes('--profile');
  const opencv = !process.argv.includes('--no-opencv');
  const dist = process.argv.includes('--dist');
  if (dist) assertDistFresh(root);
  const rows: string[] = [];
  const figures: Record<string, unknown> = { width, height, machine: `${process.arch}, ${(await import('node:os')).cpus().length} cores` };
  for (const n of ns) {
    const dir = join(outRoot, `${width}x${height}_n${n}`);
    process.stderr.write(`generating ${n} frames ${width}×${height} in ${dir}…\n`);
    const files = await generate(dir, width, height, n);
    const out = join(dir, 'fused');
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const perN: Record<string, unknown> = {};
    let cvCpu = NaN;
    let cvWall = NaN;
    const cvJpg = join(out, 'opencv_mertens.jpg');
    if (opencv) {
      const cv = timed('/usr/bin/python3', [join(root, 'bench', 'mertens_opencv.py'), cvJpg, ...files]);
      const cvJson = JSON.parse(cv.stdout.trim().split('\n').pop()!) as Record<string, number>;
      cvCpu = cv.cpuS;
      cvWall = cv.seconds;
      perN.opencv = { wallS: cv.seconds, cpuS: cv.cpuS, ...cvJson, rssMB: cv.rssMB };
      rows.push(`N=${n}: OpenCV MergeMertens ${cv.seconds.toFixed(2)} s wall, ${cv.cpuS.toFixed(2)} s CPU (${cvJson.merge_s!.toFixed(2)} s in process()), peak RSS ${cv.rssMB.toFixed(1)} MB`);
    }
    for (const variant of variants) {
      const profDir = join(outRoot, 'prof', `mertens_n${n}_${variant || 'default'}`);
      if (profile) {
        await rm(profDir, { recursive: true, force: true });
        await mkdir(profDir, { recursive: true });
      }
      const child = dist ? [join(root, 'bench', 'hdr-child.mjs'), 'mertens', dir, out] : ['--import', 'tsx', join(root, 'bench', 'hdr-mertens.ts'), 'run', dir, out];
      const nodeArgs = [...(profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), ...child];
      const ours = timed(process.execPath, nodeArgs, { ...process.env, SKYRIG_BENCH_THREADS: variant });
      const o = JSON.parse(ours.stdout.trim().split('\n').pop()!) as { ms: number; kernels: string; threads: number; ownCpuS: number };
      const childrenCpuS = Math.max(0, ours.cpuS - o.ownCpuS);
      const jpg = join(out, `skyrig_mertens${variant ? `_${variant}` : ''}.jpg`);
      const diff = opencv ? await meanAbsDiff(jpg, cvJpg) : NaN;
      perN[`skyrig_${variant || 'default'}`] = { wallS: ours.seconds, cpuS: ours.cpuS, ownCpuS: o.ownCpuS, childrenCpuS, rssMB: ours.rssMB, kernels: o.kernels, threads: o.threads, meanAbsDiffVsOpenCV: diff };
      rows.push(
        `N=${n} skyrig ${o.kernels} ×${o.threads}${/^\d+$/.test(variant) && Number(variant) !== o.threads ? ` (asked ${variant})` : ""}: ${ours.seconds.toFixed(2)} s wall, ${ours.cpuS.toFixed(2)} s CPU (node ${o.ownCpuS.toFixed(2)} + codecs ${childrenCpuS.toFixed(2)}), peak RSS ${ours.rssMB.toFixed(1)} MB | ` +
          `/OpenCV: CPU ${(ours.cpuS / cvCpu).toFixed(2)}, wall ${(ours.seconds / cvWall).toFixed(2)} | mean |Δ| vs OpenCV ${diff.toFixed(2)} /255`,
      );
      if (profile) {
        const profs = await Promise.all((await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => JSON.parse(await readFile(join(profDir, f), 'utf8')) as Parameters<typeof summarise>[0]));
        const main = profs.find((p) => p.nodes.some((x) => /\/pipeline\/hdr\/mertens\.[tj]s$/.test(x.callFrame.url)));
        if (main) rows.push(formatSummary(summarise(main), childrenCpuS, o.ownCpuS));
      }
      process.stderr.write(rows[rows.length - 1] + '\n');
    }
    figures[`n${n}`] = perN;
  }
  process.stdout.write(rows.join('\n') + '\n');
  await mkdir(outRoot, { recursive: true });
  await writeFile(join(outRoot, `mertens-figures-${width}x${height}${profile ? '-profile' : ''}.json`), JSON.stringify(figures, null, 1));
}

await main();
