// Star trails of the simulated all-sky rig: two hours of sky make arcs of 2 h × 15.04°/h about the
// celestial pole. Measured on the product itself: each star is found in the star-trails image near
// every frame's true position, and its first and last positions, taken back through the fisheye to
// the sky, differ by that hour angle at the same declination.
import test from 'ava';
import { join } from 'node:path';
import { allSkyGeometry, projectFisheye, unprojectFisheye } from '../../hardware-mocks/allsky.js';
import { createSimCamera } from '../../hardware-mocks/index.js';
import { readFits } from '../../pipeline/image/fits.js';
import { NightProducts } from '../../pipeline/night/products.js';
import { tempDir } from '../helpers/tmp.js';
import { simContext } from '../hardware-mocks/helpers.js';
import { config, log } from './night-helpers.js';

const W = 320;
const LAT = 52;
const STEP_S = 1200; // 5° of hour angle between frames: each frame's star stands apart from the next on the trail
const FRAMES = 7; // 0 … 120 minutes
const SIDEREAL_DEG_PER_H = 15.041;
const RAD = Math.PI / 180;

/** Hour angle and declination (degrees) of a sky direction at latitude LAT. */
function equatorial(altDeg: number, azDeg: number): { ha: number; dec: number } {
  const alt = altDeg * RAD, az = azDeg * RAD, lat = LAT * RAD;
  const dec = Math.asin(Math.sin(lat) * Math.sin(alt) + Math.cos(lat) * Math.cos(alt) * Math.cos(az));
  const ha = Math.atan2(-Math.cos(alt) * Math.sin(az), Math.sin(alt) * Math.cos(lat) - Math.cos(alt) * Math.cos(az) * Math.sin(lat));
  return { ha: ha / RAD, dec: dec / RAD };
}

test('star trails on the simulated sky: arcs of the expected angle about the pole, a star at every frame position', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(
    new URL(`sim://arcs?lens=fisheye&scene=sky&lat=${LAT}&lon=5&start=2026-01-10T20:00:00Z&time_step=${STEP_S}&width=${W}&height=${W}&seed=11&moon=0&clouds=0&hot_pixels=0&format=fits`),
    simContext(),
  );
  await cam.connect();
  const products = await NightProducts.open(join(dir, 'night'), config({ keogram: { enabled: false }, timelapse: { enabled: false }, labels: { enabled: false }, startrails: { max_sky_level: 1 } }), { log });
  const shots: { at: Date; path: string }[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const f = await cam.capture({ exposureS: 10, outDir: dir, fileStem: `f${String(i).padStart(2, '0')}` });
    shots.push({ at: f.timestamp, path: f.path });
    const r = await products.add({ path: f.path, timestamp: f.timestamp, exposureS: 10, gain: null, skyLevel: Number.NaN });
    t.is(r.startrails, 'added', r.reason);
  }
  const summary = await products.finish([]);
  t.is(summary.startrailsFrames, FRAMES);
  const trails = (await readFits(summary.startrailsFits!)).image;
  const at = (x: number, y: number) => {
    // brightest sample within 1 px: the PSF peak of a star whose centre falls between pixels
    let m = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) m = Math.max(m, trails.data[(Math.round(y) + dy) * W + Math.round(x) + dx] ?? 0);
    return m;
  };
  const sorted = Float32Array.from(trails.data).sort();
  const background = sorted[Math.floor(sorted.length / 2)]!;

  // The north celestial pole stands at the site's latitude, due north.
  const [px, py] = projectFisheye(allSkyGeometry(W, W), LAT, 0);
  t.true(equatorial(LAT, 0).dec > 89.99, 'the pole is at declination 90°');
  const first = new Map(cam.starsAt(shots[0]!.at).map((s) => [s.id, s]));
  const last = new Map(cam.starsAt(shots[FRAMES - 1]!.at).map((s) => [s.id, s]));
  // Stars seen all along, far enough from the pole for their arc to be long, inside the trees, bright
  // but not clipped in the trails (a saturated disc has no centre to measure).
  const picked = [...first.values()]
    .filter((s) => last.has(s.id) && Math.hypot(s.fx - px, s.fy - py) > 30 && s.fx > 8 && s.fy > 8 && s.fx < W - 8 && s.fy < W - 8)
    .filter((s) => at(s.fx, s.fy) < 0.6 && at(s.fx, s.fy) > background + 0.1)
    .filter((s) => [s, last.get(s.id)!].every((q) => unprojectFisheye(allSkyGeometry(W, W), q.fx, q.fy).alt > 25))
    .sort((a, b) => b.flux - a.flux)
    .slice(0, 6);
  t.true(picked.length >= 4, `${picked.length} stars`);
  const expected = ((FRAMES - 1) * STEP_S / 3600) * SIDEREAL_DEG_PER_H;
  const g = allSkyGeometry(W, W);
  /** The star's centroid in the star-trails image near a predicted position (background removed). */
  const measured = (x0: number, y0: number): [number, number] => {
    // Within 1 px only: the same star one frame earlier or later is a few pixels along the arc.
    let bx = Math.round(x0), by = Math.round(y0);
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const x = Math.round(x0) + dx, y = Math.round(y0) + dy;
        if (trails.data[y * W + x]! > trails.data[by * W + bx]!) [bx, by] = [x, y];
      }
    let sx = 0, sy = 0, sw = 0;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const w = Math.max(0, trails.data[(by + dy) * W + bx + dx]! - background);
        sx += w * (bx + dx);
        sy += w * (by + dy);
        sw += w;
      }
    return [sx / sw, sy / sw];
  };
  const signs = new Set<number>();
  const turns: number[] = [];
  for (const s of picked) {
    // The product: the star at every frame's true position along the arc, well above the sky.
    for (const shot of shots) {
      const p = cam.starsAt(shot.at).find((q) => q.id === s.id)!;
      t.true(at(p.fx, p.fy) > background + 0.02, `star ${s.id} at ${shot.at.toISOString()} (${p.fx.toFixed(1)}, ${p.fy.toFixed(1)}): ${at(p.fx, p.fy)} vs sky ${background}`);
    }
    const e = last.get(s.id)!;
    const [x0, y0] = measured(s.fx, s.fy);
    const [x1, y1] = measured(e.fx, e.fy);
    const a = unprojectFisheye(g, x0, y0);
    const b = unprojectFisheye(g, x1, y1);
    const q0 = equatorial(a.alt, a.az);
    const q1 = equatorial(b.alt, b.az);
    const turn = ((q1.ha - q0.ha + 540) % 360) - 180;
    if (process.env.ARCS_DEBUG) {
      const ta = unprojectFisheye(g, s.fx, s.fy), tb = unprojectFisheye(g, e.fx, e.fy);
      const r0 = equatorial(ta.alt, ta.az), r1 = equatorial(tb.alt, tb.az);
      console.log(s.id, s.flux.toFixed(0), [s.fx, s.fy, x0, y0, e.fx, e.fy, x1, y1].map((v) => v.toFixed(2)).join(' '), 'truth dHA', (((r1.ha - r0.ha + 540) % 360) - 180).toFixed(2), 'dec', r0.dec.toFixed(2), 'meas', turn.toFixed(2));
    }
    signs.add(Math.sign(turn));
    turns.push(Math.abs(turn));
    // A centroid in a crowded trail image can be pulled by a px (a neighbour's trail): 1.5° each, the median closer.
    t.true(Math.abs(Math.abs(turn) - expected) < 1.5, `star ${s.id}: arc of ${turn.toFixed(2)}° about the pole, expected ${expected.toFixed(2)}°`);
    // Same declination at both ends: a circle about the pole, not a drift.
    t.true(Math.abs(q1.dec - q0.dec) < 0.7, `star ${s.id}: declination ${q0.dec.toFixed(2)}° → ${q1.dec.toFixed(2)}°`);
  }
  t.is(signs.size, 1, 'every star turns the same way about the pole');
  const median = turns.sort((a, b) => a - b)[Math.floor(turns.length / 2)]!;
  t.true(Math.abs(median - expected) < 0.5, `median arc ${median.toFixed(2)}° vs ${expected.toFixed(2)}°`);
  t.log(`${picked.length} stars: arcs of ${turns.map((v) => v.toFixed(2)).join(', ')}° (expected ${expected.toFixed(2)}°) about the pole at (${px.toFixed(1)}, ${py.toFixed(1)})`);
});
