// Benchmark: merge a 6000×4000 RGB JPEG bracket (N=3 and N=9) with skyrig's streaming Debevec merge
// and with OpenCV's Python pipeline (imread ×N, MergeDebevec with the same response, Reinhard tone
// map, imwrite .hdr + .jpg), side by side; peak RSS from /usr/bin/time -v.
//
//   npx tsx bench/hdr-merge.ts [--width 6000 --height 4000] [--n 3,9] [--threads js,1,2,4] [--profile] [--no-opencv] [--dist]
// Frames are generated once into bench/out/hdr/ (synthetic scene through a known camera curve).
// --threads: one skyrig run per entry — `js` is the plain-TS kernels on one thread (the code before
// the WASM kernels), a number the SIMD WebAssembly kernels on that many threads (decoding the next
// strip meanwhile), `Ns` the same without the decode overlap. --profile: each run
// also under `node --cpu-prof`, summarised by bench/profile-summary.ts (decode/kernels/encode/I/O/GC),
// with the decoder processes' CPU (total minus the node process's own). --dist: the measured child
// runs the compiled pipeline in dist/ (as bin/skyrig.js does; `npm run build` first) through
// bench/hdr-child.mjs, instead of the sources through tsx (≈ 0.6 CPU s of compiling and module
// loading per run on the 2-core VM).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { calibrateResponse, findBrackets, mergeBracket, saveResponse, loadResponse } from '../pipeline/hdr/index.js';
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
  // Two stops apart, centred on 1/64 s.
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
  // CPU time including waited-for children (the decoder/encoder processes): fairer than wall time
  // on a shared machine.
  const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const cpuS = Number(user?.[1] ?? NaN) + Number(sys?.[1] ?? NaN);
  return { stdout: r.stdout, seconds, cpuS, rssMB: rss ? Number(rss[1]) / 1024 : NaN };
}

async function runOne(dir: string, response: string, out: string): Promise<void> {
  // Child mode: one merge, the thing /usr/bin/time measures.
  const [b] = await findBrackets(dir);
  const variant = process.env.SKYRIG_BENCH_THREADS ?? '';
  // `2` = 2 kernel threads with decode overlap, `2s` = the same without (the caller computes a band).
  const threads = /^\d+s?$/.test(variant) ? { threads: parseInt(variant, 10), overlap: !variant.endsWith('s') } : {};
  const kernels = variant === 'js' ? { kernels: 'js' as const } : {};
  const r = await mergeBracket(b!.frames, join(out, `skyrig_hdr${variant ? `_${variant}` : ''}`), { response: await loadResponse(response), formats: ['hdr', 'jpg'], ...threads, ...kernels });
  const own = process.cpuUsage();
  process.stdout.write(JSON.stringify({ ms: r.ms, lnE: r.lnE, saturated: r.saturatedFraction, kernels: r.kernels, threads: r.threads, overlap: threads.overlap ?? true, ownCpuS: (own.user + own.system) / 1e6 }) + '\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === 'run') return runOne(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  const width = Number(arg('width', '6000'));
  const height = Number(arg('height', '4000'));
  const ns = arg('n', '3,9').split(',').map(Number);
  const variants = arg('threads', '').split(',');
  const profile = process.argv.includes('--profile');
  const dist = process.argv.includes('--dist');
  const opencv = !process.argv.includes('--no-opencv');
  if (dist) assertDistFresh(root);
  const rows: string[] = [];
  const figures: Record<string, unknown> = { width, height, machine: `${process.arch}, ${(await import('node:os')).cpus().length} cores` };
  for (const n of ns) {
    const dir = join(outRoot, `${width}x${height}_n${n}`);
    process.stderr.write(`generating ${n} frames ${width}×${height} in ${dir}…\n`);
    const files = await generate(dir, width, height, n);
    const response = join(outRoot, `${width}x${height}_n${n}_response.npz`);
    if (!existsSync(response)) {
      const cal = await calibrateResponse(await findBrackets(dir), { samples: 1000, seed: 1 });
      await saveResponse(response, cal.response);
    }
    const out = join(dir, 'merged');
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const times = timesFor(n).map(String);
    // --no-opencv (profiling runs): no anchor, the ratios print as NaN.
    const cv = opencv ? timed('/usr/bin/python3', [join(root, 'bench', 'hdr_opencv.py'), 'bench', response, out, ...times, '--', ...files]) : { stdout: '{}', seconds: NaN, cpuS: NaN, rssMB: NaN };
    const cvJson = JSON.parse(cv.stdout.trim().split('\n').pop()!) as Record<string, number>;
    const perN: Record<string, unknown> = { opencv: { wallS: cv.seconds, cpuS: cv.cpuS, ...cvJson, rssMB: cv.rssMB } };
    if (opencv) rows.push(`N=${n}: OpenCV ${cv.seconds.toFixed(2)} s wall, ${cv.cpuS.toFixed(2)} s CPU (${cvJson.total_s!.toFixed(2)} s in script), peak RSS ${cv.rssMB.toFixed(1)} MB`);
    for (const variant of variants) {
      const profDir = join(outRoot, 'prof', `n${n}_${variant || 'default'}`);
      if (profile) {
        await rm(profDir, { recursive: true, force: true });
        await mkdir(profDir, { recursive: true });
      }
      const child = dist ? [join(root, 'bench', 'hdr-child.mjs'), 'debevec', dir, response, out] : ['--import', 'tsx', join(root, 'bench', 'hdr-merge.ts'), 'run', dir, response, out];
      const nodeArgs = [...(profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), ...child];
      const ours = timed(process.execPath, nodeArgs, { ...process.env, SKYRIG_BENCH_THREADS: variant });
      const oursJson = JSON.parse(ours.stdout.trim().split('\n').pop()!) as { ms: number; kernels: string; threads: number; overlap: boolean; ownCpuS: number };
      const childrenCpuS = Math.max(0, ours.cpuS - oursJson.ownCpuS);
      perN[`skyrig_${variant || 'default'}`] = { wallS: ours.seconds, cpuS: ours.cpuS, ownCpuS: oursJson.ownCpuS, childrenCpuS, mergeS: oursJson.ms / 1000, rssMB: ours.rssMB, kernels: oursJson.kernels, threads: oursJson.threads, overlap: oursJson.overlap };
      rows.push(
        `N=${n} skyrig ${oursJson.kernels} ×${oursJson.threads}${oursJson.kernels === 'wasm' && !oursJson.overlap ? ' (no decode overlap)' : ''}: ${ours.seconds.toFixed(2)} s wall, ${ours.cpuS.toFixed(2)} s CPU (node ${oursJson.ownCpuS.toFixed(2)} + decoders ${childrenCpuS.toFixed(2)}), peak RSS ${ours.rssMB.toFixed(1)} MB | ` +
          `/OpenCV: wall ${(ours.seconds / cv.seconds).toFixed(2)}, CPU ${(ours.cpuS / cv.cpuS).toFixed(2)}, RSS ${(ours.rssMB / cv.rssMB).toFixed(3)}`,
      );
      if (profile) {
        const { readdir, readFile } = await import('node:fs/promises');
        // The main thread's profile is the one that ran merge.ts (tsx's loader thread writes one too).
        const profs = await Promise.all((await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => JSON.parse(await readFile(join(profDir, f), 'utf8')) as Parameters<typeof summarise>[0]));
        const main = profs.find((p) => p.nodes.some((x) => /\/pipeline\/hdr\/merge\.[tj]s$/.test(x.callFrame.url)));
        if (main) rows.push(formatSummary(summarise(main), childrenCpuS, oursJson.ownCpuS));
      }
    }
    figures[`n${n}`] = perN;
  }
  const key = `skyrig_${variants[0] || 'default'}`;
  const a = figures[`n${ns[0]}`] as Record<string, { rssMB: number }> | undefined;
  const b = figures[`n${ns[ns.length - 1]}`] as Record<string, { rssMB: number }> | undefined;
  if (a && b && ns.length > 1) rows.push(`skyrig peak RSS N=${ns[ns.length - 1]} vs N=${ns[0]}: ${(((b[key]!.rssMB - a[key]!.rssMB) / a[key]!.rssMB) * 100).toFixed(1)} %`);
  process.stdout.write(rows.join('\n') + '\n');
  await mkdir(outRoot, { recursive: true });
  await writeFile(join(outRoot, `figures-${width}x${height}${profile ? '-profile' : ''}.json`), JSON.stringify(figures, null, 1));
}

await main();
