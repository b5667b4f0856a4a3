import test from 'ava';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LiveStacker, type FrameResult } from '../../pipeline/stack/index.js';
import { readFits } from '../../pipeline/image/fits.js';
import { makeCatalog, renderStarField } from '../../pipeline/stack/synth.js';
import { detectStars } from '../../pipeline/stars/detect.js';
import { tempDir } from '../helpers/tmp.js';

const W = 192, H = 160;
const catalog = makeCatalog(61, 110, W, H);
const frame = (i: number, o: Partial<Parameters<typeof renderStarField>[0]> = {}) =>
  renderStarField({ width: W, height: H, catalog, seed: 900 + i, quantize: 16, transform: { dx: i * 1.3, dy: -i * 0.9, rotDeg: 0.05 * i }, ...o });

test('--reference best:3 holds the first three frames, picks the sharpest, then stacks them all', async (t) => {
  const dir = await tempDir(t);
  const seen: FrameResult[] = [];
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], reference: { best: 3 }, onResult: (r) => seen.push(r), previewMaxSize: 128 });
  const fwhm = [4, 2.2, 3.5, 3, 3];
  const rs: FrameResult[] = [];
  for (let i = 0; i < 5; i++) rs.push(await st.push({ image: frame(i, { fwhm: fwhm[i] }), name: `f${i}.fits`, exposureS: 1 }));
  t.deepEqual(rs.map((r) => r.status), ['pending', 'pending', 'accepted', 'accepted', 'accepted']);
  t.is(seen.length, 5);
  t.true(seen.every((r) => r.accepted));
  const f1 = seen.find((r) => r.path === 'f1.fits')!;
  t.is(f1.shift, 0); // the reference
  t.is(st.count, 5);
  const { header } = await readFits(join(dir, 'stack.fits'));
  t.is(header.cards.REFFRAME, 'f1.fits');
  t.is(header.cards.NCOMBINE, 5);
});

test('--restart-on-drift starts a new stack when the field jumps and keeps the old one', async (t) => {
  const dir = await tempDir(t);
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], restartOnDrift: 20, previewMaxSize: 128 });
  const shifts = [0, 3, 6, 35, 37];
  const rs: FrameResult[] = [];
  for (const [i, dx] of shifts.entries()) rs.push(await st.push({ image: frame(i, { transform: { dx, dy: 0, rotDeg: 0 } }), name: `d${i}`, exposureS: 1 }));
  t.deepEqual(rs.map((r) => r.status), ['pending', 'pending', 'accepted', 'accepted', 'accepted']);
  t.regex(rs[3]!.reason!, /drift 35\.\d px > 20 px: new stack 2 started/);
  t.is(rs[4]!.stackIndex, 2);
  t.true(Math.abs(rs[4]!.shift - 2) < 0.2);
  t.is((await readFits(join(dir, 'stack-part1.fits'))).header.cards.NCOMBINE, 3);
  t.is((await readFits(join(dir, 'stack.fits'))).header.cards.NCOMBINE, 2);
  t.true(existsSync(join(dir, 'stack-part1.jpg')));
});

test('ECC and phase alignment modes stack with small residuals', async (t) => {
  for (const align of ['ecc', 'phase'] as const) {
    const dir = await tempDir(t);
    const st = new LiveStacker({ outDir: dir, methods: ['mean'], align, previewMaxSize: 128 });
    for (let i = 0; i < 4; i++) {
      const r = await st.push({ image: frame(i * 4, align === 'phase' ? { transform: { dx: i * 5.3, dy: -i * 3.1, rotDeg: 0 } } : {}), name: `${align}${i}` });
      t.true(r.accepted || (i < 2 && r.status === 'pending'), `${align} ${i}: ${r.reason}`);
    }
    t.is(st.count, 4);
    for (const r of st.results.slice(1)) t.true(r.residual < 0.3, `${align} ${r.path} residual ${r.residual}`);
  }
});

test('a frame of another bit depth is refused and the stack goes on', async (t) => {
  const dir = await tempDir(t);
  // warmup 1: the stack starts with the first frame (no judging of the first frames against each other).
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], previewMaxSize: 128, warmup: 1 });
  t.true((await st.push({ image: frame(0), name: 'a16' })).accepted);
  const r = await st.push({ image: frame(1, { quantize: 8 }), name: 'b8' });
  t.false(r.accepted);
  t.regex(r.reason!, /b8: 8-bit differs from the stack's 16-bit frames/);
  t.true((await st.push({ image: frame(2), name: 'c16' })).accepted);
  t.is(st.count, 2);
  const again = await LiveStacker.reload({ outDir: dir, methods: ['mean'] });
  t.is(again.count, 2);
  t.true(again.hasProcessed('b8'));
});

test('a faint field (stars the raw-pixel search misses) switches the stack to the smoothed detector', async (t) => {
  const dir = await tempDir(t);
  const W2 = 320, H2 = 240;
  const faint = makeCatalog(11, 120, W2, H2, 30, [0.05, 0.8]);
  const field = (i: number, tr: { dx: number; dy: number; rotDeg: number }) => renderStarField({ width: W2, height: H2, catalog: faint, seed: 10 + i, fwhm: 3.5, noise: 0.012, background: 0.05, transform: tr });
  const first = field(0, { dx: 0, dy: 0, rotDeg: 0 });
  t.true(detectStars(first).length < 8, 'the raw search should miss this field');
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], previewMaxSize: 128 });
  const truth: { dx: number; dy: number }[] = [];
  for (let i = 0; i < 6; i++) {
    const tr = { dx: 3 * i, dy: -2.5 * i, rotDeg: 0 };
    truth.push(tr);
    await st.push({ image: i === 0 ? first : field(i, tr), name: `faint${i}` });
  }
  await st.finish();
  t.is(st.count, 6, st.results.map((r) => `${r.path}: ${r.reason}`).join('; '));
  t.true(st.results.every((r) => r.stars >= 8));
  let e2 = 0;
  for (const [i, r] of st.results.entries()) e2 += (r.shiftX + truth[i]!.dx) ** 2 + (r.shiftY + truth[i]!.dy) ** 2;
  const rms = Math.sqrt(e2 / 6);
  t.log(`faint field: ${st.results.map((r) => r.stars).join('/')} stars, shift error ${rms.toFixed(3)} px RMS`);
  t.true(rms < 0.3);
});

test('a held warm-up frame whose spilled copy is gone is refused with one line; the stack starts without it', async (t) => {
  const dir = await tempDir(t);
  const st = new LiveStacker({ outDir: dir, methods: ['mean'], previewMaxSize: 128 });
  await st.push({ image: frame(0), name: 'h0.fits' });
  await st.push({ image: frame(1), name: 'h1.fits' });
  await rm(join(dir, '.livestack', 'pending', '1.f32'));
  const r = await st.push({ image: frame(2), name: 'h2.fits' });
  t.true(r.accepted);
  const lost = st.results.find((x) => x.path === 'h0.fits')!;
  t.is(lost.code, 'input');
  t.regex(lost.reason!, /^h0\.fits: held copy unreadable/);
  t.is(st.count, 2);
});
