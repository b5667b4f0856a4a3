// The SIMD WebAssembly Debevec kernels (pipeline/kernels/) against the plain-TS reference
// (pipeline/hdr/merge-kernel.ts): bit-exact lnE and saturated counts on every thread count, spool
// codes within one of Math.round's (≤ 2 % differing: f32 lanes), exp(lnE) within one f32 ulp (the f32x4 exp, lib/vexpf.ts), merge outputs end to end within
// the stated tolerance (.fits floats within one ulp, .hdr pixels within one RGBE mantissa step, JPEG
// samples within ±1 on ≤ 0.5 %, the tone-map kernel's tolerance), and the merge job's thread counts.
import test from 'ava';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { accumulateDebevecCodes, buildMergeLut, createDebevecStrip, finishDebevec, frameTable } from '../../pipeline/hdr/merge-kernel.js';
import { findBrackets, mergeBracket, type CameraResponse } from '../../pipeline/hdr/index.js';
import { makeScene, renderFrame } from '../../pipeline/hdr/synth.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';
import { callerFirstBands, createWasmDebevec } from '../../pipeline/kernels/debevec-wasm.js';
import { kernelModule, kernelUnavailable } from '../../pipeline/kernels/wasm.js';
import { readFits } from '../../pipeline/image/fits.js';
import { readRadiance } from '../../pipeline/image/radiance.js';
import { tempDir } from '../helpers/tmp.js';


/** A smooth increasing response per channel, like a calibrated one (ln exposure per code). */
function response(channels: number): CameraResponse {
  const g = new Float32Array(256 * channels);
  for (let z = 0; z < 256; z++) for (let c = 0; c < channels; c++) g[z * channels + c] = 2.2 * Math.log((z + 0.5) / 255.5) + 0.05 * c;
  return { channels, g, metadata: {} };
}

/** Random codes with a share of fully clipped pixels (0 or top in every frame) so the fallback runs. */
function brackets(n: number, samples: number, channels: number, top: number, seed: number): (Uint8Array | Uint16Array)[] {
  const rnd = mulberry32(seed);
  const frames = Array.from({ length: n }, () => (top > 255 ? new Uint16Array(samples) : new Uint8Array(samples)));
  for (let p = 0; p < samples; p += channels) {
    const kind = rnd();
    for (let c = 0; c < channels && p + c < samples; c++) {
      for (let j = 0; j < n; j++) frames[j]![p + c] = kind < 0.05 ? 0 : kind < 0.1 ? top : Math.floor(rnd() * (top + 1));
    }
  }
  return frames;
}

function reference(frames: (Uint8Array | Uint16Array)[], count: number, lut: ReturnType<typeof buildMergeLut>, lnT: number[]) {
  const s = createDebevecStrip(count);
  const tables = lnT.map((l) => frameTable(lut, l));
  frames.forEach((f, j) => accumulateDebevecCodes(s, f, count, lut, lnT[j]!, j, frames.length, tables[j]!));
  const lnE = new Float32Array(count);
  const saturated = finishDebevec(s, count, lut, lnE);
  // What merge.ts does after the kernel in plain TS: exp for the linear outputs, the spool codes.
  const linear = Float32Array.from(lnE, (v) => Math.exp(v));
  const spool = Uint16Array.from(lnE, (v) => Math.max(0, Math.min(65535, Math.round((v - SPOOL.lo) * SPOOL.scale))));
  return { lnE, saturated, tables, linear, spool };
}

const SPOOL = { lo: -12, scale: 65535 / 17 };
/** exp in WebAssembly is an f32x4 polynomial (lib/vexpf.ts), not V8's: within one f32 ulp of Math.fround(Math.exp). */
const LINEAR_ULPS = 1;

/** Samples of `a` further than LINEAR_ULPS f32 ulps from `b`. */
function maxUlps(a: Float32Array, b: Float32Array): number {
  const ia = new Int32Array(a.buffer, a.byteOffset, a.length);
  const ib = new Int32Array(b.buffer, b.byteOffset, b.length);
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(ia[i]! - ib[i]!) > LINEAR_ULPS) bad++;
  return bad;
}

test('the WebAssembly kernel module loads (SIMD and shared memory available)', (t) => {
  t.truthy(kernelModule('debevec'), `debevec.wasm did not load: ${kernelUnavailable('debevec')}`);
});

for (const [label, channels, bitDepth] of [
  ['8-bit RGB', 3, 8],
  ['8-bit mono', 1, 8],
  ['16-bit RGB', 3, 16],
  ['8-bit 2-channel (scalar path)', 2, 8],
] as const) {
  test(`wasm Debevec strip equals the TS reference (bit for bit; exp within 1 ulp): ${label}, 1/2/3 threads, one pass over all frames and frame by frame, 4, 2 and 1 frames`, async (t) => {
    const width = 37; // 111 samples a row in RGB: not a multiple of the 12-sample vector step
    const rows = 9;
    const rowLen = width * channels;
    const count = rows * rowLen;
    const lut = buildMergeLut(response(channels), channels, { kind: 'triangle', lowClip: 5, highClip: 250 }, bitDepth);
    for (const [times, threads, separatePasses] of [
      [[1 / 1000, 1 / 100, 1 / 10, 1], 1, false],
      [[1 / 1000, 1 / 100, 1 / 10, 1], 2, false],
      [[1 / 1000, 1 / 100, 1 / 10, 1], 3, false],
      [[1 / 1000, 1 / 100, 1 / 10, 1], 2, true],
      [[1 / 100, 1 / 10], 2, false],
      [[1 / 10], 2, false],
    ] as const) {
    const lnT = times.map(Math.log);
    const frames = brackets(lnT.length, count, channels, lut.levels - 1, 7 + channels);
    const ref = reference(frames, count, lut, lnT);
    t.true(ref.saturated > 0, 'the data has saturated pixels');
    {
      const k = createWasmDebevec({ lut, tables: ref.tables, lnT, samples: count + 5 * rowLen, threads, linear: true, spool: SPOOL, separatePasses })!;
      t.truthy(k, String(kernelUnavailable('debevec')));
      try {
        // Two strips through the same kernel: the second must not see the first's sums.
        for (let pass = 0; pass < 2; pass++) {
          frames.forEach((f, j) => k.codes(j).set(f));
          const saturated = await k.run(count, rowLen);
          t.is(saturated, ref.saturated, `saturated, ${lnT.length} frames, ${threads} threads, separate ${separatePasses}`);
          t.deepEqual(Buffer.from(k.lnE.buffer, k.lnE.byteOffset, count * 4), Buffer.from(ref.lnE.buffer), `lnE bytes, ${lnT.length} frames, ${threads} threads, separate ${separatePasses}, pass ${pass}`);
          const sp = codeDiff(k.spool!.subarray(0, count), ref.spool);
          t.true(sp.max <= 1 && sp.differ <= 0.02 * count, `spool codes within one, ≤ 2 % differing (${sp.differ} of ${count}, max ${sp.max}), ${threads} threads`);
          t.is(maxUlps(k.linear!.subarray(0, count), ref.linear), 0, `exp(lnE) within ${LINEAR_ULPS} f32 ulp, ${threads} threads`);
        }
      } finally {
        await k.close();
      }
    }
    }
  });
}

/** Samples of two float images further apart than `ulps` f32 ulps (and how many differ at all). */
function floatDiff(a: Float32Array, b: Float32Array, ulps: number): { over: number; differ: number } {
  const ia = new Int32Array(a.buffer, a.byteOffset, a.length);
  const ib = new Int32Array(b.buffer, b.byteOffset, b.length);
  let over = 0;
  let differ = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(ia[i]! - ib[i]!);
    if (d > 0) differ++;
    if (d > ulps) over++;
  }
  return { over, differ };
}

/**
 * .hdr pixels (decoded) further apart than one RGBE mantissa step: a channel may differ by 2^(e − 8),
 * e the larger shared exponent of the two pixels (a linear value one ulp off can move the truncated
 * mantissa by one, or the shared exponent across a power of two).
 */
function rgbeDiff(a: Float32Array, b: Float32Array): { over: number; differ: number } {
  let over = 0;
  let differ = 0;
  for (let p = 0; p < a.length; p += 3) {
    const m = Math.max(a[p]!, a[p + 1]!, a[p + 2]!, b[p]!, b[p + 1]!, b[p + 2]!);
    const step = m > 0 ? 2 ** (Math.floor(Math.log2(m)) + 1 - 8) : 0;
    let d = 0;
    for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(a[p + c]! - b[p + c]!));
    if (d > 0) differ++;
    if (d > step) over++;
  }
  return { over, differ };
}

/** JPEG samples (decoded) further apart than ±1, and how many differ at all. */
async function jpegDiff(a: Buffer, b: Buffer): Promise<{ over: number; differ: number; samples: number }> {
  const [x, y] = await Promise.all([a, b].map((f) => sharp(f).raw().toBuffer()));
  let over = 0;
  let differ = 0;
  for (let i = 0; i < x!.length; i++) {
    const d = Math.abs(x![i]! - y![i]!);
    if (d > 0) differ++;
    if (d > 1) over++;
  }
  return { over, differ, samples: x!.length };
}

test('merge outputs (.hdr, .fits, tone-mapped .jpg) agree with the TS reference within the stated tolerance on 1, 2 and 4 threads, with and without decode overlap', async (t) => {
  const dir = await tempDir(t);
  const scene = makeScene(96, 61, { lnMin: -1, lnMax: 7 });
  const times = [1 / 256, 1 / 64, 1 / 16];
  await mkdir(join(dir, 'in'), { recursive: true });
  for (let j = 0; j < times.length; j++) {
    const codes = renderFrame(scene, times[j]!, { seed: 3 + j });
    await sharp(Buffer.from(codes), { raw: { width: scene.width, height: scene.height, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(join(dir, 'in', `20250601120000_${Math.round(times[j]! * 1e6)}.jpg`));
  }
  const [b] = await findBrackets(join(dir, 'in'));
  const resp = response(3);
  const run = async (name: string, extra: object) => {
    const r = await mergeBracket(b!.frames, join(dir, name), { response: resp, formats: ['hdr', 'fits', 'jpg'], stripRows: 8, ...extra });
    const base = join(dir, name);
    return { r, hdr: (await readRadiance(base + '.hdr')).data, fits: (await readFits(base + '.fits')).image.data, jpg: await readFile(base + '.jpg') };
  };
  const ref = await run('js', { kernels: 'js' });
  t.is(ref.r.kernels, 'js');
  const agree = async (w: Awaited<ReturnType<typeof run>>, what: string) => {
    const fits = floatDiff(w.fits, ref.fits, LINEAR_ULPS);
    t.is(fits.over, 0, `.fits samples more than ${LINEAR_ULPS} ulp off, ${what}`);
    const hdr = rgbeDiff(w.hdr, ref.hdr);
    t.is(hdr.over, 0, `.hdr pixels more than one mantissa step off, ${what}`);
    t.true(hdr.differ <= 0.01 * (w.hdr.length / 3), `.hdr pixels that differ: ${hdr.differ}, ${what}`);
    const jpg = await jpegDiff(w.jpg, ref.jpg);
    t.is(jpg.over, 0, `JPEG samples more than ±1 off, ${what}`);
    // The tone-map kernel's own tolerance (≤ 0.5 % of its samples off by one, kernels-hdr-out.test.ts) on top of the merge's.
    t.true(jpg.differ <= 0.005 * jpg.samples, `JPEG samples that differ: ${jpg.differ} of ${jpg.samples}, ${what}`);
    t.log(`${what}: .fits ${fits.differ}, .hdr ${hdr.differ} pixels, JPEG ${jpg.differ} samples differ`);
    return fits.differ;
  };
  let fitsDiffer = 0;
  for (const threads of [1, 2, 4]) {
    const w = await run(`wasm${threads}`, { threads });
    t.is(w.r.kernels, 'wasm');
    t.is(w.r.threads, threads);
    t.is(w.r.saturatedFraction, ref.r.saturatedFraction);
    t.deepEqual(w.r.lnE, ref.r.lnE);
    fitsDiffer = await agree(w, `${threads} threads`);
  }
  // The tolerance is not vacuous: the f32 exp does move some linear samples by an ulp.
  t.true(fitsDiffer > 0, 'some .fits samples differ by one ulp');
  // The caller computing a band and reading between strips (no decode overlap): the same files.
  const still = await run('wasm2-no-overlap', { threads: 2, overlap: false });
  await agree(still, 'without overlap');
});

test('a kernel pool whose workers are gone fails the strip with a line naming it instead of waiting', async (t) => {
  const lut = buildMergeLut(response(3), 3, { kind: 'triangle', lowClip: 5, highClip: 250 }, 8);
  const lnT = [1 / 100, 1 / 10].map(Math.log);
  const k = createWasmDebevec({ lut, tables: lnT.map((l) => frameTable(lut, l)), lnT, samples: 4 * 30, threads: 2 })!;
  t.is(await k.run(4 * 30, 30), 0);
  await k.close();
  const e = await t.throwsAsync(k.run(4 * 30, 30));
  t.regex(e!.message, /debevec kernel/);
});

test('with decode overlap the caller takes a smaller first band and the workers the rest, every row once', (t) => {
  const rowLen = 18;
  for (const threads of [2, 3, 4])
    for (const rows of [1, 2, 3, 5, 16, 17, 64]) {
      const bands = callerFirstBands(rows, rowLen, threads);
      t.true(bands.length <= threads, `${rows} rows, ${threads} threads: at most one band a thread`);
      // Contiguous from 0 to the last sample, whole rows.
      let at = 0;
      for (const [a, b] of bands) {
        t.is(a, at);
        t.true(b >= a && b % rowLen === 0);
        at = b;
      }
      t.is(at, rows * rowLen);
      if (rows >= 4 * threads) {
        const own = bands[0]![1] / rowLen;
        const worker = (bands[1]![1] - bands[1]![0]) / rowLen;
        t.true(own >= 1 && own < worker, `${rows} rows, ${threads} threads: caller ${own} rows < a worker's ${worker}`);
      }
    }
  // 16-row strips on two threads: 5 rows on the caller, 11 on the worker.
  t.deepEqual(callerFirstBands(16, 1, 2), [[0, 5], [5, 16]]);
});

/** Largest |a − b| of two code arrays and how many differ. */
function codeDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; differ: number } {
  let max = 0;
  let differ = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 0) differ++;
    if (d > max) max = d;
  }
  return { max, differ };
}
