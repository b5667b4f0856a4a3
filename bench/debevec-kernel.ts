// The Debevec merge's per-sample loops in isolation, on a 6000×4000 RGB × N = 5 bracket of random
// 8-bit codes in 16-row strips: the plain-TS kernels (accumulate + finish), the SIMD WebAssembly ones
// on 1..T threads, and the per-sample JavaScript that follows them in merge.ts (exp for the linear
// outputs, quantising lnE into the 16-bit spool). CPU seconds of the process (all threads) and wall.
//
//   npx tsx bench/debevec-kernel.ts [--threads 1,2,4]
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
