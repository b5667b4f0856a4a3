// Live-stack per-frame time on big mono frames, side by side with the seed's algorithm
// (python3-opencv: master dark, ECC homography on the previous frame, ADDCOMP, preview).
//   npx tsx bench/stack-perframe.ts [--width 4000 --height 3000 --frames 6] [--dir bench/out/stack]
//     [--method sigma] [--align star] [--no-seed] [--stack-only] [--number N]
// Frames are 16-bit FITS (both sides read the same files); figures go to stdout.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { writeFits } from '../pipeline/image/fits.js';
import { fixedPatternDarks } from './stack-darks.js';
import { buildCalibration, listImages } from '../pipeline/calib/master.js';
import { LiveStacker, parseMethod, type AlignMode } from '../pipeline/stack/index.js';
import { makeCatalog, renderStarField } from '../pipeline/stack/synth.js';

const { values: a } = parseArgs({
  options: {
    width: { type: 'string', default: '4000' },
    height: { type: 'string', default: '3000' },
    frames: { type: 'string', default: '6' },
    dir: { type: 'string', default: 'bench/out/stack' },
    method: { type: 'string', default: 'sigma' },
    align: { type: 'string', default: 'star' },
    'no-seed': { type: 'boolean', default: false },
    'stack-only': { type: 'boolean', default: false },
    number: { type: 'string' },
  },
});
const W = Number(a.width), H = Number(a.height), N = Number(a.frames);
const dir = resolve(a.dir!);
const lights = join(dir, 'lights'), darks = join(dir, 'darks'), out = join(dir, 'out');

async function generate(): Promise<void> {
  const stamp = join(dir, `.generated-${W}x${H}x${N}`);
  if (existsSync(stamp)) return;
  await rm(dir, { recursive: true, force: true });
  await mkdir(lights, { recursive: true });
  await mkdir(darks, { recursive: true });
  const catalog = makeCatalog(1, Math.round((W * H) / 4000), W, H, 60);
  const dark = fixedPatternDarks(W, H);
  for (let i = 0; i < 3; i++) await writeFits(join(darks, `dark${i}.fits`), dark(100 + i), { bitpix: 16 });
  const base = dark(999);
  for (let i = 0; i < N; i++) {
    const img = renderStarField({ width: W, height: H, catalog, seed: 1000 + i, transform: { dx: 2.5 * i, dy: -1.5 * i, rotDeg: 0.05 * i }, noise: 0.004 });
    for (let k = 0; k < img.data.length; k++) img.data[k] = Math.min(1, img.data[k]! + base.data[k]! - 0.01);
    await writeFits(join(lights, `light${String(i).padStart(4, '0')}.fits`), img, { bitpix: 16, cards: { EXPTIME: 30, 'DATE-OBS': new Date(Date.UTC(2026, 0, 1, 22, 0, 0) + i * 31000).toISOString().replace('Z', '') } });
  }
  await mkdir(stamp);
}

const cpuTimes: number[] = [];

async function stackSkyrig(): Promise<number[]> {
  await rm(out, { recursive: true, force: true });
  const tCal = performance.now();
  const calibration = await buildCalibration({ darks });
  const calMs = performance.now() - tCal;
  const st = new LiveStacker({ outDir: out, methods: parseMethod(a.method!), align: a.align as AlignMode });
  let files = await listImages(lights);
  if (a.number) files = files.slice(-Number(a.number));
  st.opts.calibration = calibration;
  const times: number[] = [];
  console.log(`skyrig: master dark from 3 darks in ${(calMs / 1000).toFixed(2)} s`);
  for (const f of files) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = await st.push(f);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    times.push(ms);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    const parts = Object.entries(r.ms).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`).join(', ');
    const mu = process.memoryUsage();
    if (process.env.SKYRIG_BENCH_MEM) console.log(`mem rss ${(mu.rss / 2 ** 20).toFixed(0)} heap ${(mu.heapUsed / 2 ** 20).toFixed(0)} ext ${(mu.external / 2 ** 20).toFixed(0)} arrays ${(mu.arrayBuffers / 2 ** 20).toFixed(0)}`);
    console.log(`skyrig ${r.path.split('/').pop()}: ${(ms / 1000).toFixed(2)} s (cpu ${(cpuTimes[cpuTimes.length - 1]! / 1000).toFixed(2)} s; ${parts}) ${r.accepted ? `stars ${r.stars} shift ${r.shift.toFixed(2)} residual ${r.residual.toFixed(3)}` : r.reason}`);
  }
  await st.finish();
  return times;
}

function stats(t: number[]): string {
  const s = [...t].sort((x, y) => x - y);
  const mean = t.reduce((x, y) => x + y, 0) / t.length;
  return `mean ${(mean / 1000).toFixed(2)} s, median ${(s[s.length >> 1]! / 1000).toFixed(2)} s over ${t.length} frames`;
}

// As `skyrig stack` does: no libvips operation cache in a process that only ever sees new images.
sharp.cache(false);
await generate();
const ours = await stackSkyrig();
// Frame 1 is the reference (no alignment); report frames 2..N.
const oursAligned = ours.slice(1);
console.log(`\nskyrig (${a.method}, align ${a.align}) per frame: ${stats(oursAligned)}; cpu ${stats(cpuTimes.slice(1))}`);
const mem = process.memoryUsage();
console.log(`skyrig process: rss ${(mem.rss / 2 ** 20).toFixed(0)} MB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB, arrays ${(mem.arrayBuffers / 2 ** 20).toFixed(0)} MB`);
if (!a['no-seed'] && !a['stack-only']) {
  const py = execFileSync('/usr/bin/python3', [resolve(import.meta.dirname, 'stack_seed_opencv.py'), lights, darks, join(dir, 'seed-out')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  process.stdout.write(py);
  const seedTimes = [...py.matchAll(/^seed .*?: ([\d.]+) s/gm)].map((m) => Number(m[1]) * 1000).slice(1);
  const seedCpu = [...py.matchAll(/^seed .*?cpu ([\d.]+) s/gm)].map((m) => Number(m[1]) * 1000).slice(1);
  console.log(`\nside by side, ${W}×${H} 16-bit mono, frames 2..${N} (wall clock; cpu = user+system of the process):`);
  console.log(`  skyrig ${a.method}/${a.align}: ${stats(oursAligned)}; cpu ${stats(cpuTimes.slice(1))}`);
  console.log(`  seed ECC homography + ADDCOMP (python3-opencv): ${stats(seedTimes)}; cpu ${stats(seedCpu)}`);
}
