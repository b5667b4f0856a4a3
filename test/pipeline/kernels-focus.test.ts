// The depth map's WebAssembly energy kernels (pipeline/kernels/assembly/focus.ts through
// focus-wasm.ts) equal frameEnergy, their plain-TS reference, bit for bit: shinestacker's energies on
// its native gray (Sobel/Laplacian/box separable filters, the tenengrad threshold), ours on the
// luminance, Gaussian and bilateral smoothing, at 1 and 3 threads. The map's weights and depth equal
// stack.ts's loops bit for bit; the blend runs the shared f32 reduce/expand (lib/planes.ts) where the
// reference keeps f64 intermediates, so it is within 1e-5 of WeightedPyramidBlend (values 0..1) and
// bit-identical at every thread count. Whole depth-map stacks: the depth map byte for byte, the image
// within one 8-bit code on ≤ 0.1 % of samples (the truncation of a value within 1e-6 of a code
// boundary), and byte-identical at 1, 2 and 3 threads. The hard max map's loops (best energy, ties,
// weights, depth) equal stack.ts's bit for bit.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createWasmDepthMap, createWasmEnergy } from '../../pipeline/kernels/focus-wasm.js';
import sharp from 'sharp';
import { DEFAULT_STACK, OURS_DEPTHMAP, WeightedPyramidBlend, frameEnergy, stackFiles, type StackOptions } from '../../pipeline/focus/stack.js';
import { genKernel } from '../../pipeline/focus/pyramid.js';
import { codesToPlane } from '../../pipeline/focus/frame-store.js';
import { ENERGY_MEASURES } from '../../pipeline/focus/measures.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';
import { tempDir } from '../helpers/tmp.js';
import { writeSynthBracket } from './focus-helpers.js';

test('frame energy on the WASM kernels equals frameEnergy bit for bit (both energy kernels, every measure and smoothing)', async (t) => {
  const rnd = mulberry32(11);
  for (const [w, h, c] of [[37, 23, 3], [64, 41, 1], [5, 3, 3], [2, 9, 1]] as const) {
    // Steps of 1/255 with ties, as decoded frames have.
    const data = new Float32Array(w * h * c).map(() => Math.round(rnd() * 255) / 255);
    for (const threads of [1, 3]) {
      const K = createWasmEnergy({ maxPx: w * h, rows: h, c, threads });
      if (!K) return t.fail('focus.wasm did not load');
      try {
        for (const kernels of ['shinestacker', 'ours'] as const) {
          for (const energy of ENERGY_MEASURES) {
            if (kernels === 'shinestacker' && energy === 'brenner') continue;
            for (const sm of [
              { smoothing: 'none' },
              { smoothing: 'gaussian', energySmooth: 2 },
              { smoothing: 'gaussian', energySmooth: 0.7, dmBlurSize: 5, dmKernelSize: 3 },
              { smoothing: 'bilateral', smoothSize: 1 },
              { smoothing: 'bilateral', smoothSize: 5, sigmaColor: 30, sigmaSpace: 2, dmBlurSize: 0, dmKernelSize: 1 },
            ] as Partial<StackOptions>[]) {
              const o: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', energyKernels: kernels, energy, ...sm };
              const want = frameEnergy({ w, h, c, data }, o, 255);
              const got = await K.energy({ w, h, c, data }, o, 255);
              t.deepEqual(Array.from(got), Array.from(want), `${w}×${h}×${c} ${kernels} ${energy} ${JSON.stringify(sm)} threads ${threads}`);
            }
          }
        }
      } finally {
        await K.close();
      }
    }
  }
});

async function bracket(dir: string, n: number, w: number, h: number): Promise<string[]> {
  return (await writeSynthBracket(dir, n, w, h)).files;
}

test('the depth map\'s weights and depth on the kernels equal stack.ts\'s loops bit for bit', async (t) => {
  const rnd = mulberry32(5);
  const w = 29, h = 17, n = w * h, frames = 4;
  // Energies as the maps see them: f32, with zeros (tenengrad's threshold) and ties.
  const E = Array.from({ length: frames }, () => Float32Array.from({ length: n }, () => (rnd() < 0.2 ? 0 : Math.fround(Math.round(rnd() * 40) * 37.3))));
  const K = createWasmDepthMap({ width: w, rows: h, c: 1, threads: 2, levels: 2 });
  if (!K) return t.fail('focus.wasm did not load');
  // Each frame's energy on the kernels (brenner of E taken as a frame, no smoothing: equal to frameEnergy,
  // tested above), then the map steps on it.
  const plane = async (e: Float32Array) => {
    const o: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', energyKernels: 'ours', energy: 'brenner', smoothing: 'none' };
    const at = await K.energyAt({ w, h, c: 1, data: e }, o, 255);
    return { at, got: frameEnergy({ w, h, c: 1, data: e }, o, 255) };
  };
  try {
    for (const power of [1, 2, 0.5]) {
      // shinestacker average: Σ v, Σ k·v, then v/Σ v.
      K.begin(w, h, 1, { levels: 2, kernel: genKernel(0.375), floor: 1e-8, keepBelow: true });
      const total = new Float64Array(n), dnum = new Float64Array(n);
      const energies: Float32Array[] = [];
      for (let k = 0; k < frames; k++) {
        const { at, got } = await plane(E[k]!);
        energies.push(got);
        for (let i = 0; i < n; i++) {
          const v = power === 1 ? got[i]! : Math.pow(got[i]!, power);
          total[i] += v;
          dnum[i] += v * k;
        }
        await K.sumPower(at, power, k);
      }
      for (let k = 0; k < frames; k++) {
        const { at } = await plane(E[k]!);
        await K.seedWeights(at, power);
        const want = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const v = power === 1 ? energies[k]![i]! : Math.pow(energies[k]![i]!, power);
          want[i] = total[i] !== 0 ? v / total[i]! : 0;
        }
        t.deepEqual(Array.from(K.weight()), Array.from(want), `seed weights, power ${power}, frame ${k}`);
      }
      const depth = Float32Array.from(total, (s, i) => (s > 0 ? dnum[i]! / s : 0));
      t.deepEqual(Array.from(await K.depth('total')), Array.from(depth), `seed depth, power ${power}`);
      // ours average: (E + 1e-6)^p, Σ k·w / Σ w.
      K.begin(w, h, 1, { levels: 2, kernel: genKernel(0.4), floor: 1e-12, keepBelow: false });
      const den = new Float64Array(n), num = new Float64Array(n);
      for (let k = 0; k < frames; k++) {
        const { at } = await plane(E[k]!);
        await K.oursWeights(at, power, k);
        const want = Float32Array.from(energies[k]!, (e) => Math.pow(e + 1e-6, power));
        for (let i = 0; i < n; i++) {
          num[i] += want[i]! * k;
          den[i] += want[i]!;
        }
        t.deepEqual(Array.from(K.weight()), Array.from(want), `ours weights, power ${power}, frame ${k}`);
      }
      t.deepEqual(Array.from(await K.depth('den')), Array.from(Float32Array.from(den, (s, i) => (s > 0 ? num[i]! / s : 0))), `ours depth, power ${power}`);
    }
  } finally {
    await K.close();
  }
});

test('the weighted pyramid blend on the kernels is within 1e-5 of WeightedPyramidBlend and bit-identical at 1, 2, 3 threads', async (t) => {
  const rnd = mulberry32(23);
  for (const [w, h, c, levels] of [[37, 23, 3, 3], [64, 41, 1, 4], [6, 5, 3, 2], [120, 90, 3, 5]] as const) {
    const frames = Array.from({ length: 3 }, () => Float32Array.from({ length: w * h * c }, () => Math.round(rnd() * 255) / 255));
    // Weights with zeros (summed weight 0 → shinestacker keeps, ours zeroes) and tiny values near the floor.
    const weights = Array.from({ length: 3 }, () => Float32Array.from({ length: w * h }, () => (rnd() < 0.3 ? 0 : rnd() < 0.1 ? 1e-9 : rnd())));
    for (const [a, floor, keepBelow] of [[0.375, 1e-8, true], [0.4, 1e-12, false]] as const) {
      const kernel = genKernel(a);
      const ref = new WeightedPyramidBlend(levels, kernel, 32, floor, keepBelow);
      frames.forEach((f, k) => ref.add({ w, h, c, data: f }, weights[k]!));
      const want = ref.result().data;
      let first: Float32Array | null = null;
      for (const threads of [1, 2, 3]) {
        const K = createWasmDepthMap({ width: w, rows: h, c, threads, levels });
        if (!K) return t.fail('focus.wasm did not load');
        try {
          K.begin(w, h, c, { levels, kernel, floor, keepBelow });
          for (let k = 0; k < frames.length; k++) {
            K.setWeight(weights[k]!);
            await K.blendFrame({ w, h, c, data: frames[k]! });
          }
          const got = (await K.blendResult()).data.slice() as Float32Array;
          let worst = 0;
          for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
          t.true(worst <= 1e-5, `${w}×${h}×${c} levels ${levels} a ${a} threads ${threads}: worst |Δ| ${worst}`);
          if (!first) first = got;
          else t.deepEqual(Array.from(got), Array.from(first), `${w}×${h}×${c} levels ${levels} a ${a}: ${threads} threads differ from 1`);
        } finally {
          await K.close();
        }
      }
    }
  }
});

test('codes go into the kernels as frame-store.ts codesToPlane\'s floats (every 8- and 16-bit code), interleaved or straight into the blend\'s planes', async (t) => {
  for (const is16 of [false, true]) {
    const w = 256, h = is16 ? 256 : 3, c = 3;
    const K = createWasmDepthMap({ width: w, rows: h, c, threads: 2, levels: 2, codes: true });
    if (!K) return t.fail('focus.wasm did not load');
    try {
      const blend = { levels: 2, kernel: genKernel(0.375), floor: 1e-8, keepBelow: true };
      K.begin(w, h, c, blend);
      const view = K.codesView(is16);
      const codes = is16 ? new Uint16Array(w * h * c) : new Uint8Array(w * h * c);
      for (let i = 0; i < codes.length; i++) codes[i] = is16 ? ((i / 3) | 0) % 65536 : (i * 7 + (i % 3) * 50) % 256;
      view.set(new Uint8Array(codes.buffer));
      await K.loadCodes(is16);
      const want = codesToPlane(new Uint8Array(codes.buffer), { path: 'x', width: w, height: h, channels: c, is16 }, { x: 0, y: 0, w, h }, 32).data;
      // shinestacker's Sobel energies read the codes directly: the same energy as frameEnergy's from the floats.
      for (const energy of ['tenengrad', 'sobel'] as const) {
        const o: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', energy, smoothing: 'none' };
        const native = is16 ? 65535 : 255;
        K.codesView(is16).set(new Uint8Array(codes.buffer));
        await K.loadCodes(is16);
        t.deepEqual(Array.from(await K.energy(null, o, native)), Array.from(frameEnergy({ w, h, c, data: want }, o, native)), `${energy} from ${is16 ? 16 : 8}-bit codes`);
      }
      K.codesView(is16).set(new Uint8Array(codes.buffer));
      await K.loadCodes(is16);
      t.deepEqual(Array.from(await K.frame()), Array.from(want), `${is16 ? 16 : 8}-bit codes`);
      // The same frame blended from the interleaved samples and from the planes the codes went into directly.
      K.setWeight(new Float32Array(w * h).fill(0.5));
      await K.blendFrame(null);
      const viaFrame = (await K.blendResult()).data.slice(); // (a view of the kernels' memory)
      K.begin(w, h, c, blend);
      K.codesView(is16).set(new Uint8Array(codes.buffer));
      await K.loadCodesPlanar(is16);
      K.setWeight(new Float32Array(w * h).fill(0.5));
      await K.blendFrame('planar');
      t.deepEqual(Array.from((await K.blendResult()).data), Array.from(viaFrame), `${is16 ? 16 : 8}-bit codes into the planes`);
    } finally {
      await K.close();
    }
  }
});

test('the hard max map on the kernels (best, ties, weights, depth) equals stack.ts\'s loops bit for bit', async (t) => {
  const rnd = mulberry32(11);
  const w = 37, h = 23, n = w * h, frames = 5;
  const K = createWasmDepthMap({ width: w, rows: h, c: 1, threads: 2, levels: 2 });
  if (!K) return t.fail('focus.wasm did not load');
  const o: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', energyKernels: 'ours', energy: 'brenner', smoothing: 'none' };
  try {
    // Coarse energies tie often; fine ones (and a NaN) hardly.
    for (const levels of [8, 1e6]) {
      const E = Array.from({ length: frames }, () => Float32Array.from({ length: n }, (_, i) => (i === 7 ? NaN : Math.fround(Math.floor(rnd() * levels) * 0.37))));
      K.begin(w, h, 1, { levels: 2, kernel: genKernel(0.4), floor: 1e-12, keepBelow: false });
      // stack.ts depthMapBand 'max', pass 1.
      let bestE: Float32Array | null = null;
      const idx = new Uint16Array(n), count = new Uint16Array(n).fill(1), sumIdx = new Float64Array(n);
      let ties = false, got = false;
      const energies: Float32Array[] = [];
      for (let k = 0; k < frames; k++) {
        const at = await K.energyAt({ w, h, c: 1, data: E[k]! }, o, 255);
        const e = frameEnergy({ w, h, c: 1, data: E[k]! }, o, 255);
        energies.push(e);
        if (await K.maxUpdate(at, k)) got = true;
        if (!bestE) bestE = e.slice();
        else
          for (let i = 0; i < n; i++) {
            if (e[i]! > bestE[i]!) {
              bestE[i] = e[i]!;
              idx[i] = k;
              count[i] = 1;
              sumIdx[i] = k;
            } else if (e[i] === bestE[i]) {
              ties = true;
              ++count[i];
              sumIdx[i] += k;
            }
          }
      }
      t.is(got, ties, `ties seen, ${levels} levels`);
      if (levels === 8) t.true(ties);
      // Both weightings (stack.ts picks the tie one when some pixel ties).
      for (let k = 0; k < frames; k++) {
        const at = await K.energyAt({ w, h, c: 1, data: E[k]! }, o, 255);
        await K.maxWeights(at, k);
        t.deepEqual(Array.from(K.weight()), Array.from(Float32Array.from(energies[k]!, (e, i) => (e === bestE![i] ? 1 / count[i]! : 0))), `tie weights, frame ${k}, ${levels} levels`);
        await K.maxWeights(null, k);
        t.deepEqual(Array.from(K.weight()), Array.from(Float32Array.from(idx, (j) => (j === k ? 1 : 0))), `index weights, frame ${k}, ${levels} levels`);
      }
      const depth = new Float32Array(n);
      for (let i = 0; i < n; i++) depth[i] = sumIdx[i]! / count[i]!;
      t.deepEqual(Array.from(await K.maxDepth()), Array.from(depth), `max depth, ${levels} levels`);
    }
  } finally {
    await K.close();
  }
});

test('whole depth-map stacks: the WASM kernels at 1, 2 and 3 threads give the plain-TS depth map byte for byte and its image within one code', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 4, 96, 72);
  const cases: [string, Partial<StackOptions>][] = [
    ['shinestacker defaults', {}],
    ['ours', OURS_DEPTHMAP],
    ['seed laplacian, max, levels 0', { energy: 'laplacian', map: 'max', pyramidLevels: 0 }],
    ['seed variance, bilateral 5, soft max', { energy: 'variance', smoothSize: 5, sigmaColor: 50, map: 'max', temperature: 0.3 }],
    ['ours modified-laplacian, average', { ...OURS_DEPTHMAP, energy: 'modified-laplacian', map: 'average', pyramidSmoothSize: 7 }],
    ['seed power 2, pyramid smooth 7', { weightPower: 2, pyramidSmoothSize: 7 }],
    ['seed hard max with ties, 2 levels', { map: 'max', pyramidLevels: 2 }],
  ];
  const raw = async (f: string) => sharp(f).raw().toBuffer();
  for (const [name, o] of cases) {
    const opts: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', align: false, bandRows: 32, ...o };
    const js = await stackFiles(files, join(dir, 'js.png'), { ...opts, kernels: 'js', depthMapPath: join(dir, 'js-depth.png') });
    t.is(js.kernels, 'js');
    const want = await raw(js.outputs[0]!);
    const wantDepth = await readFile(join(dir, 'js-depth.png'));
    let first: Buffer | null = null;
    for (const threads of [1, 2, 3]) {
      const r = await stackFiles(files, join(dir, 'wasm.png'), { ...opts, threads, depthMapPath: join(dir, 'wasm-depth.png') });
      t.is(r.kernels, 'wasm');
      t.is(r.threads, threads);
      const got = await raw(r.outputs[0]!);
      let off = 0, worst = 0;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs(got[i]! - want[i]!);
        if (d) off++;
        worst = Math.max(worst, d);
      }
      t.true(worst <= 1 && off <= got.length / 1000, `${name}, ${threads} threads: ${off} samples off the plain-TS stack, worst ${worst} codes`);
      t.true((await readFile(join(dir, 'wasm-depth.png'))).equals(wantDepth), `${name}, ${threads} threads: depth map differs`);
      if (!first) first = got;
      else t.true(got.equals(first), `${name}: ${threads} threads differ from 1`);
    }
  }
});
