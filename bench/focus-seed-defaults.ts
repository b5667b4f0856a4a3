// PSNR/SSIM against expected.jpg on focus-pcb (768×576, as the test) for shinestacker's depth-map
// defaults, each of their choices swapped for ours, and our preset: the figures in docs/focus.md.
// Run: npx tsx bench/focus-seed-defaults.ts
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_STACK, OURS_DEPTHMAP, stackFiles, type StackOptions } from '../pipeline/focus/stack.js';
import { psnr, readRgb, sharedData, ssim } from '../test/pipeline/focus-helpers.js';

const src = join(sharedData(), 'focus-pcb');
const dir = await mkdtemp(join(tmpdir(), 'fsd-'));
try {
  const names = (await readdir(src)).filter((n) => /^pcb_\d+\.jpg$/.test(n)).sort();
  for (const n of [...names, 'expected.jpg']) await sharp(join(src, n)).resize(768, 576).jpeg({ quality: 95 }).toFile(join(dir, n));
  const exp = await readRgb(join(dir, 'expected.jpg'));
  const files = names.map((n) => join(dir, n));
  const runs: [string, Partial<StackOptions>][] = [
    ['seed (no options)', {}],
    ['seed + map max (T 0)', { map: 'max' }],
    ['seed + map max (T 1000, tenengrad units)', { map: 'max', temperature: 1000 }],
    ['seed + pyramid smooth 7', { pyramidSmoothSize: 7 }],
    ['seed + energy laplacian (no blur)', { energy: 'laplacian', dmBlurSize: 0 }],
    ['seed + energy laplacian (blur 5)', { energy: 'laplacian' }],
    ['seed + weight power 4', { weightPower: 4 }],
    ['seed + Gaussian σ 2', { smoothing: 'gaussian' }],
    ['seed + levels 5', { pyramidLevels: 5 }],
    ['ours (--depthmap-preset ours)', OURS_DEPTHMAP],
    ['pyramid (default algorithm)', { algorithm: 'pyramid' }],
  ];
  for (const [name, o] of runs) {
    const r = await stackFiles(files, join(dir, 'out.png'), { ...DEFAULT_STACK, algorithm: 'depthmap', ...o });
    const out = await readRgb(r.outputs[0]!);
    console.log(`| ${name} | ${psnr(out.data, exp.data, out.w, out.h, 3, 16).toFixed(2)} | ${ssim(out.data, exp.data, out.w, out.h, 3, 16).toFixed(3)} | ${(r.ms / 1000).toFixed(1)} s |`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
