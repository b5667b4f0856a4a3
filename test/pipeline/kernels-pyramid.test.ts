// The SIMD WebAssembly pyramid kernels (pipeline/kernels/assembly/pyramid.ts) against their plain-TS
// references. Tolerances (all values are in 0..1):
// - reduce / expand: within 1e-6 of pipeline/focus/pyramid.ts reduce/expandInto and
//   pipeline/hdr/pyramid.ts pyrDown/pyrUp (f32 sums against the references' f64 sums rounded to f32);
// - Mertens weights: within 1e-5 relative of fusionWeights (grey and contrast bit-exact — tested alone
//   on short, narrow and wide planes —, the rest in f32 lanes; the well-exposedness exp by a degree-5
//   fit within 8e-7 relative of Math.exp on its inputs [−9.375, 0], tested alone);
// - Mertens fusion end to end: within 2e-6 of the plain-TS fusion (so every 8-bit sample within ±1 of
//   the reference's and ≤ 0.1 % of them differ — asserted too), and bit-identical at 1, 2 and 3
//   threads (tiles of any width stitch exactly: same arithmetic in SIMD lanes and tails);
// - Mertens JPEG samples (mertensBytes): byte for byte floatToPnm's, and the JPEG written from them
//   equals the one written through the sink's float path;
// - focus PyramidFuser: bit-identical at 1, 2 and 3 threads; against the plain-TS fuser ≥ 99.9 % of
//   samples within 1e-5 (the rest are pixels where two frames' energies tie to within f32 rounding
//   and either frame's coefficient is a valid pick), and the stacked 8-bit images ≥ 50 dB apart;
// - focus codes in, samples out: codes → f32 planes bit for bit frame-store.ts codesToPlane (every
//   8- and 16-bit code), planes → samples byte for byte image/pnm.ts floatToPnm; a fuser fed codes
//   equals one fed the same frames as floats, bit for bit.
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
import { codesToPlane } from '../../pipeline/focus/frame-store.js';
import { alignedSource, readAlignedTile } from '../../pipeline/focus/frames.js';
import type { Affine } from '../../pipeline/focus/align.js';
import { createFocusPyramidKernels } from '../../pipeline/kernels/focus-pyramid-wasm.js';
import { kernelArena, kernelModule, kernelUnavailable } from '../../pipeline/kernels/wasm.js';
import { psnr, readRgb, synthBracket, writeRgbPng } from './focus-helpers.js';
import { tempDir } from '../helpers/tmp.js';

interface Exports {
  reduceRows(src: number, w: number, h: number, dst: number, y0: number, y1: number, k0: number, k1: number, k2: number, rb: number): void;
  expandAddRows(src: number, sw: number, sh: number, out: number, w: number, y0: number, y1: number, k0: number, k1: number, k2: number, sign: number, rb: number): void;
  mertensWeights(p: number, w: number, h: number, c: number, gray: number, out: number, unit: number, pc: number, ps: number, pe: number): void;
  mertensBytes(src: number, n: number, dst: number): void;
  mertensExpWell(src: number, n: number, dst: number): void;
  focusCodesToPlanes(codes: number, wide: number, W: number, C: number, y0: number, y1: number, dst: number, n: number): void;
  focusPlanesToSamples(src: number, n: number, W: number, C: number, origin: number, y0: number, y1: number, mode: number, out: number): void;
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

/** The 8-bit samples (floatToPnm's, as the JPEG gets them) of two fusions: how many differ, and by how much at most. */
function sampleDiff(a: Float32Array, b: Float32Array): { differ: number; max: number } {
  const x = new Uint8Array(a.length);
  const y = new Uint8Array(b.length);
  floatToPnm(a, a.length, 1, x);
  floatToPnm(b, b.length, 1, y);
  let differ = 0;
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) differ++;
    max = Math.max(max, Math.abs(x[i]! - y[i]!));
  }
  return { differ, max };
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

test('Mertens well-exposedness exp within 8e-7 relative of Math.exp on its inputs [−9.375, 0] (every 8-bit exponent exactly), 5e-6 down to the clamp at −87', (t) => {
  // The weights' exponents are −Σ_c (v_c − ½)²/(2·0.2²) with v in [0, 1]: [−9.375, 0] for any code
  // depth; for 8-bit codes every Σ_c (2z_c − 255)²/(4·255²·0.08) is swept, then a dense sweep of the
  // rest of [−87, 0] (never reached by codes: y = x·log₂e's rounding grows with |x|).
  const xs: number[] = [];
  for (let d = 0; d <= 3 * 255 * 255; d += 1) xs.push(Math.fround(Math.fround(d) * Math.fround(-1 / (4 * 255 * 255 * 0.08))));
  for (let x = -9.375; x < 0; x += 0.00037) xs.push(Math.fround(x));
  xs.push(0, -0, -1e-30, -9.375);
  const inRange = xs.length;
  for (let x = -87; x < -9.375; x += 0.0137) xs.push(Math.fround(x));
  xs.push(-87);
  const n = xs.length;
  const { ex, at, view } = instance([n, n]);
  view(0).set(xs);
  for (const len of [n, n - 1, n - 3]) {
    ex.mertensExpWell(at[0]!, len, at[1]!);
    const got = view(1);
    let worst = 0;
    let worstOut = 0;
    for (let i = 0; i < len; i++) {
      const rel = Math.abs(got[i]! / Math.exp(xs[i]!) - 1);
      if (i < inRange) worst = Math.max(worst, rel);
      else worstOut = Math.max(worstOut, rel);
    }
    t.true(worst <= 8e-7, `length ${len}: worst relative ${worst} in [−9.375, 0]`);
    t.true(worstOut <= 5e-6, `length ${len}: worst relative ${worstOut} in [−87, −9.375)`);
    if (len === n) t.log(`worst relative ${worst} in [−9.375, 0], ${worstOut} below`);
  }
});

test('Mertens weights: grey and contrast bit-exact as the reference on short, narrow and wide planes (grey ring rows, lane tails)', (t) => {
  // Contrast alone (powers 1, 0, 0): the weight is f32(f32(contrast) + 1e-12), contrast from the
  // reference's f32 grey in f64 — so any grey or contrast difference shows. Then unit powers within 1e-5.
  const reflect = (i: number, n: number) => {
    if (n === 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
  };
  for (const [w, h, c] of [[1, 1, 3], [5, 1, 3], [7, 2, 3], [9, 3, 3], [13, 5, 3], [6, 7, 1], [37, 9, 3], [203, 6, 4]] as Array<[number, number, number]>) {
    const n = w * h;
    const r = mulberry32(w * 31 + h);
    const planar = Float32Array.from({ length: n * c }, (_, i) => (i % 7 === 0 ? 0.5 : Math.round(r() * 255) / 255));
    const { ex, at, view } = instance([n * c, Math.max(n, 6 * w), n]);
    view(0).set(planar);
    ex.mertensWeights(at[0]!, w, h, c, at[1]!, at[2]!, 0, 1, 0, 0);
    const grey = Float64Array.from({ length: n }, (_, i) => (c >= 3 ? Math.fround(0.299 * planar[i]! + 0.587 * planar[n + i]! + 0.114 * planar[2 * n + i]!) : planar[i]!));
    const got = view(2);
    let diffs = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const g = (yy: number, xx: number) => grey[reflect(yy, h) * w + reflect(xx, w)]!;
        const contrast = Math.abs(g(y - 1, x) + g(y + 1, x) + g(y, x - 1) + g(y, x + 1) - 4 * g(y, x));
        if (got[y * w + x] !== Math.fround(Math.fround(contrast) + 1e-12)) diffs++;
      }
    }
    t.is(diffs, 0, `${w}×${h}×${c}: ${diffs} contrast weights differ`);
    const inter = new Float32Array(n * c);
    for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) inter[i * c + k] = planar[k * n + i]!;
    const mw = { contrast: 1, saturation: 1, exposedness: 1 };
    const want = fusionWeights({ w, h, c, data: inter }, mw);
    ex.mertensWeights(at[0]!, w, h, c, at[1]!, at[2]!, 1, 1, 1, 1);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1e-12, Math.abs(want[i]!)));
    t.true(worst <= 1e-5, `${w}×${h}×${c}: worst relative ${worst}`);
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
    const bytes = sampleDiff(got, want);
    t.log(`${threads} threads: 8-bit samples: ${bytes.differ} of ${got.length} differ, max ${bytes.max}`);
    t.true(bytes.max <= 1 && bytes.differ <= got.length * 1e-3, `${threads} threads: 8-bit samples ${JSON.stringify(bytes)}`);
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
    const bytes = sampleDiff(got, want);
    t.true(bytes.max <= 1 && bytes.differ <= got.length * 1e-3, `${budgetMB} MB: 8-bit samples ${JSON.stringify(bytes)}`);
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

test('focus codes → f32 planes equal codesToPlane bit for bit (every 8- and 16-bit code, 1 and 3 channels, any width)', (t) => {
  for (const wide of [false, true]) {
    for (const C of [1, 3]) {
      for (const W of [1, 3, 4, 5, 7, 37, 256]) {
        const codes = wide ? 65536 : 256;
        const H = Math.ceil(codes / W) + 1;
        const n = W * H;
        const raw = wide ? new Uint16Array(n * C) : new Uint8Array(n * C);
        // Every code appears in every channel (shifted per channel so channels differ).
        for (let i = 0; i < n * C; i++) raw[i] = (Math.floor(i / C) + (i % C) * 17) % codes;
        const bytes = new Uint8Array(raw.buffer);
        const { ex, at, view } = instance([Math.ceil(bytes.length / 4) + 4, n * C]);
        new Uint8Array(view(0).buffer, at[0]!, bytes.length).set(bytes);
        // Two row ranges, as two threads would split it.
        const mid = Math.floor(H / 2);
        ex.focusCodesToPlanes(at[0]!, wide ? 1 : 0, W, C, 0, mid, at[1]!, n);
        ex.focusCodesToPlanes(at[0]!, wide ? 1 : 0, W, C, mid, H, at[1]!, n);
        const want = codesToPlane(bytes, { path: 'x', width: W, height: H, channels: C, is16: wide }, { x: 0, y: 0, w: W, h: H }, 32).data;
        const got = view(1);
        let bad = 0;
        for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) if (!Object.is(got[c * n + i], want[i * C + c])) bad++;
        t.is(bad, 0, `${wide ? 16 : 8}-bit, C ${C}, W ${W}`);
      }
    }
  }
});

test('focus f32 planes → samples equal floatToPnm byte for byte (8-bit, 16-bit big-endian; 16-bit host order as Math.round), out of range and NaN included', (t) => {
  const r = mulberry32(3);
  const special = [-1, -0, 0, 1e-30, 0.5 / 255, 0.4999999 / 255, 0.5000001 / 255, 1.5 / 255, 0.5 / 65535, 254.5 / 255, 65534.5 / 65535, 0.999999, 1, 1.0000001, 7, NaN, -Infinity, Infinity];
  for (const C of [1, 3]) {
    for (const W of [1, 4, 6, 37]) {
      const H = 9;
      const n = W * H;
      const inter = new Float32Array(n * C);
      for (let i = 0; i < inter.length; i++) inter[i] = i < special.length ? special[i]! : r() * 1.2 - 0.1;
      for (let i = 0; i < inter.length; i++) if (r() < 0.2) inter[i] = Math.round(r() * 255) / 255 + (r() < 0.5 ? 0.5 : -0.5) / 255;
      const { ex, at, view } = instance([n * C, n * C]);
      const planes = view(0);
      for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) planes[c * n + i] = inter[i * C + c]!;
      // Rows 2..8 (origin 2), in two ranges.
      const y0 = 2;
      const rows = H - y0;
      const core = inter.subarray(y0 * W * C);
      for (const [mode, bytes] of [[1, 1], [2, 2], [3, 2]] as const) {
        ex.focusPlanesToSamples(at[0]!, n, W, C, y0, y0, 5, mode, at[1]!);
        ex.focusPlanesToSamples(at[0]!, n, W, C, y0, 5, H, mode, at[1]!);
        const got = new Uint8Array(view(1).buffer, at[1]!, rows * W * C * bytes);
        const want = new Uint8Array(rows * W * C * bytes);
        if (mode === 3) {
          const u = new Uint16Array(want.buffer);
          for (let i = 0; i < u.length; i++) {
            const v = core[i]! * 65535;
            u[i] = v <= 0 ? 0 : v >= 65535 ? 65535 : Math.round(v);
          }
        } else floatToPnm(core, rows * W * C, bytes, want);
        t.deepEqual(Array.from(got), Array.from(want), `C ${C}, W ${W}, mode ${mode}`);
      }
    }
  }
});

test('focus fuser fed codes equals the fuser fed the same frames as floats, bit for bit (8/16-bit, RGB/mono, 1–3 threads); samples are its clamped result', async (t) => {
  const w = 67;
  const h = 45;
  const levels = 3;
  const kernel = genKernel(0.4);
  for (const C of [3, 1]) {
    for (const bytes of [1, 2] as const) {
      const b = synthBracket(w, h, 3, 11);
      const max = bytes === 2 ? 65535 : 255;
      const info = { path: 'x', width: w, height: h, channels: C, is16: bytes === 2 };
      const codes = b.frames.map((f) => {
        const raw = bytes === 2 ? new Uint16Array(w * h * C) : new Uint8Array(w * h * C);
        for (let i = 0; i < w * h; i++) for (let c = 0; c < C; c++) raw[i * C + c] = Math.round(Math.min(1, Math.max(0, f[i * 3 + c]!)) * max);
        return new Uint8Array(raw.buffer);
      });
      let first: Float32Array | null = null;
      for (const threads of [1, 2, 3]) {
        const k = createFocusPyramidKernels({ width: w, maxRows: h, channels: C, levels, kernel, kernelSize: 5, threads, codeBytes: 2 })!;
        try {
          const byFloats = k.fuser(h);
          for (const c of codes) await byFloats.push(codesToPlane(c, info, { x: 0, y: 0, w, h }, 32));
          const want = Float32Array.from((await byFloats.result()).data);
          const byCodes = k.fuser(h);
          for (let f = 0; f < codes.length; f++) {
            k.codes(f & 1, h, bytes).set(codes[f]!);
            await byCodes.pushCodes(f & 1, bytes);
          }
          const u8 = Uint8Array.from(await byCodes.samples(5, 30, 'u8'));
          const got = Float32Array.from((await byCodes.result()).data);
          t.is(maxAbs(got, want), 0, `C ${C}, ${bytes * 8}-bit, ${threads} threads`);
          if (first) t.is(maxAbs(got, first), 0);
          else first = got;
          const pnm = new Uint8Array(30 * w * C);
          floatToPnm(got.subarray(5 * w * C, 35 * w * C), 30 * w * C, 1, pnm);
          t.deepEqual(Array.from(u8), Array.from(pnm));
        } finally {
          await k.close();
        }
      }
    }
  }
});

test('focus stack through codes: JPEG, 16-bit PNG and TIFF equal the plain-TS stack, as does sharpen (float path); with aligned frames ≥ 50 dB', async (t) => {
  const dir = await tempDir(t);
  const b = synthBracket(150, 110, 4);
  const files: string[] = [];
  const files16: string[] = [];
  for (let k = 0; k < 4; k++) {
    files.push(join(dir, `f${k}.png`));
    await writeRgbPng(files[k]!, b.frames[k]!, b.w, b.h);
    files16.push(join(dir, `g${k}.png`));
    const u16 = new Uint16Array(b.w * b.h * 3);
    for (let i = 0; i < u16.length; i++) u16[i] = Math.round(Math.min(1, Math.max(0, b.frames[k]![i]!)) * 65535);
    await sharp(Buffer.from(u16.buffer), { raw: { width: b.w, height: b.h, channels: 3 } }).toColourspace('rgb16').png().toFile(files16[k]!);
  }
  const same = async (name: string, inputs: string[], o: Partial<typeof DEFAULT_STACK>, depth: 'uchar' | 'ushort' = 'uchar') => {
    const outs: Buffer[] = [];
    for (const kernels of ['js', 'wasm'] as const) {
      const r = await stackFiles(inputs, join(dir, `${kernels}-${name}`), { ...DEFAULT_STACK, align: false, bandRows: 32, frameStore: 'file', ...o, kernels });
      t.is(r.kernels, kernels);
      t.is(r.bands, 4);
      outs.push((await sharp(r.outputs[0]!).raw({ depth }).toBuffer()));
    }
    t.true(outs[0]!.equals(outs[1]!), `${name}: the codes path differs from the plain-TS stack`);
  };
  await same('a.jpg', files, {});
  await same('b.png', files16, {}, 'ushort');
  await same('c.tif', files16, {}, 'ushort');
  await same('d.tif', files, {});
  await same('e.png', files, { sharpen: 50 });
  // Frames that alignment moves go through the float path beside the ones read as codes.
  const shifted = join(dir, 'shifted');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(shifted);
  const moved: string[] = [];
  for (let k = 0; k < 4; k++) {
    moved.push(join(shifted, `m${k}.png`));
    // Frame 1 moved by (2, 3) px, edges repeated.
    const f = b.frames[k]!;
    const g = k === 1 ? new Float32Array(f.length) : f;
    if (k === 1) for (let y = 0; y < b.h; y++) for (let x = 0; x < b.w; x++) for (let c = 0; c < 3; c++) g[(y * b.w + x) * 3 + c] = f[(Math.max(0, y - 3) * b.w + Math.max(0, x - 2)) * 3 + c]!;
    await writeRgbPng(moved[k]!, g, b.w, b.h);
  }
  const outs: Buffer[] = [];
  for (const kernels of ['js', 'wasm'] as const) {
    const r = await stackFiles(moved, join(dir, `${kernels}-aligned.png`), { ...DEFAULT_STACK, bandRows: 32, kernels });
    t.true(r.transforms.some((m) => Math.abs(m[2]) > 1), 'alignment moved a frame');
    outs.push((await readRgb(r.outputs[0]!)).data);
  }
  // Resampled frames are not k/255 values: the kernels' f32 sums may round differently from the
  // reference's (the tolerance above), so the images agree as the end-to-end test asks.
  const p = psnr(outs[1]!, outs[0]!, b.w, b.h);
  t.log(`aligned: ${p.toFixed(1)} dB from the plain-TS stack`);
  t.true(p >= 50, `aligned: ${p.toFixed(1)} dB from the plain-TS stack`);
});

test('focus fuser: a frame moved by alignment, resampled from its codes in WASM, equals readAlignedTile bit for bit (8/16-bit, RGB/mono, bands at any row, 1–3 threads)', async (t) => {
  const w = 71;
  const h = 53;
  const levels = 2;
  const kernel = genKernel(0.4);
  const moves: Affine[] = [[1.012, 0.008, 1.7, -0.009, 0.991, -2.3], [0.995, -0.004, -3.2, 0.003, 1.004, 4.6]];
  for (const C of [3, 1]) {
    for (const bytes of [1, 2] as const) {
      const b = synthBracket(w, h, 2, 5);
      const max = bytes === 2 ? 65535 : 255;
      const info = { path: 'x', width: w, height: h, channels: C, is16: bytes === 2 };
      const codes = b.frames.map((f) => {
        const raw = bytes === 2 ? new Uint16Array(w * h * C) : new Uint8Array(w * h * C);
        for (let i = 0; i < w * h; i++) for (let c = 0; c < C; c++) raw[i * C + c] = Math.round(Math.min(1, Math.max(0, f[i * 3 + c]!)) * max);
        return new Uint8Array(raw.buffer);
      });
      const rowBytes = w * C * bytes;
      const region = (k: number) => (r: { x: number; y: number; w: number; h: number }) => Promise.resolve(codesToPlane(codes[k]!.subarray(r.y * rowBytes, (r.y + r.h) * rowBytes), info, r, 32));
      for (const threads of [1, 3]) {
        const k = createFocusPyramidKernels({ width: w, maxRows: h, channels: C, levels, kernel, kernelSize: 5, threads, codeBytes: 2, codeRows: h })!;
        try {
          // Bands: the whole frame, and rows 9..40.
          for (const band of [{ x: 0, y: 0, w, h }, { x: 0, y: 9, w, h: 31 }]) {
            for (const m of moves) {
              const want = k.fuser(band.h);
              await want.push(await readAlignedTile(info, null, band, 32, region(0)));
              await want.push(await readAlignedTile(info, m, band, 32, region(1)));
              const wantData = Float32Array.from((await want.result()).data);
              const got = k.fuser(band.h);
              k.codes(0, band.h, bytes).set(codes[0]!.subarray(band.y * rowBytes, (band.y + band.h) * rowBytes));
              await got.pushCodes(0, bytes);
              const src = alignedSource(info, m, band);
              k.codes(1, src.h, bytes).set(codes[1]!.subarray(src.y * rowBytes, (src.y + src.h) * rowBytes));
              await got.pushWarped(1, bytes, src, m, band.y);
              const gotData = (await got.result()).data;
              t.is(maxAbs(gotData, wantData), 0, `C ${C}, ${bytes * 8}-bit, ${threads} threads, band ${band.y}+${band.h}, move ${m.join(' ')}`);
            }
          }
        } finally {
          await k.close();
        }
      }
    }
  }
});
