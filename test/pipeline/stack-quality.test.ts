import test from 'ava';
import { LiveStacker } from '../../pipeline/stack/index.js';
import { makeCatalog, mulberry32, renderStarField, skyToFrame, type FieldTransform } from '../../pipeline/stack/synth.js';
import type { ImageF32 } from '../../pipeline/image/types.js';
import { tempDir } from '../helpers/tmp.js';

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
    t.true(r.accepted, `frame ${i}: ${r.reason}`);
  }
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
    if (f.expect === null) t.true(r.accepted, `${f.name}: ${r.reason}`);
    else {
      t.false(r.accepted, `${f.name} accepted`);
      t.is(r.code, f.expect, `${f.name}: ${r.reason}`);
      t.truthy(r.reason);
    }
  }
  t.is(st.count, 6);
});

test('a satellite trail vanishes under sigma, stays under mean', async (t) => {
  const dir = await tempDir(t);
  const st = new LiveStacker({ outDir: dir, methods: ['sigma', 'mean'], kappa: 3, previewMaxSize: 256 });
  const trail = { x0: 10, y0: 200, x1: 246, y1: 60, value: 0.25, width: 2 };
  for (const [i, tr] of transforms(5, 10).entries()) {
    const img = renderStarField({ width: W, height: H, catalog, transform: tr, seed: 700 + i, trail: i === 6 ? trail : undefined });
    const r = await st.push({ image: img, name: `f${i}` });
    t.true(r.accepted, r.reason ?? '');
    if (i === 6) t.true(r.rejectedPixels > 200, `rejected ${r.rejectedPixels}`);
  }
  // Trail position in the reference frame (frame 0 has the identity transform but frame 6 moved).
  const t6 = transforms(5, 10)[6]!;
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
