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
import { writeImage } from '../../pipeline/image/write.js';
import { createImage } from '../../pipeline/image/types.js';
import { heatIndices, jetPalette, jetRows, overlayHeatCodes, overlayHeatFloats, overlayHeatRows, overlayTable } from '../../pipeline/focus/colormap.js';
import { floatToPnm } from '../../pipeline/image/pnm.js';
import { BINS } from '../../pipeline/focus/quantiles.js';
import { HISTOGRAM_CELLS, cellBin, createWasmFocusMap, fillHistogramCells } from '../../pipeline/kernels/focusmap-wasm.js';
import { pngFilterRows } from '../../pipeline/image/png-sink.js';
import { synthBracket, toU8, writeRgbPng } from './focus-helpers.js';

const base: FocusMapOptions = { radii: DEFAULT_RADII, power: 2, normalize: 'p99', border: 'reflect', downsample: 1, kde: DEFAULT_KDE, saveScales: true };

test('focus map on the WASM kernels equals the plain-TS map (npy, density, PNGs) at 1, 2 and 3 threads', async (t) => {
  const dir = await tempDir(t);
  const b = synthBracket(150, 110, 3);
  const png = join(dir, 'img.png');
  await writeRgbPng(png, b.frames[1]!, 150, 110);
  // JPEG: the overlay is painted by the kernels from djpeg's 8-bit codes (RGB and grey); PNG: from
  // the decoder's float rows in JavaScript.
  const jpg = join(dir, 'img.jpg');
  await sharp(toU8(b.frames[1]!), { raw: { width: 150, height: 110, channels: 3 } }).jpeg({ quality: 92 }).toFile(jpg);
  const grey = join(dir, 'grey.jpg');
  await sharp(toU8(b.frames[2]!), { raw: { width: 150, height: 110, channels: 3 } }).greyscale().jpeg({ quality: 92 }).toFile(grey);
  // 16-bit: the kernels take the plane's 16-bit codes; the overlay comes from float rows.
  const png16 = join(dir, 'img16.png');
  const img16 = createImage(150, 110, 3, 16);
  img16.data.set(b.frames[0]!);
  await writeImage(png16, img16, { depth: 16 });
  for (const [name, o, img] of [
    ['jpeg', {}, jpg],
    ['16-bit png, constant border', { border: 'constant' }, png16],
    ['grey jpeg, 40-row bands', { bandRows: 40 }, grey],
    ['defaults', {}],
    ['constant border, power 1, mad', { border: 'constant', power: 1, normalize: 'mad' }],
    ['no normalisation, radii 1:2,2:4, strength', { normalize: 'none', radii: [[1, 2], [2, 4]], kde: { ...DEFAULT_KDE, includeStrength: true, bandwidthPx: 6 } }],
    ['downsample 2', { downsample: 2 }],
    ['no pictures', { saveVisualizations: false }],
  ] as [string, Partial<FocusMapOptions>, string?][]) {
    const input = img ?? png;
    const js = await focusMapFile(input, join(dir, `${name}-js`), { ...base, bandRows: 32, ...o, kernels: 'js' });
    t.is(js.kernels, 'js');
    const files = (r: typeof js) => [r.files.filter, r.files.kde, r.files.filterVis, r.files.kdeVis, r.files.kdeOverlay, ...r.files.scales].filter((f): f is string => f !== null);
    for (const threads of [1, 2, 3]) {
      const w = await focusMapFile(input, join(dir, `${name}-w${threads}`), { ...base, bandRows: 32, ...o, threads });
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

test('painting by table equals the float painting: every heat index × every 8-bit code, the jet palette, float sources', (t) => {
  const table = overlayTable();
  const codes = Float32Array.from({ length: 256 }, (_, s) => s / 255);
  const enc = (f: Float32Array) => {
    const b = new Uint8Array(f.length);
    floatToPnm(f, f.length, 1, b);
    return b;
  };
  for (let k = 0; k < 256; k++) {
    const density = new Float32Array(256).fill(k / 255);
    const ref = enc(overlayHeatRows(Float32Array.from({ length: 768 }, (_, i) => codes[Math.floor(i / 3)]!), 3, density));
    const kIdx = heatIndices(density, new Uint8Array(256));
    t.is(kIdx[0], k);
    const rgb = Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3));
    t.deepEqual(overlayHeatCodes(rgb, 3, kIdx, 256, table, new Uint8Array(768)), ref, `heat index ${k}`);
    const grey = Uint8Array.from({ length: 256 }, (_, i) => i);
    t.deepEqual(overlayHeatCodes(grey, 1, kIdx, 256, table, new Uint8Array(768)), enc(overlayHeatRows(codes, 1, density)), `grey, heat index ${k}`);
  }
  // The palette is what jetRows' floats become.
  const ramp = Float32Array.from({ length: 256 }, (_, k) => k / 255);
  t.deepEqual(jetPalette(), enc(jetRows(ramp)));
  // Densities between the indices, and float sources that are not 8-bit codes (16-bit, HDR): the
  // reference's own arithmetic where the table does not apply.
  let seed = 3;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const n = 5000;
  const density = Float32Array.from({ length: n }, () => rnd() * 1.1 - 0.05);
  const px = Float32Array.from({ length: 3 * n }, (_, i) => (i % 2 ? Math.round(rnd() * 65535) / 65535 : codes[Math.floor(rnd() * 256)]!));
  const k = heatIndices(density, new Uint8Array(n));
  t.deepEqual(overlayHeatFloats(px, 3, k, n, table, new Uint8Array(3 * n)), enc(overlayHeatRows(px, 3, density)));
  t.deepEqual(enc(jetRows(density)), Uint8Array.from({ length: 3 * n }, (_, i) => jetPalette()[k[Math.floor(i / 3)]! * 3 + (i % 3)]!));
});

test('histogram bin table: every bin edge and its neighbours land where LogHistogram puts them', (t) => {
  const cells = new Uint32Array(HISTOGRAM_CELLS);
  fillHistogramCells(cells);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const ref = (v: number) => Math.min(BINS - 1, Math.floor((Math.log10(v) + 14) * (BINS / 20)));
  let checked = 0;
  let logged = 0;
  for (let b = 1; b < BINS; b++) {
    f[0] = Math.pow(10, -14 + (b * 20) / BINS);
    const centre = u[0]!;
    for (let d = -3; d <= 3; d++) {
      u[0] = centre + d;
      const v = f[0]!;
      if (!(v > 1e-14)) continue;
      t.is(cellBin(cells, v), ref(v), `bin ${b}, pattern ${d}`);
      checked++;
    }
  }
  // Only the run holding 1e-14 is left to log10.
  for (let k = 0; k < cells.length; k++) if ((cells[k]! & 0xffff) === 0xffff) logged++;
  t.true(checked > 50000);
  t.is(logged, 1);
});

test('painting kernels equal the references on awkward values: ties, NaN, negatives, past 1, huge; 1 and 3 threads', async (t) => {
  const w = 37;
  const rows = 6;
  const specials = [Number.NaN, -1, -0, 0, 1e-30, 0.5 / 255, 1.5 / 255, 127.5 / 255, 254.5 / 255, 0.999999, 1, 1.0000001, 1.5, 1e30, Infinity];
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const values = Float32Array.from({ length: rows * w }, (_, i) => (i % 3 === 0 ? specials[(i / 3) % specials.length]! : rnd() * 1.2 - 0.1));
  const table = overlayTable();
  for (const threads of [1, 3]) {
    const K = createWasmFocusMap({ w, bandRows: 8, radii: [[1, 2]], border: 'reflect', kdeStored: 0, paintRows: rows, fullWidth: w, overlayTable: table, threads });
    if (!K) return t.fail('focusmap kernels unavailable');
    try {
      for (const scale of [1, 0.73, 3.1]) {
        const vis = await K.vis(values, rows, scale);
        // the reference: clip into f32 rows, then the row sinks' 8-bit step
        const clipped = values.map((x) => {
          const v = x * scale;
          return v >= 1 ? 1 : v <= 0 ? 0 : v;
        });
        const ref = new Uint8Array(rows * w);
        floatToPnm(clipped, clipped.length, 1, ref);
        const scan = new Uint8Array(rows * (w + 1));
        pngFilterRows(ref, rows, w, 1, 'none', null, scan);
        t.deepEqual(Uint8Array.from(vis), scan, `vis, scale ${scale}, ${threads} threads`);
      }
      // Two bands: the second's Up filter uses the first's last heat row.
      let prev: Uint8Array | null = null;
      for (const [cap, gain] of [[0.9, 1 / 0.9], [2, 0.5]] as const) {
        const codes = Uint8Array.from({ length: rows * w * 3 }, () => Math.floor(rnd() * 256));
        K.paintDensity(rows).set(values);
        K.paintCodes(rows, 3).set(codes);
        const got = await K.paint(rows, cap, gain, 3);
        const d = values.map((v) => Math.min(v, cap) * gain);
        t.deepEqual(Float32Array.from(K.paintDensity(rows)), d, `density, ${threads} threads`);
        const k = heatIndices(d, new Uint8Array(rows * w));
        const heat = new Uint8Array(rows * (w + 1));
        pngFilterRows(k, rows, w, 1, 'up', prev, heat);
        prev = k.slice((rows - 1) * w);
        t.deepEqual(Uint8Array.from(got.heat), heat, `heat scanlines, ${threads} threads`);
        const ov = overlayHeatCodes(codes, 3, k, rows * w, table, new Uint8Array(rows * w * 3));
        const ovScan = new Uint8Array(rows * (3 * w + 1));
        pngFilterRows(ov, rows, 3 * w, 3, 'sub', null, ovScan);
        t.deepEqual(Uint8Array.from(got.overlay!), ovScan, `overlay scanlines, ${threads} threads`);
      }
    } finally {
      await K.close();
    }
  }
});
