import test from 'ava';
import { detectStars, measureHfr, summarizeStars } from '../../pipeline/stars/index.js';
import { makeCatalog, renderStarField } from '../../pipeline/stack/synth.js';

test('detectStars finds the catalogue stars with sub-0.1 px centroids and the PSF width', (t) => {
  const cat = makeCatalog(11, 60, 256, 256, 0, [1, 3]).filter((s) => s.x > 10 && s.y > 10 && s.x < 246 && s.y < 246);
  const img = renderStarField({ width: 256, height: 256, catalog: cat, fwhm: 3, noise: 0.002, seed: 5 });
  const stars = detectStars(img);
  let matched = 0, err2 = 0, isolated = 0;
  for (const c of cat) {
    const s = stars.find((q) => Math.hypot(q.x - c.x, q.y - c.y) < 1.5);
    if (!s) continue;
    matched++;
    // Centroid accuracy on isolated stars (a neighbour within 12 px pulls any centroid).
    if (cat.every((o) => o === c || Math.hypot(o.x - c.x, o.y - c.y) > 12)) { isolated++; err2 += (s.x - c.x) ** 2 + (s.y - c.y) ** 2; }
  }
  t.true(isolated > 20);

  // Blended close pairs may merge; nearly all isolated stars must be found.
  t.true(matched >= cat.length * 0.85, `matched ${matched}/${cat.length}`);
  t.true(Math.sqrt(err2 / isolated) < 0.1, `centroid rms ${Math.sqrt(err2 / isolated)}`);
  const sum = summarizeStars(stars);
  // Pixel-integrated Gaussian FWHM 3: σ² grows by 1/12 px² from the pixel.
  t.true(Math.abs(sum.fwhm - 2.3548 * Math.sqrt((3 / 2.3548) ** 2 + 1 / 12)) < 0.15, `fwhm ${sum.fwhm}`);
  t.true(Math.abs(sum.hfr - 1.2533 * Math.sqrt((3 / 2.3548) ** 2 + 1 / 12)) < 0.15, `hfr ${sum.hfr}`);
});

test('hot pixels and cosmic-ray hits are not stars', (t) => {
  const hot = Array.from({ length: 40 }, (_, i) => ({ x: 20 + i * 5, y: 30 + ((i * 37) % 180), value: 0.5 }));
  const img = renderStarField({ width: 256, height: 256, catalog: [], noise: 0.003, hotPixels: hot, seed: 2 });
  t.is(detectStars(img).length, 0);
});

test('measureHfr grows with defocus (what autofocus needs)', (t) => {
  const cat = [{ x: 64, y: 64, flux: 5 }];
  const hfrs = [2, 4, 8].map((fwhm) => measureHfr(renderStarField({ width: 128, height: 128, catalog: cat, fwhm, noise: 0.001, seed: 3 }), { x: 64, y: 64, radius: 20 })!.hfr);
  t.true(hfrs[0]! < hfrs[1]! && hfrs[1]! < hfrs[2]!, hfrs.join(' '));
  t.true(Math.abs(hfrs[2]! - 1.2533 * 8 / 2.3548) < 0.6, `hfr ${hfrs[2]}`);
});
