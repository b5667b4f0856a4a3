import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile, readdir, stat, truncate } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { readFits } from '../../pipeline/image/fits.js';
import {
  calibrateResponse,
  findBrackets,
  globalRange,
  isStrictlyIncreasing,
  mergeAll,
  mergeBracket,
  noiseWeights,
  responseChannel,
  saveResponse,
  type CameraResponse,
} from '../../pipeline/hdr/index.js';
import { decodeNpy } from '../../pipeline/image/npy.js';
import { makeScene, renderFrame, type SynthScene } from '../../pipeline/hdr/synth.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const TIMES = [1 / 1024, 1 / 256, 1 / 64, 1 / 16, 1 / 4, 1];

async function writeFrame(path: string, scene: SynthScene, codes: Uint8Array): Promise<void> {
  const s = sharp(Buffer.from(codes), { raw: { width: scene.width, height: scene.height, channels: 3 } });
  await (path.endsWith('.jpg') ? s.jpeg({ quality: 95 }) : s.png()).toFile(path);
}

async function writeBracket(dir: string, stamp: string, scene: SynthScene, times = TIMES, ext = 'png', seed = 1): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let j = 0; j < times.length; j++) {
    const p = join(dir, `${stamp}_${Math.round(times[j]! * 1e6)}.${ext}`);
    await writeFrame(p, scene, renderFrame(scene, times[j]!, { seed: seed * 100 + j }));
    paths.push(p);
  }
  return paths;
}

/** RMSE of ln radiance vs truth after removing one offset per channel. */
function lnRmse(est: Float32Array, truth: Float32Array, channels: number, isLn: boolean): number[] {
  const out: number[] = [];
  for (let c = 0; c < channels; c++) {
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (let i = c; i < truth.length; i += channels) {
      const d = (isLn ? est[i]! : Math.log(Math.max(1e-30, est[i]!))) - Math.log(truth[i]!);
      s += d;
      s2 += d * d;
      n++;
    }
    out.push(Math.sqrt(s2 / n - (s / n) ** 2));
  }
  return out;
}

test('synthetic bracket: merged ln radiance RMSE no worse than OpenCV CalibrateDebevec+MergeDebevec; response monotonic', async (t) => {
  const py = requireCommand('/usr/bin/python3', 'python3-opencv');
  const dir = await tempDir(t);
  const scene = makeScene(192, 128);
  // Three brackets of the same scene (different noise) for calibration; merge the first.
  const paths = await writeBracket(join(dir, 'in'), '20250601120000', scene, TIMES, 'png', 1);
  await writeBracket(join(dir, 'in'), '20250601120100', scene, TIMES, 'png', 2);
  await writeBracket(join(dir, 'in'), '20250601120200', scene, TIMES, 'png', 3);
  const brackets = await findBrackets(join(dir, 'in'), { roundS: 30 });
  t.is(brackets.length, 3);
  brackets[0]!.frames.forEach((f, j) => t.true(Math.abs(f.exposureS - Math.round(TIMES[j]! * 1e6) / 1e6) < 1e-12));
  const cal = await calibrateResponse(brackets, { samples: 1000, seed: 3 });
  t.deepEqual(cal.used.length, 3);
  for (let c = 0; c < 3; c++) t.true(isStrictlyIncreasing(responseChannel(cal.response, c)), `channel ${c} monotonic`);
  const res = await mergeBracket(brackets[0]!.frames, join(dir, 'out', 'a_hdr'), { response: cal.response, formats: ['fits', 'jpg', 'png16', 'hdr'] });
  const fits = await readFits(res.outputs.fits!);
  const ours = lnRmse(fits.image.data, scene.radiance, 3, false);
  execFileSync(py, [join(repoRoot, 'bench/hdr_opencv.py'), 'quality', join(dir, 'cv.npy'), ...TIMES.map(String), '--', ...paths]);
  const cvArr = decodeNpy(await readFile(join(dir, 'cv.npy')));
  t.is(cvArr.dtype, '<f4');
  const cv = lnRmse((cvArr as { data: Float32Array }).data, scene.radiance, 3, true);
  t.log(`ln RMSE ours ${ours.map((v) => v.toFixed(4)).join(' ')}  opencv ${cv.map((v) => v.toFixed(4)).join(' ')}`);
  for (let c = 0; c < 3; c++) t.true(ours[c]! <= cv[c]!, `channel ${c}: ours ${ours[c]} vs OpenCV ${cv[c]}`);
  t.true(ours.every((v) => v < 0.1));
  // Products exist and are readable; lnE range reported.
  const jpg = await sharp(res.outputs.jpg!).metadata();
  t.is(jpg.width, 192);
  const png = await sharp(res.outputs.png16!).metadata();
  t.is(png.depth, 'ushort');
  t.true((await stat(res.outputs.hdr!)).size > 1000);
  t.true(res.lnE![1] > res.lnE![0]);
  const cvHdr = execFileSync(py, ['-c', `import cv2; im=cv2.imread('${res.outputs.hdr}', cv2.IMREAD_ANYDEPTH|cv2.IMREAD_COLOR); print(im.shape, im.dtype)`], { encoding: 'utf8' });
  t.is(cvHdr.trim(), '(128, 192, 3) float32');
  const [lo, hi] = globalRange(cal.response, brackets);
  t.true(lo < res.lnE![0] + 1e-3 && hi > res.lnE![1] - 1e-3);
});

test('noise weights are 1/g′(z)² inside the clips: a gamma-2.2 curve weighs code 200 four times code 100', (t) => {
  const g = new Float32Array(256);
  for (let z = 0; z < 256; z++) g[z] = 2.2 * Math.log(Math.max(1, z) / 128);
  const w = noiseWeights({ channels: 1, g, metadata: {} } as unknown as CameraResponse, 0, { kind: 'triangle', lowClip: 5, highClip: 250 });
  // g′(z) = 2.2/z (central difference over ±2 codes: within 0.1 % at z ≥ 100) → w ∝ z².
  t.true(Math.abs(w[200]! / w[100]! - 4) < 0.01, `ratio ${w[200]! / w[100]!}`);
  t.is(w[5], 0);
  t.is(w[250], 0);
  t.true(Math.abs(Math.max(...w) - 127.5) < 1e-9);
});

/** Three brackets of one scene (own noise each) in `dir`/in; ladders scaled per bracket by `shifts`. */
async function threeBrackets(dir: string, scene: SynthScene, shifts = [1, 1, 1]) {
  for (let b = 0; b < 3; b++) {
    const times = TIMES.map((x) => Math.round(x * shifts[b]! * 1e6) / 1e6);
    await writeBracket(join(dir, 'in'), `2025060112${b}000`, scene, times, 'png', b + 1);
  }
  const brackets = await findBrackets(join(dir, 'in'), { roundS: 30 });
  if (brackets.length !== 3) throw new Error(`expected 3 brackets, found ${brackets.length}`);
  let k = 0;
  /** ln-radiance RMSE per channel of the first bracket merged with a response calibrated from `sel`. */
  return async (sel: number[], opts: { seed: number; smoothness?: number; ripple?: number; samples?: number }, weighting: 'hat' | 'noise' = 'hat') => {
    const cal = await calibrateResponse(sel.map((i) => brackets[i]!), { samples: 1000, ...opts });
    const res = await mergeBracket(brackets[0]!.frames, join(dir, 'out', `${k++}_hdr`), { response: cal.response, formats: ['fits'], weighting });
    return lnRmse((await readFits(res.outputs.fits!)).image.data, scene.radiance, 3, false);
  };
}
const f4 = (v: number[]) => v.map((x) => x.toFixed(4)).join(' / ');

test('one exposure ladder: the ripple rows make one bracket and three better than Debevec\'s objective, three on the singles\' mean; noise weights ≤ 0.040', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(192, 128);
  const rmseOf = await threeBrackets(dir, scene);
  for (const seed of [3, 5]) {
    const singles = [await rmseOf([0], { seed }), await rmseOf([1], { seed }), await rmseOf([2], { seed })];
    const all = await rmseOf([0, 1, 2], { seed });
    const debevecSingles = [await rmseOf([0], { seed, ripple: 0 }), await rmseOf([1], { seed, ripple: 0 }), await rmseOf([2], { seed, ripple: 0 })];
    const debevecAll = await rmseOf([0, 1, 2], { seed, ripple: 0 });
    t.log(`seed ${seed}: singles ${singles.map(f4).join(' | ')}, all three ${f4(all)}; μ 0 (Debevec): singles ${debevecSingles.map(f4).join(' | ')}, all three ${f4(debevecAll)}`);
    for (let c = 0; c < 3; c++) {
      const best = Math.min(...singles.map((s) => s[c]!));
      const mean = (singles[0]![c]! + singles[1]![c]! + singles[2]![c]!) / 3;
      const debevecBest = Math.min(...debevecSingles.map((s) => s[c]!));
      // One bracket is no worse (better) with the ripple rows than with Debevec's objective.
      for (let b = 0; b < 3; b++) t.true(singles[b]![c]! <= debevecSingles[b]![c]!, `seed ${seed} channel ${c} bracket ${b}: ${singles[b]![c]} vs μ 0 ${debevecSingles[b]![c]}`);
      // Three brackets: better than every single bracket calibrated with Debevec's objective, and
      // than three with it (the ripple λ 50 left: 0.062 / 0.062 / 0.066 at seed 3).
      t.true(all[c]! <= debevecBest, `seed ${seed} channel ${c}: three ${all[c]} vs best μ-0 single ${debevecBest}`);
      t.true(all[c]! <= debevecAll[c]! - 0.002, `seed ${seed} channel ${c}: three ${all[c]} vs three with μ 0 ${debevecAll[c]}`);
      // Against singles calibrated the same way, one ladder gives three brackets no information one
      // lacks: they land on the singles' mean, and the luckiest single is better by ≤ 0.0003 (measured
      // on seeds 3, 5, 9, 11; docs/hdr.md). "≤ the best single" is therefore not asserted strictly.
      t.true(all[c]! <= mean + 0.0003, `seed ${seed} channel ${c}: three ${all[c]} vs single mean ${mean}`);
      t.true(all[c]! <= best + 0.0004, `seed ${seed} channel ${c}: three ${all[c]} vs best single ${best}`);
    }
  }
  // More samples of one bracket do not fit the noise (λ and μ scale with √samples).
  const s1000 = await rmseOf([0], { seed: 3 });
  const s3000 = await rmseOf([0], { seed: 3, samples: 3000 });
  t.log(`bracket 0, 1000 samples ${f4(s1000)}, 3000 samples ${f4(s3000)}`);
  for (let c = 0; c < 3; c++) t.true(s3000[c]! <= s1000[c]! + 0.0002, `channel ${c}: 3000 samples ${s3000[c]} vs 1000 ${s1000[c]}`);
  const noise = await rmseOf([0, 1, 2], { seed: 3, smoothness: 150 }, 'noise');
  const noiseDefault = await rmseOf([0, 1, 2], { seed: 3 }, 'noise');
  t.log(`noise weights, three brackets: λ 150 ${f4(noise)}, default ${f4(noiseDefault)}`);
  for (let c = 0; c < 3; c++) {
    t.true(noise[c]! <= 0.04, `channel ${c}: ${noise[c]}`);
    t.true(noiseDefault[c]! <= 0.032, `channel ${c}: default calibration, noise weights ${noiseDefault[c]}`);
  }
});

test('brackets with different exposure ladders (auto exposure over a night): with Debevec\'s objective three calibrate better than the best single one', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(192, 128);
  // Each bracket's ladder starts a fraction of a stop higher, as an all-sky camera's auto exposure
  // moves it through the night; this breaks the exposure-ratio ambiguity one ladder leaves open.
  const rmseOf = await threeBrackets(dir, scene, [1, 1.6, 2.5]);
  const opts = { seed: 3, ripple: 0 };
  const singles = [await rmseOf([0], opts), await rmseOf([1], opts), await rmseOf([2], opts)];
  const all = await rmseOf([0, 1, 2], opts);
  const allDefault = await rmseOf([0, 1, 2], { seed: 3 });
  const ownLadder = await rmseOf([0], { seed: 3 });
  t.log(`μ 0: singles ${singles.map(f4).join(' | ')}, all three ${f4(all)}; default: all three ${f4(allDefault)}, the merged bracket alone ${f4(ownLadder)}`);
  for (let c = 0; c < 3; c++) {
    const best = Math.min(...singles.map((s) => s[c]!));
    t.true(all[c]! <= best, `channel ${c}: three brackets ${all[c]} vs best single ${best}`);
    // The ripple rows reach the same level from any ladder mix (0.0572 / 0.0597 / 0.0643); the merged
    // bracket's own ladder alone is ≤ 0.0008 better (its ladder's merge bias is in its curve).
    t.true(allDefault[c]! <= all[c]! + 0.0002, `channel ${c}: default three ${allDefault[c]} vs μ 0 three ${all[c]}`);
    t.true(allDefault[c]! <= ownLadder[c]! + 0.001, `channel ${c}: default three ${allDefault[c]} vs the merged bracket alone ${ownLadder[c]}`);
  }
});

test('pixels saturated in every exposure take the shortest exposure estimate; dark ones the longest', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(64, 32, { lnMin: -2, lnMax: 12 }); // right side burns out even at 1/1024
  await writeBracket(join(dir, 'in'), '20250601120000', scene, [1 / 1024, 1 / 64, 1], 'png');
  const [b] = await findBrackets(join(dir, 'in'));
  const g = Float32Array.from({ length: 256 * 3 }, (_, i) => Math.log((Math.floor(i / 3) + 0.5) / 128.5));
  const response: CameraResponse = { channels: 3, g, metadata: {} };
  const res = await mergeBracket(b!.frames, join(dir, 'o'), { response, formats: ['fits'] });
  const img = (await readFits(res.outputs.fits!)).image;
  t.true(res.saturatedFraction > 0.05);
  // Rightmost column: all exposures clipped → g(255) − ln(1/1024)
  const expected = Math.exp(g[255 * 3]! - Math.log(1 / 1024));
  const v = img.data[(10 * 64 + 63) * 3]!;
  t.true(Math.abs(Math.log(v / expected)) < 1e-3, `${v} vs ${expected}`);
  for (const x of img.data) t.true(Number.isFinite(x) && x > 0);
});

test('Mertens fusion: strip-wise result equals whole-image fusion; output in range', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(160, 150);
  await writeBracket(join(dir, 'in'), '20250601120000', scene, [1 / 256, 1 / 16, 1], 'png');
  const [b] = await findBrackets(join(dir, 'in'));
  const { fuseTiles, mertensGeometry } = await import('../../pipeline/hdr/mertens.js');
  const geo = mertensGeometry(160, 150, 3);
  t.is(geo.levels, 3);
  const res = await mergeBracket(b!.frames, join(dir, 'o', 'm'), { algorithm: 'mertens', formats: ['fits', 'jpg'], levels: 3 });
  const strip = (await readFits(res.outputs.fits!)).image;
  const { readImage } = await import('../../pipeline/image/read.js');
  const tiles = [];
  for (const f of b!.frames) {
    const im = await readImage(f.path);
    tiles.push({ w: im.width, h: im.height, c: 3, data: im.data });
  }
  const whole = fuseTiles(tiles, 3);
  let maxDiff = 0;
  for (let i = 0; i < whole.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole.data[i]! - strip.data[i]!));
  t.true(maxDiff < 1e-4, `max diff strip vs whole ${maxDiff}`);
  let mean = 0;
  for (const v of strip.data) mean += v;
  mean /= strip.data.length;
  t.true(mean > 0.2 && mean < 0.8, `mean ${mean}`);
});

test('bad input: each broken bracket fails with one line naming it, the others are merged; rerun resumes', async (t) => {
  const dir = await tempDir(t);
  const inDir = join(dir, 'in', '2025', '06', '01', '12');
  const scene = makeScene(48, 32);
  const small = makeScene(40, 32);
  await writeBracket(inDir, '20250601120000', scene, [1 / 256, 1 / 16, 1]); // good
  await writeBracket(inDir, '20250601120100', scene, [1 / 256, 1 / 16]); // good
  const bad = await writeBracket(inDir, '20250601120200', scene, [1 / 256, 1 / 16, 1], 'jpg'); // truncated
  await truncate(bad[1]!, 300);
  await writeBracket(inDir, '20250601120300', scene, [1 / 256]); // single exposure
  await writeBracket(inDir, '20250601120400', scene, [1 / 256, 1 / 16]);
  await writeFrame(join(inDir, '20250601120405_62500.png'), small, renderFrame(small, 1 / 16)); // size mismatch... duplicate time too
  await writeBracket(inDir, '20250601120500', scene, [1 / 256, 1 / 16]);
  await writeFrame(join(inDir, '20250601120500_250000.png'), small, renderFrame(small, 1 / 4)); // size mismatch
  const brackets = await findBrackets(join(dir, 'in'));
  t.is(brackets.length, 6);
  const g = Float32Array.from({ length: 256 }, (_, z) => Math.log((z + 0.5) / 128.5));
  const response: CameraResponse = { channels: 1, g, metadata: {} };
  const out = join(dir, 'out');
  const lines: string[] = [];
  const sum = await mergeAll(brackets, out, { response, formats: ['hdr', 'jpg'], workers: 2, onBracket: (_id, s, d) => s === 'failed' && lines.push(d!) });
  t.is(sum.done, 2);
  t.is(sum.failed.length, 4);
  for (const l of lines) t.false(l.includes('\n'));
  t.true(lines.some((l) => l.includes('20250601120200') && /truncat|cannot|ended|premature|corrupt/i.test(l)), lines.join(' | '));
  t.true(lines.some((l) => /single exposure/.test(l)));
  t.true(lines.some((l) => /duplicate exposure time/.test(l)));
  t.true(lines.some((l) => l.includes('20250601120500_250000.png') && /size/.test(l)));
  const outFiles = await readdir(join(out, '2025', '06', '01', '12'));
  t.deepEqual(outFiles.sort(), ['20250601120000_hdr.hdr', '20250601120000_hdr.jpg', '20250601120100_hdr.hdr', '20250601120100_hdr.jpg']);
  const again = await mergeAll(brackets, out, { response, formats: ['hdr', 'jpg'] });
  t.is(again.skipped, 2);
  t.is(again.done, 0);
  // Unwritable output folder (a file where a folder should be): every bracket fails naming it.
  await writeFile(join(dir, 'blocker'), 'x');
  const blocked = await mergeAll(brackets.slice(0, 1), join(dir, 'blocker'), { response, formats: ['jpg'] });
  t.is(blocked.failed.length, 1);
  t.regex(blocked.failed[0]!.error, /20250601120000.*(ENOTDIR|not a directory)/i);
});

test('calibration writes an npz that round-trips and reports skipped brackets', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(64, 48);
  await writeBracket(join(dir, 'in'), '20250601120000', scene, [1 / 256, 1 / 32, 1 / 4, 1]);
  await writeBracket(join(dir, 'in'), '20250601120100', scene, [1 / 256]);
  const brackets = await findBrackets(join(dir, 'in'));
  const cal = await calibrateResponse(brackets, { samples: 300, technique: 'histogram', weights: { kind: 'sine', lowClip: 5, highClip: 250 } });
  t.is(cal.skipped.length, 1);
  t.regex(cal.skipped[0]!.error, /single exposure/);
  t.is(cal.response.metadata.technique, 'histogram');
  t.true([0, 1, 2].every((c) => isStrictlyIncreasing(responseChannel(cal.response, c))));
  await saveResponse(join(dir, 'r.npz'), cal.response);
  t.true((await stat(join(dir, 'r.npz'))).size > 3000);
});
