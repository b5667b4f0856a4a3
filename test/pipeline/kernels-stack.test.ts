// The live stack's SIMD WebAssembly kernels (pipeline/kernels/stack-wasm.ts) against their plain-TS
// references, bit for bit on 1, 2 and 3 threads: the 16-bit FITS decode (calib/load.ts), the dark
// subtraction (calib/apply.ts), the warp (align/warp.ts) fused with the sigma accumulator
// (methods.ts) through the warm-up, its leave-one-out test and the warm-up plane's release; and whole
// stacks of FITS frames giving identical products with either path.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFrame } from '../../pipeline/calib/load.js';
import { buildCalibration, buildMaster } from '../../pipeline/calib/master.js';
import { writeFits } from '../../pipeline/image/fits.js';
import { createImage, type ImageF32 } from '../../pipeline/image/types.js';
import { createStackKernels } from '../../pipeline/kernels/stack-wasm.js';
import { kernelModule, kernelUnavailable } from '../../pipeline/kernels/wasm.js';
import { invert, type Mat3 } from '../../pipeline/stack/align/transform.js';
import { warpBilinear } from '../../pipeline/stack/align/warp.js';
import { LiveStacker } from '../../pipeline/stack/index.js';
import { createAccumulator } from '../../pipeline/stack/methods.js';
import { autoStretch, autoStretchBytes } from '../../pipeline/stack/stretch.js';
import { plotFrameMetrics, plotFrameMetricsBytes } from '../../pipeline/stack/metrics-plot.js';
import { toUint8 } from '../../pipeline/image/write.js';
import { backgroundRow, backgroundRowLookup, estimateBackground } from '../../pipeline/stars/background.js';
import { gaussianRng, makeCatalog, mulberry32, renderStarField } from '../../pipeline/stack/synth.js';
import { tempDir } from '../helpers/tmp.js';

test('the stack kernel module loads (SIMD and shared memory available)', (t) => {
  t.truthy(kernelModule('stack'), `stack.wasm did not load: ${kernelUnavailable('stack')}`);
});

function bitsEqual(a: Float32Array, b: Float32Array): number {
  const ia = new Int32Array(a.buffer, a.byteOffset, a.length);
  const ib = new Int32Array(b.buffer, b.byteOffset, b.length);
  let bad = 0;
  // NaN payloads may differ; a NaN must be a NaN on both sides.
  for (let i = 0; i < a.length; i++) if (ia[i] !== ib[i] && !(a[i] !== a[i] && b[i] !== b[i])) bad++;
  return bad;
}

for (const threads of [1, 2, 3]) {
  test(`16-bit FITS decode and dark subtraction equal the TS reference bit for bit (${threads} thread(s))`, async (t) => {
    const dir = await tempDir(t);
    const w = 1003, h = 201; // odd width: vectors end mid-row; 3 bands of a chunk on 3 threads
    const img = createImage(w, h, 1, 16);
    const r = mulberry32(threads);
    for (let i = 0; i < img.data.length; i++) img.data[i] = Math.round(r() * 65535) / 65535;
    const path = join(dir, 'f.fits');
    await writeFits(path, img, { bitpix: 16 });
    const js = await loadFrame(path);
    const k = createStackKernels({ width: w, height: h, dark: Float32Array.from({ length: w * h }, () => r() * 0.1), threads })!;
    t.teardown(() => k.close());
    const wasm = await loadFrame(path, { fits16: (p, hd) => k.readFits16(p, hd.dataOffset, hd.scale, hd.zero) });
    t.is(wasm.image.data, k.frame);
    t.is(bitsEqual(wasm.image.data, js.image.data), 0);
    const ref = Float32Array.from(js.image.data);
    for (let i = 0; i < ref.length; i++) ref[i] -= k.dark![i]!; // calibrate's loop
    await k.subtractDark();
    t.is(bitsEqual(k.frame, ref), 0);
    // A truncated data unit is refused naming the file.
    const bytes = await readFile(path);
    const cut = join(dir, 'cut.fits');
    await (await import('node:fs/promises')).writeFile(cut, bytes.subarray(0, bytes.length - 4000));
    await t.throwsAsync(loadFrame(cut, { fits16: (p, hd) => k.readFits16(p, hd.dataOffset, hd.scale, hd.zero) }), { message: /cut\.fits.*truncated/ });
  });

  for (const warmup of [3, 4]) test(`warp + sigma clipping equals warpBilinear + the sigma accumulator bit for bit, warm-up ${warmup}${warmup > 3 ? ' (plane H and its release)' : ' (leave-one-out from M, M2)'} (${threads} thread(s))`, async (t) => {
    const w = 61, h = 47;
    const len = w * h;
    const k = createStackKernels({ width: w, height: h, sigma: true, sigmaH: warmup > 3, threads })!;
    t.teardown(() => k.close());
    const ref = createAccumulator('sigma', len, 1, { kappa: 2.5, warmup });
    const fast = createAccumulator('sigma', len, 1, { kappa: 2.5, warmup, planes: k.sigma! });
    const g = gaussianRng(7 + threads);
    let rejectedTotal = 0;
    for (let f = 0; f < 9; f++) {
      const src: ImageF32 = { width: w, height: h, channels: 1, bitDepth: 32, data: new Float32Array(len) };
      for (let i = 0; i < len; i++) src.data[i] = 0.1 + 0.02 * g() + (i % 97 === f ? 0.8 : 0); // outliers that move
      for (let i = 0; i < 40; i++) src.data[(f * 131 + i * 7) % len] = NaN; // no-data pixels
      // Rotation + shift (affine), a pure shift, and the identity (the reference frame).
      const a = (f % 3) * 0.01, dx = f % 3 === 1 ? 1.37 : -2.25 * f, dy = 0.6 * f;
      const frameToRef: Mat3 = Float64Array.of(Math.cos(a), -Math.sin(a), dx, Math.sin(a), Math.cos(a), dy, 0, 0, 1);
      const identity = f === 0 || f === 4;
      const refToFrame = identity ? null : invert(frameToRef);
      const info = { background: [0.1], noise: [0.02], offset: [f === 0 ? 0 : 0.001 * f] };
      const warped = refToFrame ? warpBilinear(src, refToFrame).data : src.data;
      const expect = ref.push(warped, info);
      k.frame.set(src.data);
      const got = await fast.pushExternal!((useH, warm, kappa) => k.warpSigma({ refToFrame, kappa, warm, useH, noise: 0.02, offset: info.offset[0]! }));
      t.is(got, expect, `rejected values, frame ${f}`);
      rejectedTotal += got;
      for (const name of ['M', 'M2', 'N', 'H'] as const) {
        t.is(name in fast.buffers, name in ref.buffers, `${name} kept alike, frame ${f}`);
        if (ref.buffers[name] && fast.buffers[name]) t.is(bitsEqual(fast.buffers[name]!, ref.buffers[name]!), 0, `${name} after frame ${f}`);
      }
    }
    t.true(rejectedTotal > 0, 'the outliers were rejected');
    t.false('H' in fast.buffers, 'no warm-up plane after warm-up + 3 frames');
    t.is(fast.buffers.M, k.sigma!.M, 'the kernels\' planes were used');
  });
}

for (const n of [4, 5]) {
  test(`the master dark's median of ${n} 16-bit FITS equals the plain-TS master bit for bit (1 and 3 threads, small strips)`, async (t) => {
    const dir = await tempDir(t);
    const w = 1001, h = 67;
    const r = mulberry32(n);
    const paths: string[] = [];
    for (let i = 0; i < n; i++) {
      const img = createImage(w, h, 1, 16);
      for (let k = 0; k < img.data.length; k++) img.data[k] = Math.round((0.01 + 0.02 * r() + (k % 501 === i ? 0.5 : 0)) * 65535) / 65535;
      paths.push(join(dir, `d${i}.fits`));
      await writeFits(paths[i]!, img, { bitpix: 16, cards: { EXPTIME: 30 + i } });
    }
    const ref = await buildMaster(paths, dir, { threads: 0 });
    for (const threads of [1, 3]) {
      const m = await buildMaster(paths, dir, { threads, stripBytes: 400_000 }); // strips of 11 rows: 3 bands on 3 threads
      t.is(bitsEqual(m.image.data, ref.image.data), 0, `${threads} thread(s)`);
      t.is(m.exposureS, ref.exposureS);
      t.is(m.count, n);
    }
  });
}

test('the preview stretch straight to bytes equals autoStretch then toUint8, byte for byte (NaN, sums above 1, downscaled)', (t) => {
  const g = gaussianRng(3);
  for (const [w, h, top, maxSize] of [[301, 203, 1, 0], [640, 480, 3.5, 300], [801, 401, 1, 500], [1001, 600, 2.2, 600]] as const) {
    const img: ImageF32 = { width: w, height: h, channels: 1, bitDepth: 32, data: Float32Array.from({ length: w * h }, (_, i) => (i % 53 === 0 ? NaN : Math.abs(0.1 + 0.03 * g()) * top)) };
    const a = toUint8(autoStretch(img, { maxSize }));
    const b = autoStretchBytes(img, { maxSize });
    t.true(b.data.equals(a), `${w}×${h}`);
  }
});

test('the per-frame plot drawn a panel at a time to bytes equals the float plot through toUint8', (t) => {
  const records = Array.from({ length: 12 }, (_, k) => ({ seq: k + 1, accepted: k !== 4, status: k === 4 ? 'rejected' : 'accepted', hfr: 1.5 + 0.1 * Math.sin(k), fwhm: 2.5, stars: 300 - k, background: 0.05 + 0.001 * k, signal: 1 - 0.01 * k })) as unknown as Parameters<typeof plotFrameMetrics>[0];
  t.true(plotFrameMetricsBytes(records).data.equals(toUint8(plotFrameMetrics(records))));
});

test('star detection\'s sparse background lookup equals backgroundRow at every pixel and its row minimum bounds it', (t) => {
  const w = 700, h = 300;
  const g = gaussianRng(5);
  const img: ImageF32 = { width: w, height: h, channels: 1, bitDepth: 32, data: Float32Array.from({ length: w * h }, (_, i) => 0.05 + 0.03 * ((i % w) / w) + 0.02 * (Math.floor(i / w) / h) + 0.003 * g()) };
  const grid = estimateBackground(img, 64);
  const row = new Float32Array(w);
  let bad = 0;
  for (let y = 0; y < h; y++) {
    backgroundRow(grid, y, w, row);
    const l = backgroundRowLookup(grid, y);
    for (let x = 0; x < w; x++) if (l.at(x) !== row[x] || !(l.min <= row[x]!)) bad++;
  }
  t.is(bad, 0);
});

test('whole stacks of 16-bit FITS with darks give identical products with the TS path and the kernels on 1 and 3 threads', async (t) => {
  const dir = await tempDir(t);
  const w = 320, h = 240;
  const lights = join(dir, 'lights'), darks = join(dir, 'darks');
  await (await import('node:fs/promises')).mkdir(lights);
  await (await import('node:fs/promises')).mkdir(darks);
  const catalog = makeCatalog(3, 120, w, h, 30);
  for (let i = 0; i < 3; i++) await writeFits(join(darks, `d${i}.fits`), renderStarField({ width: w, height: h, catalog: [], seed: 50 + i, background: 0.01, noise: 0.002, quantize: 16 }), { bitpix: 16 });
  for (let i = 0; i < 6; i++) {
    const img = renderStarField({ width: w, height: h, catalog, seed: 10 + i, transform: { dx: 1.3 * i, dy: -0.7 * i, rotDeg: 0.1 * i }, quantize: 16,
      trail: i === 4 ? { x0: 0, y0: 20, x1: w, y1: 200, value: 0.3 } : undefined });
    await writeFits(join(lights, `l${i}.fits`), img, { bitpix: 16, cards: { EXPTIME: 30 } });
  }
  const products: Record<string, { fits: Buffer; rejected: number[]; fused: boolean }> = {};
  for (const [label, opts] of [['js', { kernels: 'js' as const }], ['wasm1', { threads: 1 }], ['wasm3', { threads: 3 }]] as const) {
    const out = join(dir, label);
    const st = new LiveStacker({ outDir: out, methods: ['sigma'], calibration: await buildCalibration({ darks }), ...opts });
    const rejected: number[] = [];
    for (let i = 0; i < 6; i++) rejected.push((await st.push(join(lights, `l${i}.fits`))).rejectedPixels);
    await st.finish();
    await st.close();
    t.is(st.count, 6, label);
    // The fused kernel path reports no separate warp time.
    products[label] = { fits: await readFile(join(out, 'stack.fits')), rejected: st.results.map((r) => r.rejectedPixels), fused: st.results.every((r) => r.ms.warp === 0) };
  }
  t.true(products.js!.rejected.some((n) => n > 100), 'the trail was rejected');
  t.false(products.js!.fused);
  for (const label of ['wasm1', 'wasm3']) {
    t.true(products[label]!.fused, `${label} took the kernels' path`);
    t.deepEqual(products[label]!.rejected, products.js!.rejected, label);
    t.true(products[label]!.fits.equals(products.js!.fits), `${label}: stack.fits identical`);
  }
});
