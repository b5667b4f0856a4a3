// The depth map's WebAssembly energy kernels (pipeline/kernels/assembly/focus.ts through
// focus-wasm.ts) equal frameEnergy, their plain-TS reference, bit for bit: shinestacker's energies on
// its native gray (Sobel/Laplacian/box separable filters, the tenengrad threshold), ours on the
// luminance, Gaussian and bilateral smoothing, at 1 and 3 threads; and whole depth-map stacks are
// byte-identical with either kernels at 1, 2 and 3 threads.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createWasmEnergy } from '../../pipeline/kernels/focus-wasm.js';
import { DEFAULT_STACK, OURS_DEPTHMAP, frameEnergy, stackFiles, type StackOptions } from '../../pipeline/focus/stack.js';
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

test('whole depth-map stacks: the WASM energy kernels at 1, 2 and 3 threads give the plain-TS stack byte for byte', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 4, 96, 72);
  const cases: [string, Partial<StackOptions>][] = [
    ['shinestacker defaults', {}],
    ['ours', OURS_DEPTHMAP],
    ['seed laplacian, max, levels 0', { energy: 'laplacian', map: 'max', pyramidLevels: 0 }],
    ['seed variance, bilateral 5, soft max', { energy: 'variance', smoothSize: 5, sigmaColor: 50, map: 'max', temperature: 0.3 }],
    ['ours modified-laplacian, average', { ...OURS_DEPTHMAP, energy: 'modified-laplacian', map: 'average', pyramidSmoothSize: 7 }],
  ];
  for (const [name, o] of cases) {
    const opts: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', align: false, bandRows: 32, ...o };
    const js = await stackFiles(files, join(dir, 'js.png'), { ...opts, kernels: 'js', depthMapPath: join(dir, 'js-depth.png') });
    t.is(js.kernels, 'js');
    const want = await readFile(js.outputs[0]!);
    const wantDepth = await readFile(join(dir, 'js-depth.png'));
    for (const threads of [1, 2, 3]) {
      const r = await stackFiles(files, join(dir, 'wasm.png'), { ...opts, threads, depthMapPath: join(dir, 'wasm-depth.png') });
      t.is(r.kernels, 'wasm');
      t.is(r.threads, threads);
      t.true((await readFile(r.outputs[0]!)).equals(want), `${name}, ${threads} threads: output differs from the plain-TS stack`);
      t.true((await readFile(join(dir, 'wasm-depth.png'))).equals(wantDepth), `${name}, ${threads} threads: depth map differs`);
    }
  }
});
