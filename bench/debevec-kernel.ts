// The Debevec merge's per-sample loops in isolation, on a 6000×4000 RGB × N = 5 bracket of random
// 8-bit codes in 16-row strips: the plain-TS kernels (accumulate + finish), the SIMD WebAssembly ones
// on 1..T threads, and the per-sample JavaScript that follows them in merge.ts (exp for the linear
// outputs, quantising lnE into the 16-bit spool). CPU seconds of the process (all threads) and wall.
//
//   npx tsx bench/debevec-kernel.ts [--threads 1,2,4]
//   npx tsx bench/debevec-kernel.ts --stages   # the one-pass kernel stage by stage (docs/performance.md, fifth slice)
import { accumulateDebevecCodes, buildMergeLut, createDebevecStrip, finishDebevec, frameTable } from '../pipeline/hdr/merge-kernel.js';
import { createWasmDebevec } from '../pipeline/kernels/debevec-wasm.js';

const width = 6000;
const height = 4000;
const C = 3;
const stripRows = 16;
const n = 5;
const rowLen = width * C;
const samples = stripRows * rowLen;
const strips = height / stripRows;
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};

const g = new Float32Array(256 * C);
for (let z = 0; z < 256; z++) for (let c = 0; c < C; c++) g[z * C + c] = 2.2 * Math.log((z + 0.5) / 255.5);
const lut = buildMergeLut({ channels: C, g, metadata: {} }, C, { kind: 'triangle', lowClip: 5, highClip: 250 }, 8);
const lnT = [1 / 1000, 1 / 250, 1 / 60, 1 / 15, 1 / 4].map(Math.log);
const tables = lnT.map((l) => frameTable(lut, l));
// A few distinct strips of codes, cycled (generating 24 MP × 5 of random codes would dominate).
const codes = Array.from({ length: n }, (_, j) => Uint8Array.from({ length: samples }, (_, i) => (i * 2654435761 + j * 97) % 256));

async function measure(label: string, body: () => Promise<void> | void): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const c = process.cpuUsage(c0);
  process.stdout.write(`${label.padEnd(44)} CPU ${((c.user + c.system) / 1e6).toFixed(2)} s  wall ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
}

// --stages: firstPass8 on one thread (no workers) with more and more of the first pass switched on —
// merge; + statistics (with their f32 exp); + linear output; + spool codes; + .hdr RGBE/RLE — over
// 100 strips of photo-like codes (a ramp plus noise), the least CPU of 7 rounds, stages interleaved.
if (process.argv.includes('--stages')) {
  const photo = Array.from({ length: n }, (_, j) =>
    Uint8Array.from({ length: samples }, (_, i) => Math.max(0, Math.min(255, ((i % rowLen) / rowLen) * 200 + j * 40 - 60 + ((i * 2654435761) >>> 28)))),
  );
  const stages = [
    ['merge', {}],
    ['+ statistics', { rowLen }],
    ['+ linear', { rowLen, linear: true }],
    ['+ spool', { rowLen, linear: true, spool: { lo: -10, scale: 65535 / 20 } }],
    ['+ .hdr RGBE/RLE', { rowLen, linear: true, spool: { lo: -10, scale: 65535 / 20 }, rgbe: true }],
  ] as const;
  const kernels = stages.map(([, extra]) => createWasmDebevec({ lut, tables, lnT, samples, threads: 1, overlap: false, ...extra })!);
  for (const k of kernels) {
    for (let j = 0; j < n; j++) k.codes(j).set(photo[j]!);
    await k.run(samples, rowLen);
  }
  const best = stages.map(() => Infinity);
  for (let round = 0; round < 7; round++) {
    for (const [s, k] of kernels.entries()) {
      const c0 = process.cpuUsage();
      for (let strip = 0; strip < 100; strip++) await k.run(samples, rowLen, strip * stripRows);
      const c = process.cpuUsage(c0);
      best[s] = Math.min(best[s]!, (c.user + c.system) / 1e6);
    }
  }
  for (const [s, [label]] of stages.entries()) process.stdout.write(`${label.padEnd(20)} CPU ${best[s]!.toFixed(3)} s per 100 strips\n`);
  for (const k of kernels) await k.close();
  process.exit(0);
}

const lnE = new Float32Array(samples);
await measure('TS accumulate ×5 + finish', () => {
  const s = createDebevecStrip(samples);
  for (let k = 0; k < strips; k++) {
    for (let j = 0; j < n; j++) accumulateDebevecCodes(s, codes[j]!, samples, lut, lnT[j]!, j, n, tables[j]!);
    finishDebevec(s, samples, lut, lnE);
  }
});
for (const threads of arg('threads', '1,2,4').split(',').map(Number)) {
  const k = createWasmDebevec({ lut, tables, lnT, samples, threads })!;
  await measure(`WASM SIMD accumulate ×5 + finish, ${threads} thread(s)`, async () => {
    for (let s = 0; s < strips; s++) {
      for (let j = 0; j < n; j++) k.codes(j).set(codes[j]!);
      await k.run(samples, rowLen);
    }
  });
  await k.close();
}
const tmp = new Float32Array(samples);
await measure('JS exp(lnE) for .hdr/.tif/.fits', () => {
  for (let s = 0; s < strips; s++) for (let i = 0; i < samples; i++) tmp[i] = Math.exp(lnE[i]!);
});
const spool = new Uint16Array(samples);
await measure('JS lnE → 16-bit spool codes', () => {
  for (let s = 0; s < strips; s++) for (let i = 0; i < samples; i++) spool[i] = Math.max(0, Math.min(65535, Math.round((lnE[i]! + 8) * 3000)));
});
