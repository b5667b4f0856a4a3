// Row kernels of the dark library: exact and scaled subtraction, bad-pixel replacement in the row,
// hot pixels of a master by median + k·σ_MAD.
import test from 'ava';
import { badPixelsByRow, findBadPixels, fixBadPixelsInRow, medianAndSigma, subtractDarkRow } from '../../pipeline/calib/rows.js';

test('exact subtraction is L − D; scaled keeps the bias and scales only D − B', (t) => {
  const row = Float32Array.from([0.5, 0.6, 0.7]);
  subtractDarkRow(row, Float32Array.from([0.1, 0.2, 0.3]), null, 1);
  t.deepEqual([...row].map((v) => Number(v.toFixed(6))), [0.4, 0.4, 0.4]);
  const light = Float32Array.from([0.5, 0.5]);
  // bias 0.1, dark(10 s) 0.3 → thermal 0.2; a 5 s light gets 0.1 + 0.2·0.5 = 0.2
  subtractDarkRow(light, Float32Array.from([0.3, 0.5]), Float32Array.from([0.1, 0.1]), 0.5);
  t.true(Math.abs(light[0]! - 0.3) < 1e-7 && Math.abs(light[1]! - 0.2) < 1e-7, String([...light]));
  t.throws(() => subtractDarkRow(new Float32Array(2), new Float32Array(2), null, 2), { message: /needs the bias row/ });
  t.throws(() => subtractDarkRow(new Float32Array(3), new Float32Array(2), null, 1), { message: /2 samples, frame row 3/ });
});

test('bad pixels take the median of their row neighbours (same colour on a mosaic), skipping other bad ones', (t) => {
  const row = Float32Array.from([1, 2, 3, 100, 5, 6, 7, 8]);
  t.is(fixBadPixelsInRow(row, 8, 1, [3]), 1);
  t.is(row[3], 4); // median of 2, 3, 5, 6
  // two bad neighbours side by side: each uses only good pixels
  const pair = Float32Array.from([1, 1, 50, 60, 1, 1]);
  fixBadPixelsInRow(pair, 6, 1, [2, 3]);
  t.deepEqual([...pair], [1, 1, 1, 1, 1, 1]);
  // mosaic step 2: x=4 uses x=0,2,6,8 (the same colour), not the other colour at x=3,5
  const cfa = Float32Array.from([10, 90, 10, 90, 500, 90, 10, 90, 10]);
  fixBadPixelsInRow(cfa, 9, 1, [4], 2);
  t.is(cfa[4], 10);
  // RGB: each channel from its own neighbours; the edge uses what exists
  const rgb = Float32Array.from([9, 9, 9, 1, 2, 3, 1, 2, 3]);
  fixBadPixelsInRow(rgb, 3, 3, [0]);
  t.deepEqual([...rgb.subarray(0, 3)], [1, 2, 3]);
});

test('hot pixels of a master: above median + k·σ_MAD, grouped by row', (t) => {
  const w = 50, h = 40;
  const data = new Float32Array(w * h);
  let s = 1;
  for (let i = 0; i < data.length; i++) { s = (s * 16807) % 2147483647; data[i] = 0.02 + 0.001 * (s / 2147483647 - 0.5); }
  data[3 * w + 7] = 0.2;
  data[3 * w + 40] = 0.05;
  data[39 * w + 0] = 0.9;
  const { median, sigma } = medianAndSigma(data);
  t.true(Math.abs(median - 0.02) < 1e-4 && sigma > 2e-4 && sigma < 4e-4, `${median} ${sigma}`);
  const bad = findBadPixels({ width: w, height: h, channels: 1, bitDepth: 32, data }, 8);
  t.deepEqual(bad, [{ x: 7, y: 3 }, { x: 40, y: 3 }, { x: 0, y: 39 }]);
  const rows = badPixelsByRow(bad);
  t.deepEqual([...rows.get(3)!], [7, 40]);
  t.deepEqual([...rows.get(39)!], [0]);
  t.false(rows.has(0));
});
