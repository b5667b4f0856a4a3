import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createSimCamera, createSimFocuser, type SimCamera } from '../../hardware-mocks/index.js';
import { tempDir } from '../helpers/tmp.js';
import { median, readAdu, simContext } from './helpers.js';

const START = 'start=2026-01-10T22:00:00Z';

async function camera(query: string): Promise<SimCamera> {
  const cam = createSimCamera(new URL(`sim://t?${query}`), simContext());
  await cam.connect();
  return cam;
}

test('same seed gives identical bytes; another seed does not', async (t) => {
  const dir = await tempDir(t);
  const shoot = async (seed: number, stem: string) => {
    const cam = await camera(`seed=${seed}&${START}&width=256&height=192`);
    const out: Buffer[] = [];
    for (let i = 0; i < 2; i++) out.push(await readFile((await cam.capture({ exposureS: 5, outDir: dir, fileStem: `${stem}${i}` })).path));
    return out;
  };
  const a = await shoot(11, 'a');
  const b = await shoot(11, 'b');
  const c = await shoot(12, 'c');
  t.true(a[0]!.equals(b[0]!));
  t.true(a[1]!.equals(b[1]!));
  t.false(a[0]!.equals(a[1]!)); // next frame: new noise and drift
  t.false(a[0]!.equals(c[0]!));
});

test('background rises with exposure × gain; stars clip at the white point', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=2&${START}&width=256&height=192&vignette=0`);
  const bg = async (exposureS: number, gain: number) => {
    const f = await cam.capture({ exposureS, gain, outDir: dir, fileStem: `e${exposureS}g${gain}` });
    return median((await readAdu(f.path)).adu) - 1000;
  };
  const b1 = await bg(2, 1);
  const b4 = await bg(8, 1);
  const b1g4 = await bg(2, 4);
  t.true(Math.abs(b4 / b1 - 4) < 0.4, `8 s / 2 s background ratio ${b4 / b1}`);
  t.true(Math.abs(b1g4 / b1 - 4) < 0.4, `gain 4 / gain 1 background ratio ${b1g4 / b1}`);
  // Long exposure: bright stars fill the 50 ke- well → bias + 50000 ADU exactly, never more.
  const long = await readAdu((await cam.capture({ exposureS: 120, outDir: dir, fileStem: 'long' })).path);
  const clipped = long.adu.filter((v) => v === 51000).length;
  t.true(clipped >= 4, `${clipped} clipped pixels`);
  t.is(Math.max(...long.adu), 51000);
  // At gain 4 the 16-bit ADC clips first.
  const hi = await readAdu((await cam.capture({ exposureS: 120, gain: 4, outDir: dir, fileStem: 'longg4' })).path);
  t.is(Math.max(...hi.adu), 65535);
});

/** Background-subtracted second-moment radius (px) around (x, y). */
function momentWidth(img: { width: number; adu: Float64Array }, x: number, y: number, r: number): number {
  const ring: number[] = [];
  for (let j = -r - 6; j <= r + 6; j++) {
    for (let i = -r - 6; i <= r + 6; i++) {
      const d = Math.hypot(i, j);
      if (d > r && d <= r + 6) ring.push(img.adu[(Math.round(y) + j) * img.width + Math.round(x) + i]!);
    }
  }
  const bg = median(ring);
  let s = 0;
  let s2 = 0;
  for (let j = -r; j <= r; j++) {
    for (let i = -r; i <= r; i++) {
      if (Math.hypot(i, j) > r) continue;
      const px = Math.round(x) + i;
      const py = Math.round(y) + j;
      const v = img.adu[py * img.width + px]! - bg; // no clipping: noise must average out, not add
      s += v;
      s2 += v * ((px - x) ** 2 + (py - y) ** 2);
    }
  }
  return Math.sqrt(s2 / s);
}

test('defocus broadens stars symmetrically around focus_best (V-curve)', async (t) => {
  const dir = await tempDir(t);
  const ctx = simContext();
  const cam = createSimCamera(new URL(`sim://v?seed=5&${START}&drift_x=0&drift_y=0&rotation=0&focus_best=1000`), ctx);
  const foc = createSimFocuser(new URL('sim://v?dead_band=0'), ctx);
  await cam.connect();
  await foc.connect();
  // The brightest star well inside the frame with no neighbour of more than 1 % of its flux within 30 px.
  const all = cam.starsInFrame(0);
  const star = all.find((s) => s.fx > 40 && s.fx < 600 && s.fy > 40 && s.fy < 440 && !all.some((o) => o !== s && Math.hypot(o.fx - s.fx, o.fy - s.fy) < 30 && o.flux > 0.01 * s.flux))!;
  const exposureS = 60000 / star.flux; // 60 ke- in the star: well below the full well at the peak
  const widthAt = async (pos: number) => {
    await foc.moveTo(pos);
    const f = await cam.capture({ exposureS, outDir: dir, fileStem: `p${pos}` });
    return momentWidth(await readAdu(f.path), star.fx, star.fy, 18);
  };
  const w = new Map<number, number>();
  for (const p of [800, 900, 1000, 1100, 1200]) w.set(p, await widthAt(p));
  const best = w.get(1000)!;
  t.true(best < w.get(900)! && w.get(900)! < w.get(800)!, JSON.stringify([...w]));
  t.true(best < w.get(1100)! && w.get(1100)! < w.get(1200)!, JSON.stringify([...w]));
  t.true(Math.abs(w.get(800)! / w.get(1200)! - 1) < 0.08, `asymmetric: ${w.get(800)} vs ${w.get(1200)}`);
  t.true(Math.abs(w.get(900)! / w.get(1100)! - 1) < 0.08, `asymmetric: ${w.get(900)} vs ${w.get(1100)}`);
  t.true(w.get(800)! > 2 * best, JSON.stringify([...w]));
  t.true(Math.abs(cam.rig.depthOfFocusSteps - 56) < 1e-9); // fwhm 2.8 px / 0.05 px per step
});

test('dark frames have hot pixels and no stars; bias has neither', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=9&${START}&width=320&height=240&hot_pixels=40`);
  const dark = await readAdu((await cam.capture({ exposureS: 30, frameType: 'dark', outDir: dir, fileStem: 'dark' })).path);
  const bias = await readAdu((await cam.capture({ exposureS: 30, frameType: 'bias', outDir: dir, fileStem: 'bias' })).path);
  const light = await readAdu((await cam.capture({ exposureS: 30, outDir: dir, fileStem: 'light' })).path);
  const hot = cam.fixed().hot;
  t.is(hot.index.length, 40);
  const hotSet = new Set(hot.index);
  // Every hot pixel stands out in the dark (≥ 30 e-/s × 30 s ≈ 900 e- over bias).
  // Sensor at 13 °C: hot pixels' 30–3000 e-/s (at 20 °C) × 2^(−7/6) × 30 s ≥ 400 e- over bias.
  for (const i of hot.index) t.true(dark.adu[i]! > 1300, `hot pixel ${i}: ${dark.adu[i]}`);
  // Away from the hot pixels the dark is flat: no stars.
  const rest = [...dark.adu].filter((_, i) => !hotSet.has(i));
  t.true(Math.max(...rest) < 1000 + 60, `max non-hot dark pixel ${Math.max(...rest)}`);
  t.is(dark.cards.IMAGETYP, 'Dark Frame');
  const stars = cam.starsInFrame(2).slice(0, 5);
  for (const s of stars) {
    const i = Math.round(s.fy) * 320 + Math.round(s.fx);
    t.true(light.adu[i]! > dark.adu[i]! + 1000, `star ${s.id} at ${s.fx},${s.fy} not in light frame`);
  }
  t.true(Math.max(...bias.adu) < 1000 + 30);
  t.is(bias.cards.EXPTIME, 0);
});

test('Bayer mosaic: BAYERPAT card and per-site colour in a flat', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=3&${START}&width=128&height=96&bayer=RGGB`);
  const f = await cam.capture({ exposureS: 1, frameType: 'flat', outDir: dir, fileStem: 'flat' });
  t.is(f.bayer, 'RGGB');
  const img = await readAdu(f.path);
  t.is(img.cards.BAYERPAT, 'RGGB');
  t.is(img.cards.IMAGETYP, 'Flat Field');
  const site = (dx: number, dy: number) => {
    const v: number[] = [];
    for (let y = 40 + dy; y < 56; y += 2) for (let x = 56 + dx; x < 72; x += 2) v.push(img.adu[y * 128 + x]! - 1000);
    return median(v);
  };
  const r = site(0, 0);
  const g1 = site(1, 0);
  const g2 = site(0, 1);
  const b = site(1, 1);
  t.true(Math.abs(g1 / g2 - 1) < 0.03);
  t.true(Math.abs(r / g1 - 0.85) < 0.03, `R/G ${r / g1}`);
  t.true(Math.abs(b / g1 - 0.7) < 0.03, `B/G ${b / g1}`);
  // An odd ROI origin shifts the pattern the file reports.
  const crop = await cam.capture({ exposureS: 1, frameType: 'flat', roi: { x: 1, y: 0, width: 64, height: 64 }, outDir: dir, fileStem: 'crop' });
  t.is(crop.bayer, 'GRBG');
  t.is(crop.width, 64);
});

test('frame meta carries the true drift and rotation; stars move with it', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=4&${START}&drift_x=2&drift_y=-1&rotation=0.1&jitter=0.5`);
  const f0 = await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'f0' });
  const f1 = await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'f1' });
  t.deepEqual(f0.meta.transform, { dx: 0, dy: 0, rotationDeg: 0, cx: 319.5, cy: 239.5 });
  const tr = f1.meta.transform as { dx: number; dy: number; rotationDeg: number };
  t.true(Math.abs(tr.dx - 2) < 2.5 && Math.abs(tr.dy + 1) < 2.5);
  t.is(tr.rotationDeg, 0.1);
  const cards = (await readAdu(f1.path)).cards;
  t.is(cards.SIMROT, 0.1);
  t.is(cards.SIMFRAME, 1);
  // A star's truth position in frame 1 is its frame-0 position through the transform.
  const s0 = cam.starsInFrame(0)[3]!;
  const s1 = cam.starsInFrame(1).find((s) => s.id === s0.id)!;
  const a = (0.1 * Math.PI) / 180;
  const u = s0.fx - 319.5;
  const v = s0.fy - 239.5;
  t.true(Math.abs(s1.fx - (Math.cos(a) * u - Math.sin(a) * v + 319.5 + tr.dx)) < 1e-9);
  t.true(Math.abs(s1.fy - (Math.sin(a) * u + Math.cos(a) * v + 239.5 + tr.dy)) < 1e-9);
});

test('clouds and a closed shutter: fewer stars, brighter or dark background', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=6&${START}&width=256&height=192&cloudy_frames=1&drift_x=0&drift_y=0&rotation=0`);
  const clear = await readAdu((await cam.capture({ exposureS: 10, outDir: dir, fileStem: 'clear' })).path);
  const cloudy = await cam.capture({ exposureS: 10, outDir: dir, fileStem: 'cloudy' });
  t.true((cloudy.meta.cloudCover as number) >= 0.9);
  const cl = await readAdu(cloudy.path);
  const peaks = (img: { adu: Float64Array }) => {
    const bg = median(img.adu);
    return cam.starsInFrame(0).slice(0, 8).map((s) => img.adu[Math.round(s.fy) * 256 + Math.round(s.fx)]! - bg);
  };
  const clearPeaks = peaks(clear);
  const cloudPeaks = peaks(cl);
  t.true(median(cl.adu) > median(clear.adu) * 1.1, 'clouds reflect the sky glow');
  t.true(median(cloudPeaks.map((v, i) => v / clearPeaks[i]!)) < 0.8, 'stars dimmed by clouds');
  cam.setShutterClosed(true);
  const capped = await cam.capture({ exposureS: 10, outDir: dir, fileStem: 'cap' });
  t.true(median((await readAdu(capped.path)).adu) < 1000 + 10);
  t.is(capped.meta.shutterClosed, true);
  cam.setShutterClosed(false);
  // closed_frames: the same failure at chosen frame indices of a sequence.
  const seq = await camera(`seed=6&${START}&width=64&height=48&closed_frames=1`);
  const meds = [];
  for (let i = 0; i < 3; i++) meds.push(median((await readAdu((await seq.capture({ exposureS: 10, outDir: dir, fileStem: `s${i}` })).path)).adu));
  t.true(meds[1]! < 1010 && meds[0]! > 1100 && meds[2]! > 1100, JSON.stringify(meds));
});

test('trail_frames: a satellite trail crosses exactly the listed frames', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=12&${START}&width=200&height=150&trail_frames=1`);
  const f0 = await cam.capture({ exposureS: 5, outDir: dir, fileStem: 'a' });
  const f1 = await cam.capture({ exposureS: 5, outDir: dir, fileStem: 'b' });
  t.is(f0.meta.trail, null);
  const tr = f1.meta.trail as { x0: number; y0: number; x1: number; y1: number };
  const img = await readAdu(f1.path);
  const bg = median(img.adu);
  // Midpoint of the trail is well above the background; the frame before has nothing there.
  const mx = Math.round((tr.x0 + tr.x1) / 2);
  const my = Math.round((tr.y0 + tr.y1) / 2);
  t.true(img.adu[my * 200 + mx]! - bg > 300, `trail ${img.adu[my * 200 + mx]! - bg} ADU over background`);
  t.is(img.cards.SIMTRAIL, true);
});

for (const psf of ['gaussian', 'moffat'] as const) {
  test(`photometry (${psf}): a star's summed signal is its flux × exposure × gain`, async (t) => {
    const dir = await tempDir(t);
    const cam = await camera(`seed=5&${START}&psf=${psf}&vignette=0&drift_x=0&drift_y=0&rotation=0&sky_glow=5`);
    const all = cam.starsInFrame(0);
    const star = all.find((s) => s.fx > 40 && s.fx < 600 && s.fy > 40 && s.fy < 440 && !all.some((o) => o !== s && Math.hypot(o.fx - s.fx, o.fy - s.fy) < 30 && o.flux > 0.001 * s.flux))!;
    const exposureS = 20000 / star.flux;
    const f = await cam.capture({ exposureS, gain: 2, outDir: dir, fileStem: 'p' });
    const img = await readAdu(f.path);
    const ring: number[] = [];
    let sum = 0;
    let n = 0;
    for (let j = -24; j <= 24; j++) {
      for (let i = -24; i <= 24; i++) {
        const d = Math.hypot(i, j);
        const v = img.adu[(Math.round(star.fy) + j) * 640 + Math.round(star.fx) + i]!;
        if (d <= 15) {
          sum += v;
          n++;
        } else if (d > 18) ring.push(v);
      }
    }
    const signal = (sum - n * median(ring)) / 2; // electrons
    // Within 3 %: shot noise of 20 ke- is 0.7 %, PRNU averages out, Moffat wings beyond 15 px hold ~1 %.
    t.true(Math.abs(signal / 20000 - 1) < 0.03, `measured ${signal.toFixed(0)} e- for 20000`);
  });
}

test('ISO 3200 among ISO 6400: half the background, same stars', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=3&${START}&width=200&height=150&vignette=0`);
  const a = await readAdu((await cam.capture({ exposureS: 10, iso: 6400, outDir: dir, fileStem: 'a' })).path);
  const b = await readAdu((await cam.capture({ exposureS: 10, iso: 3200, outDir: dir, fileStem: 'b' })).path);
  const ratio = (median(a.adu) - 1000) / (median(b.adu) - 1000);
  t.true(Math.abs(ratio - 2) < 0.15, `background ratio ${ratio}`);
  t.is(a.cards.GAIN, 64);
  const err = await t.throwsAsync(cam.capture({ exposureS: 1, iso: 12800, outDir: dir, fileStem: 'c' }));
  t.regex(err!.message, /iso=12800 outside gain 1\.\.64/);
});

test('binning sums 2×2 pixels; ROI crops in full-frame pixels; bad requests name the field', async (t) => {
  const dir = await tempDir(t);
  const cam = await camera(`seed=8&${START}&width=128&height=96&vignette=0&stars=0`);
  const full = await cam.capture({ exposureS: 20, outDir: dir, fileStem: 'full' });
  const bin = await cam.capture({ exposureS: 20, binning: 2, outDir: dir, fileStem: 'bin' });
  const roi = await cam.capture({ exposureS: 20, roi: { x: 10, y: 20, width: 50, height: 30 }, outDir: dir, fileStem: 'roi' });
  t.deepEqual([bin.width, bin.height], [64, 48]);
  t.deepEqual([roi.width, roi.height], [50, 30]);
  const bgFull = median((await readAdu(full.path)).adu) - 1000;
  const bgBin = median((await readAdu(bin.path)).adu) - 1000;
  t.true(Math.abs(bgBin / bgFull - 4) < 0.3, `binned/full background ${bgBin / bgFull}`);
  const bad = async (req: Partial<Parameters<typeof cam.capture>[0]>, re: RegExp) => {
    const err = await t.throwsAsync(cam.capture({ exposureS: 1, outDir: dir, fileStem: 'x', ...req }));
    t.regex(err!.message, re);
  };
  await bad({ exposureS: 0 }, /exposureS=0 outside/);
  await bad({ gain: 0.5 }, /gain=0.5 outside gain 1\.\.64/);
  await bad({ binning: 5 }, /binning=5 not offered/);
  await bad({ roi: { x: 100, y: 0, width: 50, height: 10 } }, /roi .* outside the 128×96 sensor/);
  await cam.disconnect();
  await bad({}, /not connected/);
});
