import test from 'ava';
import { execFile } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { NightProducts } from '../../pipeline/night/products.js';
import { drawLabels, labelLines } from '../../pipeline/night/labels.js';
import { createImage } from '../../pipeline/image/types.js';
import { requireCommand } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { config, frameInput, log, saveFrame, starFrame } from './night-helpers.js';

const execFileP = promisify(execFile);
const W = 96, H = 72;

test('timelapse: real ffmpeg, H.264 with the expected frame count, duration and width; a corrupt frame is left out', async (t) => {
  requireCommand('ffmpeg', 'ffmpeg');
  const ffprobe = requireCommand('ffprobe', 'ffmpeg');
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config({ timelapse: { width: 64, fps: 6 }, startrails: { enabled: false } }), { log });
  const frames = [];
  for (let i = 0; i < 12; i++) {
    const f = frameInput(await saveFrame(dir, `f${String(i).padStart(2, '0')}.fits`, starFrame(W, H, i, 0.05, undefined, 3)), i, 0.05);
    await np.add(f);
    frames.push(f);
  }
  const bad = join(dir, 'bad.jpg');
  await writeFile(bad, 'junk');
  frames.splice(5, 0, frameInput(bad, 99, 0.05));
  const progress: number[] = [];
  const s = await np.finish(frames, { onProgress: (done, total) => progress.push(done / total) });
  t.deepEqual(s.errors, []);
  t.is(s.timelapseFrames, 12);
  t.is(s.timelapseSeconds, 2);
  t.is(progress.at(-1), 1);
  const { stdout } = await execFileP(ffprobe, ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames,pix_fmt:format=duration', '-of', 'json', s.timelapse!]);
  const probe = JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string; pix_fmt: string }[]; format: { duration: string } };
  const v = probe.streams[0]!;
  t.is(v.codec_name, 'h264');
  t.is(v.width, 64);
  t.is(v.height, 48);
  t.is(v.pix_fmt, 'yuv420p');
  t.is(Number(v.nb_read_frames), 12);
  t.true(Math.abs(Number(probe.format.duration) - 2) < 0.05, probe.format.duration);
});

test('missing ffmpeg: finish() reports one error naming the package, keogram and star trails are still made', async (t) => {
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config(), { log, ffmpegPath: join(dir, 'no-such-ffmpeg') });
  const frames = [];
  for (let i = 0; i < 3; i++) {
    const f = frameInput(await saveFrame(dir, `f${i}.fits`, starFrame(W, H, i)), i, 0.05);
    await np.add(f);
    frames.push(f);
  }
  const s = await np.finish(frames);
  t.is(s.errors.length, 1);
  t.regex(s.errors[0]!, /^timelapse: ffmpeg not found .*apt-get install -y ffmpeg/);
  t.true((await stat(s.keogram!)).size > 0);
  t.true((await stat(s.startrails!)).size > 0);
  t.is(s.timelapse, undefined);
});

test('preview: labelled, stretched JPEG at the asked width; labels land in the configured corner', async (t) => {
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config({ labels: { corner: 'bottom-right', scale: 1 } }), { log });
  const f = frameInput(await saveFrame(dir, 'p.fits', starFrame(320, 240, 1, 0.02)), 0, 0.021);
  const jpg = await np.renderPreview(f, 300);
  const { data, info } = await sharp(jpg).raw().toBuffer({ resolveWithObject: true });
  t.is(info.width, 300);
  t.is(info.height, 225);
  // against the same preview without labels: the changed pixels are all in the bottom-right corner
  const plain = await NightProducts.open(join(dir, 'plain'), config({ labels: { enabled: false } }), { log });
  const ref = await sharp(await plain.renderPreview(f, 300)).raw().toBuffer();
  let changed = 0, outside = 0;
  for (let y = 0; y < 225; y++) for (let x = 0; x < 300; x++) {
    if (Math.abs(data[(y * 300 + x) * 3]! - ref[(y * 300 + x) * 3]!) > 60) {
      changed++;
      if (x < 140 || y < 170) outside++;
    }
  }
  t.true(changed > 50, String(changed));
  t.is(outside, 0);
  t.deepEqual(labelLines(f, 'roof'), ['roof', '2026-01-10 21:50:00 UTC', 'EXP 30 S  GAIN 2', 'SKY 0.021']);
});

test('labels: text pixels drawn in each corner inside the image', (t) => {
  for (const corner of ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const) {
    const img = createImage(200, 100, 3, 8);
    drawLabels(img, ['station', '12:00'], corner, 2);
    let sx = 0, sy = 0, n = 0;
    for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) if (img.data[(y * 200 + x) * 3]! > 0.9) { sx += x; sy += y; n++; }
    t.true(n > 50, corner);
    t.is(sx / n < 100, corner.endsWith('left'), corner);
    t.is(sy / n < 50, corner.startsWith('top'), corner);
  }
});

test('JPEG frames are decoded already shrunk (djpeg -scale) and give the same size of timelapse and preview', async (t) => {
  requireCommand('ffmpeg', 'ffmpeg');
  const ffprobe = requireCommand('ffprobe', 'ffmpeg');
  const dir = await tempDir(t);
  const np = await NightProducts.open(join(dir, 'n'), config({ timelapse: { width: 100, fps: 5 } }), { log });
  const frames = [];
  for (let i = 0; i < 5; i++) {
    const p = join(dir, `j${i}.jpg`);
    const px = Buffer.alloc(640 * 480 * 3);
    for (let k = 0; k < px.length; k++) px[k] = (k * 7 + i * 13) % 60;
    await sharp(px, { raw: { width: 640, height: 480, channels: 3 } }).jpeg().toFile(p);
    frames.push(frameInput(p, i, 0.1));
  }
  const s = await np.finish(frames);
  t.deepEqual(s.errors.filter((e) => e.startsWith('timelapse')), []);
  const { stdout } = await execFileP(ffprobe, ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames', '-of', 'csv=p=0', s.timelapse!]);
  t.is(stdout.trim(), '100,74,5');
  const prev = await sharp(await np.renderPreview(frames[0]!, 150)).metadata();
  t.is(prev.width, 150);
  t.is(prev.height, 113);
});
