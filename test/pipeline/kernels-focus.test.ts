// The depth map's WebAssembly kernels (pipeline/kernels/assembly/focus.ts through focus-wasm.ts) equal
// their plain-TS references: energies, scaling, Gaussian blur and the map building bit for bit;
// where exp/pow enter (bilateral range weights, soft max, weight powers ≠ 1) within 1e-6 relative
// (an f64 ulp before the f32 rounding). Whole depth-map stacks are byte-identical at 1, 2 and 3
// threads for every option set without exp/pow, and within one 8-bit code with them.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createWasmDepthMap } from '../../pipeline/kernels/focus-wasm.js';
import { DEFAULT_STACK, OURS_DEPTHMAP, frameEnergy, stackFiles, type StackOptions } from '../../pipeline/focus/stack.js';
import { ENERGY_MEASURES } from '../../pipeline/focus/measures.js';
import { bilateralWindow } from '../../pipeline/focus/bilateral.js';
import { gaussianKernel } from '../../pipeline/focus/gaussian.js';
import { mulberry32 } from '../../pipeline/hdr/random.js';
import { tempDir } from '../helpers/tmp.js';
import { readRgb, synthBracket, writeRgbPng } from './focus-helpers.js';

function energyOptionsOf(o: StackOptions) {
  const laplacian = o.energy === 'laplacian' || o.energy === 'modified-laplacian';
  const cv = (size: number) => 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
  return {
    energy: o.energy,
    preBlur: laplacian && o.dmBlurSize > 1 ? gaussianKernel(cv(o.dmBlurSize)) : null,
    window: laplacian ? o.dmKernelSize : 5,
    smoothing: o.smoothing,
    smooth: o.smoothing === 'gaussian' && o.energySmooth > 0 ? gaussianKernel(o.energySmooth) : null,
    bilateral: o.smoothing === 'bilateral' ? bilateralWindow(o.smoothSize, o.sigmaColor, o.sigmaSpace) : null,
  };
}

test('energy, pre-blur, scaling and smoothing: WASM equals frameEnergy (bit for bit; bilateral within 1e-6)', async (t) => {
  const rnd = mulberry32(11);
  for (const [w, h, c] of [[37, 23, 3], [64, 41, 1], [5, 3, 3], [2, 9, 1]] as const) {
    const data = new Float32Array(w * h * c).map(() => rnd());
    for (const threads of [1, 3]) {
      const K = createWasmDepthMap({ maxPx: w * h, c, rows: h, map: 'average', pix: false, threads, maxTaps: 64, maxWindow: 64 });
      if (!K) return t.fail('focus.wasm did not load');
      try {
      for (const energy of ENERGY_MEASURES) {
        for (const sm of [
          { smoothing: 'none' },
          { smoothing: 'gaussian', energySmooth: 2 },
          { smoothing: 'gaussian', energySmooth: 0.7, dmBlurSize: 5 },
          { smoothing: 'bilateral', smoothSize: 1 },
          { smoothing: 'bilateral', smoothSize: 5, sigmaColor: 0.3, sigmaSpace: 2 },
        ] as Partial<StackOptions>[]) {
          const o: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', energy, dmBlurSize: 0, ...sm };
          const ref = { v: 0 };
          const want = frameEnergy({ w, h, c, data }, o, ref);
          {
            K.frame(data.length).set(data);
            const r2 = { v: 0 };
            const at = await K.energy(w, h, c, energyOptionsOf(o), r2);
            const got = new Float32Array(new Float32Array((K.frame(0).buffer as SharedArrayBuffer), at, w * h));
            t.is(r2.v, ref.v, `${energy} reference energy`);
            const exact = !(o.smoothing === 'bilateral' && o.smoothSize > 1);
            let worst = 0;
            for (let i = 0; i < want.length; i++) {
              const d = Math.abs(got[i]! - want[i]!) / Math.max(1e-30, Math.abs(want[i]!));
              if (d > worst) worst = d;
            }
            if (exact) t.deepEqual(Array.from(got), Array.from(want), `${w}×${h}×${c} ${energy} ${JSON.stringify(sm)} threads ${threads}`);
            else t.true(worst <= 1e-6, `${energy} bilateral: relative error ${worst}`);
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
  const b = synthBracket(w, h, n);
  const files: string[] = [];
  for (let k = 0; k < n; k++) {
    const p = join(dir, `f${k}.png`);
    await writeRgbPng(p, b.frames[k]!, w, h);
    files.push(p);
  }
  return files;
}

test('whole depth-map stacks: WASM kernels at 1, 2 and 3 threads give the plain-TS stack (byte-identical without exp/pow)', async (t) => {
  const dir = await tempDir(t);
  const files = await bracket(dir, 4, 96, 72);
  const cases: [string, Partial<StackOptions>, boolean][] = [
    ['shinestacker defaults', {}, true],
    ['ours', OURS_DEPTHMAP, true],
    ['average, levels 0, laplacian blur 5', { pyramidLevels: 0, energy: 'laplacian' }, true],
    ['max, levels 0', { map: 'max', pyramidLevels: 0, energy: 'modified-laplacian' }, true],
    ['max, weight smoothing 7, variance', { map: 'max', pyramidSmoothSize: 7, energy: 'variance' }, true],
    ['soft max T 0.1', { map: 'max', temperature: 0.1 }, false],
    ['power 4, bilateral 5', { weightPower: 4, smoothSize: 5 }, false],
  ];
  for (const [name, o, exact] of cases) {
    const opts: StackOptions = { ...DEFAULT_STACK, algorithm: 'depthmap', align: false, bandRows: 32, ...o };
    const js = await stackFiles(files, join(dir, 'js.png'), { ...opts, kernels: 'js', depthMapPath: join(dir, 'js-depth.png') });
    t.is(js.kernels, 'js');
    const want = await readFile(js.outputs[0]!);
    const wantDepth = await readFile(join(dir, 'js-depth.png'));
    for (const threads of [1, 2, 3]) {
      const r = await stackFiles(files, join(dir, 'wasm.png'), { ...opts, threads, depthMapPath: join(dir, 'wasm-depth.png') });
      t.is(r.kernels, 'wasm');
      t.is(r.threads, threads);
      const got = await readFile(r.outputs[0]!);
      if (exact) {
        t.true(got.equals(want), `${name}, ${threads} threads: output differs from the plain-TS stack`);
        t.true((await readFile(join(dir, 'wasm-depth.png'))).equals(wantDepth), `${name}, ${threads} threads: depth map differs`);
      } else {
        const a = (await readRgb(join(dir, 'js.png'))).data, b = (await readRgb(join(dir, 'wasm.png'))).data;
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        t.true(worst <= 1, `${name}, ${threads} threads: ${worst} codes from the plain-TS stack`);
      }
    }
  }
});
