// The SIMD WebAssembly pyramid kernels (pipeline/kernels/assembly/pyramid.ts) against their plain-TS
// references. Tolerances (all values are in 0..1):
// - reduce / expand: within 1e-6 of pipeline/focus/pyramid.ts reduce/expandInto and
//   pipeline/hdr/pyramid.ts pyrDown/pyrUp (f32 sums against the references' f64 sums rounded to f32);
// - Mertens weights: within 1e-5 relative of fusionWeights (grey and contrast bit-exact, exp and the
//   rest in f32 lanes);
// - Mertens fusion end to end: within 2e-6 of the plain-TS fusion, and bit-identical at 1, 2 and 3
//   threads (tiles of any width stitch exactly: same arithmetic in SIMD lanes and tails);
// - Mertens JPEG samples (mertensBytes): byte for byte floatToPnm's, and the JPEG written from them
//   equals the one written through the sink's float path;
// - focus PyramidFuser: bit-identical at 1, 2 and 3 threads; against the plain-TS fuser ≥ 99.9 % of
//   samples within 1e-5 (the rest are pixels where two frames' energies tie to within f32 rounding
//   and either frame's coefficient is a valid pick), and the stacked 8-bit images ≥ 50 dB apart.
import test from 'ava';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseStackOptions } from '../../agent/cli/commands/focus.js';
import { DEFAULT_STACK, stackFiles } from '../../pipeline/focus/stack.js';
import { expandInto, genKernel, PyramidFuser, reduce, type Plane as FocusPlane } from '../../pipeline/focus/pyramid.js';
import { findBrackets, mergeBracket } from '../../pipeline/hdr/index.js';
import { fusionWeights, mergeMertens, mertensKernelBudgetMB, mertensKernelGeometry, type MertensWeights } from '../../pipeline/hdr/mertens.js';
import { pyrDown, pyrUp } from '../../pipeline/hdr/pyramid.js';
import { makeScene, renderFrame } from '../../pipeline/hdr/synth.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';
import { readFits } from '../../pipeline/image/fits.js';
import { floatToPnm } from '../../pipeline/image/pnm.js';
import { readFile } from 'node:fs/promises';
import { defaultIo, type HdrIo } from '../../pipeline/hdr/io.js';
import { createFocusPyramidKernels } from '../../pipeline/kernels/focus-pyramid-wasm.js';
import { kernelArena, kernelModule, kernelUnavailable } from '../../pipeline/kernels/wasm.js';
import { psnr, readRgb, synthBracket, writeRgbPng } from './focus-helpers.js';
import { tempDir } from '../helpers/tmp.js';

interface Exports {
  reduceRows(src: number, w: number, h: number, dst: number, y0: number, y1: number, k0: number, k1: number, k2: number, rb: number): void;
  expandAddRows(src: number, sw: number, sh: number, out: number, w: number, y0: number, y1: number, k0: number, k1: number, k2: number, sign: number, rb: number): void;
  mertensWeights(p: number, w: number, h: number, c: number, gray: number, out: number, unit: number, pc: number, ps: number, pe: number): void;
  mertensBytes(src: number, n: number, dst: number): void;
}

/** A fresh instance with `sizes` f32 regions laid out; returns their views. */
function instance(sizes: number[]): { ex: Exports; at: number[]; view: (k: number) => Float32Array } {
  const arena = kernelArena('pyramid');
  if (!arena) throw new Error(`pyramid.wasm: ${kernelUnavailable('pyramid')}`);
  const at = sizes.map((n) => arena.take(n * 4));
  const made = arena.instantiate<Exports>()!;
  return { ex: made.exports, at, view: (k) => new Float32Array(made.memory.buffer, at[k]!, sizes[k]!) };
}

function random(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r());
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('the pyramid module loads (SIMD and shared memory available here)', (t) => {
  t.truthy(kernelModule('pyramid'), kernelUnavailable('pyramid') ?? '');
});

const SIZES: Array<[number, number]> = [[37, 23], [64, 48], [1, 5], [5, 1], [2, 2], [131, 9]];

test('reduce and expand equal the focus and Mertens references within 1e-6, in any row split', (t) => {
  for (const [w, h] of SIZES) {
    const w2 = (w + 1) >> 1;
    const h2 = (h + 1) >> 1;
    const src = random(w * h, w * 31 + h);
    const rbLen = w + 96;
    const { ex, at, view } = instance([w * h, w2 * h2, w * h, rbLen]);
    view(0).set(src);
    for (const [name, k, ref, refUp] of [
      ['focus a=0.4', genKernel(0.4), (p: FocusPlane) => reduce(p, genKernel(0.4), 32).data, (s: FocusPlane, out: Float32Array) => expandInto(s, w, h, genKernel(0.4), out, -1, 32)],
      ['Mertens', [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16], (p: FocusPlane) => pyrDown({ ...p, data: p.data as Float32Array }).data, (s: FocusPlane, out: Float32Array) => {
        const up = pyrUp({ ...s, data: s.data as Float32Array }, w, h).data;
        for (let i = 0; i < out.length; i++) out[i] = out[i]! - up[i]!;
      }],
    ] as const) {
      const mid = h2 >> 1;
      ex.reduceRows(at[0]!, w, h, at[1]!, 0, mid, k[0]!, k[1]!, k[2]!, at[3]! + 16);
      ex.reduceRows(at[0]!, w, h, at[1]!, mid, h2, k[0]!, k[1]!, k[2]!, at[3]! + 16);
      const want = ref({ w, h, c: 1, data: src });
      t.true(maxAbs(view(1), want) <= 1e-6, `${name} reduce ${w}×${h}: ${maxAbs(view(1), want)}`);
      // Laplacian step: src − expand(reduced), into a copy of src.
      view(2).set(src);
      const hm = h >> 1;
      ex.expandAddRows(at[1]!, w2, h2, at[2]!, w, 0, hm, k[0]!, k[1]!, k[2]!, -1, at[3]! + 16);
      ex.expandAddRows(at[1]!, w2, h2, at[2]!, w, hm, h, k[0]!, k[1]!, k[2]!, -1, at[3]! + 16);
      const lap = Float32Array.from(src);
      refUp({ w: w2, h: h2, c: 1, data: Float32Array.from(view(1)) }, lap);
      t.true(maxAbs(view(2), lap) <= 1e-6, `${name} expand ${w}×${h}: ${maxAbs(view(2), lap)}`);
    }
  }
});

test('Mertens weights equal fusionWeights within 1e-5 relative (unit and other powers, RGB and mono)', (t) => {
  for (const [c, mw] of [
    [3, { contrast: 1, saturation: 1, exposedness: 1 }],
    [3, { contrast: 0.5, saturation: 2, exposedness: 1.5 }],
    [1, { contrast: 1, saturation: 1, exposedness: 1 }],
  ] as Array<[number, MertensWeights]>) {
    const w = 45;
    const h = 17;
    const n = w * h;
    // Smooth gradients with noise: contrast from tiny to large, some flat patches (contrast 0).
    const r = mulberry32(5 + c);
    const inter = new Float32Array(n * c);
    // Rows 0..5: grey pixels (R = G = B) with contrast — saturation exactly 0 in the reference.
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const grey = Math.round(r() * 255) / 255;
        for (let k = 0; k < c; k++) inter[(y * w + x) * c + k] = y < 6 ? grey : x < 8 ? 0.5 : Math.min(1, (x / w) * 0.8 + k * 0.1 + r() * 0.05);
      }
    }
    const want = fusionWeights({ w, h, c, data: inter }, mw);
    const { ex, at, view } = instance([n * c, n, n]);
    const planar = view(0);
    for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) planar[k * n + i] = inter[i * c + k]!;
    const unit = mw.contrast === 1 && mw.saturation === 1 && mw.exposedness === 1 ? 1 : 0;
    ex.mertensWeights(at[0]!, w, h, c, at[1]!, at[2]!, unit, mw.contrast, mw.saturation, mw.exposedness);
    const got = view(2);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1e-12, Math.abs(want[i]!)));
    t.log(`c=${c}: worst relative ${worst}`);
    t.true(worst <= 1e-5, `c=${c} powers ${JSON.stringify(mw)}: worst relative ${worst}`);
  }
});

test('Mertens fusion with the WASM kernels equals the plain-TS fusion within 2e-6, bit-identical at 1, 2 and 3 threads', async (t) => {
  const dir = await tempDir(t);
  const W = 300;
  const H = 170;
  const scene = makeScene(W, H);
  for (const time of [1 / 256, 1 / 16, 1]) {
    const codes = renderFrame(scene, time, { seed: 3 });
    await sharp(Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength), { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(dir, `20250601120000_${Math.round(time * 1e6)}.png`));
  }
  const [b] = await findBrackets(dir);
  const ref = await mergeBracket(b!.frames, join(dir, 'o', 'js'), { algorithm: 'mertens', formats: ['fits'], kernels: 'js', levels: 4 });
  t.is(ref.kernels, 'js');
  const want = (await readFits(ref.outputs.fits!)).image.data;
  let first: Float32Array | null = null;
  for (const threads of [1, 2, 3]) {
    const r = await mergeBracket(b!.frames, join(dir, 'o', `w${threads}`), { algorithm: 'mertens', formats: ['fits'], threads, levels: 4 });
    t.is(r.kernels, 'wasm');
    t.is(r.threads, threads);
    const got = (await readFits(r.outputs.fits!)).image.data;
    t.log(`${threads} threads: max |Δ| ${maxAbs(got, want)}`);
    t.true(maxAbs(got, want) <= 2e-6, `${threads} threads: max |Δ| ${maxAbs(got, want)}`);
    if (first) t.is(maxAbs(got, first), 0, `${threads} threads differ from 1`);
    else first = Float32Array.from(got);
  }
});

test('8-bit codes to values: the f32 division code / 255 the tiles use equals code · (1/255) rounded to f32 for every code', (t) => {
  for (let c = 0; c < 256; c++) t.is(Math.fround(c / 255), Math.fround(c * (1 / 255)), `code ${c}`);
});

test('mertensBytes equals floatToPnm byte for byte (ends, ties, NaN, ±0, out of range, tails)', (t) => {
  const special = [0, -0, 1, -1, 2, NaN, Infinity, -Infinity, 1e-30, 0.5 / 255, 1.5 / 255, 254.5 / 255, 0.99999994, 127.5 / 255, 1 / 255, 0.5];
  const r = mulberry32(9);
  const n = 4099;
  const src = new Float32Array(n);
  for (let i = 0; i < n; i++) src[i] = i < special.length ? special[i]! : i % 7 === 0 ? Math.round(r() * 255) / 255 + 0.5 / 255 : r() * 1.2 - 0.1;
  const arena = kernelArena('pyramid')!;
  const a = arena.take(n * 4);
  const d = arena.take(n);
  const made = arena.instantiate<Exports>()!;
  new Float32Array(made.memory.buffer, a, n).set(src);
  const want = new Uint8Array(n);
  for (const len of [n, n - 1, n - 2, 3, 1]) {
    new Uint8Array(made.memory.buffer, d, n).fill(7);
    made.exports.mertensBytes(a, len, d);
    floatToPnm(src, len, 1, want);
    t.deepEqual(new Uint8Array(made.memory.buffer, d, len), want.subarray(0, len), `length ${len}`);
  }
});

test('Mertens JPEG from the kernels\' bytes equals the JPEG through the sink\'s float path, at 1 and 2 threads', async (t) => {
  const dir = await tempDir(t);
  const W = 260;
  const H = 150;
  const scene = makeScene(W, H);
  for (const time of [1 / 256, 1 / 16, 1]) {
    const codes = renderFrame(scene, time, { seed: 5 });
    await sharp(Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength), { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(dir, `20250601120000_${Math.round(time * 1e6)}.png`));
  }
  const [b] = await findBrackets(dir);
  // The same kernels, but a sink without writeEncoded: the floats go through floatToPnm.
  const floatIo: HdrIo = {
    openRowSource: (p) => defaultIo.openRowSource(p),
    openRowSink: async (p, o) => {
      const s = await defaultIo.openRowSink(p, o);
      return { writeRows: (d, rows) => s.writeRows(d, rows), finish: () => s.finish(), abort: () => s.abort() };
    },
  };
  const ref = await mergeBracket(b!.frames, join(dir, 'o', 'float'), { algorithm: 'mertens', formats: ['jpg'], threads: 1, levels: 4, io: floatIo });
  const want = await readFile(ref.outputs.jpg!);
  for (const threads of [1, 2]) {
    // With a float output too, the bytes come from the float strip (mertensBytes); JPEG only, the tiles write them.
    for (const formats of [['jpg', 'fits'], ['jpg']] as const) {
      const r = await mergeBracket(b!.frames, join(dir, 'o', `b${threads}${formats.length}`), { algorithm: 'mertens', formats: [...formats], threads, levels: 4 });
      t.is(r.kernels, 'wasm');
      t.true(want.equals(await readFile(r.outputs.jpg!)), `${threads} threads, ${formats.join('+')}: JPEG differs from the float path's`);
    }
  }
  // Many strips and tiles (a small kernel budget), tiles on 2 threads writing bytes.
  const small = await mergeMertens(b!.frames, join(dir, 'o', 'small'), { formats: ['jpg'], threads: 2, levels: 4, kernelBudgetMB: 1.5, kernelTileThreads: 2 });
  t.true(want.equals(await readFile(small.outputs.jpg!)), 'small budget: JPEG differs from the float path');
});

test('Mertens at 24 MP: extra threads would fuse no tiles and make them dearer (smaller windows), so the fusion keeps to one thread', (t) => {
  for (const frames of [3, 9]) {
    const shape = { frames, channels: 3, codeBytes: 1, floats: false };
    const one = mertensKernelGeometry(6000, 4000, { ...shape, threads: 1, budgetBytes: mertensKernelBudgetMB(1) * 2 ** 20 });
    for (const threads of [2, 4]) {
      const g = mertensKernelGeometry(6000, 4000, { ...shape, threads, budgetBytes: mertensKernelBudgetMB(threads) * 2 ** 20 });
      t.is(g.threads, 1, `N=${frames}, ${threads} threads: one tile thread`);
      t.true(one.cost < g.cost, `N=${frames}, ${threads} threads: one thread's tiles cost ${one.cost.toFixed(2)}, ${threads} threads' ${g.cost.toFixed(2)}`);
    }
  }
});

test('Mertens fusion in many strips and tiles (small kernel budgets): Σ weights carried between strips, same result within 2e-6', async (t) => {
  const dir = await tempDir(t);
  const W = 333;
  const H = 260;
  const scene = makeScene(W, H, { lnMin: -1, lnMax: 9 });
  for (const time of [1 / 128, 1 / 8, 1 / 2, 2]) {
    const codes = renderFrame(scene, time, { seed: 4 });
    await sharp(Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength), { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 92 }).toFile(join(dir, `20250601120000_${Math.round(time * 1e6)}.jpg`));
  }
  const [b] = await findBrackets(dir);
  const ref = await mergeBracket(b!.frames, join(dir, 'o', 'js'), { algorithm: 'mertens', formats: ['fits'], kernels: 'js', levels: 3 });
  const want = (await readFits(ref.outputs.fits!)).image.data;
  // 0.9 MB: 24-row strips, 9 tiles; 2.1 MB: 64-row strips whose last window (4 + 32 rows) is shorter
  // than the shift from the one before it, which already reached the bottom; then 2 and 3 tile threads.
  for (const [budgetMB, tileThreads] of [[0.9, undefined], [2.1, undefined], [2.1, 2], [3, 3]] as const) {
    const geo = mertensKernelGeometry(W, H, { levels: 3, frames: 4, channels: 3, codeBytes: 1, threads: 3, budgetBytes: budgetMB * 2 ** 20, ...(tileThreads ? { tileThreads } : {}) });
    t.true(Math.ceil(H / geo.stripRows) >= 3 && geo.tiles >= 2, JSON.stringify(geo));
    t.is(geo.threads, tileThreads ?? 1);
    const r = await mergeMertens(b!.frames, join(dir, 'o', `small${budgetMB}_${tileThreads}`), { formats: ['fits'], threads: 3, levels: 3, kernelBudgetMB: budgetMB, ...(tileThreads ? { kernelTileThreads: tileThreads } : {}) });
    t.is(r.kernels, 'wasm');
    const got = (await readFits(r.outputs.fits!)).image.data;
    t.is(r.saturatedFraction, ref.saturatedFraction);
    t.log(`${budgetMB} MB, ${JSON.stringify(geo)}: max |Δ| ${maxAbs(got, want)}, saturated ${ref.saturatedFraction}`);
    t.true(maxAbs(got, want) <= 2e-6, `${budgetMB} MB: max |Δ| ${maxAbs(got, want)}`);
  }
});

test('focus PyramidFuser with the WASM kernels: bit-identical at 1, 2, 3 threads; ≥ 99.9 % of samples within 1e-5 of the plain-TS fuser', async (t) => {
  const b = synthBracket(133, 97, 4);
  const levels = 3;
  const kernel = genKernel(0.4);
  const ts = new PyramidFuser(levels, kernel, 5, 32);
  for (const f of b.frames) ts.push({ w: b.w, h: b.h, c: 3, data: Float32Array.from(f) });
  const want = ts.result().data;
  let first: Float32Array | null = null;
  for (const threads of [1, 2, 3]) {
    const k = createFocusPyramidKernels({ width: b.w, maxRows: b.h + 5, channels: 3, levels, kernel, kernelSize: 5, threads })!;
    t.truthy(k);
    try {
      // Two bands through the same kernels: the second must not see the first's state.
      for (let pass = 0; pass < 2; pass++) {
        const fuser = k.fuser(b.h);
        for (const f of b.frames) await fuser.push({ w: b.w, h: b.h, c: 3, data: f });
        const got = (await fuser.result()).data as Float32Array;
        let close = 0;
        for (let i = 0; i < got.length; i++) if (Math.abs(got[i]! - want[i]!) <= 1e-5) close++;
        if (pass === 0) t.log(`${threads} threads: ${((close / got.length) * 100).toFixed(3)} % within 1e-5, max |Δ| ${maxAbs(got, want)}`);
        t.true(close / got.length >= 0.999, `${threads} threads: ${((close / got.length) * 100).toFixed(3)} % within 1e-5`);
        if (first) t.is(maxAbs(got, first), 0, `${threads} threads, pass ${pass} differs`);
        else first = Float32Array.from(got);
      }
    } finally {
      await k.close();
    }
  }
});

test('focus stack end to end: WASM kernels on 1 and 2 threads give the same image, ≥ 50 dB from the plain-TS stack', async (t) => {
  const dir = await tempDir(t);
  const b = synthBracket(160, 128, 4);
  const files: string[] = [];
  for (let k = 0; k < 4; k++) {
    files.push(join(dir, `f${k}.png`));
    await writeRgbPng(files[k]!, b.frames[k]!, b.w, b.h);
  }
  const js = await stackFiles(files, join(dir, 'js.png'), { ...DEFAULT_STACK, align: false, kernels: 'js', bandRows: 64 });
  t.is(js.kernels, 'js');
  const ref = (await readRgb(js.outputs[0]!)).data;
  const outs: Buffer[] = [];
  for (const threads of [1, 2]) {
    const r = await stackFiles(files, join(dir, `w${threads}.png`), { ...DEFAULT_STACK, align: false, threads, bandRows: 64 });
    t.is(r.kernels, 'wasm');
    t.is(r.threads, threads);
    t.is(r.bands, 2);
    const got = (await readRgb(r.outputs[0]!)).data;
    const p = psnr(got, ref, b.w, b.h);
    t.log(`${threads} threads: ${p.toFixed(1)} dB from the plain-TS stack`);
    t.true(p >= 50, `${threads} threads: ${p.toFixed(1)} dB from the plain-TS stack`);
    outs.push(got);
  }
  t.true(outs[0]!.equals(outs[1]!));
});

test('focus stack --threads: a whole number 1..64, else one line naming the option', (t) => {
  t.is(parseStackOptions({ threads: '3' }).threads, 3);
  t.is(parseStackOptions({}).threads, undefined);
  t.throws(() => parseStackOptions({ threads: '0' }), { message: /--threads/ });
  t.throws(() => parseStackOptions({ threads: '2.5' }), { message: /--threads/ });
});
