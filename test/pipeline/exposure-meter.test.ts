// Sky metering: the median of a central circle (all-sky), rectangle or mask, from a decoded frame and
// streamed by rows with the same answer.
import test from 'ava';
import { createImage } from '../../pipeline/image/types.js';
import { memoryRowSource } from '../../pipeline/image/memory-source.js';
import { meterAndBin, meterImage, meterRows } from '../../pipeline/exposure/index.js';

/** An all-sky-like frame: sky 0.2 inside the horizon circle, 0.9 (a lit wall) outside, a saturated moon. */
function allSkyFrame(w = 200, h = 150) {
  const img = createImage(w, h, 3, 16);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const r = Math.min(w, h) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = Math.hypot(x - cx, y - cy) <= r;
      const moon = Math.hypot(x - cx - 20, y - cy) < 6;
      const v = moon ? 1 : inside ? 0.2 : 0.9;
      for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = v;
    }
  }
  return img;
}

test('circle metering ignores what lies outside the horizon; full-frame metering does not', async (t) => {
  const img = allSkyFrame();
  const circle = meterImage(img, { region: { shape: 'circle' } });
  t.true(Math.abs(circle.median - 0.2) < 1e-3, `circle median ${circle.median}`);
  t.true(circle.saturatedFraction > 0.003 && circle.saturatedFraction < 0.02);
  const full = meterImage(img, { region: { shape: 'full' } });
  t.true(full.mean > circle.mean + 0.1);
  // A smaller circle inside the sky still reads the sky; a rectangle of the central 30 % too.
  t.true(Math.abs(meterImage(img, { region: { shape: 'circle', radius: 0.5 } }).median - 0.2) < 1e-3);
  t.true(Math.abs(meterImage(img, { region: { shape: 'rect', fraction: 0.3 } }).median - 0.2) < 1e-3);
  // Streaming gives the same figures.
  const streamed = await meterRows(memoryRowSource('mem', img), { region: { shape: 'circle' } });
  t.deepEqual(streamed, circle);
});

test('mask metering and subsampling', (t) => {
  const img = allSkyFrame(64, 48);
  const mask = new Uint8Array(64 * 48);
  for (let x = 0; x < 64; x++) mask[x] = 1; // top row: outside the circle at the corners, inside at the middle
  const m = meterImage(img, { region: { shape: 'mask', mask, width: 64, height: 48 } });
  t.is(m.samples, 64);
  t.throws(() => meterImage(img, { region: { shape: 'mask', mask, width: 10, height: 10 } }), { message: /mask is 10×10, the frame 64×48/ });
  const sub = meterImage(img, { rowStep: 4, colStep: 2 });
  t.is(sub.samples, 12 * 32);
});

test('meterAndBin: one streamed pass gives the same metering and a binned copy with cell means', async (t) => {
  const img = allSkyFrame(301, 200);
  // A gradient in the first channel so the cell means can be checked.
  for (let y = 0; y < 200; y++) for (let x = 0; x < 301; x++) img.data[(y * 301 + x) * 3] = x / 300;
  const { metering, binned, bin } = await meterAndBin(memoryRowSource('mem', img), { region: { shape: 'circle' }, maxSize: 100 });
  t.deepEqual(metering, meterImage(img, { region: { shape: 'circle' } }));
  t.is(bin, 4);
  t.deepEqual([binned.width, binned.height, binned.channels], [76, 50, 3]);
  // Cell (2, 0) covers x 8..11: mean x/300 = 9.5/300; the last column holds only x = 300.
  t.true(Math.abs(binned.data[2 * 3]! - 9.5 / 300) < 1e-6);
  t.true(Math.abs(binned.data[75 * 3]! - 1) < 1e-6);
});
