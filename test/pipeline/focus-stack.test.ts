import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFile, readdir, readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { stackFiles, DEFAULT_STACK, OURS_DEPTHMAP, bunches, type StackOptions } from '../../pipeline/focus/stack.js';
import { bilateralPlane } from '../../pipeline/focus/bilateral.js';
import { parseStackOptions, runFocusStack } from '../../agent/cli/commands/focus.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { meanTenengrad, psnr, readRgb, sharedData, ssim, synthBracket, toU8, writeRgbPng, writeSynthBracket } from './focus-helpers.js';

async function writeBracket(dir: string, n = 5, w = 192, h = 160) {
  const { b, files } = await writeSynthBracket(dir, n, w, h);
  return { b, files, truth: toU8(b.truth) };
}

test('synthetic bracket: pyramid and depth-map stacks reach at least enfuse --hard-mask PSNR against the truth', async (t) => {
  const enfuse = requireCommand('enfuse', 'enfuse');
  const dir = await tempDir(t);
  const { b, files, truth } = await writeBracket(dir);
  execFileSync(enfuse, ['--hard-mask', '--exposure-weight=0', '--saturation-weight=0', '--contrast-weight=1', '-o', join(dir, 'enfuse.tif'), ...files], { stdio: 'ignore' });
  const ref = psnr((await readRgb(join(dir, 'enfuse.tif'))).data, truth, b.w, b.h);
  const bestInput = Math.max(...(await Promise.all(files.map(async (f) => psnr((await readRgb(f)).data, truth, b.w, b.h)))));
  const results: Record<string, number> = {};
  for (const [name, o] of [
    ['pyramid', {}],
    ['pyramid-aligned', { align: true }],
    ['depthmap', { algorithm: 'depthmap', ...OURS_DEPTHMAP }],
    ['depthmap-average', { algorithm: 'depthmap', ...OURS_DEPTHMAP, map: 'average' }],
  ] as [string, Partial<StackOptions>][]) {
    const r = await stackFiles(files, join(dir, `${name}.png`), { ...DEFAULT_STACK, align: false, ...o });
    results[name] = psnr((await readRgb(r.outputs[0]!)).data, truth, b.w, b.h);
  }
  t.log(`PSNR vs truth: enfuse ${ref.toFixed(2)} dB, best input ${bestInput.toFixed(2)} dB, ${Object.entries(results).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  for (const [name, v] of Object.entries(results)) t.true(v >= ref, `${name} ${v.toFixed(2)} dB < enfuse ${ref.toFixed(2)} dB`);
  t.true(results.pyramid! > bestInput + 5);
  // shinestacker's defaults and each of their choices swapped for ours (figures in docs/focus.md).
  const seed: Record<string, number> = {};
  for (const [name, o] of [
    ['seed', {}],
    ['seed+max(T 0)', { map: 'max' }],
    ['seed+max(T 1000)', { map: 'max', temperature: 1000 }],
    ['seed+pyramid smooth 7', { pyramidSmoothSize: 7 }],
    ['seed+laplacian', { energy: 'laplacian', dmBlurSize: 0 }],
    ['seed+laplacian blur5', { energy: 'laplacian' }],
    ['seed+power4', { weightPower: 4 }],
    ['seed+gaussian2', { smoothing: 'gaussian' }],
    ['seed+levels5', { pyramidLevels: 5 }],
    ['seed+levels2', { pyramidLevels: 2 }],
  ] as [string, Partial<StackOptions>][]) {
    const r = await stackFiles(files, join(dir, `s${Object.keys(seed).length}.png`), { ...DEFAULT_STACK, algorithm: 'depthmap', align: false, ...o });
    seed[name] = psnr((await readRgb(r.outputs[0]!)).data, truth, b.w, b.h);
  }
  t.log(`PSNR vs truth (seed defaults): ${Object.entries(seed).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  t.true(seed.seed! > bestInput, `seed defaults ${seed.seed} vs best input ${bestInput}`);
});

test('depthmap with no options is shinestacker DepthMapStack; tiling modes, bunch default, --exif none', async (t) => {
  const o = parseStackOptions({ algorithm: 'depthmap' });
  t.like(o, { map: 'average', energy: 'tenengrad', weightPower: 1, temperature: 0, pyramidSmoothSize: 1, pyramidLevels: 4, smoothing: 'bilateral', smoothSize: 1, sigmaColor: 0.8, sigmaSpace: 2, dmKernelSize: 5, dmBlurSize: 5, tiling: 'auto', tileSize: 512, nTiledLayers: 2, overlap: 0 });
  t.like(parseStackOptions({ algorithm: 'depthmap', depthmapPreset: 'ours' }), { map: 'max', energy: 'laplacian', weightPower: 4, temperature: 0, smoothing: 'gaussian', energySmooth: 2, pyramidLevels: 5 });
  t.is(parseStackOptions({ bunch: true }).bunch, 10);
  t.is(parseStackOptions({ exif: 'none' }).exif, null);
  t.throws(() => parseStackOptions({ tiling: 'tiles' }), { message: /--tiling: expected one of auto\|memory\|tiled/ });
  // Bilateral as cv2.bilateralFilter: d = 1 still has radius 1 (the 4-neighbour cross). On rows
  // 0 0 0 1 1, at x = 2: the range 0..1 spans 4096 LUT bins, Δ = 1 reads bin 4096 = exp(−1/(2·0.8²));
  // the space weight at distance 1 is exp(−1/(2·2²)); the centre weighs 1. So
  // out = s·c / (1 + 3s + s·c) with s = e^(−1/8), c = e^(−0.78125) (OpenCV 4.6 gives 0.0997245).
  const plane = Float32Array.from([0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]);
  const sp = Math.exp(-1 / 8), cw = Math.exp(-0.78125);
  const d1 = bilateralPlane(plane, 5, 3, 1, 0.8, 2);
  t.true(Math.abs(d1[2]! - (sp * cw) / (1 + 3 * sp + sp * cw)) < 1e-6, `bilateral d=1 at x=2: ${d1[2]}`);
  t.true(Math.abs(d1[2]! - 0.0997245) < 1e-6);
  const sm = bilateralPlane(plane, 5, 3, 3, 0.1, 2);
  t.true(Math.abs(sm[2]! - 0) < 1e-6 && Math.abs(sm[3]! - 1) < 1e-6, 'edge kept with a small range sigma');
  const dir = await tempDir(t);
  const { files } = await writeBracket(dir, 3, 96, 80);
  const mem = await stackFiles(files, join(dir, 'm.png'), { ...DEFAULT_STACK, algorithm: 'depthmap', align: false, tiling: 'memory' });
  const tiled = await stackFiles(files, join(dir, 't.png'), { ...DEFAULT_STACK, algorithm: 'depthmap', align: false, tiling: 'tiled', tileSize: 32 });
  t.is(mem.bands, 1);
  t.is(tiled.bands, 3);
  const jpgs: string[] = [];
  for (const [i, f] of files.entries()) {
    const p = join(dir, `j${i}.jpg`);
    await sharp(f).withExif({ IFD0: { Make: 'SkyrigTest' } }).jpeg().toFile(p);
    jpgs.push(p);
  }
  const none = await runFocusStack(jpgs, join(dir, 'none.jpg'), { algorithm: 'depthmap', exif: 'none', align: false }, devNull());
  t.falsy((await sharp(none.outputs[0]!).metadata()).exif);
});

test('banded (tiled) stacking matches the whole-frame stack, and float 64 matches float 32', async (t) => {
  const dir = await tempDir(t);
  const { b, files } = await writeBracket(dir, 4, 160, 128);
  const whole = await stackFiles(files, join(dir, 'whole.png'), { ...DEFAULT_STACK, align: false });
  const banded = await stackFiles(files, join(dir, 'banded.png'), { ...DEFAULT_STACK, align: false, bandRows: 32 });
  const f64 = await stackFiles(files, join(dir, 'f64.png'), { ...DEFAULT_STACK, align: false, float: 64 });
  t.is(whole.bands, 1);
  t.is(banded.bands, 4);
  const a = (await readRgb(whole.outputs[0]!)).data;
  t.true(psnr(a, (await readRgb(banded.outputs[0]!)).data, b.w, b.h) > 40);
  t.true(psnr(a, (await readRgb(f64.outputs[0]!)).data, b.w, b.h) > 45);
});

test('focus-pcb: the stack is sharper than every input frame and close to expected.jpg', async (t) => {
  const src = join(sharedData(), 'focus-pcb');
  const dir = await tempDir(t);
  // Half size keeps the test fast; alignment and fusion are the same code as at full size.
  const names = (await readdir(src)).filter((n) => /^pcb_\d+\.jpg$/.test(n)).sort();
  t.is(names.length, 7);
  for (const n of [...names, 'expected.jpg']) await sharp(join(src, n)).resize(768, 576).jpeg({ quality: 95 }).toFile(join(dir, n === 'expected.jpg' ? 'expected.ref.jpg' : n));
  const files = names.map((n) => join(dir, n));
  const r = await stackFiles(files, join(dir, 'stack.jpg'), { ...DEFAULT_STACK });
  const out = await readRgb(r.outputs[0]!);
  const exp = await readRgb(join(dir, 'expected.ref.jpg'));
  const ten = meanTenengrad(out.data, out.w, out.h);
  const inputs = await Promise.all(files.map(async (f) => { const d = await readRgb(f); return { ten: meanTenengrad(d.data, d.w, d.h), psnr: psnr(d.data, exp.data, d.w, d.h, 3, 16) }; }));
  const p = psnr(out.data, exp.data, out.w, out.h, 3, 16);
  const s = ssim(out.data, exp.data, out.w, out.h, 3, 16);
  t.log(`pcb 768×576: Tenengrad stack ${ten.toFixed(4)} vs inputs max ${Math.max(...inputs.map((i) => i.ten)).toFixed(4)}; vs expected.jpg PSNR ${p.toFixed(2)} dB SSIM ${s.toFixed(3)} (best input PSNR ${Math.max(...inputs.map((i) => i.psnr)).toFixed(2)} dB); ${(r.ms / 1000).toFixed(1)} s`);
  for (const i of inputs) t.true(ten > i.ten);
  t.true(p > 26, `PSNR ${p}`);
  t.true(s > 0.8, `SSIM ${s}`);
  t.true(p > Math.max(...inputs.map((i) => i.psnr)) + 5);
});

test('bunches, prefix, depth map and EXIF of the first frame', async (t) => {
  const dir = await tempDir(t);
  const { files } = await writeBracket(dir, 5, 96, 80);
  // JPEG frames with EXIF, to check it is carried over.
  const jpgs: string[] = [];
  for (const [i, f] of files.entries()) {
    const p = join(dir, `j${i}.jpg`);
    await sharp(f).withExif({ IFD0: { Make: 'SkyrigTest', Model: 'Rail' } }).jpeg().toFile(p);
    jpgs.push(p);
  }
  t.deepEqual(bunches([1, 2, 3, 4, 5], 3, 1), [[1, 2, 3], [3, 4, 5]]);
  const r = await runFocusStack(jpgs, join(dir, 'out.jpg'), { bunch: '3', overlap: '1', prefix: 'fs_', algorithm: 'depthmap', depthMap: join(dir, 'depth.png'), align: false }, devNull());
  t.deepEqual(r.outputs.map((p) => p.slice(dir.length + 1)), ['fs_out_0000.jpg', 'fs_out_0001.jpg']);
  const meta = await sharp(r.outputs[0]!).metadata();
  t.truthy(meta.exif);
  t.true(meta.exif!.includes(Buffer.from('SkyrigTest')));
  t.true((await stat(join(dir, 'depth.png'))).size > 0);
  const single = await runFocusStack(jpgs.slice(0, 3), join(dir, 'one.jpg'), { sharpen: '80', sharpenRadius: '1.5', denoise: '2', align: false }, devNull());
  t.deepEqual(single.outputs, [join(dir, 'one.jpg')]);
});

test('bad input: different sizes, a single frame, a corrupt file, bad options → one line naming the file or option', async (t) => {
  const dir = await tempDir(t);
  const { files } = await writeBracket(dir, 3, 64, 48);
  await sharp(files[0]!).resize(50, 40).toFile(join(dir, 'small.png'));
  const e1 = await t.throwsAsync(stackFiles([files[0]!, join(dir, 'small.png')], join(dir, 'o.jpg'), DEFAULT_STACK));
  t.regex(e1.message, /small\.png: size 50×40 differs/);
  const e2 = await t.throwsAsync(stackFiles([files[0]!], join(dir, 'o.jpg'), DEFAULT_STACK));
  t.regex(e2.message, /f0\.png: a single frame/);
  const bad = join(dir, 'bad.png');
  await copyFile(files[1]!, bad);
  const buf = (await import('node:fs')).readFileSync(bad);
  await writeFile(bad, buf.subarray(0, Math.floor(buf.length / 2)));
  const e3 = await t.throwsAsync(stackFiles([files[0]!, bad, files[2]!], join(dir, 'o.jpg'), DEFAULT_STACK));
  t.regex(e3.message, /bad\.png: cannot/);
  t.false(e3.message.includes('\n'));
  await t.throwsAsync(runFocusStack(files, join(dir, 'o.jpg'), { kernelSize: '4' }, devNull()), { message: /--kernel-size/ });
  await t.throwsAsync(runFocusStack(files, join(dir, 'o.jpg'), { bunch: '3', overlap: '3' }, devNull()), { message: /--overlap/ });
  await t.throwsAsync(runFocusStack(files, join(dir, 'o.bmp'), {}, devNull()), { message: /--out: unsupported/ });
  const left = await readdir(dir);
  t.false(left.some((n) => n.startsWith('o.')), 'no partial output');
});

function devNull(): NodeJS.WriteStream {
  return { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
}

test('depth-map weights follow shinestacker\'s rules per pixel: average E/ΣE (0 where ΣE = 0), soft max exp(p·(E − Emax)/T), hard max ties shared, in frame units', async (t) => {
  const { shineEnergy } = await import('../../pipeline/focus/shine-energy.js');
  const dir = await tempDir(t);
  const w = 32, h = 24;
  const b = synthBracket(w, h, 2);
  const files: string[] = [];
  const grey: Float32Array[] = [];
  for (let k = 0; k < 2; k++) {
    // Equal channels, so OpenCV's gray is the 8-bit value itself (4899 + 9617 + 1868 = 2¹⁴).
    const g = new Float32Array(w * h);
    const rgb = new Float32Array(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      g[i] = Math.round(b.frames[k]![i * 3 + 1]! * 255);
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = g[i]! / 255;
    }
    grey.push(g);
    files.push(join(dir, `g${k}.png`));
    await writeRgbPng(files[k]!, rgb, w, h);
  }
  // Energies in 8-bit units, never rescaled (checked against OpenCV in the next test).
  const E = grey.map((g) => shineEnergy(g, w, h, 'tenengrad', { blurSize: 5, kernelSize: 5 }));
  const base = { ...DEFAULT_STACK, algorithm: 'depthmap' as const, align: false, pyramidLevels: 0, smoothSize: 0 };
  const check = async (name: string, o: Partial<StackOptions>, weight: (e0: number, e1: number) => [number, number]) => {
    const r = await stackFiles(files, join(dir, `${name}.png`), { ...base, ...o });
    const out = (await readRgb(r.outputs[0]!)).data;
    let worst = 0;
    for (let i = 0; i < w * h; i++) {
      const [w0, w1] = weight(E[0]![i]!, E[1]![i]!);
      // shinestacker writes clip(result·255).astype(uint8): truncation.
      const want = Math.floor(w0 * grey[0]![i]! + w1 * grey[1]![i]! + 1e-9);
      worst = Math.max(worst, Math.abs(out[i * 3]! - want));
    }
    t.true(worst <= 1, `${name}: worst pixel off by ${worst.toFixed(2)} codes`);
    return out;
  };
  let flat = 0;
  for (let i = 0; i < w * h; i++) if (E[0]![i] === 0 && E[1]![i] === 0) flat++;
  const avg = await check('average', {}, (a, c) => (a + c > 0 ? [a / (a + c), c / (a + c)] : [0, 0]));
  if (flat > 0) t.log(`${flat} pixels with tenengrad ≤ 5 in both frames are black, as shinestacker leaves them`);
  t.true(avg.length > 0);
  await check('average-p2', { weightPower: 2 }, (a, c) => (a + c > 0 ? [a * a / (a * a + c * c), c * c / (a * a + c * c)] : [0, 0]));
  // T in tenengrad units (8-bit gray²): 2000 blends edges of similar strength, not unlike ones.
  await check('softmax', { map: 'max', temperature: 2000, weightPower: 2 }, (a, c) => {
    const m = Math.max(a, c);
    const x = Math.exp((2 * (a - m)) / 2000), y = Math.exp((2 * (c - m)) / 2000);
    return [x / (x + y), y / (x + y)];
  });
  await check('hard', { map: 'max' }, (a, c) => (a > c ? [1, 0] : a < c ? [0, 1] : [0.5, 0.5]));
  await check('hard-T-below-1e-4', { map: 'max', temperature: 5e-5 }, (a, c) => (a > c ? [1, 0] : a < c ? [0, 1] : [0.5, 0.5]));
});

test('shinestacker energies and bilateral smoothing equal OpenCV\'s on the same gray frame (python3-opencv)', async (t) => {
  const py = requireCommand('/usr/bin/python3', 'python3-opencv');
  const { grayNative, shineEnergy } = await import('../../pipeline/focus/shine-energy.js');
  const dir = await tempDir(t);
  const w = 37, h = 23;
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rgb = Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rnd() * 256));
  await writeFile(join(dir, 'rgb.bin'), rgb);
  const script = [
    'import cv2, numpy as np, sys',
    `img = np.fromfile(sys.argv[1], np.uint8).reshape(${h}, ${w}, 3)[:, :, ::-1].copy()`,
    'gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)',
    'gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3); gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)',
    'ten = gx * gx + gy * gy; ten = np.where(ten > 5, ten, 0).astype(np.float32)',
    'lap = np.abs(cv2.Laplacian(cv2.GaussianBlur(gray, (5, 5), 0), cv2.CV_32F, ksize=5))',
    'lap3 = np.abs(cv2.Laplacian(cv2.GaussianBlur(gray, (3, 3), 0), cv2.CV_32F, ksize=3))',
    'm = cv2.boxFilter(gray, -1, (5, 5)); var = cv2.boxFilter(gray ** 2, -1, (5, 5)) - m ** 2',
    'sob = np.abs(gx) + np.abs(gy)',
    'b1 = cv2.bilateralFilter(ten, 1, 0.8, 2); b7 = cv2.bilateralFilter(lap, 7, 25, 8)',
    'np.concatenate([a.ravel() for a in (gray, ten, lap, lap3, var, sob, b1, b7)]).astype(np.float32).tofile(sys.argv[2])',
  ].join('\n');
  execFileSync(py, ['-c', script, join(dir, 'rgb.bin'), join(dir, 'cv.bin')]);
  const buf = await readFile(join(dir, 'cv.bin'));
  const cv = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const gray = grayNative({ w, h, c: 3, data: Float32Array.from(rgb, (v) => v / 255) }, 255);
  const ours = [
    gray,
    shineEnergy(gray, w, h, 'tenengrad', { blurSize: 5, kernelSize: 5 }),
    shineEnergy(gray, w, h, 'laplacian', { blurSize: 5, kernelSize: 5 }),
    shineEnergy(gray, w, h, 'laplacian', { blurSize: 3, kernelSize: 3 }),
    shineEnergy(gray, w, h, 'variance', { blurSize: 5, kernelSize: 5 }),
    shineEnergy(gray, w, h, 'modified-laplacian', { blurSize: 5, kernelSize: 5 }),
  ];
  ours.push(bilateralPlane(ours[1]!, w, h, 1, 0.8, 2), bilateralPlane(ours[2]!, w, h, 7, 25, 8));
  const names = ['gray', 'tenengrad', 'laplacian 5/5', 'laplacian 3/3', 'variance', 'modified-laplacian', 'bilateral 1/0.8/2', 'bilateral 7/25/8'];
  const n = w * h;
  names.forEach((name, k) => {
    let worst = 0, peak = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(ours[k]![i]! - cv[k * n + i]!));
      peak = Math.max(peak, Math.abs(cv[k * n + i]!));
    }
    // float32 arithmetic in a different order: within a few ulps of the largest value.
    t.true(worst <= 1e-6 * peak, `${name}: worst |Δ| ${worst} (peak ${peak})`);
  });
});

test('depth map by hand: 8-bit step edges give tenengrad 1600 and 16 (threshold 5 in gray²), ties split equally, output truncated', async (t) => {
  const dir = await tempDir(t);
  const w = 8, h = 6;
  // Frame A: columns 0–3 at 100, 4–7 at 110; frame B: 100 | 101. Sobel x on a vertical step of s
  // levels is 4s (1·s + 2·s + 1·s) in the two columns beside it, so tenengrad is 1600 in A and 16 in
  // B there, 0 elsewhere (no gradient).
  const frame = (left: number, right: number) => Float32Array.from({ length: w * h * 3 }, (_, i) => ((i / 3) % w < 4 ? left : right) / 255);
  const files = [join(dir, 'a.png'), join(dir, 'b.png')];
  await writeRgbPng(files[0]!, frame(100, 110), w, h);
  await writeRgbPng(files[1]!, frame(100, 101), w, h);
  const base = { ...DEFAULT_STACK, algorithm: 'depthmap' as const, align: false, pyramidLevels: 0, smoothSize: 0 };
  const px = async (name: string, o: Partial<StackOptions>) => {
    const r = await stackFiles(files, join(dir, `${name}.png`), { ...base, ...o });
    const d = (await readRgb(r.outputs[0]!)).data;
    return (x: number) => d[(2 * w + x) * 3]!;
  };
  // average: column 4 = (1600·110 + 16·101) / 1616 = 109.91 → 109 (truncated); column 3 = 100;
  // columns 0–2 and 5–7 have E = 0 in both frames: weight 0, black.
  const avg = await px('avg', {});
  t.deepEqual([avg(0), avg(3), avg(4), avg(7)], [0, 100, 109, 0]);
  // hard max: column 4 takes A (110); the flat columns tie (0 = 0) and take the mean of A and B:
  // (100 + 100)/2 = 100 on the left, (110 + 101)/2 = 105.5 → 105 on the right.
  const hard = await px('hard', { map: 'max' });
  t.deepEqual([hard(0), hard(3), hard(4), hard(7)], [100, 100, 110, 105]);
  // The same through a 2-level pyramid: a tie region far from the edge stays the tied mean.
  const hardPyr = await px('hardpyr', { map: 'max', pyramidLevels: 2 });
  t.true(Math.abs(hardPyr(7) - 105) <= 1, `pyramid tie ${hardPyr(7)}`);
});
