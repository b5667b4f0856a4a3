// The focus map's WebAssembly kernels (pipeline/kernels/assembly/focusmap.ts through focusmap-wasm.ts)
// give the plain-TS focus map: the fused filter .npy bit for bit, the density and the pictures
// identical (the histograms' log10 is the kernel library's: a value within an ulp of a bin edge could
// change bins, which would move the threshold by under 0.6 %; these images show none), at 1, 2 and 3
// threads, for reflect and constant borders, power 1 and 2, with and without normalisation.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { focusMapFile, type FocusMapOptions } from '../../pipeline/focus/map.js';
import { DEFAULT_KDE } from '../../pipeline/focus/kde.js';
import { DEFAULT_RADII } from '../../pipeline/focus/rdf.js';
import { tempDir } from '../helpers/tmp.js';
import { synthBracket, writeRgbPng } from './focus-helpers.js';

const base: FocusMapOptions = { radii: DEFAULT_RADII, power: 2, normalize: 'p99', border: 'reflect', downsample: 1, kde: DEFAULT_KDE, saveScales: true };

test('focus map on the WASM kernels equals the plain-TS map (npy, density, PNGs) at 1, 2 and 3 threads', async (t) => {
  const dir = await tempDir(t);
  const b = synthBracket(150, 110, 3);
  const img = join(dir, 'img.png');
  await writeRgbPng(img, b.frames[1]!, 150, 110);
  for (const [name, o] of [
    ['defaults', {}],
    ['constant border, power 1, mad', { border: 'constant', power: 1, normalize: 'mad' }],
    ['no normalisation, radii 1:2,2:4, strength', { normalize: 'none', radii: [[1, 2], [2, 4]], kde: { ...DEFAULT_KDE, includeStrength: true, bandwidthPx: 6 } }],
    ['downsample 2', { downsample: 2 }],
  ] as [string, Partial<FocusMapOptions>][]) {
    const js = await focusMapFile(img, join(dir, `${name}-js`), { ...base, ...o, kernels: 'js', bandRows: 32 });
    t.is(js.kernels, 'js');
    const files = (r: typeof js) => [r.files.filter!, r.files.kde!, r.files.filterVis!, r.files.kdeVis!, r.files.kdeOverlay!, ...r.files.scales];
    for (const threads of [1, 2, 3]) {
      const w = await focusMapFile(img, join(dir, `${name}-w${threads}`), { ...base, ...o, threads, bandRows: 32 });
      t.is(w.kernels, 'wasm');
      t.is(w.threads, threads);
      t.is(w.threshold, js.threshold, `${name}: threshold`);
      const a = files(js), c = files(w);
      for (let i = 0; i < a.length; i++) {
        const same = a[i]!.endsWith('.png')
          ? (await sharp(a[i]!).raw().toBuffer()).equals(await sharp(c[i]!).raw().toBuffer())
          : (await readFile(a[i]!)).equals(await readFile(c[i]!));
        t.true(same, `${name}, ${threads} threads: ${c[i]} differs`);
      }
    }
  }
});
