// The Debevec run's output kernels in WebAssembly against their plain-TS references: the .hdr
// scanlines (assembly/lib/rgbe.ts vs radiance.ts encodeRgbe + rleScanline, byte for byte, special
// values included), the per-row tone-map statistics (vs tonemap.ts accumulateStats: min/max/pixel
// count exact; the log-average and the white point — the luminance from the first pass's f32 linear
// values — within 1e-6 relative; the same at every thread count), the f32x4 exp (within one f32 ulp
// of Math.fround(Math.exp), in and out of its fast range), the Reinhard pass to 8-bit samples (vs
// toneMapCodes + floatToPnm within the stated tolerance: every sample within ±1 code, ≤ 0.5 % of
// them differing — every spool code at γ 0.1 … 10 and several white points),
// and the sinks' writeEncoded (the same files as writeRows).
import test from 'ava';
import { mkdir, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { join } from 'node:path';
import { buildMergeLut, frameTable } from '../../pipeline/hdr/merge-kernel.js';
import { findBrackets, mergeBracket } from '../../pipeline/hdr/index.js';
import { defaultIo, type HdrIo } from '../../pipeline/hdr/io.js';
import { makeScene, renderFrame } from '../../pipeline/hdr/synth.js';
import { accumulateStats, emptyStats, foldRowStats, gammaLut, reinhardConstants, toneMapCodes, type RadianceStats } from '../../pipeline/hdr/tonemap.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';
import { createWasmDebevec } from '../../pipeline/kernels/debevec-wasm.js';
import { createWasmToneMap, gammaBytes } from '../../pipeline/kernels/tonemap-wasm.js';
import { kernelArena, kernelUnavailable } from '../../pipeline/kernels/wasm.js';
import { encodeRgbe, openRadianceRowSink, rleScanline } from '../../pipeline/image/radiance.js';
import { floatToPnm } from '../../pipeline/image/pnm.js';
import { openRowSink } from '../../pipeline/image/rows.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import type { CameraResponse } from '../../pipeline/hdr/response.js';

function response(channels: number): CameraResponse {
  const g = new Float32Array(256 * channels);
  for (let z = 0; z < 256; z++) for (let c = 0; c < channels; c++) g[z * channels + c] = 2.2 * Math.log((z + 0.5) / 255.5) + 0.05 * c;
  return { channels, g, metadata: {} };
}

/** What radiance.ts's sink writes for `rows` rows of linear floats. */
function referenceScanlines(linear: Float32Array, rows: number, width: number, channels: number): Buffer {
  const rgbe = new Uint8Array(width * 4);
  const parts: Buffer[] = [];
  for (let r = 0; r < rows; r++) {
    encodeRgbe(linear, r * width * channels, channels, width, rgbe);
    if (width >= 8 && width <= 0x7fff) {
      const out = new Uint8Array(width * 4 + 8 + 4 * Math.ceil(width / 128));
      parts.push(Buffer.from(out.subarray(0, rleScanline(rgbe, width, out))));
    } else parts.push(Buffer.from(rgbe));
  }
  return Buffer.concat(parts);
}

/** Codes with smooth areas (RLE runs) and noise, some clipped. */
function frames(n: number, samples: number, seed: number): Uint8Array[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, (_, j) =>
    Uint8Array.from({ length: samples }, (_, i) => (i % 97 < 40 ? Math.min(255, 20 + j * 60) : Math.floor(rnd() * 256))),
  );
}

for (const [label, channels, width] of [
  ['RGB', 3, 301],
  ['mono', 1, 260],
  ['RGB, 5 wide (flat scanlines)', 3, 5],
] as const) {
  test(`wasm .hdr scanlines equal encodeRgbe + rleScanline and row statistics equal accumulateStats: ${label}, 1/2/3 threads`, async (t) => {
    const rows = 11;
    const rowLen = width * channels;
    const count = rows * rowLen;
    const lut = buildMergeLut(response(channels), channels, { kind: 'triangle', lowClip: 5, highClip: 250 }, 8);
    const lnT = [1 / 1000, 1 / 30, 1].map(Math.log);
    const codes = frames(lnT.length, count, channels);
    const results: RadianceStats[] = [];
    for (const threads of [1, 2, 3]) {
      const k = createWasmDebevec({ lut, tables: lnT.map((l) => frameTable(lut, l)), lnT, samples: count, threads, linear: true, rowLen, rgbe: true });
      t.truthy(k, String(kernelUnavailable('debevec')));
      try {
        codes.forEach((f, j) => k!.codes(j).set(f));
        // An odd first row: the statistics sample the strip's odd rows.
        await k!.run(count, rowLen, 7);
        const bytes = k!.scanlines(rows)!;
        t.true(Buffer.from(bytes).equals(referenceScanlines(k!.linear!.subarray(0, count), rows, width, channels)), `scanlines, ${threads} threads`);
        const ref = emptyStats();
        accumulateStats(ref, k!.lnE.subarray(0, count), count, channels, width, false);
        const got = emptyStats();
        foldRowStats(got, k!.stats!, rows, width);
        t.is(got.minLnE, ref.minLnE);
        t.is(got.maxLnE, ref.maxLnE);
        t.is(got.pixels, ref.pixels);
        t.true(ref.pixels > 0);
        // The stated tolerance: log-average (exp of the mean ln L) and white (max L) within 1e-6.
        const logAvg = (st: RadianceStats) => Math.exp(st.sumLogLum / st.pixels);
        t.true(Math.abs(logAvg(got) / logAvg(ref) - 1) <= 1e-6, `log-average ${logAvg(got)} vs ${logAvg(ref)}`);
        t.true(Math.abs(got.maxLum / ref.maxLum - 1) <= 1e-6, `max L ${got.maxLum} vs ${ref.maxLum}`);
        results.push(got);
      } finally {
        await k!.close();
      }
    }
    t.deepEqual(results[1], results[0], 'the same statistics on 2 threads as on 1');
    t.deepEqual(results[2], results[0], 'the same statistics on 3 threads as on 1');
    // Without linear outputs (a JPEG-only merge) the one-pass kernel still takes L from its own f32
    // exp: the same statistics; frame by frame (separatePasses, as with one frame) the exact f64 path.
    for (const [mode, spec] of [['no linear output', { linear: false }], ['frame by frame', { linear: true, separatePasses: true }]] as const) {
      const k = createWasmDebevec({ lut, tables: lnT.map((l) => frameTable(lut, l)), lnT, samples: count, threads: 2, rowLen, ...spec })!;
      try {
        codes.forEach((f, j) => k.codes(j).set(f));
        await k.run(count, rowLen, 7);
        const got = emptyStats();
        foldRowStats(got, k.stats!, rows, width);
        if (mode === 'no linear output') {
          t.is(k.linear, null);
          t.deepEqual(got, results[0], mode);
        } else {
          const ref = emptyStats();
          accumulateStats(ref, k.lnE.subarray(0, count), count, channels, width, false);
          t.is(got.minLnE, ref.minLnE);
          t.is(got.maxLnE, ref.maxLnE);
          t.is(got.pixels, ref.pixels);
          t.true(Math.abs(got.sumLogLum - ref.sumLogLum) <= 1e-12 * Math.abs(ref.sumLogLum), `${mode}: Σ ln L ${got.sumLogLum} vs ${ref.sumLogLum}`);
          t.true(Math.abs(got.maxLum - ref.maxLum) <= 1e-14 * ref.maxLum, `${mode}: max L ${got.maxLum} vs ${ref.maxLum}`);
        }
      } finally {
        await k.close();
      }
    }
  });
}

interface RawExports {
  rgbeRows(linear: number, start: number, end: number, rowLen: number, channels: number, rgbe: number, rle: number, out: number, slot: number, lens: number, planes: number): void;
  linearAndSpool(start: number, end: number, lnE: number, linear: number, spool: number, lo: number, scale: number, expTab: number): void;
}

/** One row of `width` pixels through the kernel's rgbeRows (RLE on): its RGBE bytes and RLE scanline. */
function wasmRgbeRow(linear: Float32Array, width: number, channels: number): { rgbe: Uint8Array; rle: Uint8Array } {
  const arena = kernelArena('debevec')!;
  const lin = arena.take(linear.length * 4);
  const rgbe = arena.take(width * 4);
  const slot = width * 4 + 4 + 4 * Math.ceil(width / 128);
  const out = arena.take(slot);
  const lens = arena.take(4);
  const planes = arena.take(width * 4);
  const made = arena.instantiate<RawExports>()!;
  const buf = made.memory.buffer;
  new Float32Array(buf, lin, linear.length).set(linear);
  made.exports.rgbeRows(lin, 0, width * channels, width * channels, channels, rgbe, 1, out, slot, lens, planes);
  return { rgbe: new Uint8Array(buf, rgbe, width * 4), rle: new Uint8Array(buf, out, new Int32Array(buf, lens, 1)[0]!) };
}

for (const channels of [3, 1]) test(`wasm RGBE encoder equals encodeRgbe on special values (NaN, ±0, negatives, tiny, huge, ∞, the 1e-32 edge), ${channels} channel(s)`, (t) => {
  // Math.fround(1e-32) and its neighbours: the f64 test v > 1e-32 decides between them.
  const f = Math.fround(1e-32);
  const edge = [f, f * (1 + 2 ** -23), f * (1 - 2 ** -24)];
  const specials = [NaN, 0, -0, -1, 1e-40, 1e-33, 1e-31, 1, 0.5, 255.9, 1e30, 3.4e38, Infinity, -Infinity, 7.25, 1e-20, ...edge, 2 ** 127, 2 ** 126 * 1.999];
  const rnd = mulberry32(5);
  const width = 257;
  const linear = Float32Array.from({ length: width * channels }, (_, i) => (i < specials.length * 3 ? specials[Math.floor(i / 3 + (i % 3)) % specials.length]! : Math.exp(-20 + 40 * rnd())));
  const got = wasmRgbeRow(linear, width, channels);
  const want = new Uint8Array(width * 4);
  encodeRgbe(linear, 0, channels, width, want);
  t.deepEqual(Array.from(got.rgbe), Array.from(want));
  const rle = new Uint8Array(width * 4 + 4 + 4 * Math.ceil(width / 128));
  const n = rleScanline(want, width, rle);
  t.is(got.rle.length, n);
  t.deepEqual(Array.from(got.rle), Array.from(rle.subarray(0, n)));
});

test('wasm RLE equals rleScanline on runs longer than 127, literals longer than 128, short equal stretches and runs at the row end', (t) => {
  const rnd = mulberry32(11);
  const width = 1203;
  // Per pixel one value for all three channels, so the R, G, B planes carry the pattern.
  const values: number[] = [];
  const push = (v: number, n: number) => {
    for (let k = 0; k < n; k++) values.push(v);
  };
  push(0.5, 300); // a run over the 127 cap
  for (let k = 0; k < 300; k++) values.push(0.25 + rnd() * 0.7); // a long literal
  for (let k = 0; k < 40; k++) push(0.3 + 0.01 * (k % 5), 1 + (k % 4)); // equal stretches of 1–4
  push(0.9, 3);
  while (values.length < width - 5) values.push(0.25 + rnd() * 0.7);
  push(0.75, width - values.length); // a run reaching the last pixel
  const linear = Float32Array.from({ length: width * 3 }, (_, i) => values[Math.floor(i / 3)]!);
  const got = wasmRgbeRow(linear, width, 3);
  const want = referenceScanlines(linear, 1, width, 3);
  t.is(got.rle.length, want.length);
  t.true(Buffer.from(got.rle).equals(want));
});

test('wasm exp (f32x4 polynomial) is within one f32 ulp of Math.exp, in and out of its fast range; spool codes within one of Math.round', (t) => {
  // The fast range is [−87, 88]; beyond it (and NaN) the f64 exp, rounded once. Edges on both sides.
  const xs = [-200, -103.5, -103.9, -100, -88.1, -88, -87.99, -87.0001, -87, -86.9999, -20, -1e-7, -1e-30, -0, 0, 1e-30, 1e-9, 0.5, 1, 10, 30.123, 87.99, 87.9999, 88, 88.0001, 88.5, 88.72, 88.73, 89, 200, NaN, Infinity, -Infinity];
  // Every f32 around 0 and around the ends of the fast range, then random over it and over the merge's usual range.
  for (const c of [0, -87, 88, Math.LN2, -Math.LN2]) for (let k = -300; k <= 300; k++) xs.push(Math.fround(c) + k * 2 ** -20);
  const rnd = mulberry32(9);
  while (xs.length < 150_000) xs.push(-87 + 175 * rnd());
  while (xs.length < 300_000) xs.push(-3 + 15 * rnd());
  const lnE = Float32Array.from(xs);
  const arena = kernelArena('debevec')!;
  const tab = Float64Array.from({ length: 176 * 256 + 1 }, (_, k) => Math.exp(-88 + k / 256));
  const tabAt = arena.take(tab.length * 8);
  const inAt = arena.take(lnE.length * 4);
  const linAt = arena.take(lnE.length * 4);
  const spoolAt = arena.take(lnE.length * 2);
  const made = arena.instantiate<RawExports>()!;
  const buf = made.memory.buffer;
  new Float64Array(buf, tabAt, tab.length).set(tab);
  new Float32Array(buf, inAt, lnE.length).set(lnE);
  const lo = -12;
  const scale = 65535 / 17;
  made.exports.linearAndSpool(0, lnE.length, inAt, linAt, spoolAt, lo, scale, tabAt);
  const got = new Float32Array(buf, linAt, lnE.length);
  const gi = new Int32Array(buf, linAt, lnE.length);
  const want = Float32Array.from(lnE, (v) => Math.exp(v));
  const wi = new Int32Array(want.buffer);
  let off = 0;
  let exact = 0;
  for (let i = 0; i < lnE.length; i++) {
    if (Number.isNaN(want[i])) {
      t.true(Number.isNaN(got[i]), `exp(NaN) at ${i}`);
      continue;
    }
    const d = Math.abs(gi[i]! - wi[i]!);
    if (d > 1) off++;
    if (d === 0) exact++;
  }
  t.is(off, 0, 'samples more than one ulp from Math.exp');
  // Not bit-exact: most samples (≈ 90 %) are equal to Math.exp rounded, the rest one ulp off.
  t.true(exact > 0.8 * (lnE.length - 1), `equal to Math.exp rounded on ${exact} of ${lnE.length - 1}`);
  const spool = new Uint16Array(buf, spoolAt, lnE.length);
  // As merge.ts stores them (a Uint16Array: NaN becomes 0).
  const ref = Uint16Array.from(lnE, (v) => Math.max(0, Math.min(65535, Math.round((v - lo) * scale))));
  // f32 lanes (assembly/debevec.ts spoolCodes4): within one everywhere, differing only near halves;
  // the clamped and the NaN ones exactly.
  let wrong = 0;
  let far = 0;
  let inRange = 0;
  for (let i = 0; i < lnE.length; i++) {
    const d = Math.abs(spool[i]! - ref[i]!);
    if (d > 1) far++;
    if (ref[i]! > 0 && ref[i]! < 65535) inRange++;
    if (d > 0) wrong++;
    if ((ref[i] === 0 || ref[i] === 65535) && d > 1) t.fail(`clamped code ${ref[i]} became ${spool[i]} at ${lnE[i]}`);
  }
  t.is(far, 0, 'spool codes more than one from Math.round');
  t.true(inRange > 90_000, `${inRange} codes within the range`);
  t.log(`spool codes one off: ${wrong} of ${inRange} (${((wrong / inRange) * 100).toFixed(2)} %)`);
  t.true(wrong <= 0.02 * inRange, `spool codes one off: ${wrong} of ${inRange}`);
});

/** Largest |a − b| and how many samples differ. */
function byteDiff(got: Uint8Array, want: Uint8Array): { max: number; differ: number } {
  let max = 0;
  let differ = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (d > 0) differ++;
    if (d > max) max = d;
  }
  return { max, differ };
}

for (const [label, channels, width] of [
  ['RGB', 3, 123],
  ['mono', 1, 77],
] as const) {
  test(`wasm Reinhard bytes within ±1 code of toneMapCodes + floatToPnm, ≤ 0.5 % differing, the same at 1/2/3 threads and in every strip slot: ${label}`, async (t) => {
    const rows = 9;
    const rowLen = width * channels;
    const count = rows * rowLen;
    const rnd = mulberry32(channels);
    // Every code somewhere, plus smooth areas; the extremes of the range clip to 0 and 1.
    const codes = Uint16Array.from({ length: count }, (_, i) => (i < 200 ? i * 327 : i % 5 === 0 ? 65535 : Math.floor(rnd() * 65536)));
    const lo = -20;
    const step = 30 / 65535;
    const expLut = Float32Array.from({ length: 65536 }, (_, q) => Math.exp(lo + q * step));
    const st: RadianceStats = { pixels: 1000, sumLogLum: 1500, maxLum: 100, minLnE: lo, maxLnE: lo + 30 };
    const out = new Float32Array(count);
    toneMapCodes(codes, count, channels, expLut, st, 2.2, out);
    const want = new Uint8Array(count);
    floatToPnm(out, count, 1, want);
    t.true(want.includes(0) && want.includes(255), 'both clip ends covered');
    let first: Buffer | null = null;
    for (const threads of [1, 2, 3]) {
      const k = createWasmToneMap({ samples: count, codeSlots: 2, byteSlots: 2, channels, lo, step, gamma: 2.2, ...reinhardConstants(st), threads });
      t.truthy(k, String(kernelUnavailable('tonemap')));
      try {
        for (const slot of [0, 1]) {
          k!.codes[slot]!.set(codes);
          await k!.run(slot, 1 - slot, count, rowLen);
          const got = k!.bytes[1 - slot]!.subarray(0, count);
          const { max, differ } = byteDiff(got, want);
          t.true(max <= 1, `${threads} threads, slot ${slot}: a sample ${max} codes off`);
          t.true(differ <= count * 0.005, `${threads} threads, slot ${slot}: ${differ} of ${count} samples differ`);
          first ??= Buffer.from(got);
          t.true(first.equals(Buffer.from(got)), `${threads} threads, slot ${slot}: the same bytes as 1 thread`);
        }
      } finally {
        await k!.close();
      }
    }
  });
}

test('wasm Reinhard bytes within ±1 code of the reference for every spool code, ≤ 0.5 % differing, at γ 0.1 (the CLI\'s least), 1, 2.2, 3, 4 and 10 (its most) and several white points', async (t) => {
  t.is(gammaBytes(gammaLut(2.2))!.cells, 65536, 'γ 2.2: 64 KiB table');
  t.is(gammaBytes(gammaLut(4))!.cells, 262144, 'γ 4: finer cells, the curve is steep at the dark end');
  t.is(gammaBytes(gammaLut(10))!.cells, 1 << 21, 'γ 10: the finest table');
  t.is(gammaBytes(gammaLut(1000)), null, 'a gamma no table holds within ±1 code');
  t.is(createWasmToneMap({ samples: 16, channels: 1, lo: 0, step: 1e-4, gamma: 1000, a: 1, w2: 1, threads: 1 }), null, 'then no kernel: the caller runs the reference');
  t.is(createWasmToneMap({ samples: 16, channels: 2, lo: 0, step: 1e-4, gamma: 2.2, a: 1, w2: 1, threads: 1 }), null, 'neither RGB nor mono: the reference');
  const lo = -12;
  const step = 24 / 65535;
  const expLut = Float32Array.from({ length: 65536 }, (_, q) => Math.exp(lo + q * step));
  // RGB pixels: every code in each channel once, the other two channels shifted (colour ratios vary).
  const count = 65536 * 3;
  const codes = new Uint16Array(count);
  for (let q = 0; q < 65536; q++) {
    codes[3 * q] = q;
    codes[3 * q + 1] = (q * 7 + 12345) & 0xffff;
    codes[3 * q + 2] = (q * 13 + 999) & 0xffff;
  }
  for (const gamma of [0.1, 1, 2.2, 3, 4, 10]) {
    for (const st of [
      { pixels: 1000, sumLogLum: -500, maxLum: 2e4, minLnE: lo, maxLnE: lo + 24 },
      { pixels: 1000, sumLogLum: 3000, maxLum: 1, minLnE: lo, maxLnE: lo + 24 },
    ] as RadianceStats[]) {
      for (const [channels, n] of [[3, count], [1, 65536]] as const) {
        const out = new Float32Array(n);
        toneMapCodes(codes, n, channels, expLut, st, gamma, out);
        const want = new Uint8Array(n);
        floatToPnm(out, n, 1, want);
        const k = createWasmToneMap({ samples: n, channels, lo, step, gamma, ...reinhardConstants(st), threads: 2 });
        try {
          if (channels === 3 && st.maxLum > 1) t.true(Buffer.from(k!.table()).equals(Buffer.from(gammaBytes(gammaLut(gamma))!.bytes)), `γ ${gamma}: the kernel's table is gammaBytes'`);
          k!.codes[0]!.set(codes.subarray(0, n));
          await k!.run(0, 0, n, channels * 64);
          const { max, differ } = byteDiff(k!.bytes[0]!.subarray(0, n), want);
          const what = `γ ${gamma}, ${channels} channels, mean L ${st.sumLogLum}`;
          t.true(max <= 1, `${what}: a sample ${max} codes off`);
          t.true(differ <= n * 0.005, `${what}: ${differ} of ${n} samples differ`);
        } finally {
          await k!.close();
        }
      }
    }
  }
});

test('writeEncoded gives the same .hdr and .jpg files as writeRows, and finish() still checks the row count', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const width = 40;
  const height = 13;
  const rnd = mulberry32(3);
  const data = Float32Array.from({ length: width * height * 3 }, () => rnd());
  // .hdr: the scanlines the kernel hands over, in two strips.
  const a = await openRadianceRowSink(join(dir, 'a.hdr'), width, height, 3);
  await a.writeRows(data, height);
  await a.finish();
  const b = await openRadianceRowSink(join(dir, 'b.hdr'), width, height, 3);
  await b.writeEncoded!(referenceScanlines(data, 6, width, 3), 6);
  await b.writeEncoded!(referenceScanlines(data.subarray(6 * width * 3), 7, width, 3), 7);
  await b.finish();
  t.true((await readFile(join(dir, 'a.hdr'))).equals(await readFile(join(dir, 'b.hdr'))));
  // JPEG through cjpeg: 8-bit PNM samples.
  const c = await openRowSink(join(dir, 'c.jpg'), { width, height, channels: 3, format: 'jpeg' });
  await c.writeRows(data, height);
  await c.finish();
  const d = await openRowSink(join(dir, 'd.jpg'), { width, height, channels: 3, format: 'jpeg' });
  const bytes = new Uint8Array(data.length);
  floatToPnm(data, data.length, 1, bytes);
  await d.writeEncoded!(bytes.slice(0, 5 * width * 3), 5);
  await d.writeEncoded!(bytes.slice(5 * width * 3), 8);
  await d.finish();
  t.true((await readFile(join(dir, 'c.jpg'))).equals(await readFile(join(dir, 'd.jpg'))));
  // Missing rows: no file.
  const e = await openRadianceRowSink(join(dir, 'e.hdr'), width, height, 3);
  await e.writeEncoded!(referenceScanlines(data, 6, width, 3), 6);
  await t.throwsAsync(e.finish(), { message: /only 6 of 13 rows/ });
  await t.throwsAsync(readFile(join(dir, 'e.hdr')));
  const f = await openRowSink(join(dir, 'f.jpg'), { width, height, channels: 3, format: 'jpeg' });
  await t.throwsAsync(f.writeEncoded!(bytes.slice(0, 10), 5), { message: /f\.jpg: writeEncoded got 10 bytes for 5 rows/ });
});

test('writeEncoded callers may reuse a ring of three buffers (the sink holds only its last two calls): the same .jpg and .hdr as fresh buffers', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  const width = 64;
  const height = 40;
  const rnd = mulberry32(5);
  const data = Float32Array.from({ length: width * height * 3 }, () => rnd());
  const bytes = new Uint8Array(data.length);
  floatToPnm(data, data.length, 1, bytes);
  const a = await openRowSink(join(dir, 'a.jpg'), { width, height, channels: 3, format: 'jpeg' });
  await a.writeRows(data, height);
  await a.finish();
  // Strips of 2 rows through three buffers, each overwritten (its old content scrambled first) as soon as the ring comes round.
  const rowLen = width * 3;
  const ring = [0, 1, 2].map(() => new Uint8Array(2 * rowLen));
  const b = await openRowSink(join(dir, 'b.jpg'), { width, height, channels: 3, format: 'jpeg' });
  for (let y = 0, s = 0; y < height; y += 2, s++) {
    const buf = ring[s % 3]!;
    buf.fill(0x55);
    buf.set(bytes.subarray(y * rowLen, (y + 2) * rowLen));
    await b.writeEncoded!(buf, 2);
  }
  await b.finish();
  t.true((await readFile(join(dir, 'a.jpg'))).equals(await readFile(join(dir, 'b.jpg'))), '.jpg');
  const c = await openRadianceRowSink(join(dir, 'c.hdr'), width, height, 3);
  await c.writeRows(data, height);
  await c.finish();
  const d = await openRadianceRowSink(join(dir, 'd.hdr'), width, height, 3);
  const hdrRing = [0, 1, 2].map(() => new Uint8Array(2 * width * 4 + 64));
  for (let y = 0, s = 0; y < height; y += 2, s++) {
    const strip = referenceScanlines(data.subarray(y * rowLen), 2, width, 3);
    const buf = hdrRing[s % 3]!.subarray(0, strip.length);
    hdrRing[s % 3]!.fill(0x55);
    buf.set(strip);
    await d.writeEncoded!(buf, 2);
  }
  await d.finish();
  t.true((await readFile(join(dir, 'c.hdr'))).equals(await readFile(join(dir, 'd.hdr'))), '.hdr');
});

test('the tone-map pass over many strips (the four bytes slots reused while cjpeg drains) gives the reference JPEG samples within ±1 code; a gamma no byte table holds falls back to the reference', async (t) => {
  requireCommand('cjpeg', 'libjpeg-turbo-progs');
  const dir = await tempDir(t);
  // 400 rows: 13 strips of the tone-map pass, the four bytes slots come round three times.
  const scene = makeScene(24, 400, { lnMin: -1, lnMax: 7 });
  const times = [1 / 256, 1 / 64, 1 / 16];
  await mkdir(join(dir, 'in'), { recursive: true });
  for (let j = 0; j < times.length; j++) {
    await sharp(Buffer.from(renderFrame(scene, times[j]!, { seed: 3 + j })), { raw: { width: scene.width, height: scene.height, channels: 3 } })
      .png()
      .toFile(join(dir, 'in', `20250601120000_${Math.round(times[j]! * 1e6)}.png`));
  }
  const [b] = await findBrackets(join(dir, 'in'));
  const samples = new Map<string, Uint8Array[]>();
  const io: HdrIo = {
    openRowSource: (p) => defaultIo.openRowSource(p),
    openRowSink: async (p, o) => {
      const sink = await defaultIo.openRowSink(p, o);
      const kept: Uint8Array[] = [];
      samples.set(p, kept);
      return {
        ...sink,
        writeRows: (data, rows) => {
          const n = rows * o.width * o.channels;
          const q = new Uint8Array(n);
          floatToPnm(data, n, 1, q);
          kept.push(q);
          return sink.writeRows(data, rows);
        },
        writeEncoded: (bytes, rows) => (kept.push(bytes.slice()), sink.writeEncoded!(bytes, rows)),
      };
    },
  };
  const run = async (name: string, extra: object) => {
    const r = await mergeBracket(b!.frames, join(dir, name), { response: response(3), formats: ['jpg'], stripRows: 16, io, ...extra });
    t.truthy(r.outputs.jpg);
    const parts = samples.get(join(dir, `${name}.jpg`))!;
    return { parts: parts.length, bytes: Buffer.concat(parts) };
  };
  const ref = await run('js', { kernels: 'js' });
  const w = await run('wasm', { threads: 2 });
  t.is(w.parts, 13, 'strips of 32 rows');
  t.is(w.bytes.length, ref.bytes.length);
  const { max, differ } = byteDiff(w.bytes, ref.bytes);
  t.true(max <= 1, `a sample ${max} codes off`);
  t.true(differ <= ref.bytes.length * 0.005, `${differ} of ${ref.bytes.length} samples differ`);
  // γ 1000: no table within ±1 code, the wasm run writes the reference's floats (writeRows).
  const refSteep = await run('js-steep', { kernels: 'js', gamma: 1000 });
  const steep = await run('wasm-steep', { threads: 2, gamma: 1000 });
  t.true(steep.bytes.equals(refSteep.bytes));
});
