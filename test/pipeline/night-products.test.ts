import test from 'ava';
import { spawn } from 'node:child_process';
import { appendFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { readFits } from '../../pipeline/image/fits.js';
import { NightProducts } from '../../pipeline/night/products.js';
import { keogramLine } from '../../pipeline/night/keogram-line.js';
import { liveDecoders } from '../../pipeline/image/decoder-source.js';
import { tempDir } from '../helpers/tmp.js';
import { code, config, frameInput, log, saveFrame, starFrame } from './night-helpers.js';

const W = 40, H = 30;

test('keogram line: angle 0 is the centre column top to bottom, 90° the centre row from the right edge', (t) => {
  const l0 = keogramLine(W, H, 0, null, 1);
  t.is(l0.length, H);
  const l90 = keogramLine(W, H, 90, null, 1);
  t.is(l90.length, W);
  // sample 0 at 90° sits on the right edge: its taps are in column W-1
  const xs: number[] = [];
  for (let y = 0; y < H; y++) for (let i = l90.rowStart[y]!; i < l90.rowStart[y + 1]!; i++) if (l90.tapSample[i] === 0) xs.push(l90.tapX[i]!);
  t.deepEqual([...new Set(xs)], [W - 1]);
  t.throws(() => keogramLine(W, H, 0, [100, 5]), { message: /outside the 40×30 frame/ });
});

test('keogram: one column per frame in time order with the values planted on the N–S line; PNG has the width and a time axis', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'night');
  const np = await NightProducts.open(out, config({ startrails: { enabled: false }, timelapse: { enabled: false } }), { log });
  const planted = [0.2, 0.8, 0.4, 0.6, 0.3, 0.7];
  for (let i = 0; i < planted.length; i++) {
    // the default centre is x = 19.5: columns 19 and 20 carry the value, a gradient down the frame
    const img = starFrame(W, H, i, 0.05, (im) => {
      for (let y = 0; y < H; y++) for (const x of [19, 20]) im.data[y * W + x] = code(planted[i]! * (0.5 + (0.5 * y) / (H - 1)));
    });
    const r = await np.add(frameInput(await saveFrame(dir, `f${i}.fits`, img), i, 0.05));
    t.is(r.keogramColumn, i);
  }
  const k = await np.readKeogram();
  t.is(k.values.length, planted.length);
  t.is(k.length, H);
  for (let i = 0; i < planted.length; i++) {
    for (const y of [0, 10, H - 1]) t.true(Math.abs(k.values[i]![y]! - planted[i]! * (0.5 + (0.5 * y) / (H - 1))) < 1 / 65535 + 1e-6, `column ${i} row ${y}`);
    if (i) t.true(k.times[i]! > k.times[i - 1]!);
  }
  const s = await np.finish([]);
  t.deepEqual(s.errors, []);
  const { data, info } = await sharp(s.keogram!).raw().toBuffer({ resolveWithObject: true });
  t.is(info.width, planted.length);
  t.true(info.height > H); // keogram rows + the axis band
  // brightness order of the rendered columns (bottom row of the keogram) follows the planted values
  const px = (c: number) => data[((H - 1) * info.width + c) * info.channels]!;
  const order = [...planted.keys()].sort((a, b) => planted[a]! - planted[b]!);
  for (let j = 1; j < order.length; j++) t.true(px(order[j]!) > px(order[j - 1]!), `rendered column ${order[j]} brighter than ${order[j - 1]}`);
  // 21:50 + 5 min steps crosses 22:00 at frame 2: a tick there in the axis band (first axis row)
  t.true(data[(H * info.width + 2) * info.channels]! > 150);
  t.true(data[(H * info.width + 4) * info.channels]! < 50);
});

test('keogram: angle_deg picks the rotated line (90°: the centre row, right edge at the top)', async (t) => {
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config({ keogram: { angle_deg: 90 }, startrails: { enabled: false }, timelapse: { enabled: false } }), { log });
  const img = starFrame(W, H, 3, 0.05, (im) => {
    for (let x = 0; x < W; x++) for (const y of [14, 15]) im.data[y * W + x] = code(0.1 + (0.8 * x) / (W - 1));
  });
  await np.add(frameInput(await saveFrame(dir, 'r.fits', img), 0, 0.05));
  const k = await np.readKeogram();
  t.is(k.length, W);
  for (const s of [0, 7, W - 1]) t.true(Math.abs(k.values[0]![s]! - code(0.1 + (0.8 * (W - 1 - s)) / (W - 1))) < 2 / 65535, `sample ${s}`);
});

async function night(dir: string, n: number) {
  const frames: { path: string; sky: number; img: Float32Array }[] = [];
  for (let i = 0; i < n; i++) {
    const sky = i === 2 ? 0.5 : 0.05; // frame 2: the moon is up
    const img = starFrame(W, H, 100 + i, sky, undefined, 3);
    frames.push({ path: await saveFrame(dir, `s${i}.fits`, img), sky, img: img.data });
  }
  return frames;
}

async function runNight(out: string, frames: { path: string; sky: number }[], split: number | null, between?: () => Promise<void>, first = 0, rewriteEvery = 1) {
  const cfg = config({ timelapse: { enabled: false }, startrails: { rewrite_every: rewriteEvery } });
  let np = await NightProducts.open(out, cfg, { log });
  const results = [];
  for (let i = 0; i < frames.length; i++) {
    if (split !== null && i === split) {
      await between?.();
      np = await NightProducts.open(out, cfg, { log }); // the old object is dropped unfinished (kill -9)
    }
    results.push(await np.add(frameInput(frames[i]!.path, first + i, frames[i]!.sky)));
  }
  return { np, results, summary: await np.finish([]) };
}

test('star trails: exact pixelwise max of the included frames; the bright frame is excluded and counted', async (t) => {
  const dir = await tempDir(t);
  const frames = await night(dir, 5);
  const { results, summary } = await runNight(join(dir, 'one'), frames, null);
  t.deepEqual(results.map((r) => r.startrails), ['added', 'added', 'excluded', 'added', 'added']);
  t.regex(results[2]!.reason!, /sky level 0\.500 > max_sky_level 0\.25/);
  t.is(summary.startrailsFrames, 4);
  t.is(summary.excluded, 1);
  const { image } = await readFits(summary.startrailsFits!);
  t.is(image.channels, 3);
  const expect = new Float32Array(W * H * 3);
  for (const [i, f] of frames.entries()) if (i !== 2) for (let p = 0; p < expect.length; p++) expect[p] = Math.max(expect[p]!, f.img[p]!);
  let maxDiff = 0;
  for (let p = 0; p < expect.length; p++) maxDiff = Math.max(maxDiff, Math.abs(image.data[p]! - expect[p]!));
  t.true(maxDiff < 1e-6, `max difference ${maxDiff}`);
  // and the bright frame really is not in it: its background (≈0.5) would dominate every pixel
  t.true(image.data[0]! < 0.1);
  t.true((await stat(summary.startrails!)).size > 500);
});

test('kill and resume: 3 frames, drop the object, reopen, 2 more (with a torn update left behind) = 5 in one go', async (t) => {
  const dir = await tempDir(t);
  const frames = await night(dir, 5);
  const a = await runNight(join(dir, 'a'), frames, null);
  const b = await runNight(join(dir, 'b'), frames, 3, async () => {
    // a kill in the middle of frame 4's update: the spare buffer half written, a keogram record past the count
    const spare = join(dir, 'b', 'startrails-a.u16');
    await writeFile(spare, Buffer.alloc(1000, 0xff));
    await appendFile(join(dir, 'b', 'keogram.raw'), Buffer.alloc(77, 0xee));
  });
  t.is(b.np.framesAdded, 5);
  t.deepEqual(b.summary.errors, []);
  t.is(b.summary.startrailsFrames, a.summary.startrailsFrames);
  t.deepEqual(await readFile(b.summary.startrailsFits!), await readFile(a.summary.startrailsFits!));
  const ka = await a.np.readKeogram();
  const kb = await b.np.readKeogram();
  t.deepEqual(kb.times, ka.times);
  t.deepEqual(kb.values, ka.values);
  t.deepEqual(await readFile(b.summary.keogram!), await readFile(a.summary.keogram!));
  // a frame already added (restart re-offering it) is refused, not doubled
  const again = await b.np.add(frameInput(frames[4]!.path, 4, 0.05));
  t.true(again.skipped);
  t.regex(again.reason!, /not later than the last frame/);
  t.is(b.np.framesAdded, 5);
});

test('a corrupt or odd-sized frame is skipped with its reason, add() does not throw, the night goes on', async (t) => {
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config({ timelapse: { enabled: false } }), { log });
  const good = await saveFrame(dir, 'g.fits', starFrame(W, H, 1));
  const cut = await saveFrame(dir, 'cut.fits', starFrame(W, H, 2));
  await truncate(cut, 4000);
  const junk = join(dir, 'junk.jpg');
  await writeFile(junk, 'not a jpeg');
  const small = await saveFrame(dir, 'small.fits', starFrame(20, 10, 3));
  t.false((await np.add(frameInput(good, 0, 0.05))).skipped ?? false);
  const r1 = await np.add(frameInput(cut, 1, 0.05));
  t.true(r1.skipped);
  t.regex(r1.reason!, /truncated/);
  const r2 = await np.add(frameInput(junk, 2, 0.05));
  t.true(r2.skipped);
  const r3 = await np.add(frameInput(small, 3, 0.05));
  t.regex(r3.reason!, /20×10×1 differs from the night's 40×30×1/);
  // a JPEG cut short: djpeg starts, fails mid-frame, and must not be left running
  const cutJpg = join(dir, 'cut.jpg');
  await sharp(Buffer.alloc(W * H * 3, 90), { raw: { width: W, height: H, channels: 3 } }).jpeg().toFile(cutJpg);
  await truncate(cutJpg, 300);
  const r5 = await np.add(frameInput(cutJpg, 3.5, 0.05));
  t.true(r5.skipped);
  t.is(liveDecoders.size, 0);
  const r4 = await np.add(frameInput(await saveFrame(dir, 'g2.fits', starFrame(W, H, 5)), 4, 0.05));
  t.is(r4.keogramColumn, 1);
  const s = await np.finish([]);
  t.is(s.frames, 2);
  t.is(s.skipped, 4);
  t.is(s.startrailsFrames, 2);
});

test('sky level NaN is measured from the frame and judged after the pass (CLI path)', async (t) => {
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config({ timelapse: { enabled: false } }), { log });
  const dark = await np.add(frameInput(await saveFrame(dir, 'd.fits', starFrame(W, H, 1, 0.05)), 0, NaN));
  t.is(dark.startrails, 'added');
  t.true(Math.abs(dark.skyLevel - 0.06) < 0.01, String(dark.skyLevel));
  const bright = await np.add(frameInput(await saveFrame(dir, 'b.fits', starFrame(W, H, 2, 0.6)), 1, NaN));
  t.is(bright.startrails, 'excluded');
  t.true(bright.skyLevel > 0.55);
  t.is(np.startrailsFrames, 1);
});

test('min_stars: a frame with fewer stars than configured is excluded; unknown star count is not judged', async (t) => {
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config({ startrails: { min_stars: 20 }, timelapse: { enabled: false } }), { log });
  const p = await saveFrame(dir, 'a.fits', starFrame(W, H, 1));
  t.is((await np.add(frameInput(p, 0, 0.05, { stars: 5 }))).startrails, 'excluded');
  t.is((await np.add(frameInput(p, 1, 0.05, { stars: 50 }))).startrails, 'added');
  t.is((await np.add(frameInput(p, 2, 0.05, { stars: null }))).startrails, 'added');
});

test('kill -9 of a real process mid-night, then a restart: no column and no frame lost, same products as one go', async (t) => {
  const dir = await tempDir(t);
  const frames = [];
  for (let i = 0; i < 10; i++) {
    const sky = i === 4 ? 0.5 : 0.05;
    frames.push({ path: await saveFrame(dir, `k${i}.fits`, starFrame(320, 240, 200 + i, sky, undefined, 3)), sky });
  }
  const list = join(dir, 'frames.json');
  await writeFile(list, JSON.stringify(frames));
  const ref = await runNight(join(dir, 'ref'), frames, null);
  // the plane path (rewrite every frame) and the journal path (rewrite every 3rd included frame)
  for (const rewrite of [1, 3]) {
    const out = join(dir, `killed-${rewrite}`);
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'night-child.ts'), out, list, String(rewrite)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((res) => child.once('close', res));
    child.once('error', (err) => t.fail(err.message));
    // kill as soon as 3 frames are on disk: the 4th is somewhere in the middle of its add()
    let added = 0;
    for (let k = 0; k < 6000 && added < 3; k++) {
      await new Promise((r) => setTimeout(r, 5));
      added = await readFile(join(out, 'night-state.json'), 'utf8').then((s) => JSON.parse(s).framesAdded as number, () => 0);
    }
    child.kill('SIGKILL');
    await exited;
    t.true(added >= 3 && added < 10, `killed after ${added} frames`);
    const resumed = await runNight(out, frames.slice(added), null, undefined, added, rewrite);
    t.is(resumed.np.framesAdded, 10);
    t.deepEqual(resumed.summary.errors, []);
    t.deepEqual(await readFile(resumed.summary.startrailsFits!), await readFile(ref.summary.startrailsFits!), `rewrite_every ${rewrite}`);
    t.deepEqual((await resumed.np.readKeogram()).values, (await ref.np.readKeogram()).values);
  }
});
