import test from 'ava';
import { detectStars } from '../../pipeline/stars/index.js';
import { makeCatalog, mulberry32, renderStarField, type FieldTransform } from '../../pipeline/stack/synth.js';
import { matchStars } from '../../pipeline/stack/align/triangles.js';
import { eccAlign } from '../../pipeline/stack/align/ecc.js';
import { phaseCorrelate } from '../../pipeline/stack/align/phase.js';
import { apply, invert, type Mat3 } from '../../pipeline/stack/align/transform.js';
import { warpBilinear } from '../../pipeline/stack/align/warp.js';

const W = 256, H = 256;
const catalog = makeCatalog(7, 160, W, H);

/** RMS over a grid of the distance between the fitted frame → reference map and the truth. */
function alignError(m: Mat3, t: FieldTransform): number {
  const cx = (W - 1) / 2, cy = (H - 1) / 2, a = (-t.rotDeg * Math.PI) / 180;
  let s = 0, n = 0;
  for (let j = 0; j <= 8; j++) for (let i = 0; i <= 8; i++) {
    const x = (i * (W - 1)) / 8, y = (j * (H - 1)) / 8;
    const u = x - cx - t.dx, v = y - cy - t.dy;
    const [tx, ty] = [Math.cos(a) * u - Math.sin(a) * v + cx, Math.sin(a) * u + Math.cos(a) * v + cy];
    const [fx, fy] = apply(m, x, y);
    s += (fx - tx) ** 2 + (fy - ty) ** 2;
    n++;
  }
  return Math.sqrt(s / n);
}

function randomTransforms(seed: number, n: number, maxShift = 30, maxRot = 1): FieldTransform[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => ({ dx: (2 * r() - 1) * maxShift, dy: (2 * r() - 1) * maxShift, rotDeg: (2 * r() - 1) * maxRot }));
}

const ref = renderStarField({ width: W, height: H, catalog, seed: 100 });
const refStars = detectStars(ref);

test('star alignment: shifts up to 30 px, rotations up to 1°, error < 0.2 px RMS', (t) => {
  const trs = [{ dx: 30, dy: -30, rotDeg: 1 }, { dx: -29.5, dy: 12.25, rotDeg: -1 }, ...randomTransforms(1, 8)];
  let total = 0;
  for (const [i, tr] of trs.entries()) {
    const frame = renderStarField({ width: W, height: H, catalog, transform: tr, seed: 200 + i });
    const m = matchStars(detectStars(frame), refStars);
    t.truthy(m, `frame ${i} matched`);
    const e = alignError(m!.transform, tr);
    t.true(e < 0.2, `frame ${i} ${JSON.stringify(tr)} error ${e.toFixed(3)}`);
    total += e * e;
  }
  t.log(`RMS alignment error over ${trs.length} frames: ${Math.sqrt(total / trs.length).toFixed(3)} px`);
});

test('star alignment with the affine model stays under 0.2 px', (t) => {
  for (const [i, tr] of randomTransforms(2, 4).entries()) {
    const frame = renderStarField({ width: W, height: H, catalog, transform: tr, seed: 300 + i });
    const m = matchStars(detectStars(frame), refStars, { model: 'affine' });
    t.true(alignError(m!.transform, tr) < 0.2);
  }
});

test('star alignment refuses an unrelated star field', (t) => {
  const other = renderStarField({ width: W, height: H, catalog: makeCatalog(99, 160, W, H), seed: 5 });
  t.is(matchStars(detectStars(other), refStars), null);
});

test('phase correlation recovers translations to < 0.2 px', (t) => {
  for (const [i, tr] of randomTransforms(3, 4, 30, 0).entries()) {
    const frame = renderStarField({ width: W, height: H, catalog, transform: { ...tr, rotDeg: 0 }, seed: 400 + i, fwhm: 3 });
    const p = phaseCorrelate(ref, frame);
    const m = Float64Array.of(1, 0, p.dx, 0, 1, p.dy, 0, 0, 1);
    const e = alignError(m, { ...tr, rotDeg: 0 });
    t.true(e < 0.2, `phase error ${e}`);
  }
});

test('ECC homography (seed method) converges from a phase-correlation start', (t) => {
  for (const [i, tr] of randomTransforms(4, 3).entries()) {
    const frame = renderStarField({ width: W, height: H, catalog, transform: tr, seed: 500 + i });
    const p = phaseCorrelate(ref, frame);
    const e = eccAlign(ref, frame, { init: Float64Array.of(1, 0, -p.dx, 0, 1, -p.dy, 0, 0, 1) });
    const err = alignError(e.transform, tr);
    t.true(err < 0.2, `ecc error ${err} rho ${e.rho}`);
  }
});

test('warping a frame with the found transform reproduces the reference', (t) => {
  const tr = { dx: 17.3, dy: -8.6, rotDeg: 0.7 };
  const frame = renderStarField({ width: W, height: H, catalog, transform: tr, seed: 600, noise: 0 });
  const clean = renderStarField({ width: W, height: H, catalog, seed: 601, noise: 0 });
  const m = matchStars(detectStars(frame), detectStars(clean))!;
  const warped = warpBilinear(frame, invert(m.transform));
  let s = 0, sref = 0;
  for (let y = 40; y < H - 40; y++) for (let x = 40; x < W - 40; x++) {
    const d = warped.data[y * W + x]! - clean.data[y * W + x]!;
    s += d * d;
    sref += (clean.data[y * W + x]! - 0.05) ** 2;
  }
  // Bilinear interpolation smooths a little; the residual must be small against the star signal.
  t.true(s / sref < 0.05, `residual energy ${(s / sref).toFixed(4)}`);
  t.true(Number.isNaN(warped.data[0]!) || warped.data[0]! >= 0);
});
