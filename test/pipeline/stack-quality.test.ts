import test from 'ava';
import { LiveStacker } from '../../pipeline/stack/index.js';
import { makeCatalog, mulberry32, renderStarField, skyToFrame, type FieldTransform } from '../../pipeline/stack/synth.js';
import type { ImageF32 } from '../../pipeline/image/types.js';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import { readFits } from '../../pipeline/image/fits.js';

const W = 256, H = 256;
const catalog = makeCatalog(21, 150, W, H);

function transforms(seed: number, n: number): FieldTransform[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => (i === 0 ? { dx: 0, dy: 0, rotDeg: 0 } : { dx: (2 * r() - 1) * 30, dy: (2 * r() - 1) * 30, rotDeg: (2 * r() - 1) }));
}

/** SNR by aperture photometry: mean flux of isolated catalogue stars over the scatter of blank apertures. */
function apertureSnr(img: ImageF32): number {
  const r = 4;
  const sumAt = (x0: number, y0: number) => {
    let s = 0;
    for (let y = Math.floor(y0 - r); y <= Math.ceil(y0 + r); y++) for (let x = Math.floor(x0 - r); x <= Math.ceil(x0 + r); x++) {
      if ((x - x0) ** 2 + (y - y0) ** 2 <= r * r) s += img.data[y * W + x]!;
    }
    return s;
  };
  const inside = (x: number, y: number) => x > 50 && y > 50 && x < W - 50 && y < H - 50;
  const isolated = catalog.filter((c) => inside(c.x, c.y) && c.flux > 0.3 && catalog.every((o) => o === c || Math.hypot(o.x - c.x, o.y - c.y) > 12));
  const blanks: number[] = [];
  for (let y = 55; y < H - 55; y += 9) for (let x = 55; x < W - 55; x += 9) {
    if (catalog.every((o) => Math.hypot(o.x - x, o.y - y) > 14)) blanks.push(sumAt(x, y));
  }
  const mb = blanks.reduce((a, b) => a + b, 0) / blanks.length;
  const sd = Math.sqrt(blanks.reduce((a, b) => a + (b - mb) ** 2, 0) / (blanks.length - 1));
  const flux = isolated.reduce((a, c) => a + sumAt(c.x, c.y) - mb, 0) / isolated.length;
  return flux / sd;
}

test('mean stack of N aligned frames reaches ≥ 0.9·√N × the single-frame SNR', async (t) => {
  const dir = await tempDir(t);
  const N = 16;
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], previewMaxSize: 256 });
  let single = 0;
  for (const [i, tr] of transforms(3, N).entries()) {
    const img = renderStarField({ width: W, height: H, catalog, transform: tr, seed: 1000 + i, noise: 0.01 });
    if (i === 0) single = apertureSnr(img);
    const r = await st.push({ image: img, name: `f${i}.fits`, exposureS: 10 });
    t.true(r.accepted || (i < 2 && r.status === 'pending'), `frame ${i}: ${r.reason}`);
  }
  t.is(st.count, N);
  const stacked = apertureSnr(st.stacked()!);
  const gain = stacked / single;
  t.log(`single-frame SNR ${single.toFixed(1)}, stack of ${N} ${stacked.toFixed(1)}, gain ${gain.toFixed(2)} (√N = ${Math.sqrt(N)})`);
  t.true(gain >= 0.9 * Math.sqrt(N), `gain ${gain}`);
});

test('ISO-outlier, clouded and closed-shutter frames are refused; good frames go on', async (t) => {
  const dir = await tempDir(t);
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], previewMaxSize: 256 });
  const tr = transforms(9, 12);
  const frames: { name: string; opts: Partial<Parameters<typeof renderStarField>[0]>; expect: string | null }[] = [
    ...[0, 1, 2, 3, 4].map((i) => ({ name: `good${i}`, opts: { transform: tr[i] }, expect: null })),
    { name: 'iso3200', opts: { transform: tr[5], gain: 0.5 }, expect: 'background' },
    { name: 'clouds', opts: { transform: tr[6], transparency: 0.25 }, expect: 'clouds' },
    { name: 'shutter', opts: { transform: tr[7], catalog: [], background: 0.002, noise: 0.0005 }, expect: 'black' },
    { name: 'allblack', opts: { transform: tr[8], catalog: [], background: 0, noise: 0 }, expect: 'black' },
    { name: 'good5', opts: { transform: tr[9] }, expect: null },
  ];
  for (const [i, f] of frames.entries()) {
    const img = renderStarField({ width: W, height: H, catalog, seed: 50 + i, ...f.opts });
    const r = await st.push({ image: img, name: f.name });
    if (f.expect === null) t.true(r.accepted || (i < 2 && r.status === 'pending'), `${f.name}: ${r.reason}`);
    else {
      t.false(r.accepted, `${f.name} accepted`);
      t.is(r.code, f.expect, `${f.name}: ${r.reason}`);
      t.truthy(r.reason);
    }
  }
  t.is(st.count, 6);
});

for (const trailFrame of [6, 1]) test(`a satellite trail in frame ${trailFrame} vanishes under sigma, stays under mean`, async (t) => {
  // Frame 1 is in the warm-up, before sigma has a variance: its brightest value is tested leave-one-out.
  const dir = await tempDir(t);
  const st = new LiveStacker({ outDir: dir, methods: ['sigma', 'mean'], kappa: 3, previewMaxSize: 256 });
  const trail = { x0: 10, y0: 200, x1: 246, y1: 60, value: 0.25, width: 2 };
  for (const [i, tr] of transforms(5, 10).entries()) {
    const img = renderStarField({ width: W, height: H, catalog, transform: tr, seed: 700 + i, trail: i === trailFrame ? trail : undefined });
    const r = await st.push({ image: img, name: `f${i}` });
    t.true(r.accepted || (i < 2 && r.status === 'pending'), r.reason ?? '');
  }
  const rejected = st.results.reduce((a, r) => a + r.rejectedPixels, 0);
  t.true(rejected > 200, `rejected ${rejected}`);
  // Trail position in the reference frame (frame 0 has the identity transform but the trail frame moved).
  const t6 = transforms(5, 10)[trailFrame]!;
  const sig = st.stacked('sigma')!, mean = st.stacked('mean')!;
  let es = 0, em = 0, n = 0;
  for (let k = 0.2; k <= 0.8; k += 0.01) {
    // A point on the trail in frame 6 coordinates, mapped back to the reference sky.
    const fx = trail.x0 + k * (trail.x1 - trail.x0), fy = trail.y0 + k * (trail.y1 - trail.y0);
    const inv = { dx: 0, dy: 0, rotDeg: -t6.rotDeg };
    const [sx, sy] = skyToFrame(inv, W, H, fx - t6.dx, fy - t6.dy);
    const x = Math.round(sx), y = Math.round(sy);
    if (x < 5 || y < 5 || x >= W - 5 || y >= H - 5) continue;
    // Excess over the local median of a ring (so stars under the trail don't count).
    const ring: number[] = [];
    for (let dy = -5; dy <= 5; dy++) for (let dx = -5; dx <= 5; dx++) if (Math.abs(dx) + Math.abs(dy) >= 7) ring.push(mean.data[(y + dy) * W + x + dx]!);
    ring.sort((a, b) => a - b);
    const bg = ring[ring.length >> 1]!;
    es += sig.data[y * W + x]! - bg;
    em += mean.data[y * W + x]! - bg;
    n++;
  }
  es /= n; em /= n;
  t.log(`trail excess: mean ${em.toFixed(4)}, sigma ${es.toFixed(4)}`);
  t.true(em > 0.012, `mean keeps the trail (${em})`);
  t.true(Math.abs(es) < 0.003, `sigma removes the trail (${es})`);
});

test('an ISO outlier among the first frames is refused when the stack starts, also behind a bias offset', async (t) => {
  // The seed's case at the worst moment: no history yet. With a large bias pedestal the sky level
  // barely moves (0.325 vs 0.35), so the star signal against the other frames gives it away.
  const pedestal = (img: ImageF32) => { for (let i = 0; i < img.data.length; i++) img.data[i] += 0.3; return img; };
  const tr = transforms(13, 6);
  for (const where of [0, 1]) {
    const dir = await tempDir(t);
    const st = new LiveStacker({ outDir: dir, methods: ['mean'], previewMaxSize: 256 });
    for (let i = 0; i < 6; i++) {
      const img = pedestal(renderStarField({ width: W, height: H, catalog, transform: tr[i], seed: 80 + i, gain: i === where ? 0.5 : 1 }));
      await st.push({ image: img, name: `f${i}` });
    }
    const iso = st.results.find((r) => r.path === `f${where}`)!;
    t.false(iso.accepted, `ISO frame at ${where} accepted`);
    t.is(iso.code, 'signal', iso.reason ?? '');
    t.regex(iso.reason!, /star signal outlier.*judged with the first 3 frames/);
    t.is(st.count, 5);
    t.true(st.results.filter((r) => r.accepted).every((r) => Math.abs(r.signal - 1) < 0.1), st.results.map((r) => r.signal).join(' '));
  }
});

test('ISO or gain in the header: a frame at another setting is refused', async (t) => {
  const dir = await tempDir(t);
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], previewMaxSize: 256 });
  const tr = transforms(17, 6);
  const isos = [6400, 6400, 6400, 3200, 6400];
  for (const [i, iso] of isos.entries()) {
    await st.push({ image: renderStarField({ width: W, height: H, catalog, transform: tr[i], seed: 90 + i }), name: `f${i}`, meta: { ISOSPEED: iso } });
  }
  const r = st.results.find((x) => x.path === 'f3')!;
  t.is(r.code, 'settings');
  t.regex(r.reason!, /ISO 3200 differs from the stack's 6400/);
  t.is(st.count, 4);
  // An auto-gain camera: --mixed-settings lets such frames in (the star signal still judges them).
  const mixed = new LiveStacker({ outDir: await tempDir(t), methods: ['mean'], previewMaxSize: 256, rejection: { mixedSettings: true } });
  for (const [i, iso] of isos.entries()) {
    await mixed.push({ image: renderStarField({ width: W, height: H, catalog, transform: tr[i], seed: 90 + i }), name: `f${i}`, meta: { ISOSPEED: iso } });
  }
  t.is(mixed.count, 5);
});

test('conditions that change for good (the sky brightens) start a new stack instead of refusing every frame', async (t) => {
  const dir = await tempDir(t);
  const st = new LiveStacker({ outDir: dir, methods: ['sigma'], relearnAfter: 4, previewMaxSize: 256 });
  const tr = transforms(19, 16);
  for (let i = 0; i < 16; i++) {
    // Moonrise after frame 5: the sky jumps from 0.05 to 0.12 and stays there.
    await st.push({ image: renderStarField({ width: W, height: H, catalog, transform: tr[i], seed: 120 + i, background: i < 6 ? 0.05 : 0.12 }), name: `f${i}` });
  }
  const codes = st.results.map((r) => (r.accepted ? 'ok' : r.code));
  t.deepEqual(codes.slice(0, 10), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'background', 'background', 'background', 'background'], codes.join(' '));
  t.regex(st.results[9]!.reason!, /conditions changed, the next frames start stack 2/);
  t.true(st.results.slice(10).every((r) => r.accepted && r.stackIndex === 2), codes.join(' '));
  t.is(st.count, 6);
  const { header } = await readFits(join(dir, 'stack-part1.fits'));
  t.is(header.cards.NCOMBINE, 6);
});
