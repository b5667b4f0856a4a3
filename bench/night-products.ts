// Night products on a night of big frames: time per frame added (keogram column + star-trails
// update, the work the allsky job adds per frame) and the finish (keogram PNG, star trails, and the
// timelapse with --timelapse). Frames are a few 16-bit FITS files reused with new timestamps.
//   npx tsx bench/night-products.ts [--frames 1000] [--width 4000 --height 3000] [--channels 1]
//     [--distinct 4] [--dir bench/out/night] [--timelapse] [--tl-frames 100] [--rewrite-every 50]
// Each frame gets fresh noise through the calibrator hook (a reused file would raise no sample of the
// maximum after the first pass, which would flatter the star-trails journal); it costs about what a
// dark subtraction does.
// Peak RSS: bash bench/run-with-rss.sh node --import tsx bench/night-products.ts --frames 200
// (the in-process RSS after frame 50 and after the last frame is printed too: it should be flat).
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { writeFits } from '../pipeline/image/fits.js';
import { createImage } from '../pipeline/image/types.js';
import { NightProducts, bytesPerFrame } from '../pipeline/night/products.js';
import { DEFAULT_NIGHT_CONFIG, type NightFrameInput, type RowCalibrator } from '../pipeline/night/types.js';
import { silentLogger } from '../lib/log.js';

const { values: a } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000' },
    width: { type: 'string', default: '4000' },
    height: { type: 'string', default: '3000' },
    channels: { type: 'string', default: '1' },
    distinct: { type: 'string', default: '4' },
    dir: { type: 'string', default: 'bench/out/night' },
    timelapse: { type: 'boolean', default: false },
    'tl-frames': { type: 'string', default: '100' },
    'rewrite-every': { type: 'string', default: '50' },
  },
});
const N = Number(a.frames), W = Number(a.width), H = Number(a.height), C = Number(a.channels), D = Number(a.distinct);
const dir = resolve(a.dir!);
const src = join(dir, `frames-${W}x${H}x${C}`);
const out = join(dir, 'products');
sharp.cache(false);

async function generate(): Promise<string[]> {
  await mkdir(src, { recursive: true });
  const paths: string[] = [];
  for (let d = 0; d < D; d++) {
    const p = join(src, `f${d}.fits`);
    paths.push(p);
    if (existsSync(p)) continue;
    const img = createImage(W, H, C, 16);
    let s = 12345 + d;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
    for (let i = 0; i < img.data.length; i++) img.data[i] = 0.05 + rnd() * 0.01;
    for (let k = 0; k < 3000; k++) {
      const x = Math.floor(rnd() * W), y = Math.floor(rnd() * H), v = 0.3 + rnd() * 0.7;
      for (let c = 0; c < C; c++) img.data[(y * W + x) * C + c] = v;
    }
    await writeFits(p, img, { bitpix: 16 });
  }
  return paths;
}

/** Fresh per-frame noise (±0.004) from a cheap hash of (frame, row, x). */
function freshNoise(frame: number): RowCalibrator {
  return {
    apply(row, y) {
      let h = (Math.imul(frame + 1, 0x9e3779b1) ^ Math.imul(y + 1, 0x85ebca6b)) >>> 0;
      for (let i = 0; i < row.length; i++) {
        h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x6d2b79f5;
        row[i] = row[i]! + ((h >>> 8) / 16777216 - 0.5) * 0.008;
      }
    },
    async close() {},
  };
}

const mb = (b: number) => (b / 1048576).toFixed(1);
const paths = await generate();
await rm(out, { recursive: true, force: true });
const config = structuredClone(DEFAULT_NIGHT_CONFIG);
config.timelapse.enabled = a.timelapse!;
config.startrails.rewrite_every = Number(a['rewrite-every']);
const np = await NightProducts.open(out, config, { log: silentLogger });
const t0 = Date.now();
const frames: NightFrameInput[] = [];
let rss50 = 0, rssMax = 0;
const times: number[] = [];
let cardBytes = 0;
for (let i = 0; i < N; i++) {
  // every 10th frame has a bright sky: keogram only, no star-trails update
  const f: NightFrameInput = { path: paths[i % D]!, timestamp: new Date(Date.UTC(2026, 0, 10, 20) + i * 30_000), exposureS: 30, gain: 2, skyLevel: i % 10 === 9 ? 0.5 : 0.05, calibrate: freshNoise(i) };
  const s = performance.now();
  const r = await np.add(f);
  times.push(performance.now() - s);
  if (r.skipped) throw new Error(`frame ${i} skipped: ${r.reason}`);
  cardBytes += r.startrailsBytes ?? 0;
  frames.push(f);
  const rss = process.memoryUsage().rss;
  rssMax = Math.max(rssMax, rss);
  if (i === 49) rss50 = rssMax;
  if ((i + 1) % 50 === 0) process.stderr.write(`${i + 1}/${N} frames, ${(times.slice(-50).reduce((x, y) => x + y, 0) / 50).toFixed(0)} ms/frame, rss ${mb(rss)} MB\n`);
}
const addS = (Date.now() - t0) / 1000;
const sorted = [...times].sort((x, y) => x - y);
const t1 = Date.now();
const tlFrames = frames.slice(0, Number(a['tl-frames']));
const summary = await np.finish(tlFrames);
const finishS = (Date.now() - t1) / 1000;
const bpf = bytesPerFrame(W, H, C, H);
console.log(`night products: ${N} frames of ${W}×${H}×${C} (16-bit FITS), ${summary.startrailsFrames} in the star trails, ${summary.excluded} excluded`);
console.log(`add: ${(addS * 1000 / N).toFixed(0)} ms/frame mean, median ${sorted[N >> 1]!.toFixed(0)} ms, p95 ${sorted[Math.floor(N * 0.95)]!.toFixed(0)} ms (total ${addS.toFixed(1)} s)`);
console.log(`finish: ${finishS.toFixed(1)} s (keogram ${summary.keogram ? 'ok' : '-'}, star trails ${summary.startrails ? 'ok' : '-'}${a.timelapse ? `, timelapse ${summary.timelapseFrames} frames` : ''})${summary.errors.length ? ' errors: ' + summary.errors.join('; ') : ''}`);
console.log(`rss (in process): max after 50 frames ${mb(rss50)} MB, max after ${N} frames ${mb(rssMax)} MB`);
console.log(`card writes: star trails ${mb(cardBytes / summary.startrailsFrames)} MB per included frame (rewrite_every ${config.startrails.rewrite_every}; a plane is ${mb(bpf.startrails)} MB) + keogram ${(bpf.keogram / 1024).toFixed(1)} KB + state JSON`);
