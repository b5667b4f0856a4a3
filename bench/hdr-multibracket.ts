// Calibration from one bracket vs several on the synthetic all-sky set (3 brackets × 6 exposures of a
// known radiance map): merged ln-radiance RMSE per channel (against the known radiance, the first
// bracket merged), and the curve's error against the true g.
// Run: npx tsx bench/hdr-multibracket.ts '[["default",{}],["debevec",{"ripple":0}]]'
// Env: SEEDS=3,5 sample seeds (each variant runs once per seed); SHIFT=1 gives each bracket its own
// ladder (×1, ×1.6, ×2.5); WEIGHTING=noise merges with inverse-variance weights; DUMP=1 prints
// g − g_true at a few codes; TRUEG=1 merges with the true curve; EVAL=all scores each curve on the merge
// of every bracket (not only the first, which a single-bracket curve was fitted to); HELDOUT=K adds K
// brackets of fresh noise used only for scoring with EVAL=heldout.
// Per seed it prints the three single-bracket results, all three together, the best single per
// channel, and all − best (≤ 0 on every channel is "three at least as good as the best single").
import { mkdir } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { calibrateResponse, findBrackets, mergeBracket, type CalibrateOptions } from '../pipeline/hdr/index.js';
import { readFits } from '../pipeline/image/fits.js';
import { makeScene, renderFrame, cameraCurve } from '../pipeline/hdr/synth.js';

const TIMES = [1 / 1024, 1 / 256, 1 / 64, 1 / 16, 1 / 4, 1];
const dir = mkdtempSync(join(tmpdir(), 'hdrmb-'));
const scene = makeScene(192, 128);
const NB = process.env.HELDOUT ? 3 + Number(process.env.HELDOUT) : 3;
for (let b = 0; b < NB; b++) {
  await mkdir(join(dir, 'in'), { recursive: true });
  // SHIFT=1: each bracket's ladder starts a different fraction of a stop up (auto-exposure over a night).
  const shift = process.env.SHIFT ? [1, 1.6, 2.5, 1.3, 2][b % 5]! : 1;
  for (let j = 0; j < TIMES.length; j++) {
    const t = Math.round(TIMES[j]! * shift * 1e6) / 1e6;
    const codes = renderFrame(scene, t, { seed: (b + 1) * 100 + j });
    await sharp(Buffer.from(codes), { raw: { width: 192, height: 128, channels: 3 } }).png().toFile(join(dir, 'in', `2025060112${b}000_${Math.round(t * 1e6)}.png`));
  }
}
const brackets = await findBrackets(join(dir, 'in'), { roundS: 30 });

function lnRmse(est: Float32Array): number[] {
  const truth = scene.radiance;
  const out: number[] = [];
  for (let c = 0; c < 3; c++) {
    let s = 0, s2 = 0, n = 0;
    for (let i = c; i < truth.length; i += 3) {
      const d = Math.log(Math.max(1e-30, est[i]!)) - Math.log(truth[i]!);
      s += d; s2 += d * d; n++;
    }
    out.push(Math.sqrt(s2 / n - (s / n) ** 2));
  }
  return out;
}
// True g(z): ln X where cameraCurve(X) = z/255 (bisection), relative to g(128).
function trueG(): Float64Array {
  const g = new Float64Array(256);
  for (let z = 1; z < 255; z++) {
    let lo = 1e-9, hi = 1;
    for (let k = 0; k < 100; k++) { const m = Math.sqrt(lo * hi); if (255 * cameraCurve(m) < z) lo = m; else hi = m; }
    g[z] = Math.log(Math.sqrt(lo * hi));
  }
  const a = g[128]!;
  for (let z = 0; z < 256; z++) g[z] -= a;
  return g;
}
const gt = trueG();
let k = 0;
async function run(sel: number[], opts: CalibrateOptions = {}, weighting: 'hat' | 'noise' = 'hat'): Promise<{ rmse: number[]; gerr: number[] }> {
  const cal = await calibrateResponse(sel.map((i) => brackets[i]!), { samples: 1000, ...opts });
  const evalOn = process.env.EVAL === 'all' ? brackets.map((_, i) => i) : process.env.EVAL === 'heldout' ? brackets.map((_, i) => i).filter((i) => i >= 3) : [0];
  const rmse = [0, 0, 0];
  for (const e of evalOn) {
    const res = await mergeBracket(brackets[e]!.frames, join(dir, 'out', `${k++}_hdr`), { response: cal.response, formats: ['fits'], weighting });
    const r = lnRmse((await readFits(res.outputs.fits!)).image.data);
    for (let c = 0; c < 3; c++) rmse[c] += r[c]! / evalOn.length;
  }
  const gerr: number[] = [];
  for (let c = 0; c < 3; c++) {
    let s2 = 0, n = 0;
    for (let z = 20; z < 240; z++) { const d = cal.response.g[z * 3 + c]! - gt[z]!; s2 += d * d; n++; }
    gerr.push(Math.sqrt(s2 / n));
  }
  return { rmse, gerr };
}
const fmt = (v: number[]) => v.map((x) => x.toFixed(4)).join(' ');
const sgn = (v: number[]) => v.map((x) => (x >= 0 ? '+' : '') + x.toFixed(4)).join(' ');
const variants: [string, CalibrateOptions][] = JSON.parse(process.argv[2] ?? '[["default", {}]]');
const weighting = (process.env.WEIGHTING ?? 'hat') as 'hat' | 'noise';
const seeds = (process.env.SEEDS ?? '3,5').split(',').map(Number);
console.log(`ladders: ${process.env.SHIFT ? 'different (×1, ×1.6, ×2.5)' : 'identical'}; merge weights: ${weighting}; seeds ${seeds.join(', ')}`);
for (const [name, opts] of variants) {
  let met = 0;
  const worst = [-Infinity, -Infinity, -Infinity];
  for (const seed of seeds) {
    const o = { seed, ...opts };
    const singles = [await run([0], o, weighting), await run([1], o, weighting), await run([2], o, weighting)];
    const all = await run([0, 1, 2], o, weighting);
    const min = [0, 1, 2].map((c) => Math.min(...singles.map((s) => s.rmse[c]!)));
    const mean = [0, 1, 2].map((c) => singles.reduce((a, s) => a + s.rmse[c]!, 0) / 3);
    const gap = all.rmse.map((v, c) => v - min[c]!);
    gap.forEach((g, c) => (worst[c] = Math.max(worst[c]!, g)));
    if (gap.every((g) => g <= 0)) met++;
    console.log(`${name} seed ${seed}: singles ${singles.map((s) => fmt(s.rmse)).join(' | ')}  all ${fmt(all.rmse)}  best single ${fmt(min)}  mean single ${fmt(mean)}  all − best ${sgn(gap)}`);
    if (process.env.GERR) console.log(`   g err (codes 20..239): singles ${singles.map((s) => fmt(s.gerr)).join(' | ')}  all ${fmt(all.gerr)}`);
  }
  console.log(`${name}: three ≤ best single on every channel for ${met} of ${seeds.length} seeds; worst all − best ${sgn(worst)}`);
}
if (process.env.DUMP) {
  for (const sel of [[0], [1], [2], [0, 1, 2]]) {
    const cal = await calibrateResponse(sel.map((i) => brackets[i]!), { samples: 1000, seed: 3 });
    const row = [10, 20, 30, 50, 80, 110, 128, 150, 180, 210, 240, 248].map((z) => (cal.response.g[z * 3]! - gt[z]!).toFixed(3));
    console.log(`${sel.join('')}: ${row.join(' ')}`);
  }
}
if (process.env.TRUEG) {
  const g = new Float32Array(256 * 3);
  for (let z = 0; z < 256; z++) for (let c = 0; c < 3; c++) g[z * 3 + c] = z === 0 ? gt[1]! - 1 : z === 255 ? gt[254]! + 0.01 : gt[z]!;
  for (const weighting of ['hat', 'noise'] as const) {
    const res = await mergeBracket(brackets[0]!.frames, join(dir, 'out', `true_${weighting}_hdr`), { response: { channels: 3, g, metadata: { lowClip: 5, highClip: 250, weight: 'triangle' } }, formats: ['fits'], weighting });
    console.log(`true g, ${weighting}: ${fmt(lnRmse((await readFits(res.outputs.fits!)).image.data))}`);
  }
}
rmSync(dir, { recursive: true, force: true });
