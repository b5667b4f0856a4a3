import test from 'ava';
import { join } from 'node:path';
import { plotChart, heatmap, overlayHeatmap, prepareHeatOverlay, colorizeStrip, niceTicks, formatTick, colormapAt, drawText, type RGB } from '../../pipeline/image/plot.js';
import { createImage, type ImageF32 } from '../../pipeline/image/types.js';
import { writeImage } from '../../pipeline/image/write.js';
import { readImage } from '../../pipeline/image/read.js';
import { tempDir } from '../helpers/tmp.js';

const px = (img: ImageF32, x: number, y: number): RGB => {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
};
const near = (a: RGB, b: RGB, tol = 0.02) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

test('nice ticks and labels', (t) => {
  t.deepEqual(niceTicks(0, 255, 6), [0, 50, 100, 150, 200, 250]);
  t.deepEqual(niceTicks(-5.3, 0.2, 6), [-5, -4, -3, -2, -1, 0]);
  t.deepEqual(niceTicks(-5.3, 0.2, 3), [-4, -2, 0]);
  t.deepEqual(niceTicks(0.001, 0.0042, 4).map((v) => formatTick(v, 0.001)), ['0.001', '0.002', '0.003', '0.004']);
  t.is(formatTick(123456, 50000), '1.2e5');
  t.deepEqual(niceTicks(0, 0.35, 4), [0, 0.1, 0.2, 0.3]);
  // a narrow range never ends up with a single labelled tick
  t.deepEqual(niceTicks(26.7, 33.7, 3), [28, 30, 32]);
  t.deepEqual(niceTicks(0.998, 1.003, 3), [0.998, 1, 1.002]);
});

test('chart draws series in their colours where the data are, with title text and a legend', async (t) => {
  const x = Array.from({ length: 101 }, (_, i) => i);
  const red: RGB = [1, 0, 0];
  const blue: RGB = [0, 0, 1];
  const img = plotChart(
    [
      { name: 'flat', x, y: x.map(() => 5), color: red, lineWidth: 3 },
      { name: 'points', x: [50], y: [8], color: blue, kind: 'scatter', pointRadius: 4 },
    ],
    { width: 400, height: 300, title: 'V-CURVE', xLabel: 'position', yLabel: 'HFR', yRange: [0, 10], legend: false },
  );
  t.is(img.channels, 3);
  // find the plot's red row at mid-width: exactly one band of red pixels
  const redRows: number[] = [];
  for (let y = 0; y < 300; y++) if (near(px(img, 200, y), red, 0.05)) redRows.push(y);
  t.true(redRows.length >= 2 && redRows.length <= 4, `red rows ${redRows}`);
  // y=5 is half-way in a 0..10 range: the line sits between the plot's top and bottom
  const blueRows: number[] = [];
  for (let y = 0; y < 300; y++) for (let xx = 0; xx < 400; xx++) if (near(px(img, xx, y), blue, 0.1)) blueRows.push(y);
  t.true(blueRows.length > 0, 'scatter point drawn');
  t.true(Math.max(...blueRows) < Math.min(...redRows), 'y=8 is above y=5');
  // title: dark pixels in the top band, centred
  let dark = 0;
  for (let y = 0; y < 20; y++) for (let xx = 150; xx < 250; xx++) if (px(img, xx, y)[0] < 0.3) dark++;
  t.true(dark > 20, `title pixels ${dark}`);
  const withLegend = plotChart([{ name: 'flat', x, y: x.map(() => 5), color: red }], { width: 400, height: 300 });
  let legendRed = 0;
  for (let y = 0; y < 80; y++) for (let xx = 250; xx < 400; xx++) if (near(px(withLegend, xx, y), red, 0.05)) legendRed++;
  t.true(legendRed > 20, 'legend swatch');
  const dir = await tempDir(t);
  const p = join(dir, 'chart.png');
  await writeImage(p, img);
  const back = await readImage(p);
  t.is(back.width, 400);
});

test('text renders glyph pixels and lowercase as uppercase', (t) => {
  const a = createImage(40, 10, 3);
  const b = createImage(40, 10, 3);
  drawText(a, 1, 1, 'r2=0.9', [1, 1, 1]);
  drawText(b, 1, 1, 'R2=0.9', [1, 1, 1]);
  t.deepEqual(Array.from(a.data), Array.from(b.data));
  t.true(a.data.reduce((s, v) => s + v, 0) > 30);
});

test('heatmap maps min/max to the colormap ends; overlay blends and resamples', (t) => {
  const values = new Float32Array([0, 0.5, 1, NaN]);
  const h = heatmap(values, 2, 2, 'viridis');
  t.true(near(px(h, 0, 0), colormapAt(0, 'viridis'), 0.01));
  t.true(near(px(h, 0, 1), colormapAt(1, 'viridis'), 0.01));
  t.true(near(colormapAt(1, 'inferno'), [0xfc / 255, 1, 0xa4 / 255], 1e-6));
  const base = createImage(8, 8, 1);
  base.data.fill(1);
  const map: ImageF32 = { width: 2, height: 2, channels: 1, bitDepth: 32, data: new Float32Array([0, 0, 1, 1]) };
  const o = overlayHeatmap(base, map, 0.5);
  t.is(o.width, 8);
  t.is(o.channels, 3);
  const top = px(o, 0, 0);
  const hot = colormapAt(1, 'inferno');
  const cold = colormapAt(0, 'inferno');
  t.true(near(top, [0.5 + cold[0] / 2, 0.5 + cold[1] / 2, 0.5 + cold[2] / 2], 0.02));
  t.true(near(px(o, 7, 7), [0.5 + hot[0] / 2, 0.5 + hot[1] / 2, 0.5 + hot[2] / 2], 0.02));
  // strip-wise overlay (for frames too big to hold) gives the same pixels
  const ov = prepareHeatOverlay(map, 8, 8, 0.5);
  const strips = new Float32Array(8 * 8 * 3);
  for (let y = 0; y < 8; y += 3) {
    const rows = Math.min(3, 8 - y);
    strips.set(ov.apply(base.data.subarray(y * 8, (y + rows) * 8), 1, y, rows), y * 8 * 3);
  }
  t.deepEqual(Array.from(strips), Array.from(o.data));
  t.deepEqual(Array.from(colorizeStrip([0, 1], 2, [0, 1], 'viridis')), [...colormapAt(0, 'viridis'), ...colormapAt(1, 'viridis')].map(Math.fround));
});
