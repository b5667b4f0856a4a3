// Whole-run live-stack benchmark: `skyrig stack run` (set-up, master dark, every frame, previews,
// FITS, state, exit) against the seed's algorithm in python3-opencv (bench/stack_seed_opencv.py:
// master dark, ECC homography per frame, warp, ADDCOMP, preview + TIFF per frame), side by side in
// one run, each process under /usr/bin/time -v (CPU = user + sys, peak RSS).
//
//   npx tsx bench/stack-run.ts [--width 4000 --height 3000] [--frames 5,20] [--darks 5]
//     [--threads 1,2,4] [--method sigma] [--before DIR] [--profile] [--no-seed]
//
// Frames (16-bit FITS, star field drifting 2.5/−1.5 px and 0.05° a frame over a fixed-pattern dark
// with hot pixels) are generated once into bench/out/stack-run/. --threads: one skyrig run per entry
// (`js` = SKYRIG_NO_WASM=1, the plain-TS kernels on one thread). --before DIR: also run the CLI of
// another checkout (e.g. the commit before this work, built) as a "before" row. --profile: each
// skyrig run also under `node --cpu-prof`, summarised by stage (bench/stack-profile.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFits } from '../pipeline/image/fits.js';
import { fixedPatternDarks } from './stack-darks.js';
import { makeCatalog, renderStarField } from '../pipeline/stack/synth.js';
import { formatStages, stageSummary } from './stack-profile.js';

const { values: a } = parseArgs({
  options: {
    width: { type: 'string', default: '4000' },
    height: { type: 'string', default: '3000' },
    frames: { type: 'string', default: '5,20' },
    darks: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1,2,4' },
    method: { type: 'string', default: 'sigma' },
    before: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-seed': { type: 'boolean', default: false },
  },
});
const W = Number(a.width), H = Number(a.height), D = Number(a.darks);
const counts = a.frames!.split(',').map(Number);
const maxN = Math.max(...counts);
const root = resolve(import.meta.dirname, '..');
const dir = join(root, 'bench', 'out', 'stack-run', `${W}x${H}`);
const allLights = join(dir, 'lights'), darks = join(dir, `darks${D}`);

async function generate(): Promise<void> {
  await mkdir(allLights, { recursive: true });
  await mkdir(darks, { recursive: true });
  const have = (await readdir(allLights)).length, haveD = (await readdir(darks)).length;
  if (have >= maxN && haveD >= D) return;
  const catalog = makeCatalog(1, Math.round((W * H) / 4000), W, H, 60);
  const dark = fixedPatternDarks(W, H);
  for (let i = haveD; i < D; i++) await writeFits(join(darks, `dark${i}.fits`), dark(100 + i), { bitpix: 16 });
  const base = dark(999);
  for (let i = have; i < maxN; i++) {
    process.stderr.write(`generating light ${i + 1}/${maxN}…\n`);
    const img = renderStarField({ width: W, height: H, catalog, seed: 1000 + i, transform: { dx: 2.5 * i, dy: -1.5 * i, rotDeg: 0.05 * i }, noise: 0.004 });
    for (let k = 0; k < img.data.length; k++) img.data[k] = Math.min(1, img.data[k]! + base.data[k]! - 0.01);
    await writeFits(join(allLights, `light${String(i).padStart(4, '0')}.fits`), img, { bitpix: 16, cards: { EXPTIME: 30, 'DATE-OBS': new Date(Date.UTC(2026, 0, 1, 22, 0, 0) + i * 31000).toISOString().replace('Z', '') } });
  }
}

/** lights-N: hard links to the first N lights (both sides read the same files). */
async function lightsOf(n: number): Promise<string> {
  const d = join(dir, `lights-${n}`);
  if (existsSync(d) && (await readdir(d)).length === n) return d;
  await rm(d, { recursive: true, force: true });
  await mkdir(d);
  for (const f of (await readdir(allLights)).sort().slice(0, n)) await link(join(allLights, f), join(d, f));
  return d;
}

interface Timed { stdout: string; stderr: string; wallS: number; cpuS: number; rssMB: number }
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Timed {
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr);
  return {
    stdout: r.stdout,
    stderr: r.stderr,
    wallS: wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN,
    cpuS: Number(user?.[1] ?? NaN) + Number(sys?.[1] ?? NaN),
    rssMB: rss ? Number(rss[1]) / 1024 : NaN,
  };
}

interface Row { label: string; n: number; wallS: number; cpuS: number; rssMB: number; extra?: string }
const rows: Row[] = [];
const profiles: string[] = [];

async function skyrig(label: string, checkout: string, lights: string, n: number, variant: string): Promise<void> {
  const out = join(dir, `out-${n}-${label.replace(/\W+/g, '_')}`);
  await rm(out, { recursive: true, force: true });
  const profDir = join(dir, 'prof', `${n}-${label.replace(/\W+/g, '_')}`);
  if (a.profile) { await rm(profDir, { recursive: true, force: true }); await mkdir(profDir, { recursive: true }); }
  // As bin/skyrig.js runs `stack` (MALLOC_MMAP_THRESHOLD_ set: no re-spawn, so the figures are one process's).
  const env: NodeJS.ProcessEnv = { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072', ...(variant === 'js' ? { SKYRIG_NO_WASM: '1' } : {}) };
  const threads = /^\d+$/.test(variant) ? ['--threads', variant] : [];
  // …and with the heap flag bin/skyrig.js adds for `stack` (the before checkout did not).
  const args = [
    ...(label === 'before' ? [] : ['--max-semi-space-size=2']),
    ...(a.profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
    join(checkout, 'bin', 'skyrig.js'), 'stack', 'run', lights, '--out', out, '--darks', darks, '--method', a.method!, ...threads,
  ];
  const t = timed(process.execPath, args, env);
  const summary = /stacked (\d+) frame\(s\), (\d+) refused/.exec(t.stdout);
  rows.push({ label, n, wallS: t.wallS, cpuS: t.cpuS, rssMB: t.rssMB, extra: summary ? `${summary[1]} stacked, ${summary[2]} refused` : t.stdout.trim().split('\n').pop() });
  if (a.profile) {
    const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
    for (const f of files) {
      const prof = JSON.parse(await readFile(join(profDir, f), 'utf8')) as Parameters<typeof stageSummary>[0];
      if (!prof.nodes.some((x) => /\/pipeline\/stack\/livestack\.[jt]s$/.test(x.callFrame.url))) continue; // workers' own profiles
      profiles.push(`### ${label}, ${n} frames (CPU ${t.cpuS.toFixed(2)} s, wall ${t.wallS.toFixed(2)} s)\n${formatStages(stageSummary(prof), t.cpuS)}`);
    }
  }
}

await generate();
for (const n of counts) {
  const lights = await lightsOf(n);
  let seed: Timed | null = null;
  if (!a['no-seed']) {
    seed = timed('/usr/bin/python3', [join(root, 'bench', 'stack_seed_opencv.py'), lights, darks, join(dir, `seed-out-${n}`)], process.env);
    const failed = /ECC failed to converge on (\d+)/.exec(seed.stdout)?.[1];
    rows.push({ label: 'seed algorithm, python3-opencv (ECC + ADDCOMP)', n, wallS: seed.wallS, cpuS: seed.cpuS, rssMB: seed.rssMB, extra: `ECC failed on ${failed ?? '?'} frame(s)` });
  }
  if (a.before) await skyrig('before', resolve(a.before), lights, n, '');
  for (const v of a.threads!.split(',').filter(Boolean)) await skyrig(v === 'js' ? 'plain TS, 1 thread' : `threads ${v}`, root, lights, n, v);
  for (const r of rows.filter((x) => x.n === n)) {
    const ratio = seed ? ` | ${(r.cpuS / seed.cpuS).toFixed(2)} | ${(r.wallS / seed.wallS).toFixed(2)}` : '';
    process.stdout.write(`| ${n} | ${r.label} | ${r.cpuS.toFixed(2)} | ${r.wallS.toFixed(2)} | ${r.rssMB.toFixed(0)}${ratio} | ${r.extra ?? ''} |\n`);
  }
}
process.stdout.write(`\n${W}×${H} 16-bit FITS, ${D} darks, method ${a.method}; machine ${process.arch}, ${(await import('node:os')).availableParallelism()} cores, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
process.stdout.write('| frames | run | CPU s | wall s | peak RSS MB | CPU ÷ seed | wall ÷ seed | |\n|---|---|---|---|---|---|---|---|\n');
for (const r of rows) {
  const seed = rows.find((x) => x.n === r.n && x.label.startsWith('seed'));
  process.stdout.write(`| ${r.n} | ${r.label} | ${r.cpuS.toFixed(2)} | ${r.wallS.toFixed(2)} | ${r.rssMB.toFixed(0)} | ${seed ? (r.cpuS / seed.cpuS).toFixed(2) : '—'} | ${seed ? (r.wallS / seed.wallS).toFixed(2) : '—'} | ${r.extra ?? ''} |\n`);
}
for (const p of profiles) process.stdout.write(`\n${p}\n`);
